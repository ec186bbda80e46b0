"""A private PostgreSQL server the crash scenario may kill: initdb + pg_ctl as user postgres.

`stop -m immediate` is a crash as far as the data is concerned (no shutdown checkpoint, WAL
not yet flushed is lost), so with `synchronous_commit = off` the last acknowledged commits
can vanish. The server is always stopped by its postmaster pid when the fixture ends.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

BIN = Path("/usr/lib/postgresql/15/bin")


def available() -> str | None:
    """Why a private server cannot be started here (None: it can)."""
    if not (BIN / "initdb").exists():
        return f"no {BIN}/initdb"
    if os.geteuid() != 0 or not shutil.which("runuser"):
        return "needs root and runuser to run initdb as postgres"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateServer:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="kr-model-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        shutil.chown(self.root, "postgres", "postgres")
        os.chmod(self.root, 0o700)
        self._pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "root", "--no-sync",
                 "--no-instructions")
        self.start()

    @property
    def dsn(self) -> str:
        return f"postgresql://root@127.0.0.1:{self.port}/postgres"

    def _pg(self, tool: str, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(BIN / tool), *args], check=True,
                       capture_output=True, timeout=120)

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
                   " -c synchronous_commit=off -c fsync=off -c max_connections=40")
        self._pg("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"),
                 "-w", "-t", "60", "start")

    def crash(self) -> None:
        """As a power cut to the server: no checkpoint, unflushed WAL gone."""
        self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def crash_and_restart(self, down_seconds: float = 0.5) -> None:
        self.crash()
        time.sleep(down_seconds)
        self.start()

    def pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.data / "postmaster.pid").read_text().split()[0])
        return None

    def close(self) -> None:
        pid = self.pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGQUIT)  # immediate shutdown of this postmaster only
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
                time.sleep(0.1)
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def private_server() -> Iterator[PrivateServer]:
    server = PrivateServer()
    try:
        yield server
    finally:
        server.close()
