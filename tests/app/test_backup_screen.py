"""The backup screen: the target's tables written into the backup root, with progress; a stop."""

from __future__ import annotations

import asyncio

import psycopg
from textual.widgets import DataTable

from katarestore_tui.backup.catalog import find_backups
from katarestore_tui.engine.restore import run_restore
from tests.app.conftest import BLOCKED_TABLE, TableLock, Target, run, screen_named, wait_for
from tests.helpers import options


def loaded(target: Target) -> dict[str, int]:
    run_restore(options(target.dsn, target.demo.path), target.root)
    with psycopg.connect(target.dsn) as conn:
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                for t in target.demo.expected}


def test_backup_screen_writes_every_table_and_shows_its_rows(target: Target):
    counts = loaded(target)
    before = {b.path for b in find_backups(target.root)}

    async def scenario():
        app = target.app()
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: app.dsn, what="the target")
            await app.run_action("backup_target")
            await wait_for(pilot, lambda: screen_named(app, "BackupScreen"))
            screen = app.screen
            await wait_for(pilot, lambda: screen.done.is_set() and screen.result, what="the backup")
            await pilot.pause(0.3)
            assert screen.error is None
            table = screen.query_one(DataTable)
            shown = {str(row.value): table.get_row(row.value) for row in table.rows}
            assert {name: int(cells[1].replace(",", "")) for name, cells in shown.items()} == counts
            assert {cells[4] for cells in shown.values()} == {"done"}
            folder = screen.result.folder
            assert str(folder) in str(screen.query_one("#backup-result").render())
            return folder

    folder = asyncio.run(scenario())  # conftest's run() drops the scenario's result
    assert {b.path for b in find_backups(target.root)} == before | {folder}
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{t}.json" for t in counts)


def test_a_stop_while_the_backup_waits_leaves_no_backup(target: Target):
    loaded(target)
    before = sorted(p.name for p in target.root.iterdir())
    held = TableLock(target.dsn, BLOCKED_TABLE)  # the backup's read waits on this lock

    async def scenario():
        app = target.app()
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: app.dsn, what="the target")
            await app.run_action("backup_target")
            await wait_for(pilot, lambda: screen_named(app, "BackupScreen"))
            screen = app.screen
            await wait_for(pilot, lambda: _waits_on_lock(target.dsn), what="the backup to wait")
            await pilot.press("c")
            await wait_for(pilot, lambda: screen.done.is_set() and screen.error, what="the stop")
            assert screen.result is None and screen.error == "stopped"

    try:
        run(scenario)
    finally:
        held.release()
    assert sorted(p.name for p in target.root.iterdir()) == before  # no folder, hidden or not


def _waits_on_lock(dsn: str) -> bool:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return bool(conn.execute(
            "SELECT 1 FROM pg_stat_activity WHERE application_name = 'katarestore'"
            " AND wait_event_type = 'Lock'").fetchone())
