"""Crash, kill -9, cancel and signals mid-table: `--resume` ends with the source, exactly once.

The target is compared with the source by row count and an md5 over every row ordered
by key, for a table with a primary key (items) and one without any key (events, which
holds exact duplicate rows on purpose: a resume that loaded a batch twice would show).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import psycopg
import pytest

from katarestore_tui.engine.restore import EXIT_FATAL, EXIT_OK, EXIT_PARTIAL, run_restore
from katarestore_tui.history.runs import is_resumable, list_runs, read_run
from tests.helpers import assert_balanced, options
from tests.reliability.support import (
    SCHEMA,
    assert_events_exact,
    assert_items_exact,
    progress,
    run_cli,
    start_cli,
    wait_until,
    write_big_backup,
)

N = 100_000  # per table: ~7 MB files, so the parser process is used as in production


@pytest.fixture(scope="module")
def backup(tmp_path_factory) -> Path:
    return write_big_backup(tmp_path_factory.mktemp("backups"), N, N)


@pytest.fixture
def target(db: psycopg.Connection, db_dsn: str) -> str:
    db.execute(SCHEMA)
    db.execute("SET TimeZone = 'UTC'")
    return db_dsn


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def only_run() -> dict:
    (run,) = list_runs()
    return run


def resume(run_id: str, dsn: str, *extra: str, code: int = EXIT_OK):
    done = run_cli("restore", "--resume", run_id, "--dsn", dsn, "--batch-size", "500", "--yes",
                   "--json", *extra)
    assert done.returncode == code, done.stderr
    return json.loads(done.stdout)


def assert_exact(db: psycopg.Connection, summary: dict) -> None:
    for name in ("items", "events"):
        t = summary["tables"][name]
        assert (t["records"], t["loaded"], t["duplicates"], t["failed"]) == (N, N, 0, 0), (name, t)
    assert_items_exact(db, N)
    assert_events_exact(db, N)
    assert db.execute("SELECT to_regclass('_katarestore_progress')").fetchone()[0] is None


@pytest.mark.parametrize("victim", ["events", "items"])  # no key / primary key
def test_sigkill_mid_table_then_resume_loads_the_source_exactly(victim, backup, target, db):
    proc = start_cli("restore", str(backup), "--dsn", target, "--batch-size", "500", "--yes", "--json")
    try:
        wait_until(lambda: progress(db, victim) > 0 or proc.poll() is not None,
                   what=f"a committed batch of {victim}")
        parsers = children_of(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    committed = progress(db, victim)
    assert 0 < committed < N, "the kill must land in the middle of the table"
    # the parser process notices its reader is gone and exits: nothing is left spinning
    for pid in parsers:
        wait_until(lambda p=pid: not alive(p), timeout=10, what=f"parser {pid} to exit")

    # what was committed is exactly what the checkpoint says (it commits with the rows)
    table_rows = db.execute(f"SELECT count(*) FROM {victim}").fetchone()[0]
    assert table_rows == committed

    run = only_run()
    assert run["status"] == "running" and is_resumable(run)  # kill -9 wrote nothing more
    listing = run_cli("history")
    assert listing.returncode == 0
    line = next(x for x in listing.stdout.splitlines() if run["run_id"] in x)
    assert "(resumable)" in line
    detail = run_cli("history", run["run_id"])
    assert f"katarestore restore --resume {run['run_id']}" in detail.stdout

    summary = resume(run["run_id"], target)
    assert summary["run_id"] == run["run_id"] and summary["status"] == "completed"
    assert_exact(db, summary)
    assert read_run(run["run_id"])["status"] == "completed"
    assert not is_resumable(read_run(run["run_id"]))


def test_cancel_mid_run_is_resumable_and_resume_is_exact(backup, target, db):
    cancel = threading.Event()
    outcome = {}

    def work():
        outcome["result"] = run_restore(options(target, backup, batch_size=500), backup.parent,
                                        cancel=cancel)

    worker = threading.Thread(target=work)
    worker.start()
    wait_until(lambda: progress(db, "items") > 0 or not worker.is_alive(), what="items progress")
    cancel.set()
    worker.join(timeout=60)
    result = outcome["result"]
    assert result.status == "cancelled" and result.exit_code == EXIT_FATAL
    assert f"--resume {result.run_id}" in result.error
    assert_balanced(result)
    run = read_run(result.run_id)
    assert run["status"] == "cancelled" and is_resumable(run)
    # the run log tells what is really in: the finished table, and the committed part of items
    assert run["tables"]["events"]["loaded"] == N and run["tables"]["events"]["state"] == "done"
    items_rows = db.execute("SELECT count(*) FROM items").fetchone()[0]
    assert 0 < items_rows < N
    assert run["tables"]["items"]["loaded"] == items_rows == progress(db, "items")
    assert run["tables"]["items"]["state"] == "cancelled"

    again = run_restore(options(target, backup, batch_size=500, resume=result.run_id), backup.parent)
    assert again.exit_code == EXIT_OK, again.error
    assert again.run_id == result.run_id
    assert_balanced(again)
    assert_exact(db, again.summary())


@pytest.mark.parametrize(
    "sig, whole_group",
    [
        (signal.SIGINT, True),  # Ctrl-C in a terminal: the parser process gets it too
        (signal.SIGTERM, False),  # `kill PID`, systemd, docker stop
        (signal.SIGHUP, True),  # the SSH session dropped: the whole job gets a hang-up
    ],
    ids=["SIGINT-to-the-group", "SIGTERM", "SIGHUP-to-the-group"],
)
def test_signal_stops_at_a_batch_boundary_and_resume_is_exact(sig, whole_group, backup, target, db):
    proc = start_cli("restore", str(backup), "--dsn", target, "--batch-size", "500", "--yes", "--json")
    try:
        wait_until(lambda: progress(db, "events") > 0 or proc.poll() is not None, what="progress")
        if whole_group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == EXIT_FATAL, err
    assert "Traceback" not in err, err
    summary = json.loads(out)
    assert summary["status"] == "cancelled", summary
    assert f"--resume {summary['run_id']}" in summary["error"]
    assert signal.Signals(sig).name in err
    # the summary counts what is committed, nothing more
    assert summary["tables"]["events"]["loaded"] == progress(db, "events")
    assert is_resumable(read_run(summary["run_id"]))

    assert_exact(db, resume(summary["run_id"], target))


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_stops_a_batch_stuck_on_a_lock_at_once_and_the_run_stays_resumable(
        backup, target, db, server_dsn, jobs):
    """A batch stuck on a lock: the first Ctrl-C cancels it in the server and the process
    leaves at once (with --jobs 2 too: no worker thread is left waiting on the lock)."""
    with psycopg.connect(target) as blocker:  # holds a lock on events until rolled back
        blocker.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
        proc = start_cli("restore", str(backup), "--dsn", target, "--batch-size", "500", "--yes",
                         "--json", "--jobs", jobs)
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
        reader.start()
        try:
            wait_until(lambda: db.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'katarestore'"
                " AND datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()[0] or proc.poll() is not None, what="the loader waiting on the lock")
            began = time.monotonic()
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=20)
            took = time.monotonic() - began
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            blocker.rollback()
    reader.join(timeout=10)
    err = "".join(lines)
    assert took < 5, f"took {took:.1f}s: {err}"
    assert proc.returncode == EXIT_FATAL, err
    assert "Traceback" not in err, err
    assert "SIGINT: stopping now" in err, err
    run = only_run()
    assert run["status"] == "cancelled" and is_resumable(run)
    assert progress(db, "events") == 0
    assert_exact(db, resume(run["run_id"], target))


def test_a_run_cannot_be_resumed_while_it_is_still_running(backup, target, db):
    """Two processes on one run would load its batches twice: the second is refused."""
    with psycopg.connect(target) as blocker:
        blocker.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
        proc = start_cli("restore", str(backup), "--dsn", target, "--batch-size", "500", "--yes",
                         "--json")
        try:
            run = wait_until(lambda: list_runs() or None, what="the run log")[0]
            second = run_cli("restore", "--resume", run["run_id"], "--dsn", target, "--yes", "--json")
            assert second.returncode == EXIT_FATAL
            assert "another katarestore process" in second.stderr
        finally:
            blocker.rollback()
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_OK, err
    assert_exact(db, json.loads(out))


def test_resume_keeps_the_original_table_selection(backup, target, db):
    """A resume continues the run that was stopped: it does not widen it to every table."""
    cancel = threading.Event()
    first = run_restore(options(target, backup, batch_size=500, tables=["items"]), backup.parent,
                        sink=lambda e: cancel.set(), cancel=cancel)
    assert first.status == "cancelled"
    other = run_cli("restore", "--resume", first.run_id, "--dsn", target, "--tables", "events", "--yes")
    assert other.returncode == 2 and "a resume continues the same run" in other.stderr
    summary = json.loads(run_cli("restore", "--resume", first.run_id, "--dsn", target, "--yes",
                                 "--json").stdout)
    assert summary["status"] == "completed"
    assert list(summary["tables"]) == ["items"]
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    assert_items_exact(db, N)


def test_a_completed_run_cannot_be_resumed_into_a_second_copy(backup, target, db):
    """Resuming a finished run must not load the no-key table a second time."""
    first = run_restore(options(target, backup, tables=["events"]), backup.parent)
    assert first.exit_code == EXIT_OK
    again = run_restore(options(target, backup, tables=["events"], resume=first.run_id),
                        backup.parent)
    assert again.exit_code != EXIT_OK
    assert "completed" in again.error
    assert_events_exact(db, N)


KILL_AT_PHASE = """
import os, signal, sys
from pathlib import Path
from katarestore_tui.engine.events import Phase
from katarestore_tui.engine.options import RestoreOptions
from katarestore_tui.engine.restore import run_restore

def sink(event):
    print(event, flush=True)
    if isinstance(event, Phase) and event.name == sys.argv[3]:
        os.kill(os.getpid(), signal.SIGKILL)

run_restore(RestoreOptions(backup=sys.argv[1], dsn=sys.argv[2], parser_process=False),
            Path(sys.argv[1]).parent, sink)
"""


@pytest.mark.parametrize("phase", ["foreign keys", "sequences"])
def test_kill_during_the_foreign_key_phase_loses_no_orphan(phase, db, db_dsn, tmp_path):
    """Orphans are deleted and quarantined after the load; a kill there must lose none."""
    import subprocess
    import sys

    from katarestore_tui.engine.quarantine import read_quarantine
    from tests.helpers import write_backup
    from tests.reliability.support import cli_env

    db.execute("CREATE TABLE parent (id int PRIMARY KEY)")
    db.execute("CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent)")
    parents = [{"id": i} for i in range(1, 51)]
    children = [{"id": i, "parentId": i % 60 + 1} for i in range(1, 301)]  # 9 of 60 are missing
    orphans = {c["id"] for c in children if c["parentId"] > 50}
    backup = write_backup(tmp_path / "b", {"parent.json": parents, "child.json": children})
    killed = subprocess.run([sys.executable, "-c", KILL_AT_PHASE, str(backup), db_dsn, phase],
                            env=cli_env(), capture_output=True, text=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    run = only_run()
    assert is_resumable(run)

    summary = resume(run["run_id"], db_dsn, code=EXIT_PARTIAL)
    child = summary["tables"]["child"]
    assert (child["records"], child["loaded"], child["failed"]) == (300, 300 - len(orphans), len(orphans))
    quarantined = [e["record"]["id"] for e in read_quarantine(run["run_id"], "child")]
    assert sorted(quarantined) == sorted(orphans), "every orphan kept once, whole"
    assert db.execute("SELECT count(*) FROM child").fetchone()[0] == 300 - len(orphans)


def test_resume_after_a_kill_still_reports_a_broken_file(db, db_dsn, tmp_path):
    """A table finished with a reader fault stays reported as such after a resume."""
    import subprocess
    import sys

    from tests.helpers import write_backup
    from tests.reliability.support import cli_env

    db.execute("CREATE TABLE parent (id int PRIMARY KEY)")
    text = json.dumps([{"id": i} for i in range(1, 21)], indent=2)
    cut = text[: text.index('"id": 15')]  # the file ends inside record index 14
    backup = write_backup(tmp_path / "b", {"parent.json": cut})
    killed = subprocess.run([sys.executable, "-c", KILL_AT_PHASE, str(backup), db_dsn,
                             "foreign keys"], env=cli_env(), capture_output=True, text=True,
                            timeout=60)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    summary = resume(only_run()["run_id"], db_dsn, code=EXIT_PARTIAL)
    parent = summary["tables"]["parent"]
    assert summary["status"] == "partial"
    assert parent["state"] == "partial" and parent["loaded"] == 14
    assert "record index 14" in parent["error"] and "parent.json" in parent["error"]


def test_two_runs_never_share_a_run_folder(db, db_dsn, tmp_path, monkeypatch):
    """Run ids are time + 4 hex digits: a clash must not mix two runs' quarantines."""
    from katarestore_tui.engine.quarantine import read_quarantine
    from katarestore_tui.history import runs
    from tests.helpers import write_backup

    db.execute("CREATE TABLE t (id int PRIMARY KEY, name varchar(3))")
    backup = write_backup(tmp_path / "b", {"t.json": [{"id": 1, "name": "toolong"}]})
    ids = iter(["20240101-000000-abcd", "20240101-000000-abcd", "20240101-000000-ef01"])
    monkeypatch.setattr(runs, "new_run_id", lambda: next(ids))
    first = run_restore(options(db_dsn, backup), backup.parent)
    db.execute("TRUNCATE t")
    second = run_restore(options(db_dsn, backup), backup.parent)
    assert (first.run_id, second.run_id) == ("20240101-000000-abcd", "20240101-000000-ef01")
    for result in (first, second):
        assert len(list(read_quarantine(result.run_id))) == result.tables["t"].failed == 1


def test_ctrl_c_while_the_output_is_blocked_does_not_deadlock(db, db_dsn, tmp_path):
    """The handler must not take the reporter's lock: the main thread may hold it, stuck
    writing to a terminal or pipe that is not being read (a paused SSH session, `| less`)."""
    import subprocess

    from tests.helpers import write_backup
    from tests.reliability.support import cli_command, cli_env

    db.execute("CREATE TABLE t (id int)")
    # every record brings a key of its own: one warning line each, far more than a pipe holds
    rows = [{"id": i, f"unknown_key_number_{i}_{'x' * 40}": 1} for i in range(4000)]
    backup = write_backup(tmp_path / "b", {"t.json": rows})
    proc = subprocess.Popen(cli_command("restore", str(backup), "--dsn", db_dsn, "--batch-size", "1",
                                        "--yes", "--json"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env(),
                            start_new_session=True)
    try:
        # nobody reads stderr: the loader blocks inside a print, holding the reporter's lock
        wait_until(lambda: progress(db, "t") > 0 or proc.poll() is not None, what="progress")
        threading.Event().wait(1.0)
        assert proc.poll() is None
        os.kill(proc.pid, signal.SIGINT)
        threading.Event().wait(0.5)
        out, err = proc.communicate(timeout=30)  # now drain: it must finish, not hang
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == EXIT_FATAL, err[-2000:]
    assert json.loads(out)["status"] == "cancelled"


def test_a_resume_refuses_a_backup_that_changed_since_the_run_started(db, target, tmp_path):
    """Skipping the records already loaded is only right in the same file: a changed one is refused."""
    backup = write_big_backup(tmp_path / "backups", 2_000, 10)
    cancel = threading.Event()
    first = run_restore(options(target, backup, batch_size=500, tables=["items"]), backup.parent,
                        sink=lambda e: cancel.set(), cancel=cancel)
    assert first.status == "cancelled"
    items = backup / "items.json"
    original = items.read_bytes()
    stat = items.stat()
    items.write_bytes(original.replace(b'"name"', b'"name" ', 1))  # a new export, one byte longer

    refused = run_cli("restore", "--resume", first.run_id, "--dsn", target, "--yes")
    assert refused.returncode == 2, refused.stderr
    assert "the backup changed since it started" in refused.stderr
    assert f"items.json was {stat.st_size:,} bytes, is {stat.st_size + 1:,}" in refused.stderr
    assert is_resumable(read_run(first.run_id)), "a refused resume leaves the run as it was"

    items.write_bytes(original)  # same size, but written again: the time tells
    refused = run_cli("restore", "--resume", first.run_id, "--dsn", target, "--yes")
    assert refused.returncode == 2 and "items.json was modified at" in refused.stderr

    os.utime(items, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the original file, back in place
    done = run_cli("restore", "--resume", first.run_id, "--dsn", target, "--yes", "--json")
    assert done.returncode == EXIT_OK, done.stderr
    assert json.loads(done.stdout)["tables"]["items"]["loaded"] == 2_000
    assert_items_exact(db, 2_000)
