"""#12.8: a run loading now is told from one a kill left "running": live counts, never
"resumable"; once it ends (or its process is gone) it is resumable again."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

from katarestore_tui.engine.restore import run_restore
from katarestore_tui.history.live import LIVE_FILE, read_live, with_live
from katarestore_tui.history.runlog import RunLog, list_run_logs
from katarestore_tui.history.runs import write_run
from katarestore_tui.locations import run_dir
from tests.app.conftest import TableLock
from tests.helpers import options, write_backup

SCHEMA = "CREATE TABLE alpha (id int PRIMARY KEY); CREATE TABLE beta (id int PRIMARY KEY);"


def wait(condition, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return found


class LiveRun:
    """A restore on a thread, held on a lock on `beta` after `alpha` loaded."""

    def __init__(self, db, db_dsn, tmp_path) -> None:
        db.execute(SCHEMA)
        folder = write_backup(tmp_path, {"alpha.json": [{"id": i} for i in range(1, 51)],
                                         "beta.json": [{"id": i} for i in range(1, 51)]})
        self.lock = TableLock(db_dsn, "beta")
        self.cancel = threading.Event()
        self.result = None
        self.thread = threading.Thread(target=self._run, args=(options(db_dsn, folder), tmp_path))
        self.thread.start()

    def _run(self, opts, root) -> None:
        self.result = run_restore(opts, root, cancel=self.cancel)

    def running(self) -> RunLog | None:
        runs = [with_live(r) for r in list_run_logs()]
        return next((r for r in runs if r.live and r.totals["records"] >= 50), None)

    def stop(self) -> None:
        self.cancel.set()
        self.thread.join(30)
        self.lock.release()


def test_a_run_loading_now_shows_live_counts_and_is_not_resumable(db, db_dsn, tmp_path):
    live = LiveRun(db, db_dsn, tmp_path)
    try:
        run = wait(live.running)
        logged = RunLog.load(run.run_id)
        assert logged.status == "running" and logged.is_resumable()  # what History saw before
        assert run.totals["records"] == 50 and run.tables["alpha"].loaded == 50
        assert not run.is_resumable() and run.pid is not None
        assert "live" not in logged.to_dict()  # the view's fields never reach run.json
    finally:
        live.stop()
    assert live.result.status == "cancelled"
    after = with_live(RunLog.load(live.result.run_id))
    assert not after.live and after.is_resumable()
    assert not (run_dir(live.result.run_id) / LIVE_FILE).exists()


def test_a_running_log_whose_process_is_gone_is_interrupted_and_resumable(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    run_id = "20261201-100000-dead"
    write_run(run_id, {"run_id": run_id, "status": "running", "totals": {"records": 0}})
    import socket

    (run_dir(run_id) / LIVE_FILE).write_text(json.dumps(
        {"pid": int(gone.stdout), "host": socket.gethostname(), "beat": time.time(),
         "tables": {"alpha": {"records": 9}}}))
    assert read_live(run_id) is None
    shown = with_live(RunLog.load(run_id))
    assert shown.interrupted and shown.is_resumable() and shown.shown_status == "interrupted"
