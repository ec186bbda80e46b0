"""What the embedded PostgreSQL is doing, for `katarestore embedded status` and the UI.

It starts nothing and changes nothing: it reads the data folder's files, checks the pid
against the live processes, and (only when a server answers) asks it for its version.
The server outlives katarestore on purpose (the next run reuses it in milliseconds), so
an operator needs a way to see it, and `katarestore embedded stop` to end it.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import psycopg

from katarestore_tui.db import pgbinaries
from katarestore_tui.db.embedded import LOG_NAME, data_folder, owner_name, socket_uri
from katarestore_tui.db.postmaster import read_postmaster
from katarestore_tui.locations import legacy_embedded_pg_dir


@dataclass(frozen=True)
class EmbeddedStatus:
    """The embedded server as its files and the process table show it."""

    data_dir: Path
    state: str  # "not created", "stopped", or the server's own word: "ready", "starting"...
    pid: int | None = None
    port: int | None = None
    socket_dir: Path | None = None
    server_version: str | None = None  # what the running server answers (SHOW server_version)
    data_version: str | None = None  # the major version that created the folder (PG_VERSION)
    binaries: Path | None = None
    binaries_version: str | None = None
    binaries_problem: str | None = None  # why no server could be started from here
    runs_as: str | None = None  # as root: the system account that owns the folder
    log_file: Path | None = None
    # katarestore 0.1.0's folder (PostgreSQL 16, from pgserver), when it is still on disk:
    # kept as it was, and its server may still run, so status names it and how to stop it
    older_dir: Path | None = None
    older_version: str | None = None
    older_pid: int | None = None

    @property
    def running(self) -> bool:
        return self.pid is not None

    def as_json(self) -> dict[str, object]:
        """Plain JSON types, with `running` spelled out for scripts."""
        out: dict[str, object] = {"running": self.running}
        for key, value in asdict(self).items():
            out[key] = str(value) if isinstance(value, Path) else value
        return out


def embedded_status() -> EmbeddedStatus:
    """The state of the embedded server in `data_folder()`; never starts or stops it."""
    pgdata = data_folder()
    binaries, binaries_version, problem = _binaries()
    status = replace(
        _older_folder(pgdata), data_dir=pgdata, binaries=binaries,
        binaries_version=binaries_version, binaries_problem=problem,
    )
    version_file = pgdata / "PG_VERSION"
    if not version_file.exists():
        return status
    data_version = version_file.read_text().strip()
    if problem is None and binaries_version and binaries_version.split(".")[0] != data_version:
        problem = (
            f"{pgdata} was created by PostgreSQL {data_version} and the binaries are "
            f"{binaries_version}: they cannot start it"
        )
    status = replace(
        status, state="stopped", data_version=data_version, binaries_problem=problem,
        runs_as=owner_name(pgdata) if os.geteuid() == 0 else None, log_file=pgdata / LOG_NAME,
    )
    info = read_postmaster(pgdata)
    if info is None or not info.alive:
        return status
    answer = _ask_version(socket_uri(info, "postgres")) if info.status == "ready" else None
    return replace(
        status, state=info.status, pid=info.pid, port=info.port, socket_dir=info.socket_dir,
        server_version=answer,
    )


def describe_embedded() -> str:
    """One line for the UI and the CLI's "target:" line: version, folder and state."""
    status = embedded_status()
    if status.binaries_problem and not status.running:
        return f"embedded PostgreSQL unavailable: {status.binaries_problem}"
    version = status.server_version or status.binaries_version or status.data_version
    head = f"embedded PostgreSQL {version} in {status.data_dir}"
    if status.state == "not created":
        return f"{head} (not created yet)"
    if not status.running:
        return f"{head} (stopped)"
    as_user = f", runs as {status.runs_as}" if status.runs_as else ""
    return f"{head} (started by katarestore, pid {status.pid}{as_user})"


def _older_folder(pgdata: Path) -> EmbeddedStatus:
    """A status naming katarestore 0.1.0's folder if it exists beside the current one."""
    blank = EmbeddedStatus(pgdata, "not created")
    if os.environ.get("KATARESTORE_EMBEDDED_DIR"):
        return blank  # the operator chose the folder: nothing else is ours to mention
    older = legacy_embedded_pg_dir().expanduser().resolve()
    if older == pgdata:
        return blank
    try:
        version = (older / "PG_VERSION").read_text().strip()
    except OSError:
        return blank
    info = read_postmaster(older)
    pid = info.pid if info is not None and info.alive else None
    return replace(blank, older_dir=older, older_version=version, older_pid=pid)


def _binaries() -> tuple[Path | None, str | None, str | None]:
    try:
        folder = pgbinaries.bin_dir()
        return folder, pgbinaries.server_version(folder), None
    except pgbinaries.BinariesMissing as exc:
        return None, None, str(exc)


def _ask_version(uri: str) -> str | None:
    """The running server's own version; None if it does not answer in a moment."""
    try:
        with psycopg.connect(uri, connect_timeout=3, autocommit=True) as conn:
            return conn.info.parameter_status("server_version")
    except psycopg.Error:
        return None
