"""What a run hands on instead of reading back: the plan it was shown, and its results as events.

The plan a preview (or a --clean confirmation) was made on is the plan that runs, built
once; a resume says by its RunStarted event which tables were finished before (the TUI
no longer reads the run log back), and a benchmark's run is logged as such from its start.
"""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

import katarestore_tui.engine.restore as restore_module
from katarestore_tui.cli.main import main
from katarestore_tui.engine import (
    DONE,
    Event,
    RunKind,
    RunStarted,
    TableFinished,
    TableStarted,
    prepare,
    run_restore,
)
from katarestore_tui.history.runlog import RunLog
from tests.helpers import assert_balanced, options, write_backup


@pytest.fixture
def backup(tmp_path: Path, db: psycopg.Connection) -> Path:
    db.execute("CREATE TABLE authors (id int PRIMARY KEY, name text)")
    db.execute("CREATE TABLE books (id int PRIMARY KEY, author_id int REFERENCES authors)")
    return write_backup(tmp_path / "backups", {
        "authors.json": [{"id": i, "name": f"a{i}"} for i in range(50)],
        "books.json": [{"id": i, "author_id": i % 50} for i in range(120)],
    })


@pytest.fixture
def plans_built(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    built: list[int] = []
    real = restore_module.build_plan

    def counting(*args, **kwargs):
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(restore_module, "build_plan", counting)
    return built


def test_the_plan_shown_is_the_plan_run_and_is_built_once(backup, db_dsn, db, plans_built):
    asked = options(db_dsn, backup)
    conn, plan = prepare(asked, backup.parent)  # the preview (TUI plan screen)
    conn.close()
    result = run_restore(asked, backup.parent, plan=plan)
    assert result.exit_code == 0, result.error
    assert result.plan is plan
    assert len(plans_built) == 1
    assert db.execute("SELECT count(*) FROM books").fetchone()[0] == 120
    assert_balanced(result)


def test_a_confirmed_clean_runs_on_the_plan_it_was_confirmed_on(backup, db_dsn, db, plans_built):
    db.execute("INSERT INTO authors VALUES (999, 'stale')")
    code = main(["restore", str(backup), "--dsn", db_dsn, "--clean", "--yes",
                 "--no-parser-process"])
    assert code == 0
    assert len(plans_built) == 1  # the confirmation's plan, not a second one
    assert db.execute("SELECT count(*) FROM authors WHERE id = 999").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM authors").fetchone()[0] == 50


def test_a_resume_tells_by_event_which_tables_were_finished(backup, db_dsn, db):
    cancel = threading.Event()

    def stop_after_the_first_table(event: Event) -> None:
        if isinstance(event, TableFinished) and event.stats.table == "authors":
            cancel.set()  # books stops at its first batch boundary

    first = run_restore(options(db_dsn, backup, batch_size=10), backup.parent,
                        stop_after_the_first_table, cancel)
    assert first.status == "cancelled", first.error
    authors = first.tables["authors"]

    events: list[Event] = []
    again = run_restore(options(db_dsn, "", resume=first.run_id, batch_size=10),
                        backup.parent, events.append)
    assert again.exit_code == 0, again.error
    (started,) = [e for e in events if isinstance(e, RunStarted)]
    assert set(started.finished) == {"authors"}
    told = started.finished["authors"]
    assert (told.records, told.loaded, told.failed, told.state) == (
        authors.records, authors.loaded, authors.failed, DONE)
    assert told.records == 50
    assert [e.table for e in events if isinstance(e, TableStarted)] == ["books"]
    assert db.execute("SELECT count(*) FROM books").fetchone()[0] == 120
    assert_balanced(again)


def test_a_benchmark_run_is_logged_as_one_from_its_first_line(backup, db_dsn):
    kinds: list[tuple[str, str | None]] = []

    def read_log_at_start(event: Event) -> None:
        if isinstance(event, RunStarted):  # the log says "running" now
            log = RunLog.load(event.run_id)
            kinds.append((log.kind, log.bench_id))

    result = run_restore(options(db_dsn, backup), backup.parent, read_log_at_start,
                         kind=RunKind("bench", "bench-42"))
    assert result.exit_code == 0, result.error
    assert kinds == [("bench", "bench-42")]
    final = RunLog.load(result.run_id or "")
    assert (final.kind, final.bench_id, final.status) == ("bench", "bench-42", "completed")
