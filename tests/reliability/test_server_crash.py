"""The server crashes mid-run with `synchronous_commit = off`: commits it acknowledged are lost.

katarestore reconnects when the server is back; the batches the crash took back must be
loaded again (the loader rewinds to what the database's checkpoint says is committed),
so the table ends exactly as the backup, each bad record quarantined once, and the
summary balances. The server is the test's own (tests/reliability/private_server.py):
the shared one is never crashed.
"""

from __future__ import annotations

import json
from collections import Counter

import psycopg
import pytest

from katarestore_tui.engine.quarantine import read_quarantine
from katarestore_tui.engine.restore import EXIT_PARTIAL
from tests.reliability.private_server import private_server  # noqa: F401 - a fixture
from tests.reliability.support import (
    SCHEMA,
    assert_events_exact,
    assert_items_exact,
    progress,
    start_cli,
    wait_until,
    write_big_backup,
)

N_ITEMS = 200_000
N_EVENTS = 50_000
BAD_EVERY = 997
BAD = N_ITEMS // BAD_EVERY

# Async commits, and WAL that stays in the server's buffers as long as possible
CRASHY = {
    "synchronous_commit": "off",
    "wal_writer_delay": "10s",
    "wal_writer_flush_after": "64MB",
    "wal_buffers": "64MB",
    "bgwriter_lru_maxpages": "0",
    "checkpoint_timeout": "30min",
    "max_wal_size": "4GB",
}


@pytest.fixture
def crashy(private_server):  # noqa: F811
    server = private_server(CRASHY)
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE kr")
    with psycopg.connect(server.dsn("kr"), autocommit=True) as conn:
        conn.execute(SCHEMA)
    return server


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_server_crash_with_async_commit_loses_nothing(jobs, crashy, tmp_path):
    backup = write_big_backup(tmp_path / "backups", N_ITEMS, N_EVENTS, bad_every=BAD_EVERY)
    dsn = crashy.dsn("kr")
    proc = start_cli("restore", str(backup), "--dsn", dsn, "--batch-size", "200", "--yes",
                     "--json", "--jobs", jobs)
    try:
        with psycopg.connect(dsn, autocommit=True) as watch:
            wait_until(lambda: progress(watch, "items") >= 20_000 or proc.poll() is not None,
                       timeout=120, what="items under way")
            assert proc.poll() is None, proc.communicate()
            crashy.pause_wal_writer()
            at_pause = progress(watch, "items")
            # commits acknowledged from here on are (mostly) only in the server's memory
            wait_until(lambda: progress(watch, "items") >= at_pause + 30_000
                       or proc.poll() is not None, timeout=120, what="acknowledged batches")
        assert proc.poll() is None, proc.communicate()
        crashy.crash()
        crashy.start()
        with psycopg.connect(dsn, autocommit=True) as check:
            survived = progress(check, "items")
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert survived < at_pause + 30_000, "the crash must really have lost acknowledged batches"
    assert proc.returncode == EXIT_PARTIAL, err  # partial: the BAD records
    summary = json.loads(out)
    items, events = summary["tables"]["items"], summary["tables"]["events"]
    assert (items["records"], items["loaded"], items["duplicates"], items["failed"]) == (
        N_ITEMS, N_ITEMS - BAD, 0, BAD)
    assert (events["records"], events["loaded"], events["duplicates"], events["failed"]) == (
        N_EVENTS, N_EVENTS, 0, 0)
    t = summary["totals"]
    assert t["loaded"] + t["duplicates"] + t["failed"] == t["records"]
    with psycopg.connect(dsn, autocommit=True) as check:
        check.execute("SET TimeZone = 'UTC'")
        assert_items_exact(check, N_ITEMS, BAD_EVERY)
        assert_events_exact(check, N_EVENTS)
    ids = Counter(e["record"]["id"] for e in read_quarantine(summary["run_id"], "items"))
    assert ids == Counter(range(BAD_EVERY, N_ITEMS + 1, BAD_EVERY)), "each bad record once"
    assert "loading them again from record" in err, err  # the loader said what it did

