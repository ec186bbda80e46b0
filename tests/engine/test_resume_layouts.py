"""A resume after a batch closed by a change of key set skips nothing and loads nothing twice.

A batch ends early when the next record has other keys (COPY takes one column list);
its checkpoint must count only the records of that batch and those before it, not the
record that opened the next one. Each run here is stopped right after its first
committed batch, then resumed, and the table is compared with the records written.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import psycopg
import pytest

from katarestore_tui.engine.events import TableProgress
from katarestore_tui.engine.restore import EXIT_OK, run_restore
from tests.helpers import assert_balanced, options, write_backup

SCHEMA = "CREATE TABLE t (id int PRIMARY KEY, a text, b text)"


def stop_after_first_batch(cancel: threading.Event):
    """A sink that asks the loader to stop once a batch has committed (the first progress
    event of a table is always let through)."""

    def sink(event: object) -> None:
        if isinstance(event, TableProgress):
            cancel.set()

    return sink


def interrupted_run(dsn: str, backup: Path, batch_size: int, resume: str | None, **extra):
    cancel = threading.Event()
    return run_restore(
        options(dsn, backup, batch_size=batch_size, resume=resume, **extra),
        backup.parent, sink=stop_after_first_batch(cancel), cancel=cancel,
    )


def restore_with_interruptions(dsn: str, backup: Path, batch_size: int, stops: int, **extra):
    """`stops` runs each stopped after one batch, then a resume to the end."""
    run_id = None
    for _ in range(stops):
        result = interrupted_run(dsn, backup, batch_size, run_id, **extra)
        assert_balanced(result)
        if result.status != "cancelled":
            return result
        run_id = result.run_id
    return run_restore(options(dsn, backup, batch_size=batch_size, resume=run_id, **extra),
                       backup.parent)


def table_rows(db: psycopg.Connection) -> list[tuple]:
    return db.execute("SELECT id, a, b FROM t ORDER BY id").fetchall()


def expected_rows(records: list[dict]) -> list[tuple]:
    return sorted((r["id"], r.get("a"), r.get("b")) for r in records)


def assert_complete(result, records: list[dict]) -> None:
    assert result.status == "completed" and result.exit_code == EXIT_OK, result.error
    assert_balanced(result)
    stats = result.tables["t"]
    assert (stats.records, stats.loaded, stats.duplicates, stats.failed) == (
        len(records), len(records), 0, 0)


@pytest.mark.parametrize("parser_process", [False, True], ids=["inline", "parser-process"])
def test_resume_after_a_batch_closed_by_a_key_change_loads_every_record(
        parser_process, db, db_dsn, tmp_path):
    db.execute(SCHEMA)
    records = [{"id": 1, "a": "x"}, {"id": 2, "a": "x"}, {"id": 3, "b": "y"}, {"id": 4, "b": "y"}]
    backup = write_backup(tmp_path, {"t.json": records})
    first = interrupted_run(db_dsn, backup, 3, None, parser_process=parser_process)
    assert first.status == "cancelled"
    assert table_rows(db) == [(1, "x", None), (2, "x", None)]
    assert first.tables["t"].records == 2  # the batch of ids 1-2, not id 3 that closed it
    again = run_restore(options(db_dsn, backup, batch_size=3, resume=first.run_id,
                                parser_process=parser_process), backup.parent)
    assert_complete(again, records)
    assert table_rows(db) == expected_rows(records)


def test_rejects_before_a_key_change_are_counted_once(db, db_dsn, tmp_path):
    db.execute(SCHEMA)
    records = [{"id": 1, "a": "x"}, {"id": "one", "a": "x"}, {"id": 3, "b": "y"},
               {"id": 4, "b": "y"}, {"id": 5, "a": "z"}]
    backup = write_backup(tmp_path, {"t.json": records})
    first = interrupted_run(db_dsn, backup, 10, None)
    assert first.status == "cancelled"
    again = run_restore(options(db_dsn, backup, batch_size=10, resume=first.run_id),
                        backup.parent)
    assert_balanced(again)
    stats = again.tables["t"]
    assert (stats.records, stats.loaded, stats.failed) == (5, 4, 1)
    assert table_rows(db) == [(1, "x", None), (3, None, "y"), (4, None, "y"), (5, "z", None)]


@pytest.mark.parametrize("parser_process", [False, True], ids=["inline", "parser-process"])
def test_alternating_layouts_interrupted_many_times_match_the_source(
        parser_process, db, db_dsn, tmp_path):
    db.execute(SCHEMA)
    n = 20_000
    records = [{"id": i, "a": f"a{i}"} if (i // 1000) % 2 == 0 else {"id": i, "b": f"b{i}"}
               for i in range(n)]
    backup = write_backup(tmp_path, {"t.json": records})
    # 700 does not divide 1000: batches close by size and by layout, in turn
    result = restore_with_interruptions(db_dsn, backup, 700, stops=8,
                                        parser_process=parser_process)
    assert_complete(result, records)
    assert table_rows(db) == expected_rows(records)


def test_json_lines_with_omitted_nulls_resume_exactly(db, db_dsn, tmp_path):
    """Exports that leave out null fields change key set on almost every line."""
    db.execute(SCHEMA)
    records = []
    for i in range(60):
        record: dict = {"id": i}
        if i % 2:
            record["a"] = f"a{i}"
        if i % 3:
            record["b"] = f"b{i}"
        records.append(record)
    text = "".join(json.dumps(r) + "\n" for r in records)
    backup = write_backup(tmp_path, {"t.jsonl": text})
    result = restore_with_interruptions(db_dsn, backup, 4, stops=12)
    assert_complete(result, records)
    assert table_rows(db) == expected_rows(records)
