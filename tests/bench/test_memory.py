"""Peak memory per strategy: sampled, per process tree, not the process's lifetime peak."""

from __future__ import annotations

import subprocess
import sys
import time

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
