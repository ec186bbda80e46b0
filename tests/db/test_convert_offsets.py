"""ISO strings with an offset reach columns without a time zone as the same instant in UTC.

PostgreSQL drops the offset of a string cast to `timestamp`, `date` or `time`
(`'2024-11-03 23:30-05:00'::timestamp` is 23:30), while the same instant as an epoch
number is stored 04:30 the next day: the README says both mean UTC. The oracle is
PostgreSQL itself: `(s::timestamptz AT TIME ZONE 'UTC')` cast to the column's type.
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest

from katarestore_tui.db.convert import ConversionError, converter_for
from katarestore_tui.engine.restore import run_restore
from tests.db.test_convert import DATE, TIME, TS, TSTZ, convert
from tests.helpers import assert_balanced, options, write_backup

INSTANTS = [
    "2024-11-03T23:30:00-05:00",
    "2024-11-03T23:30-05:00",
    "2024-11-03 23:30:00.123-05:00",
    "2024-12-31T23:59:59.999999-01:00",  # over the year
    "2024-02-28T22:00:00.5-03",  # hours only, into a leap day
    "2024-03-01T01:15:00+05:30",  # back over a leap day
    "2024-03-01T01:15:00+0530",
    "2024-03-01 01:15:00 +05:30",
    "2024-06-01T00:00:00+14:00",
    "2024-06-01T12:00:00-12:00",
    "2024-06-01T10:15:30.123456789+02:00",  # more digits than PostgreSQL keeps
    "2024-06-01T10:15:30+00:00",
    "2024-06-01T10:15:30Z",
    "2024-06-01T10:15:30.123Z",
    "2024-06-01T10:15:30",
    "2024-06-01 10:15",
    "2024-06-01",
    "2024-06-01T24:00:00-02:00",  # PostgreSQL's 24:00 is the next midnight
    "2024-06-30T23:59:60+01:00",  # a leap second: the next minute, for PostgreSQL too
]
TIMES = ["23:30:00-05:00", "10:15:30+02", "00:30+05:30", "10:15:30.25-0330", "10:15:30Z",
         "10:15:30"]
COLUMNS = {"ts": "timestamp", "ts3": "timestamp(3)", "d": "date", "tz": "timestamptz"}


def oracle(db: psycopg.Connection, text: str, type_name: str, time_only: bool = False):
    """What PostgreSQL makes of the instant in UTC (the session's TimeZone is UTC)."""
    zoned = "timetz" if time_only else "timestamptz"
    query = f"SELECT ((%s::{zoned}) AT TIME ZONE 'UTC')::{type_name}"
    if type_name == "timestamptz":
        query = "SELECT %s::timestamptz"
    return db.execute(query, [text]).fetchone()[0]


@pytest.fixture
def utc(db: psycopg.Connection) -> psycopg.Connection:
    db.execute("SET TimeZone = 'UTC'")
    return db


def test_offsets_become_utc_in_every_date_and_time_column(utc, db_dsn, tmp_path):
    columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS.items())
    utc.execute(f"CREATE TABLE t (id int PRIMARY KEY, {columns})")
    records = [{"id": i, **dict.fromkeys(COLUMNS, text)} for i, text in enumerate(INSTANTS)]
    backup = write_backup(tmp_path, {"t.json": records})
    result = run_restore(options(db_dsn, backup), backup.parent)
    assert_balanced(result)
    assert result.tables["t"].loaded == len(INSTANTS), result.tables["t"]
    names = ", ".join(COLUMNS)
    for i, text in enumerate(INSTANTS):
        row = utc.execute(f"SELECT {names} FROM t WHERE id = %s", [i]).fetchone()
        expected = tuple(oracle(utc, text, kind) for kind in COLUMNS.values())
        assert row == expected, text


def test_times_with_an_offset_become_utc(utc, db_dsn, tmp_path):
    utc.execute("CREATE TABLE t (id int PRIMARY KEY, t time, t3 time(3))")
    records = [{"id": i, "t": text, "t3": text} for i, text in enumerate(TIMES)]
    backup = write_backup(tmp_path, {"t.jsonl": "\n".join(map(str, records)).replace("'", '"')})
    result = run_restore(options(db_dsn, backup), backup.parent)
    assert result.tables["t"].loaded == len(TIMES), result.tables["t"]
    for i, text in enumerate(TIMES):
        row = utc.execute("SELECT t, t3 FROM t WHERE id = %s", [i]).fetchone()
        assert row == (oracle(utc, text, "time", True), oracle(utc, text, "time(3)", True)), text


def test_an_iso_string_and_the_same_instant_in_epoch_ms_are_stored_alike(utc, db_dsn, tmp_path):
    utc.execute("CREATE TABLE t (id int PRIMARY KEY, ts timestamp(3), d date)")
    instant = datetime(2024, 11, 4, 4, 30, 0, 123000, tzinfo=UTC)
    ms = int(instant.timestamp() * 1000)
    records = [{"id": 1, "ts": "2024-11-03T23:30:00.123-05:00", "d": "2024-11-03T23:30:00-05:00"},
               {"id": 2, "ts": ms, "d": ms}]
    backup = write_backup(tmp_path, {"t.json": records})
    run_restore(options(db_dsn, backup), backup.parent)
    rows = utc.execute("SELECT ts, d FROM t ORDER BY id").fetchall()
    assert rows[0] == rows[1] == (instant.replace(tzinfo=None), instant.date())


def test_strings_without_an_offset_or_with_z_are_passed_as_they_are() -> None:
    for text in ("2024-11-03T10:15:30.123Z", "2024-11-03T10:15:30", "2024-11-03 10:15:30",
                 "2024-11-03", "infinity", "epoch", "Nov 3 2024"):
        for column in (TS, DATE, TSTZ):
            assert convert(column, text) is text
    assert convert(TSTZ, "2024-11-03T23:30-05:00") == "2024-11-03T23:30-05:00"  # the server knows


def test_offsets_are_converted_exactly_with_the_fraction_kept() -> None:
    assert convert(TS, "2024-11-03T23:30:00-05:00") == "2024-11-04T04:30:00"
    assert convert(TS, "2024-11-03T23:30:00.123456-05:00") == "2024-11-04T04:30:00.123456"
    assert convert(DATE, "2024-11-03T23:30:00-05:00") == "2024-11-04"
    assert convert(TIME, "23:30-05:00") == "04:30:00"
    assert convert(TS, {"$date": "2024-11-03T23:30:00-05:00"}) == "2024-11-04T04:30:00"


def test_an_offset_out_of_the_calendar_is_refused_not_dropped() -> None:
    with pytest.raises(ConversionError, match="offset"):
        convert(TS, "9999-12-31T23:00:00-05:00")
    assert converter_for(TS)("2024-13-45T10:00:00+02:00") == "2024-13-45T10:00:00+02:00", \
        "an impossible date is the server's to refuse, with its own message"
