"""A running run's heartbeat, `runs/<run_id>/live.json`: pid, host, time and live counts.

The run log says "running" both while a run loads and after a kill -9 or a crash left
it; History must tell the two apart (a run loading now is not resumable, and its counts
are not 0). The restore beats once a second from a thread of its own, so a long lock
wait or FK check still beats; the file goes when the run ends. A run is live when its
heartbeat is fresh and, on this host, its pid is alive.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from katarestore_tui.history.runlog import COUNT_KEYS, RunLog, TableLog
from katarestore_tui.locations import make_private_dir, run_dir

LIVE_FILE = "live.json"
BEAT_SECONDS = 1.0
STALE_SECONDS = 30.0  # no beat for this long: the process is gone or frozen


class LiveBeacon:
    """`with LiveBeacon(run_id, counts):` beats while the block runs, then removes the file."""

    def __init__(self, run_id: str, counts: Callable[[], dict[str, dict[str, Any]]],
                 every: float = BEAT_SECONDS) -> None:
        self.path = run_dir(run_id) / LIVE_FILE
        self.counts = counts
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="katarestore-live", daemon=True)

    def __enter__(self) -> LiveBeacon:
        self.beat()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.path.unlink(missing_ok=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.beat()

    def beat(self) -> None:
        try:
            tables = self.counts()
        except RuntimeError:  # a dict changed size while a loader started a table: next beat
            return
        data = {"pid": os.getpid(), "host": socket.gethostname(), "beat": time.time(),
                "tables": tables}
        try:
            make_private_dir(self.path.parent)
            tmp = self.path.with_name(LIVE_FILE + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out)
            os.replace(tmp, self.path)
        except OSError:  # a full disk: History shows the run as stopped; the load goes on
            pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


def read_live(run_id: str, now: float | None = None) -> dict[str, Any] | None:
    """The run's live heartbeat, or None when no process is loading it now."""
    try:
        with open(run_dir(run_id) / LIVE_FILE, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    now = time.time() if now is None else now
    if now - float(data.get("beat", 0)) > STALE_SECONDS:
        return None
    if data.get("host") == socket.gethostname() and not _pid_alive(int(data.get("pid", 0))):
        return None
    return data


def with_live(run: RunLog) -> RunLog:
    """The run as History shows it: a running run's live counts and `live`, else as logged;
    a run logged "running" with no live process is marked `interrupted`."""
    if run.status != "running":
        return run
    live = read_live(run.run_id)
    if live is None:
        return replace(run, live=False, interrupted=True)
    beaten = {name: TableLog.from_dict(t) for name, t in (live.get("tables") or {}).items()}
    tables = {**run.tables, **beaten}
    totals = {k: sum(int(getattr(t, k)) for t in tables.values()) for k in COUNT_KEYS}
    totals["failed"] += sum(t.failing for t in tables.values())
    seconds = max(float(run.seconds or 0), time.time() - _started(run, live))
    pid = live.get("pid")
    return replace(run, live=True, interrupted=False, pid=int(pid) if pid is not None else None,
                   tables=tables, totals=totals, seconds=seconds)


def _started(run: RunLog, live: dict[str, Any]) -> float:
    try:
        return time.mktime(time.strptime(str(run.started_at), "%Y-%m-%dT%H:%M:%S%z"))
    except (TypeError, ValueError):
        return float(live.get("beat", time.time()))
