"""kill -9 during `katarestore retry`: nothing loaded twice, no count stuck (#9.5).

Every quarantined record is retried once the operator dropped the CHECK that refused it;
the retry is killed at different points (mid-batch, right after a commit, while it
rewrites the quarantine), retried again, and the end state is compared to the plain truth:
each record in its table exactly once, the quarantine empty, the run log's counts equal
to the rows in the tables.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time

import psycopg
import pytest

from katarestore_tui.engine import checkpoint
from katarestore_tui.engine.quarantine import quarantine_dir, read_quarantine
from katarestore_tui.history.runs import read_run
from tests.helpers import write_backup
from tests.reliability.support import run_cli, start_cli, wait_until

N = 3_000  # records per table, every one quarantined by the first run
BATCH = "150"
SCHEMA = """
CREATE TABLE events (n int NOT NULL, kind text, CONSTRAINT events_kind CHECK (kind = 'ok'));
CREATE TABLE items (id int PRIMARY KEY, name text, CONSTRAINT items_name CHECK (name = 'ok'));
"""


def _rows(db: psycopg.Connection) -> dict[str, tuple[int, int]]:
    """(rows, distinct keys) per table: a record loaded twice shows as rows > distinct."""
    return {
        "events": db.execute("SELECT count(*), count(DISTINCT n) FROM events").fetchone(),
        "items": db.execute("SELECT count(*), count(DISTINCT id) FROM items").fetchone(),
    }


def _kill(db: psycopg.Connection, run_id: str, dsn: str, rng: random.Random, reach: int) -> None:
    """Start a retry, let it get to `reach` rows in all (or a random instant), kill -9."""
    proc = start_cli("retry", run_id, "--dsn", dsn, "--batch-size", BATCH)
    try:
        if reach <= 0:
            time.sleep(rng.uniform(0.2, 1.5))
        else:
            wait_until(lambda: proc.poll() is not None
                       or sum(r[0] for r in _rows(db).values()) >= reach,
                       timeout=120, every=0.002, what=f"{reach} rows")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)


def test_retry_killed_anywhere_loads_each_record_once(db: psycopg.Connection, db_dsn: str,
                                                     tmp_path) -> None:
    db.execute(SCHEMA)
    events = [{"n": i, "kind": "bad"} for i in range(N)]
    items = [{"id": i, "name": "bad"} for i in range(N)]
    backup = write_backup(tmp_path, {"events.json": events, "items.json": items})
    # every record fails: --max-errors lets them all reach the quarantine (the default stops a
    # table whose first 1,000 records all fail with one error)
    first = run_cli("restore", str(backup), "--dsn", db_dsn, "--yes", "--json", "--max-errors", str(3 * N))
    assert first.returncode == 1, first.stderr
    run_id = json.loads(first.stdout)["run_id"]
    assert sum(1 for _ in read_quarantine(run_id)) == 2 * N
    # the operator's fix: the records are good now
    db.execute("ALTER TABLE events DROP CONSTRAINT events_kind")
    db.execute("ALTER TABLE items DROP CONSTRAINT items_name")

    rng = random.Random(9_5)
    # mid-batch, right after commits, at the end of a table, during start-up and recovery
    for reach in (rng.randrange(1, 800), 0, N - 1, N, rng.randrange(N + 1, 2 * N - 200),
                  0, 2 * N):
        _kill(db, run_id, db_dsn, rng, reach)
        for name, (rows, distinct) in _rows(db).items():
            assert rows == distinct, f"{name}: {rows} rows for {distinct} records"

    done = run_cli("retry", run_id, "--dsn", db_dsn, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    again = run_cli("retry", run_id, "--dsn", db_dsn, "--json")
    assert again.returncode == 0, again.stdout + again.stderr

    assert db.execute("SELECT array_agg(n ORDER BY n) FROM events").fetchone()[0] == list(range(N))
    assert db.execute("SELECT array_agg(id ORDER BY id) FROM items").fetchone()[0] == list(range(N))
    assert list(read_quarantine(run_id)) == []
    run = read_run(run_id)
    for name in ("events", "items"):
        stats = run["tables"][name]
        assert (stats["records"], stats["loaded"], stats["duplicates"], stats["failed"]) == (
            N, N, 0, 0), (name, stats)
    assert run["totals"] == {"records": 2 * N, "loaded": 2 * N, "duplicates": 0, "failed": 0}
    assert run["status"] == "completed" and run["exit_code"] == 0
    assert db.execute("SELECT to_regclass(%s)", (checkpoint.TABLE,)).fetchone() == (None,)
    assert sorted(p.name for p in quarantine_dir(run_id).iterdir()) == [
        "events.jsonl", "items.jsonl"]


@pytest.mark.parametrize("crash_before", ["_apply_to_run_log", "forget_table", "remove"])
def test_retry_interrupted_between_its_bookkeeping_steps(db: psycopg.Connection, db_dsn: str,
                                                         tmp_path, monkeypatch,
                                                         crash_before: str) -> None:
    """A stop between the steps that close a table (quarantine, run log, checkpoint row,
    side files): the next retry finishes them, and nothing is counted twice."""
    from katarestore_tui.engine import retry

    db.execute(SCHEMA)
    backup = write_backup(tmp_path, {"events.json": [{"n": i, "kind": "bad"} for i in range(50)]})
    # every record fails: --max-errors lets them all reach the quarantine (the default stops a
    # table whose first 1,000 records all fail with one error)
    first = run_cli("restore", str(backup), "--dsn", db_dsn, "--yes", "--json", "--max-errors", str(3 * N))
    run_id = json.loads(first.stdout)["run_id"]
    db.execute("ALTER TABLE events DROP CONSTRAINT events_kind")

    def crash(*_args, **_kwargs):
        raise KeyboardInterrupt  # the process dies here, as with kill -9

    owners = {"remove": retry._SideFiles, "forget_table": retry.checkpoint}
    owner = owners.get(crash_before, retry)
    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(owner, crash_before, crash)
        retry.retry_run(run_id, db_dsn, batch_size=7)
    assert _rows(db)["events"] == (50, 50)

    done = retry.retry_run(run_id, db_dsn, batch_size=7)
    assert done.error is None and done.tables == {}
    # the checkpoint row goes last but one: before that, the next retry finishes the table
    finished = {} if crash_before == "remove" else {
        "events": {"retried": 50, "loaded": 50, "duplicates": 0, "still_failed": 0}}
    assert done.recovered == finished
    assert db.execute("SELECT array_agg(n ORDER BY n) FROM events").fetchone()[0] == list(range(50))
    assert list(read_quarantine(run_id)) == []
    stats = read_run(run_id)["tables"]["events"]
    assert (stats["loaded"], stats["duplicates"], stats["failed"]) == (50, 0, 0)
    assert db.execute("SELECT to_regclass(%s)", (checkpoint.TABLE,)).fetchone() == (None,)
    assert sorted(p.name for p in quarantine_dir(run_id).iterdir()) == ["events.jsonl"]
