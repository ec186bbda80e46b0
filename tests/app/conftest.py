"""Shared pieces of the app tests: a sample backup in a real database, and waiting helpers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from textual.pilot import Pilot

from katarestore_tui.app.app import KatarestoreApp
from katarestore_tui.demo import DemoBackup, create_demo_schema, write_demo_backup

NEWEST, OLDER = "20241201_103000", "20241115_020000"


@dataclass
class Target:
    dsn: str
    root: Path
    demo: DemoBackup

    def app(self, **kwargs: Any) -> KatarestoreApp:
        return KatarestoreApp(dsn=self.dsn, backup_root=self.root, **kwargs)

    def expected_failed(self) -> int:
        return sum(t["failed"] for t in self.demo.expected.values())


def make_target(dsn: str, root: Path, rows: int) -> Target:
    with psycopg.connect(dsn, autocommit=True) as conn:
        create_demo_schema(conn)
    demo = write_demo_backup(root, rows=rows, bad_records=True, name=NEWEST)
    return Target(dsn, root, demo)


@pytest.fixture
def target(db_dsn: str, tmp_path: Path) -> Target:
    """The demo schema in a fresh database and a small demo backup (newest of two)."""
    found = make_target(db_dsn, tmp_path / "kata_json", rows=2000)
    write_demo_backup(found.root, rows=500, bad_records=False, name=OLDER)
    return found


class TableLock:
    """Holds an exclusive lock on one table so a restore waits there, however fast the machine.

    Tests cancel a run while it waits, then `release()`: the loader stops at the next batch
    boundary, leaving some tables loaded and some not, every time.
    """

    def __init__(self, dsn: str, table: str) -> None:
        self.conn = psycopg.connect(dsn)
        self.conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.Identifier(table)))

    def release(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()


BLOCKED_TABLE = "lesson_progress"  # loaded fifth of six


@pytest.fixture
def lock(target: Target) -> Iterator[TableLock]:
    held = TableLock(target.dsn, BLOCKED_TABLE)
    yield held
    held.release()


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Pilot scenarios are coroutines; the suite has no asyncio plugin."""
    asyncio.run(scenario())


async def wait_for(pilot: Pilot, condition: Callable[[], object], timeout: float = 60.0,
                   what: str = "condition") -> None:
    """Let the app work until `condition()` holds (the restore runs in a thread worker)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def screen_named(app: KatarestoreApp, name: str) -> bool:
    return type(app.screen).__name__ == name
