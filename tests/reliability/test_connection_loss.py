"""The connection drops mid-run: reconnect, redo the uncommitted batch, go on, count exactly.

`pg_terminate_backend` is what a DBA, a failover or a server restart does to the loader's
session. A small TCP proxy in front of the real server plays the network: stopping it
makes the server unreachable, starting it again on the same port brings it back.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from katarestore_tui.engine import connect as connect_module
from katarestore_tui.engine.events import Warning
from katarestore_tui.engine.quarantine import read_quarantine
from katarestore_tui.engine.restore import EXIT_FATAL, EXIT_OK, EXIT_PARTIAL, run_restore
from katarestore_tui.history.runs import is_resumable, read_run
from tests.helpers import assert_balanced, options
from tests.reliability.support import (
    SCHEMA,
    TcpProxy,
    assert_events_exact,
    assert_items_exact,
    progress,
    terminate_backends,
    wait_until,
    write_big_backup,
)

N = 30_000
BAD_EVERY = 997  # items too long for varchar(40): the quarantine must not double on a redo
BAD = N // BAD_EVERY


@pytest.fixture(scope="module")
def backup(tmp_path_factory) -> Path:
    return write_big_backup(tmp_path_factory.mktemp("backups"), N, N, bad_every=BAD_EVERY)


@pytest.fixture
def target(db: psycopg.Connection, db_dsn: str) -> str:
    db.execute(SCHEMA)
    db.execute("SET TimeZone = 'UTC'")
    return db_dsn


def dbname(dsn: str) -> str:
    return conninfo_to_dict(dsn)["dbname"]


def assert_exact(db: psycopg.Connection, result) -> None:
    assert_balanced(result)
    items, events = result.tables["items"], result.tables["events"]
    why = f"items: {items.state} {items.error!r}; events: {events.state} {events.error!r}"
    assert (items.records, items.loaded, items.duplicates, items.failed) == (N, N - BAD, 0, BAD), why
    assert (events.records, events.loaded, events.duplicates, events.failed) == (N, N, 0, 0), why
    assert_items_exact(db, N, BAD_EVERY)
    assert_events_exact(db, N)
    ids = Counter(e["record"]["id"] for e in read_quarantine(result.run_id, "items"))
    assert ids == Counter(range(BAD_EVERY, N + 1, BAD_EVERY)), "each bad record once, no other"


def run_in_thread(opts, root: Path, sink=None, cancel=None) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def work():
        outcome["result"] = run_restore(opts, root, sink or (lambda e: None), cancel)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    return worker, outcome


def terminate_repeatedly(db, name: str, worker: threading.Thread, points) -> int:
    """Terminate katarestore's backends each time a table's progress passes a point."""
    killed = 0
    for table, at in points:
        wait_until(lambda t=table, a=at: progress(db, t) >= a or not worker.is_alive(),
                   what=f"{table} at {at}")
        if not worker.is_alive():
            break
        killed += terminate_backends(db, name)
    return killed


@pytest.mark.parametrize("jobs", [1, 2])
def test_terminated_backend_reconnects_and_the_run_finishes_exactly(jobs, backup, target, db):
    warnings: list[str] = []

    def sink(event):
        if isinstance(event, Warning):
            warnings.append(event.message)

    worker, outcome = run_in_thread(
        options(target, backup, batch_size=200, jobs=jobs), backup.parent, sink)
    points = [("events", 2_000), ("events", 15_000), ("items", 1_000), ("items", 20_000)]
    killed = terminate_repeatedly(db, dbname(target), worker, points)
    worker.join(timeout=120)
    result = outcome["result"]
    assert killed >= 2, "the test must really cut the loader's connection"
    assert result.exit_code == EXIT_PARTIAL, result.error  # partial: the BAD records
    assert result.status == "partial"
    assert any("connection lost" in w for w in warnings)
    assert_exact(db, result)
    assert db.execute("SELECT to_regclass('_katarestore_progress')").fetchone()[0] is None


def proxied(dsn: str, proxy: TcpProxy) -> str:
    params = conninfo_to_dict(dsn)
    return make_conninfo(**{**params, "host": "127.0.0.1", "port": str(proxy.port)})


def upstream(dsn: str) -> tuple[str, int]:
    params = conninfo_to_dict(dsn)
    return params.get("host", "127.0.0.1"), int(params.get("port", 5432))


def test_server_gone_for_a_moment_the_run_waits_and_finishes(backup, target, db, monkeypatch):
    monkeypatch.setattr(connect_module, "RECONNECT_SECONDS", 20.0)
    proxy = TcpProxy(*upstream(target))
    port = proxy.port
    worker, outcome = run_in_thread(options(proxied(target, proxy), backup, batch_size=200),
                                    backup.parent)
    try:
        wait_until(lambda: progress(db, "items") > 0 or not worker.is_alive(), what="progress")
        proxy.stop()  # the network is gone: open connections cut, new ones refused
        threading.Event().wait(1.5)
        assert worker.is_alive(), "the run must wait for the server, not give up at once"
        proxy = TcpProxy(*upstream(target), port=port)  # back on the same address
        worker.join(timeout=120)
    finally:
        proxy.stop()
    result = outcome["result"]
    assert result.exit_code == EXIT_PARTIAL, result.error
    assert_exact(db, result)


def test_server_that_does_not_come_back_stops_resumable_then_resume_completes(
    backup, target, db, monkeypatch
):
    monkeypatch.setattr(connect_module, "RECONNECT_SECONDS", 1.5)
    proxy = TcpProxy(*upstream(target))
    worker, outcome = run_in_thread(options(proxied(target, proxy), backup, batch_size=200),
                                    backup.parent)
    try:
        wait_until(lambda: progress(db, "items") > 0 or not worker.is_alive(), what="progress")
        proxy.stop()
        worker.join(timeout=60)
    finally:
        proxy.stop()
    assert not worker.is_alive(), "the run must stop once the reconnect time is over"
    result = outcome["result"]
    assert result.exit_code == EXIT_FATAL and result.status == "failed"
    assert "did not come back" in result.error
    assert f"resumable: katarestore restore --resume {result.run_id}" in result.error
    run = read_run(result.run_id)
    assert run["status"] == "failed" and is_resumable(run)
    # the log says what is in: events finished, items stopped part-way at its last commit
    assert run["tables"]["events"]["state"] == "done"
    assert run["tables"]["items"]["state"] == "cancelled"
    # the log has every batch it saw commit; the one in flight when the line died may have
    # committed unseen, which the database's own checkpoint (what --resume reads) knows
    assert progress(db, "items") - 200 <= run["tables"]["items"]["records"] <= progress(db, "items")
    assert_balanced(result)

    # later, the server is reachable again (here: directly): the resume finishes the job
    again = run_restore(options(target, backup, batch_size=200, resume=result.run_id),
                        backup.parent)
    assert again.exit_code == EXIT_PARTIAL, again.error
    assert_exact(db, again)


def test_single_transaction_lost_connection_loads_nothing_then_resume_completes(
    backup, target, db
):
    """All or nothing: after a drop the load must not go on in a second transaction."""
    worker, outcome = run_in_thread(
        options(target, backup, batch_size=200, single_transaction=True), backup.parent)
    wait_until(lambda: db.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'katarestore'"
        " AND datname = current_database() AND query ILIKE 'COPY%%items%%'"
    ).fetchone()[0] or not worker.is_alive(),
        what="the load of items")
    assert terminate_backends(db, dbname(target)) >= 1
    worker.join(timeout=60)
    result = outcome["result"]
    assert result.exit_code == EXIT_FATAL and result.status == "failed"
    assert "resumable" in result.error
    for table in ("items", "events"):
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table

    again = run_restore(options(target, backup, batch_size=200, single_transaction=True,
                                resume=result.run_id), backup.parent)
    assert again.exit_code == EXIT_PARTIAL, again.error
    assert_exact(db, again)
    assert again.exit_code != EXIT_OK


@pytest.mark.parametrize("phase", ["foreign keys", "sequences"])
def test_connection_lost_after_the_load_is_redone_on_a_new_one(phase, db, db_dsn, tmp_path):
    """The set-based steps after the load (FK check, sequences, cleanup) survive a drop too,
    and the FK check's quarantine stays exact (each orphan once)."""
    from katarestore_tui.engine.events import Phase
    from tests.helpers import write_backup

    db.execute("CREATE TABLE parent (id serial PRIMARY KEY)")
    db.execute("CREATE TABLE child (id serial PRIMARY KEY, parent_id int REFERENCES parent)")
    children = [{"id": i, "parentId": i % 60 + 1} for i in range(1, 601)]
    orphans = sorted(c["id"] for c in children if c["parentId"] > 50)
    backup = write_backup(tmp_path, {"parent.json": [{"id": i} for i in range(1, 51)],
                                     "child.json": children})
    cut = []

    def sink(event):
        if isinstance(event, Phase) and event.name == phase and not cut:
            cut.append(terminate_backends(db, dbname(db_dsn)))

    result = run_restore(options(db_dsn, backup), tmp_path, sink)
    assert cut == [1]
    assert result.exit_code == EXIT_PARTIAL, result.error
    assert_balanced(result)
    child = result.tables["child"]
    assert (child.loaded, child.failed) == (600 - len(orphans), len(orphans))
    assert sorted(e["record"]["id"] for e in read_quarantine(result.run_id, "child")) == orphans
    assert db.execute("SELECT count(*) FROM child").fetchone()[0] == 600 - len(orphans)
    assert db.execute("SELECT nextval('child_id_seq')").fetchone()[0] == 601  # sequences moved
    assert db.execute("SELECT to_regclass('_katarestore_progress')").fetchone()[0] is None
