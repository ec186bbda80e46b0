"""Every database test gets a fresh database on a real PostgreSQL server.

The server is `$KATARESTORE_TEST_DSN`, else the local one on 127.0.0.1:5432,
else katarestore's embedded server (so the suite runs on a machine without PostgreSQL).
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
    if "KATARESTORE_EMBEDDED_DIR" not in os.environ:
        # the embedded server is shared by the whole session, not per test
        monkeypatch.setenv("KATARESTORE_EMBEDDED_DIR", str(Path.home() / ".cache/katarestore-test-pg"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    from katarestore_tui.db.target import libpq_variables

    for name in libpq_variables():  # a PG* variable chooses the target (libpq's defaults)
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("KATARESTORE_BACKUP_ROOT", raising=False)
    return data
