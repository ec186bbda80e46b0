"""A resume whose checkpoint is gone must refuse, not load everything a second time.

`_katarestore_progress` is what tells a resume which records are in. Dropped by hand, or
the run's rows deleted, a resume would start over and load the committed records again:
in a table without a key that doubles them silently. It must stop with exit 2 (a refused
resume, like the other refusals of check_resumable), leave the target and the run log as
they were, and say what happened.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import psycopg
import pytest

from katarestore_tui.engine import checkpoint
from katarestore_tui.engine.events import ProgressThrottle, TableProgress
from katarestore_tui.engine.restore import EXIT_FATAL, EXIT_USAGE, run_restore
from katarestore_tui.history.runs import is_resumable, list_runs, read_run
from tests.helpers import options
from tests.reliability.support import (
    SCHEMA,
    assert_events_exact,
    progress,
    run_cli,
    start_cli,
    wait_until,
    write_big_backup,
)

N = 20_000


@pytest.fixture(scope="module")
def backup(tmp_path_factory) -> Path:
    return write_big_backup(tmp_path_factory.mktemp("backups"), 1, N)


@pytest.fixture
def target(db: psycopg.Connection, db_dsn: str) -> str:
    db.execute(SCHEMA)
    db.execute("SET TimeZone = 'UTC'")
    return db_dsn


def stopped_run(how: str, target: str, backup: Path, db: psycopg.Connection) -> str:
    """A run of events stopped part-way (kill -9, or the loader's own cancel path)."""
    proc = start_cli("restore", str(backup), "--dsn", target, "--batch-size", "500", "--yes",
                     "--json", "--tables", "events")
    try:
        wait_until(lambda: progress(db, "events") >= 2_000 or proc.poll() is not None,
                   what="committed batches of events")
        proc.send_signal(signal.SIGKILL if how == "kill" else signal.SIGINT)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    (run,) = list_runs()
    assert is_resumable(run), run
    return run["run_id"]


def remove_checkpoint(how: str, db: psycopg.Connection, run_id: str) -> None:
    if how == "drop":
        db.execute(f"DROP TABLE {checkpoint.TABLE}")
    else:
        db.execute(f"DELETE FROM {checkpoint.TABLE} WHERE run_id = %s", (run_id,))


@pytest.mark.parametrize("removal", ["drop", "delete"])
@pytest.mark.parametrize("stop", ["kill", "interrupt"])
def test_resume_without_its_checkpoint_refuses(stop, removal, target, backup, db):
    run_id = stopped_run(stop, target, backup, db)
    before = db.execute("SELECT count(*) FROM events").fetchone()[0]
    assert before >= 2_000
    log_before = read_run(run_id)
    remove_checkpoint(removal, db, run_id)

    done = run_cli("restore", "--resume", run_id, "--dsn", target, "--batch-size", "500",
                   "--yes", "--json", "--tables", "events")
    assert done.returncode == EXIT_USAGE, done.stderr
    assert "checkpoint" in done.stderr and checkpoint.TABLE in done.stderr, done.stderr
    assert "again" in done.stderr, done.stderr  # says what a resume would do
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == before, "nothing loaded"
    assert read_run(run_id) == log_before, "the run log is left as it was"


def test_resume_with_one_table_row_deleted_refuses(target, backup, db, monkeypatch):
    """The run log counts committed records of a table whose checkpoint row is gone."""
    cancel = threading.Event()
    # progress after every batch, so the stop lands after 2,000 records however fast the
    # load is (throttled to one per 0.1 s, the whole table could load before the next one)
    monkeypatch.setattr(ProgressThrottle, "due", lambda self, table: True)

    def sink(event):
        if isinstance(event, TableProgress) and event.stats.records >= 2_000:
            cancel.set()

    first = run_restore(options(target, backup, batch_size=500, tables=["events"]),
                        backup.parent, sink, cancel)
    assert first.exit_code == EXIT_FATAL and first.status == "cancelled", first.error
    assert read_run(first.run_id)["tables"]["events"]["records"] >= 2_000
    db.execute(f"DELETE FROM {checkpoint.TABLE} WHERE run_id = %s AND table_name = 'events'",
               (first.run_id,))
    again = run_restore(options(target, backup, batch_size=500, tables=["events"],
                                resume=first.run_id), backup.parent)
    assert again.exit_code == EXIT_USAGE, again.error
    assert "events" in again.error and checkpoint.TABLE in again.error


def test_resume_with_its_checkpoint_still_completes(target, backup, db):
    """The refusal is only for a missing checkpoint: a normal resume finishes exactly."""
    run_id = stopped_run("kill", target, backup, db)
    done = run_cli("restore", "--resume", run_id, "--dsn", target, "--batch-size", "500",
                   "--yes", "--json", "--tables", "events")
    assert done.returncode == 0, done.stderr
    assert_events_exact(db, N)
