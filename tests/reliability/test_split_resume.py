"""kill -9 at a random batch of a table loaded in two ranges, then `--resume`: every range
goes on where it committed, and the table ends equal to the backup (no record twice, none
skipped; the table has no key and holds exact repeats, so a doubled batch would show)."""

from __future__ import annotations

import json
import os
import random
import signal
from pathlib import Path

import psycopg
import pytest

from katarestore_tui.engine import checkpoint
from katarestore_tui.engine.split_load import MIN_BYTES_ENV
from katarestore_tui.history.runs import list_runs
from tests.reliability.support import (
    SCHEMA,
    assert_events_exact,
    cli_env,
    events,
    run_cli,
    start_cli,
    wait_until,
)

N = 40_000  # ~6 MB: each range has a parser process, as in production
BATCH = 500


def committed_parts(conn: psycopg.Connection) -> dict[str, tuple[int, int]]:
    """{range: (first record, records committed past it)} from the ranges' checkpoint rows."""
    if conn.execute("SELECT to_regclass(%s)", (checkpoint.TABLE,)).fetchone()[0] is None:
        return {}
    rows = conn.execute(
        f"SELECT table_name, records_done FROM {checkpoint.TABLE}"
        " WHERE left(table_name, 7) = %s", ("events" + checkpoint.PART_MARK,)).fetchall()
    out = {}
    for name, done in rows:
        first = int(name.split(checkpoint.PART_MARK)[1].split("-")[2])
        out[name] = (first, done - first)
    return out


@pytest.fixture
def target(db: psycopg.Connection, db_dsn: str) -> str:
    db.execute(SCHEMA)
    db.execute("SET TimeZone = 'UTC'")
    return db_dsn


@pytest.mark.parametrize(("layout", "seed", "resume_jobs"), [
    ("json", 1, ()), ("jsonl", 2, ("--jobs", "1")),  # a resume keeps the ranges it started
])
def test_kill_9_in_a_two_range_load_then_resume_is_exact(target, db, tmp_path: Path, layout,
                                                         seed, resume_jobs):
    folder = tmp_path / "20240101_000000"
    folder.mkdir()
    rows = events(N)
    if layout == "json":
        (folder / "events.json").write_text(json.dumps(rows, indent=2))
    else:
        (folder / "events.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    env = cli_env(**{MIN_BYTES_ENV: "1"})
    kill_at = random.Random(seed).randint(1, N // BATCH - 8) * BATCH  # a random batch
    proc = start_cli("restore", str(folder), "--dsn", target, "--batch-size", str(BATCH),
                     "--jobs", "2", "--yes", "--json", env=env)
    try:
        wait_until(lambda: sum(d for _, d in committed_parts(db).values()) >= kill_at
                   or proc.poll() is not None, what=f"{kill_at} committed records")
        os.killpg(proc.pid, signal.SIGKILL)  # the loader and both parser processes
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    parts = committed_parts(db)
    assert len(parts) == 2, parts
    done = sum(d for _, d in parts.values())
    assert 0 < done < N, "the kill must land in the middle of the table"
    # the checkpoint commits with the rows: the table holds exactly what the ranges counted
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == done

    (run,) = list_runs()
    finished = run_cli("restore", "--resume", run["run_id"], "--dsn", target, "--batch-size",
                       str(BATCH), "--yes", "--json", *resume_jobs, env=env)
    assert finished.returncode == 0, finished.stderr
    summary = json.loads(finished.stdout)
    t = summary["tables"]["events"]
    assert (t["records"], t["loaded"], t["duplicates"], t["failed"]) == (N, N, 0, 0), t
    assert_events_exact(db, N)
    assert db.execute("SELECT to_regclass(%s)", (checkpoint.TABLE,)).fetchone()[0] is None
