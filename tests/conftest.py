"""Every database test gets a fresh database on a real PostgreSQL server.

The server is `$KATARESTORE_TEST_DSN`, else the local one on 127.0.0.1:5432,
else katarestore's embedded server (so the suite runs on a machine without PostgreSQL).
The suite's embedded server lives in its own folder (one per PostgreSQL major, since a
folder only opens with the major that made it) and is stopped at the end of the session
when the session started it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

LOCAL_DSN = "postgresql://root@127.0.0.1:5432/postgres"


def _suite_embedded_dir() -> str:
    """$KATARESTORE_EMBEDDED_DIR, else ~/.cache/katarestore-test-pg<major>[-<xdist worker>]."""
    explicit = os.environ.get("KATARESTORE_EMBEDDED_DIR")
    if explicit:
        return explicit
    from katarestore_tui.db import pgbinaries

    try:
        major = pgbinaries.server_version(pgbinaries.bin_dir()).split(".")[0]
    except pgbinaries.BinariesMissing:
        major = ""
    # one per pytest-xdist worker: a worker that ends stops its own server, never another's
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return str(Path.home() / f".cache/katarestore-test-pg{major}{'-' + worker if worker else ''}")


SUITE_EMBEDDED_DIR = _suite_embedded_dir()


@pytest.fixture(scope="session", autouse=True)
def suite_embedded_server() -> Iterator[None]:
    """Stop the suite's embedded server at the end if this session started it.

    Tests (and the katarestore processes they spawn) start it on demand and share it; one
    that was already running before the session (an operator's, or a parallel run's) is
    left as it was.
    """
    from katarestore_tui.db.embedded import stop_embedded
    from katarestore_tui.db.embedded_status import embedded_status

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KATARESTORE_EMBEDDED_DIR", SUITE_EMBEDDED_DIR)
        ran_before = embedded_status().running
    yield
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KATARESTORE_EMBEDDED_DIR", SUITE_EMBEDDED_DIR)
        if not ran_before and embedded_status().running:
            stop_embedded()


def _reachable(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@pytest.fixture(scope="session")
def server_dsn() -> str:
    """A DSN with rights to create databases."""
    explicit = os.environ.get("KATARESTORE_TEST_DSN")
    if explicit:
        return explicit
    if _reachable(LOCAL_DSN):
        return LOCAL_DSN
    from katarestore_tui.db.embedded import embedded_dsn

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KATARESTORE_EMBEDDED_DIR", SUITE_EMBEDDED_DIR)
        return embedded_dsn()


@pytest.fixture
def db_dsn(server_dsn: str) -> Iterator[str]:
    """A DSN for a brand-new empty database, dropped after the test."""
    name = f"kr_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    params = conninfo_to_dict(server_dsn)
    params["dbname"] = name
    yield make_conninfo(**params)
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def db(db_dsn: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to the fresh database."""
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture(autouse=True)
def private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run logs, history and preferences go to the test's own folder."""
    data = tmp_path / "data"
    monkeypatch.setenv("KATARESTORE_DATA_DIR", str(data))
    monkeypatch.setenv("KATARESTORE_CONFIG_DIR", str(tmp_path / "config"))
    # the embedded server is shared by the whole session, not per test
    monkeypatch.setenv("KATARESTORE_EMBEDDED_DIR", SUITE_EMBEDDED_DIR)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    from katarestore_tui.db.target import libpq_variables

    for name in libpq_variables():  # a PG* variable chooses the target (libpq's defaults)
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("KATARESTORE_BACKUP_ROOT", raising=False)
    return data
