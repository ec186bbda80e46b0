"""kill -9 while an empty table's secondary indexes are away, then `--resume`: every index
is back, exactly as it was (pg_get_indexdef before == after), and the rows are the backup's.

With `--indexes all` (the expression and partial indexes go too). Three kill points:
during the load after the drop (the record of the drop committed, some
batches in), between two builds of the index phase, and in the middle of a CREATE INDEX
(seen in pg_stat_progress_create_index by the test, which then kills the process).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import psycopg
import pytest

from katarestore_tui.engine import indexes
from katarestore_tui.history.runs import is_resumable, list_runs
from tests.engine.test_indexes import index_defs
from tests.helpers import write_backup
from tests.reliability.support import cli_env, run_cli

SCHEMA = """
CREATE TABLE item (id int PRIMARY KEY, n int, note text);
CREATE FUNCTION slow(v int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS
$$ BEGIN IF current_setting('kr.slow', true) = 'on' THEN PERFORM pg_sleep(0.005); END IF;
   RETURN v; END $$;
CREATE INDEX item_a_n ON item (n);
CREATE INDEX item_b_note ON item (note text_pattern_ops) WHERE n > 3;
CREATE INDEX item_c_slow ON item (slow(n));
"""
N = 200
RECORDS = [{"id": i, "n": i % 7, "note": f"note {i}"} for i in range(1, N + 1)]

KILL = """
import os, signal, sys
from pathlib import Path
from katarestore_tui.engine.events import IndexPhase, Phase, TableProgress
from katarestore_tui.engine.options import RestoreOptions
from katarestore_tui.engine.restore import run_restore

where = sys.argv[3]
dropped = False
built = 0

def sink(event):
    global dropped, built
    print(event, flush=True)
    if isinstance(event, Phase) and "dropped until its data" in event.detail:
        dropped = True
    if where == "load" and dropped and isinstance(event, TableProgress):
        os.kill(os.getpid(), signal.SIGKILL)
    if where == "between builds" and isinstance(event, IndexPhase) and event.step == "starting":
        built += 1
        if built == 2:  # item_a_n committed, item_b_note not begun
            os.kill(os.getpid(), signal.SIGKILL)

run_restore(RestoreOptions(backup=sys.argv[1], dsn=sys.argv[2], parser_process=False,
                           batch_size=40, indexes="all"), Path(sys.argv[1]).parent, sink)
"""


def only_run() -> dict:
    (run,) = list_runs()
    return run


def rows(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute("SELECT id, n, note FROM item ORDER BY id").fetchall()


def expected() -> list[tuple]:
    return [(r["id"], r["n"], r["note"]) for r in RECORDS]


def wait_until(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def no_katarestore_backend(conn: psycopg.Connection, dbname: str) -> bool:
    """The killed client's backend is gone (it may finish its statement first)."""
    return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
                        " AND application_name = 'katarestore'", (dbname,)).fetchone()[0] == 0


def resume_and_check(db: psycopg.Connection, db_dsn: str, before: dict) -> None:
    run = only_run()
    assert run["status"] == "running" and is_resumable(run)  # kill -9 wrote nothing more
    assert indexes.left_over(db, "public"), "what the kill left to build is recorded"
    done = run_cli("restore", "--resume", run["run_id"], "--dsn", db_dsn, "--yes", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["status"] == "completed"
    assert index_defs(db) == before, "every index present and identical"
    assert rows(db) == expected()
    assert indexes.left_over(db, "public") == []
    assert db.execute("SELECT to_regclass('_katarestore_indexes')").fetchone()[0] is None


@pytest.mark.parametrize("where", ["load", "between builds"])
def test_kill_while_indexes_are_away_then_resume(where, db, db_dsn, tmp_path):
    db.execute(SCHEMA)
    before = index_defs(db)
    backup = write_backup(tmp_path / "b", {"item.json": RECORDS})
    killed = subprocess.run([sys.executable, "-c", KILL, str(backup), db_dsn, where],
                            env=cli_env(), capture_output=True, text=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    missing = set(before) - set(index_defs(db))
    assert missing == ({"item_a_n", "item_b_note", "item_c_slow"} if where == "load"
                       else {"item_b_note", "item_c_slow"})
    resume_and_check(db, db_dsn, before)


def test_kill_in_the_middle_of_create_index_then_resume(db, db_dsn, tmp_path):
    db.execute(SCHEMA)
    dbname = db.info.dbname
    db.execute(f"ALTER DATABASE {dbname} SET kr.slow = 'on'")  # item_c_slow: 5 ms a row
    before = index_defs(db)
    backup = write_backup(tmp_path / "b", {"item.json": RECORDS})
    proc = subprocess.Popen(
        [sys.executable, "-m", "katarestore_tui", "restore", str(backup), "--dsn", db_dsn,
         "--yes", "--no-parser-process", "--indexes", "all"], env=cli_env(), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        wait_until(lambda: db.execute(
            "SELECT count(*) FROM pg_stat_progress_create_index p JOIN pg_class c"
            " ON c.oid = p.relid WHERE p.datname = %s AND c.relname = 'item'",
            (dbname,)).fetchone()[0] > 0 or proc.poll() is not None, "a CREATE INDEX")
        assert proc.poll() is None, "the build must be under way when the kill lands"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    wait_until(lambda: no_katarestore_backend(db, dbname), "the killed run's backend to end")
    assert "item_c_slow" not in index_defs(db)
    db.execute(f"ALTER DATABASE {dbname} RESET kr.slow")
    resume_and_check(db, db_dsn, before)
