"""A big table cut into ranges (`--jobs 2`) ends exactly as the same table loaded whole:
same rows, same counts, the same records quarantined under the file's own indexes; a table
whose records' order matters (any unique index) is never cut."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import psycopg
import pytest

from katarestore_tui.engine import checkpoint, scheduler, split_load
from katarestore_tui.engine.quarantine import read_quarantine
from katarestore_tui.engine.restore import run_restore
from tests.helpers import assert_balanced, options, write_backup
from tests.reliability.support import cli_env, run_cli

N = 3000
BAD = {5, 1499, 1500, 1501, 2999}  # around the middle, where the cut falls; 1500 twice


def _events() -> list[dict]:
    rows = []
    for i in range(N):
        at = "not a date" if i in BAD else f"2024-01-01T00:00:{i % 60:02d}.000Z"
        row = {"n": i // 3, "kind": "k\n  }," if i % 7 == 0 else "plain", "at": at,
               "payload": {"k": i % 11, "deep": {"s": "\n  },\n  {"}}}
        rows.append(row)
        if i % 500 == 0:
            rows.append(dict(row))  # an exact repeat: a keyless table holds both
    return rows


def _schema(conn: psycopg.Connection, name: str, extra: str = "") -> None:
    conn.execute(f"CREATE SCHEMA {name}")
    conn.execute(f"CREATE TABLE {name}.events (n int, kind text, payload jsonb, at timestamptz)")
    if extra:
        conn.execute(extra.format(schema=name))


def _digest(conn: psycopg.Connection, schema: str) -> tuple[int, str]:
    row = conn.execute(
        f"SELECT count(*), md5(string_agg(t::text, E'\\n' ORDER BY t::text)) FROM {schema}.events t"
    ).fetchone()
    return row[0], row[1]


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many ranges each ranged table was cut into."""
    cuts: list[int] = []
    real = scheduler.load_ranged

    def counted(ctx, ranged, results, load_part):
        cuts.append(len(ranged.parts))
        return real(ctx, ranged, results, load_part)

    monkeypatch.setattr(scheduler, "load_ranged", counted)
    monkeypatch.setenv(split_load.MIN_BYTES_ENV, "1")
    return cuts


def _quarantined(run_id: str) -> list[int]:
    return sorted(e["index"] for e in read_quarantine(run_id, "events"))


@pytest.mark.parametrize("layout", ["events.json", "events.jsonl"])
@pytest.mark.parametrize("parser_process", [False, True])
def test_two_ranges_load_exactly_what_one_whole_load_does(db, db_dsn, tmp_path: Path, spy,
                                                          layout, parser_process):
    rows = _events()
    content: object = rows if layout.endswith(".json") else "".join(
        json.dumps(r) + "\n" + ("\n" if i % 100 == 0 else "") for i, r in enumerate(rows))
    backup = write_backup(tmp_path, {layout: content})
    _schema(db, "whole")
    _schema(db, "cut")
    whole = run_restore(options(db_dsn, backup, schema="whole", batch_size=200,
                                parser_process=parser_process), tmp_path)
    assert spy == []
    cut = run_restore(options(db_dsn, backup, schema="cut", batch_size=200, jobs=2,
                              parser_process=parser_process), tmp_path)
    assert spy == [2], "the table must be loaded in two ranges"
    for result in (whole, cut):
        assert_balanced(result)
    one, two = whole.tables["events"], cut.tables["events"]
    assert (two.records, two.loaded, two.duplicates, two.failed) == (
        one.records, one.loaded, one.duplicates, one.failed) == (len(rows), len(rows) - 6, 0, 6)
    assert _digest(db, "cut") == _digest(db, "whole")
    # the file's own indexes: each bad record once, whichever range read it
    assert _quarantined(cut.run_id) == _quarantined(whole.run_id)
    assert len(_quarantined(cut.run_id)) == 6
    assert db.execute("SELECT to_regclass('cut._katarestore_progress')").fetchone()[0] is None


@pytest.mark.parametrize("key", [
    "ALTER TABLE {schema}.events ADD PRIMARY KEY (n, kind, at)",
    "CREATE UNIQUE INDEX ON {schema}.events (n) WHERE kind = 'never'",  # partial
    "CREATE UNIQUE INDEX ON {schema}.events ((payload->>'k'), n, at)",  # expression
])
def test_a_table_with_any_unique_index_is_loaded_whole(db, db_dsn, tmp_path: Path, spy, key):
    """Which copy of a repeated key loads depends on file order: ranges would race for it."""
    rows = [{"n": i, "kind": "a", "payload": {"k": i}, "at": "2024-01-01T00:00:00Z"}
            for i in range(2000)]
    rows.append(dict(rows[10], payload={"k": 10}))  # a second copy of record 10's key
    backup = write_backup(tmp_path, {"events.json": rows})
    _schema(db, "keyed", key)
    result = run_restore(options(db_dsn, backup, schema="keyed", batch_size=200, jobs=2),
                         tmp_path)
    assert spy == []
    assert_balanced(result)


def test_row_by_row_foreign_keys_load_whole(db, db_dsn, tmp_path: Path, spy):
    backup = write_backup(tmp_path, {"events.json": _events()})
    _schema(db, "rows")
    result = run_restore(options(db_dsn, backup, schema="rows", batch_size=200, jobs=2,
                                 fk_mode="immediate"), tmp_path)
    assert spy == []
    assert_balanced(result)


def _stopped_ranged_run(db, db_dsn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A two-range load stopped part-way (a cancel, as Ctrl-C gives); its backup folder."""
    rows = _events()
    backup = write_backup(tmp_path, {"events.json": rows})
    db.execute("CREATE TABLE events (n int, kind text, payload jsonb, at timestamptz)")
    cancel = threading.Event()
    saves = []
    real_save = checkpoint.save

    def save(conn, schema, run_id, table, state):  # the stop comes mid-load, at a batch
        real_save(conn, schema, run_id, table, state)
        if checkpoint.PART_MARK in table:
            saves.append(table)
            if len(saves) == 2 + 6:  # the ranges' first rows, then three batches each
                cancel.set()

    monkeypatch.setattr(checkpoint, "save", save)
    first = run_restore(options(db_dsn, backup, batch_size=200, jobs=2), tmp_path,
                        cancel=cancel)
    assert first.status == "cancelled", first.error
    parts = db.execute(f"SELECT table_name FROM {checkpoint.TABLE} WHERE strpos(table_name, %s)"
                       " > 0", (checkpoint.PART_MARK,)).fetchall()
    assert len(parts) == 2, parts
    monkeypatch.setattr(checkpoint, "save", real_save)
    return first, backup, rows, [p[0] for p in parts]


def test_a_stopped_two_range_load_resumes_exactly(db, db_dsn, tmp_path: Path, spy, monkeypatch):
    first, _, rows, _ = _stopped_ranged_run(db, db_dsn, tmp_path, monkeypatch)
    done = run_cli("restore", "--resume", first.run_id, "--dsn", db_dsn, "--yes", "--json",
                   env=cli_env())
    assert done.returncode == 1, done.stderr  # the planted bad dates
    t = json.loads(done.stdout)["tables"]["events"]
    assert (t["records"], t["loaded"], t["failed"]) == (len(rows), len(rows) - 6, 6), t
    assert _quarantined(first.run_id) == [6, 1502, 1503, 1504, 1505, 3005]  # each once
    got = db.execute("SELECT count(*), count(DISTINCT (n, kind, payload, at)) FROM events"
                     ).fetchone()
    good = [r for r in rows if r["at"] != "not a date"]
    distinct = len({json.dumps(r, sort_keys=True) for r in good})
    assert got == (len(good), distinct), got  # its exact repeats kept, no batch doubled


def test_a_resume_whose_range_row_was_deleted_refuses(db, db_dsn, tmp_path: Path, spy,
                                                     monkeypatch):
    first, _, _, parts = _stopped_ranged_run(db, db_dsn, tmp_path, monkeypatch)
    db.execute(f"DELETE FROM {checkpoint.TABLE} WHERE table_name = %s", (max(parts),))
    before = db.execute("SELECT count(*) FROM events").fetchone()[0]
    done = run_cli("restore", "--resume", first.run_id, "--dsn", db_dsn, "--yes", env=cli_env())
    assert done.returncode == 2, done.stderr
    assert "loaded in ranges" in done.stderr and "no checkpoint for its records" in done.stderr
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == before
