"""What a PostgreSQL data folder says about its server: postmaster.pid, and whether it lives.

Read by the embedded server's start/stop and by `katarestore embedded status`; it starts
and signals nothing. After a crash or a reboot the files lie (a stale pid may now belong to
any program), so every answer is checked against /proc.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PORT = 5432  # only names the socket file (.s.PGSQL.5432) inside our own folder


@dataclass(frozen=True)
class Postmaster:
    """What `postmaster.pid` says about a server, and whether it is really alive."""

    pid: int
    port: int
    socket_dir: Path | None
    status: str
    alive: bool


def read_postmaster(pgdata: Path) -> Postmaster | None:
    """Parse postmaster.pid (pid, data dir, start, port, socket dir, host, shmem, status)."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid = int(lines[0])
    except (OSError, IndexError, ValueError):  # absent, or not ours to read
        return None
    port = int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else PORT
    socket_dir = Path(lines[4].strip()) if len(lines) > 4 and lines[4].strip() else None
    status = lines[7].strip() if len(lines) > 7 else "starting"
    return Postmaster(pid, port, socket_dir, status, is_postgres(pid))


def wait_for_orphans(pgdata: Path, seconds: float = 10.0) -> None:
    """Let the children of a killed postmaster exit before a new one starts.

    They notice their parent's death within moments, but while one lives it holds the
    old shared memory and the new server refuses to start ("still in use"). Every
    server process works in the data folder, which is how we recognise them.
    """
    deadline = time.monotonic() + seconds
    while processes_in(pgdata) and time.monotonic() < deadline:
        time.sleep(0.1)


def processes_in(pgdata: Path) -> list[int]:
    """Live postgres processes whose working folder is `pgdata` (Linux /proc; else none)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if os.readlink(proc / "cwd") == str(pgdata) and is_postgres(int(proc.name)):
                found.append(int(proc.name))
        except (OSError, ValueError):
            continue
    return found


def remove_stale_lock(path: Path) -> None:
    """Delete a PostgreSQL lock file whose pid is not a live postgres process."""
    try:
        pid = int(path.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return
    if not is_postgres(pid):
        log.info("removing %s left by pid %d, which is gone", path, pid)
        path.unlink(missing_ok=True)


def is_postgres(pid: int) -> bool:
    """Alive and a postgres process: after a reboot the pid may belong to anything."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        if os.geteuid() != 0:  # our own server would be ours to signal
            return False
    proc = Path(f"/proc/{pid}")
    if proc.exists():
        try:
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            name = (proc / "comm").read_text().strip()
        except (OSError, IndexError):
            return False
        return state not in ("Z", "X") and name.startswith("postgres")  # Z: exited, unreaped
    return True
