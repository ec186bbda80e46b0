"""A stop stops at any moment: a restore waiting on a lock, or inside a long COPY.

Another session holds a lock on a table the run must empty (`--clean`) or load. The run
must say who blocks it, must not queue the application's readers for longer than its
`lock_timeout`, and a stop (Ctrl-C, a double Ctrl-C, a hang-up, the cancel event) must
end it promptly with every table exactly as it was: nothing commits after a stop.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import psycopg
import pytest

from katarestore_tui.engine.locks import LOCK_TIMEOUT_SECONDS
from katarestore_tui.engine.restore import EXIT_FATAL, run_restore
from katarestore_tui.history.runs import list_runs
from tests.helpers import options
from tests.reliability.support import (
    SCHEMA,
    item,
    progress,
    start_cli,
    wait_until,
    write_big_backup,
)

N_BACKUP = 3_000
ORIGINAL_ITEMS = 250  # rows already in the target, different from the backup's
ORIGINAL_EVENTS = 40


@pytest.fixture
def target(db: psycopg.Connection, db_dsn: str) -> str:
    """The target holds rows the backup does not have: a committed TRUNCATE would show."""
    db.execute(SCHEMA)
    db.execute("INSERT INTO items SELECT i, 'original-' || i, i, NULL"
               " FROM generate_series(1, %s) AS i", (ORIGINAL_ITEMS,))
    db.execute("INSERT INTO events SELECT i, 'original', NULL, NULL"
               " FROM generate_series(1, %s) AS i", (ORIGINAL_EVENTS,))
    return db_dsn


@pytest.fixture
def backup(tmp_path: Path) -> Path:
    return write_big_backup(tmp_path / "backups", N_BACKUP, N_BACKUP)


def assert_untouched(conn: psycopg.Connection) -> None:
    """Every table holds exactly the rows it held before the run (the oracle is the SQL)."""
    items = conn.execute("SELECT count(*), count(*) FILTER (WHERE name = 'original-' || id)"
                         " FROM items").fetchone()
    assert items == (ORIGINAL_ITEMS, ORIGINAL_ITEMS), f"items changed: {items}"
    events = conn.execute("SELECT count(*), count(*) FILTER (WHERE kind = 'original')"
                          " FROM events").fetchone()
    assert events == (ORIGINAL_EVENTS, ORIGINAL_EVENTS), f"events changed: {events}"
    assert progress(conn, "items") == 0 and progress(conn, "events") == 0


class Reader:
    """The application: a transaction that read `items` and stays open (holds ACCESS SHARE)."""

    def __init__(self, dsn: str) -> None:
        self.conn = psycopg.connect(dsn)
        self.conn.execute("SELECT count(*) FROM items")
        self.pid = self.conn.info.backend_pid

    def release(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()


def timed_select(dsn: str, seconds: list[float]) -> None:
    """Another reader of the application; how long its SELECT took (queued behind us?)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        began = time.monotonic()
        conn.execute("SELECT count(*) FROM items").fetchone()
        seconds.append(time.monotonic() - began)


def stopped_while_waiting(backup: Path, target: str, signals: list[signal.Signals]
                          ) -> tuple[int, float, str]:
    """`restore --clean --yes` while a reader holds its lock; stop it with `signals`.

    Returns (exit code, seconds from the first signal to the exit, stderr).
    """
    reader = Reader(target)
    proc = start_cli("restore", str(backup), "--dsn", target, "--clean", "--yes")
    lines: list[str] = []
    pump = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    pump.start()
    try:
        wait_until(lambda: any("waiting for a lock on items" in x for x in lines)
                   or proc.poll() is not None, timeout=LOCK_TIMEOUT_SECONDS + 10,
                   what="the lock-wait line")
        assert proc.poll() is None, "".join(lines)
        wait_line = next(x for x in lines if "waiting for a lock on items" in x)
        assert f"held by pid {reader.pid}" in wait_line, wait_line
        assert "SELECT count(*) FROM items" in wait_line, wait_line

        # the application's other readers are never queued behind us for long
        seconds: list[float] = []
        third = threading.Thread(target=timed_select, args=(target, seconds))
        third.start()
        third.join(timeout=LOCK_TIMEOUT_SECONDS + 5)
        assert seconds and seconds[0] < LOCK_TIMEOUT_SECONDS + 2, seconds

        began = time.monotonic()
        for sig in signals:  # a double Ctrl-C: the second comes while the first is stopping
            os.killpg(proc.pid, sig)
        proc.wait(timeout=30)
        took = time.monotonic() - began
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        reader.release()
    pump.join(timeout=10)
    return proc.returncode, took, "".join(lines)


def test_ctrl_c_while_clean_waits_on_a_lock_stops_at_once_and_empties_nothing(
        backup: Path, target: str, db: psycopg.Connection):
    code, took, err = stopped_while_waiting(backup, target, [signal.SIGINT])
    assert code == EXIT_FATAL, err
    assert took < 5, f"took {took:.1f}s to stop: {err}"
    assert "Traceback" not in err, err
    time.sleep(LOCK_TIMEOUT_SECONDS / 2)  # a TRUNCATE still queued would run now
    assert_untouched(db)
    runs = list_runs()
    assert runs and runs[0]["status"] == "cancelled", runs[0] if runs else "no run"


@pytest.mark.parametrize("signals", [[signal.SIGHUP], [signal.SIGINT, signal.SIGINT]],
                         ids=["hang-up", "double-ctrl-c"])
def test_hang_up_or_double_ctrl_c_while_clean_waits_exits_and_empties_nothing(
        backup: Path, target: str, db: psycopg.Connection, signals):
    code, took, err = stopped_while_waiting(backup, target, signals)
    # a second Ctrl-C that lands once the run has ended kills the interpreter on its way
    # out, as Ctrl-C does (the shell's 130): either way the process is gone at once
    assert code in (EXIT_FATAL, -signal.SIGINT), err
    assert took < 5, f"took {took:.1f}s to stop: {err}"
    assert "Traceback" not in err, err
    time.sleep(LOCK_TIMEOUT_SECONDS / 2)
    assert_untouched(db)


SLOW_CHECK = """
CREATE FUNCTION slow_item(v int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF v = %s THEN PERFORM pg_sleep(60); END IF;
    RETURN true;
END $$;
ALTER TABLE items ADD CONSTRAINT slow CHECK (slow_item(id));
"""


def test_cancel_during_a_long_copy_returns_at_once_and_the_batch_rolls_back(
        backup: Path, target: str, db: psycopg.Connection):
    """One row takes a minute to check (CHECK constraints run even with triggers off)."""
    db.execute("TRUNCATE items, events")
    slow_row = 1_700  # in the second batch of 1,000: the first batch commits
    db.execute(SLOW_CHECK.replace("%s", str(slow_row)))
    cancel = threading.Event()
    result: list = []
    worker = threading.Thread(target=lambda: result.append(run_restore(
        options(target, backup, batch_size=1_000, tables=["items"]), backup.parent,
        cancel=cancel)))
    worker.start()
    wait_until(lambda: db.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'katarestore'"
        " AND datname = current_database() AND wait_event = 'PgSleep'").fetchone()[0],
        what="the COPY inside the slow row")
    began = time.monotonic()
    cancel.set()
    worker.join(timeout=20)
    took = time.monotonic() - began
    assert not worker.is_alive(), "run_restore did not return after the cancel"
    assert took < 5, f"took {took:.1f}s"
    outcome = result[0]
    assert outcome.status == "cancelled", (outcome.status, outcome.error)
    assert progress(db, "items") == 1_000  # the checkpoint stays at the committed batch
    rows = db.execute("SELECT count(*), min(id), max(id) FROM items").fetchone()
    assert rows == (1_000, 1, 1_000), rows  # the batch in flight rolled back
    assert outcome.tables["items"].loaded == 1_000
    assert db.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name ="
                      " 'katarestore' AND datname = current_database()").fetchone()[0] == 0
    assert item(1)["name"] == db.execute("SELECT name FROM items WHERE id = 1").fetchone()[0]


def test_cancel_during_a_long_copy_in_one_transaction_commits_nothing(
        backup: Path, target: str, db: psycopg.Connection):
    db.execute("TRUNCATE items, events")
    db.execute(SLOW_CHECK.replace("%s", "1700"))
    cancel = threading.Event()
    result: list = []
    worker = threading.Thread(target=lambda: result.append(run_restore(
        options(target, backup, batch_size=1_000, single_transaction=True), backup.parent,
        cancel=cancel)))
    worker.start()
    wait_until(lambda: db.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'katarestore'"
        " AND datname = current_database() AND wait_event = 'PgSleep'").fetchone()[0],
        what="the COPY inside the slow row")
    cancel.set()
    worker.join(timeout=20)
    assert not worker.is_alive()
    assert result[0].status == "cancelled", (result[0].status, result[0].error)
    assert db.execute("SELECT (SELECT count(*) FROM items) + (SELECT count(*) FROM events)"
                      ).fetchone()[0] == 0


def test_a_lock_held_for_a_while_is_waited_out_and_the_load_is_exact(
        backup: Path, target: str, db: psycopg.Connection):
    """Retried tries neither lose nor double a record: the end state is the source, exactly."""
    from tests.reliability.support import assert_events_exact, assert_items_exact

    db.execute("TRUNCATE items, events")
    holder = psycopg.connect(target)
    holder.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
    held_for = LOCK_TIMEOUT_SECONDS * 1.5  # at least one timeout, then the lock is granted
    releaser = threading.Timer(held_for, holder.rollback)
    releaser.start()
    seen: list = []
    try:
        outcome = run_restore(options(target, backup, batch_size=500), backup.parent,
                              sink=seen.append)
    finally:
        releaser.join()
        holder.close()
    assert outcome.status == "completed", outcome.error
    waits = [e for e in seen if type(e).__name__ == "LockWait"]
    assert waits and not waits[0].done and waits[0].table == "events"
    assert waits[0].blocker_pid is not None and "LOCK TABLE events" in waits[0].blocker_query
    assert waits[-1].done and waits[-1].waited_seconds >= LOCK_TIMEOUT_SECONDS
    assert_items_exact(db, N_BACKUP)
    assert_events_exact(db, N_BACKUP)
    assert outcome.tables["events"].loaded + outcome.tables["events"].duplicates == N_BACKUP


def test_the_blockers_query_is_shown_without_its_literals(
        backup: Path, target: str, db: psycopg.Connection):
    """Another session's query may carry a password in a literal: it is never shown."""
    reader = psycopg.connect(target)
    reader.execute("SELECT count(*) FROM items WHERE note <> 'password=hunter2'")
    seen: list = []
    cancel = threading.Event()

    def sink(event) -> None:
        seen.append(event)
        if type(event).__name__ == "LockWait":
            cancel.set()

    try:
        outcome = run_restore(options(target, backup, clean=True), backup.parent, sink, cancel)
    finally:
        reader.rollback()
        reader.close()
    assert outcome.status == "cancelled", outcome.error
    (wait,) = [e for e in seen if type(e).__name__ == "LockWait"]
    assert wait.blocker_pid and "hunter2" not in wait.text()
    assert "note <> '…'" in wait.text(), wait.text()
    time.sleep(LOCK_TIMEOUT_SECONDS / 2)
    assert_untouched(db)


@pytest.mark.parametrize("query, shown", [
    ("SELECT count(*) FROM items", "SELECT count(*) FROM items"),
    ("ALTER ROLE app PASSWORD 'hunter2'", "ALTER ROLE app PASSWORD '…'"),
    ("SELECT 'it''s', E'a\\'hunter2'", "SELECT '…', E'…'"),
    ("SELECT $q$hunter2$q$ FROM t", "SELECT '…' FROM t"),
    ("INSERT INTO t VALUES ('cut short by the server: hunter2", "INSERT INTO t VALUES ('…'"),
    ("SELECT   a,\n\t b FROM items WHERE x = $1", "SELECT a, b FROM items WHERE x = $1"),
])
def test_short_query_masks_literals_and_folds_whitespace(query: str, shown: str):
    from katarestore_tui.engine.locks import short_query

    assert short_query(query) == shown
    long = short_query("SELECT " + ", ".join(f"column_{i}" for i in range(40)) + " FROM t")
    assert len(long) == 60 and long.endswith("…")
