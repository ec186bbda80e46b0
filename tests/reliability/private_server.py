"""A PostgreSQL 15 server of the test's own, which the test may crash and restart.

The shared server must never be crashed, so a test that needs `pg_ctl stop -m immediate`
(a server crash: WAL not yet flushed is lost when `synchronous_commit = off`) starts its
own: `initdb` into a temporary folder owned by `postgres`, a free port, the settings the
test asks for. We run as root, so every PostgreSQL command goes through
`runuser -u postgres --`. The fixture always stops the server by its pid at the end.

Use it through the `private_server` fixture (a factory) or directly:

    server = PrivateServer(tmp_path / "pg", settings={"synchronous_commit": "off"})
    server.start()
    ... server.dsn("postgres"), server.crash(), server.start() ...
    server.stop()
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
from pathlib import Path

import psycopg
import pytest

BIN = Path("/usr/lib/postgresql/15/bin")
USER = "postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def available() -> str | None:
    """Why a private server cannot be started here (None: it can)."""
    if not (BIN / "initdb").exists():
        return f"no PostgreSQL 15 binaries in {BIN}"
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        return "needs root and runuser to start a server as user postgres"
    return None


class PrivateServer:
    """initdb + pg_ctl as user postgres on 127.0.0.1:<port>, trust auth, superuser `root`."""

    def __init__(self, folder: Path, settings: dict[str, str] | None = None) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.settings = settings or {}
        self.log = folder / "server.log"

    def _as_postgres(self, *args: str, check: bool = True, timeout: float = 120
                     ) -> subprocess.CompletedProcess:
        done = subprocess.run(["runuser", "-u", USER, "--", *args], capture_output=True,
                              text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr or done.stdout}")
        return done

    def init(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.folder, USER, USER)
        self._as_postgres(str(BIN / "initdb"), "-D", str(self.data), "-A", "trust",
                          "-U", USER, "--no-sync", "-E", "UTF8")
        lines = [f"port = {self.port}", "listen_addresses = '127.0.0.1'",
                 f"unix_socket_directories = '{self.folder}'", "fsync = on"]
        lines += [f"{name} = '{value}'" for name, value in self.settings.items()]
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("\n".join(lines) + "\n")

    def start(self) -> None:
        """Start (or start again after a crash: recovery replays what reached the WAL)."""
        if not self.data.exists():
            self.init()
            first = True
        else:
            first = False
        self._as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                          "-w", "-t", "60", "start")
        if first:
            with psycopg.connect(self.dsn("postgres", user=USER), autocommit=True) as conn:
                conn.execute("CREATE ROLE root SUPERUSER LOGIN")

    def pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def crash(self) -> None:
        """`pg_ctl stop -m immediate`: every backend killed, no checkpoint, no WAL flush."""
        self._as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                          "-w", "stop")

    def child_pid(self, title: str) -> int | None:
        """The pid of the server's auxiliary process titled `postgres: <title>`."""
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.pid() and cmdline.startswith(f"postgres: {title}"):
                return int(entry.name)
        return None

    def pause_wal_writer(self) -> None:
        """SIGSTOP the WAL writer: from now on an async commit reaches the WAL file only when
        the WAL buffers overflow, so a crash loses (nearly) every one since: the window a
        real crash hits by chance, made certain. The crash's SIGKILL ends the stopped process."""
        pid = self.child_pid("walwriter")
        assert pid is not None, "the server has no walwriter process"
        os.kill(pid, signal.SIGSTOP)

    def stop(self) -> None:
        """Stop by pid, whatever state the server is in (used by the fixture's finalizer)."""
        pid = self.pid()
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGQUIT)  # immediate shutdown: nothing left to keep
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    def dsn(self, dbname: str = "postgres", user: str = "root") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}"


@pytest.fixture
def private_server(request):
    """A factory: `private_server({"synchronous_commit": "off"})` starts a server with those
    settings; every server it started is stopped (by pid) when the test ends."""
    if reason := available():
        pytest.skip(reason)

    def start(settings: dict[str, str] | None = None) -> PrivateServer:
        # not under pytest's tmp folder: that one is root's only, postgres cannot enter it
        folder = Path(tempfile.mkdtemp(prefix="katarestore-pg-"))
        server = PrivateServer(folder, settings)
        request.addfinalizer(lambda: shutil.rmtree(folder, ignore_errors=True))
        request.addfinalizer(server.stop)  # finalizers run last-in first-out: stop, then remove
        server.start()
        return server

    return start
