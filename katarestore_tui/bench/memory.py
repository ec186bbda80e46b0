"""Peak resident memory of this process and its children while one strategy runs.

`VmHWM` and `ru_maxrss` only ever grow over the life of the process, so they cannot
tell the second strategy from the first. A sampling thread reads the current RSS of
the process tree through psutil (children too, so the engine's parser processes count)
every 20 ms and keeps the highest. psutil replaced a hand-written /proc reader: the same
bytes on Linux (tests/bench/test_memory.py), and macOS and Windows without a fallback;
the list of descendants is renewed every 0.25 s, since listing them costs 30x a reading.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import sys
import threading
import time

import psutil

SAMPLE_SECONDS = 0.02
# listing descendants scans every process of the machine (~2.4 ms with 160 processes),
# reading a known process's RSS does not (~20 µs): the list is renewed 4 times a second
REFRESH_SECONDS = 0.25


class ProcessTree:
    """A process and its descendants, whose resident bytes can be read often and cheaply."""

    def __init__(self, root: int | None = None) -> None:
        self.root = root or os.getpid()
        self.processes: list[psutil.Process] = []
        self.refresh()

    def refresh(self) -> None:
        try:
            top = psutil.Process(self.root)
            self.processes = [top, *top.children(recursive=True)]
        except psutil.Error:
            self.processes = []

    def rss(self) -> int:
        """Resident bytes now; a process that has ended counts as 0."""
        total = 0
        for process in self.processes:
            with contextlib.suppress(psutil.Error):
                total += process.memory_info().rss
        return total


def tree_rss(root: int | None = None) -> int:
    """Resident bytes of a process and all its descendants, now."""
    return ProcessTree(root).rss()


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
        self.samples = 0  # readings taken by the sampling thread
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        tree, listed = ProcessTree(), time.monotonic()
        while not self._stop.wait(self.interval):
            if time.monotonic() - listed >= REFRESH_SECONDS:  # a parser process started
                tree.refresh()
                listed = time.monotonic()
            self.peak_bytes = max(self.peak_bytes, tree.rss())
            self.samples += 1

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
