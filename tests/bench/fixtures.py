"""A small Katacore-shaped target and backup for benchmark tests (shared with the screen tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from katarestore_tui.bench.scratch import PREFIX
from katarestore_tui.demo import DemoBackup, create_demo_schema, write_demo_backup

BACKUP_NAME = "20240101_000000"


@dataclass
class DemoTarget:
    dsn: str
    root: Path
    demo: DemoBackup


@pytest.fixture
def demo_target(db_dsn: str, tmp_path: Path) -> DemoTarget:
    """The demo schema in a fresh database, and a clean 300-row demo backup to bench."""
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        create_demo_schema(conn)
    root = tmp_path / "kata_json"
    demo = write_demo_backup(root, rows=300, bad_records=False, name=BACKUP_NAME)
    return DemoTarget(db_dsn, root, demo)


def scratch_left(dsn: str) -> list[str]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)",
                            (PREFIX,)).fetchall()
    return [r[0] for r in rows]


def target_row_counts(dsn: str, tables: list[str]) -> dict[str, int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return {
            t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("public", t)))
            .fetchone()[0]
            for t in tables
        }
