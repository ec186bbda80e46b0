"""Peak resident memory of this process and its children while one strategy runs.

`VmHWM` and `ru_maxrss` only ever grow over the life of the process, so they cannot
tell the second strategy from the first. A sampling thread reads the current RSS of
the process tree (`/proc/<pid>/statm`, children from `/proc/<pid>/task/*/children`,
so the engine's parser processes count too) every 20 ms and keeps the highest.
Where /proc is missing, it falls back to `ru_maxrss` (peak since start: an upper bound).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import resource
import sys
import threading
from pathlib import Path

SAMPLE_SECONDS = 0.02
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_PROC = Path("/proc")


def _rss(pid: int) -> int:
    try:
        with open(_PROC / str(pid) / "statm", "rb") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(_PROC / str(pid) / "task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(_PROC / str(pid) / "task" / tid / "children", "rb") as handle:
                found.extend(int(p) for p in handle.read().split())
        except (OSError, ValueError):
            continue
    return found


def tree_rss(root: int | None = None) -> int:
    """Resident bytes of a process and all its descendants, now."""
    if not _PROC.exists():
        return _maxrss_bytes()
    total, stack, seen = 0, [root or os.getpid()], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _rss(pid)
        stack.extend(_children(pid))
    return total


def _maxrss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # kB on Linux, bytes on macOS


def release_memory() -> None:
    """Give freed memory back to the OS between strategies, so one does not bill the next."""
    gc.collect()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)


class PeakMemory:
    """`with PeakMemory() as peak: ...` then `peak.peak_bytes` and `peak.start_bytes`."""

    def __init__(self, interval: float = SAMPLE_SECONDS) -> None:
        self.interval = interval
        self.start_bytes = 0
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_bytes = max(self.peak_bytes, tree_rss())

    def __enter__(self) -> PeakMemory:
        self.start_bytes = self.peak_bytes = tree_rss()
        self._thread = threading.Thread(target=self._sample, name="katarestore-bench-rss",
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak_bytes = max(self.peak_bytes, tree_rss())
