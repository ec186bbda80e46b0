"""Shared pieces of the app tests: a sample backup in a real database, and waiting helpers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
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


@pytest.fixture
def big_target(db_dsn: str, tmp_path: Path) -> Target:
    """A backup big enough that a restore with small batches is still running when cancelled."""
    return make_target(db_dsn, tmp_path / "kata_json", rows=100_000)


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
