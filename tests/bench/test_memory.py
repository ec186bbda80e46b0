"""Peak memory per strategy: sampled, per process tree, not the process's lifetime peak."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from katarestore_tui.bench.memory import PeakMemory, tree_rss

MB = 1024 * 1024


def test_the_peak_of_a_block_is_seen_and_the_next_block_starts_afresh():
    with PeakMemory(interval=0.005) as first:
        block = bytearray(80 * MB)
        block[:: 4096] = b"x" * len(block[:: 4096])  # touch every page
        time.sleep(0.05)
        del block
    assert first.peak_bytes - first.start_bytes >= 60 * MB
    with PeakMemory(interval=0.005) as second:
        time.sleep(0.03)
    assert second.peak_bytes - second.start_bytes < 40 * MB


def test_child_processes_count():
    alone = tree_rss()
    code = "import time; b = bytearray(100 * 2**20); b[::4096] = b'x' * len(b[::4096]); " \
           "print('ready', flush=True); time.sleep(5)"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        assert tree_rss() - alone >= 80 * MB
    finally:
        child.kill()
        child.wait()


def _proc_tree_rss(root: int) -> int:
    """The hand-written /proc reader psutil replaced (statm, task/*/children): the oracle."""
    import os
    from pathlib import Path

    page, total, stack = os.sysconf("SC_PAGE_SIZE"), 0, [root]
    while stack:
        pid = stack.pop()
        try:
            total += int((Path("/proc") / str(pid) / "statm").read_bytes().split()[1]) * page
            for tid in os.listdir(f"/proc/{pid}/task"):
                stack.extend(int(p) for p in Path(f"/proc/{pid}/task/{tid}/children").read_bytes().split())
        except (OSError, ValueError):
            continue
    return total


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the oracle reads /proc")
def test_psutil_reads_what_proc_says():
    """A tree of three generations (a child with its own child), each holding memory."""
    code = ("import subprocess, sys, time; b = bytearray(30 * 2**20); b[::4096] = b'x' * len(b[::4096]); "
            "c = subprocess.Popen([sys.executable, '-c', \"import time; b = bytearray(20 * 2**20); "
            "b[::4096] = b'x' * len(b[::4096]); print('ready', flush=True); time.sleep(30)\"], "
            "stdout=subprocess.PIPE, text=True); print(c.stdout.readline().strip(), flush=True); "
            "time.sleep(30)")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        import os

        ours, oracle = tree_rss(), _proc_tree_rss(os.getpid())
        assert abs(ours - oracle) < 2 * MB, (ours, oracle)
        assert tree_rss(child.pid) >= 50 * MB  # both generations below the child
    finally:
        import psutil

        for process in psutil.Process(child.pid).children(recursive=True):
            process.kill()
        child.kill()
        child.wait()


def test_a_child_started_inside_the_block_counts():
    """The parser process starts after the sampling does: the tree is listed again."""
    code = "import time; b = bytearray(100 * 2**20); b[::4096] = b'x' * len(b[::4096]); " \
           "print('ready', flush=True); time.sleep(30)"
    with PeakMemory(interval=0.005) as peak:
        while peak.samples < 2:  # the sampler has listed the tree without the child
            time.sleep(0.005)
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline().strip() == "ready"
            deadline = time.monotonic() + 5
            while peak.peak_bytes - peak.start_bytes < 80 * MB and time.monotonic() < deadline:
                time.sleep(0.02)  # until the sampler has listed the tree again
        finally:
            child.kill()
            child.wait()
    assert peak.peak_bytes - peak.start_bytes >= 80 * MB
