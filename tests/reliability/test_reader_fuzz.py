"""Fuzz the backup reader: truncations and flipped bytes never hang and never escape.

RecordReader may only yield records (or BadRecord for an unusable line) and raise
BackupFormatError, whose message names the file, the byte offset and the record index.
A truncated array yields exactly the records before the cut. run_restore over a broken
file always returns a result with balanced counts, and the other tables still load.
"""

from __future__ import annotations

import gzip
import json
import tempfile
import threading
import zlib
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from katarestore_tui.backup.catalog import table_file
from katarestore_tui.backup.reader import BackupFormatError, BadRecord, RecordReader
from katarestore_tui.engine.quarantine import read_quarantine
from katarestore_tui.engine.restore import run_restore
from tests.helpers import assert_balanced, options, write_backup

SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz")

values = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.text(max_size=12),
)
records = st.lists(
    st.fixed_dictionaries({"id": st.integers(0, 10**6), "name": st.text(max_size=10),
                           "extra": st.one_of(values, st.lists(values, max_size=3),
                                              st.dictionaries(st.text(max_size=3), values, max_size=2))}),
    min_size=1, max_size=25,
)


def encode(rows: list[dict], suffix: str) -> bytes:
    if ".jsonl" in suffix:
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    else:  # as JSON.stringify(rows, null, 2) writes it
        data = json.dumps(rows, indent=2, ensure_ascii=False).encode()
    return gzip.compress(data, mtime=0) if suffix.endswith(".gz") else data


@st.composite
def damage(draw, size: int) -> tuple[int | None, list[tuple[int, int]]]:
    """(truncate to this many bytes or None, [(position, new byte)])."""
    cut = draw(st.one_of(st.none(), st.integers(0, max(size - 1, 0))))
    flips = draw(st.lists(st.tuples(st.integers(0, max(size - 1, 0)), st.integers(0, 255)),
                          max_size=4))
    return cut, flips


def apply(data: bytes, cut: int | None, flips: list[tuple[int, int]]) -> bytes:
    buf = bytearray(data)
    for position, value in flips:
        if position < len(buf):
            buf[position] = value
    return bytes(buf[:cut] if cut is not None else buf)


def read_all(path: Path, timeout: float = 10.0) -> tuple[list[tuple[int, object]], BaseException | None]:
    """Every item RecordReader yields, and what it raised; fails the test if it hangs."""
    items: list[tuple[int, object]] = []
    outcome: dict = {}

    def work():
        try:
            for item in RecordReader(table_file(path)):
                items.append(item)
        except BaseException as exc:  # the test inspects whatever escaped
            outcome["error"] = exc

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(timeout)
    assert not worker.is_alive(), f"RecordReader hung on {path.name}"
    return items, outcome.get("error")


def check_fault(exc: BackupFormatError, path: Path, yielded: int, size_limit: int) -> None:
    text = str(exc)
    assert path.name in text and "byte" in text and "record index" in text, text
    assert exc.record_index == yielded, (exc.record_index, yielded)
    assert 0 <= exc.byte_offset <= size_limit, (exc.byte_offset, size_limit)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), rows=records, suffix=st.sampled_from(SUFFIXES))
def test_reader_survives_truncation_and_flipped_bytes(tmp_path_factory, data, rows, suffix):
    original = encode(rows, suffix)
    cut, flips = data.draw(damage(len(original)))
    broken = apply(original, cut, flips)
    path = tmp_path_factory.mktemp("fuzz") / f"t{suffix}"
    path.write_bytes(broken)

    items, error = read_all(path)
    assert error is None or isinstance(error, BackupFormatError), repr(error)
    assert [i for i, _ in items] == list(range(len(items))), "indexes count up from 0"
    plain_size = len(broken)
    if suffix.endswith(".gz"):  # a damaged deflate stream may decode to more than the original
        plain_size = max(len(gzip.decompress(original)), decoded_size(broken))
    if isinstance(error, BackupFormatError):
        check_fault(error, path, len(items), max(plain_size, len(broken)) + 1)
    for _, record in items:
        assert isinstance(record, dict | list | str | int | float | Decimal | bool | BadRecord) \
            or record is None
    if not flips and cut is not None and not suffix.endswith(".gz") and ".jsonl" not in suffix:
        # a cut array: exactly the records before the cut, nothing invented
        assert [r for _, r in items] == _decimal(rows[: len(items)])
        assert isinstance(error, BackupFormatError)
    if not flips and cut is not None and suffix == ".json.gz":
        # a cut .gz: the records before the cut, nothing invented (#9.11)
        assert [r for _, r in items] == _decimal(rows[: len(items)])
    if not flips and cut is None:
        assert error is None and [r for _, r in items] == _decimal(rows)


def decoded_size(compressed: bytes) -> int:
    """How many bytes zlib decodes of a (damaged) gzip stream before it stops."""
    z, size = zlib.decompressobj(zlib.MAX_WBITS | 16), 0
    for at in range(len(compressed)):
        try:
            size += len(z.decompress(compressed[at:at + 1]))
        except zlib.error:
            break
        if z.eof:
            break
    return size


def _decimal(rows: list[dict]) -> list[dict]:
    """The rows as the reader returns them (JSON numbers with a fraction become Decimal)."""
    return json.loads(json.dumps(rows), parse_float=Decimal)


SCHEMA = """
CREATE TABLE thing (id int, name text, extra jsonb);
CREATE TABLE other (id int PRIMARY KEY);
"""


@pytest.fixture
def target(db: psycopg.Connection, db_dsn: str) -> str:
    db.execute(SCHEMA)
    return db_dsn


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), rows=records, suffix=st.sampled_from(SUFFIXES),
       batch_size=st.integers(1, 10))
def test_restore_of_a_broken_file_reports_and_balances(target, db, data, rows, suffix, batch_size):
    original = encode(rows, suffix)
    cut, flips = data.draw(damage(len(original)))
    db.execute("TRUNCATE thing, other")
    with tempfile.TemporaryDirectory() as folder:
        backup = write_backup(Path(folder), {f"thing{suffix}": apply(original, cut, flips),
                                             "other.json": [{"id": 1}, {"id": 2}]})
        _, fault = read_all(backup / f"thing{suffix}")
        result = run_restore(options(target, backup, batch_size=batch_size), Path(folder))
    assert result.run_id is not None, result.error
    assert_balanced(result)
    assert result.tables["other"].loaded == 2, "the other tables still load"
    thing = result.tables["thing"]
    in_table = db.execute("SELECT count(*) FROM thing").fetchone()[0]
    assert in_table == thing.loaded
    entries = list(read_quarantine(result.run_id, "thing"))
    assert len(entries) == thing.failed
    assert all(e["index"] is not None and e["message"] for e in entries)
    for e in entries:  # a broken line of a .jsonl: its table, record index and byte offset
        if e["message"].startswith("invalid JSON"):
            assert e["table"] == "thing" and "byte" in e["message"], e
    if isinstance(fault, BackupFormatError):
        assert thing.error is not None and thing.state in ("partial", "failed")
        assert f"thing{suffix}" in thing.error and "byte" in thing.error
        assert f"record index {fault.record_index:,}" in thing.error
        assert result.exit_code == 1
    else:
        assert thing.error is None


@pytest.mark.parametrize("line", [b'{"id": 1, "name": NaN}', b'{"id": Infinity}', b'{"id": -Infinity}'])
def test_non_json_numbers_in_a_jsonl_line_are_a_bad_record(target, db, tmp_path, line):
    """JSON has no NaN/Infinity (JSON.stringify writes null): the line is refused, kept."""
    backup = write_backup(tmp_path, {"thing.jsonl": line + b'\n{"id": 2}\n'})
    result = run_restore(options(target, backup), tmp_path)
    assert result.run_id is not None and result.error is None, result.error
    thing = result.tables["thing"]
    assert (thing.records, thing.loaded, thing.failed) == (2, 1, 1)
    (entry,) = read_quarantine(result.run_id, "thing")
    assert entry["index"] == 0 and entry["record"] == line.decode()
