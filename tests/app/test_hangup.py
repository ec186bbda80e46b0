"""A lost SSH terminal: the running restore is cancelled, the run stays resumable, the process exits."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time

from katarestore_tui.history.runs import is_resumable, list_runs
from tests.app.conftest import TableLock, Target


def read_until(fd: int, needle: bytes, timeout: float = 30.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{needle!r} never appeared on the terminal")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return seen


def wait_exit(pid: int, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.1)
    return None


def test_closing_the_terminal_cancels_the_restore_and_exits(target: Target, lock: TableLock):
    pid, fd = pty.fork()
    if pid == 0:  # the child: the app on a real (pseudo) terminal
        os.environ["TERM"] = "xterm-256color"
        os.execv(sys.executable, [sys.executable, "-m", "katarestore_tui", "--dsn", target.dsn,
                                  "--backup-root", str(target.root)])
    code = None
    try:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        read_until(fd, b"Restore options")
        time.sleep(1.0)  # the backups and the target are found in workers
        os.write(fd, b"p")
        read_until(fd, b"Start restore")
        os.write(fd, b"s")
        read_until(fd, b"lesson_progress loading")  # waiting on the locked table
        os.close(fd)  # the terminal is gone: the kernel sends SIGHUP
        fd = -1
        time.sleep(0.5)
        lock.release()  # the batch in flight commits, then the loader sees the cancel
        code = wait_exit(pid, timeout=60)
        assert code is not None, "the app kept running after its terminal was closed"
    finally:
        if fd >= 0:
            os.close(fd)
        if code is None:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
    assert code == 3
    runs = list_runs()
    assert runs and runs[0]["status"] == "cancelled", runs[0]["status"] if runs else "no run"
    assert is_resumable(runs[0])
