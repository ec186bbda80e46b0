"""#12.2 in the TUI: a table whose records all fail shows its failures as they happen, then
asks: go on, skip the table, or stop the run."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from textual.widgets import Static

from katarestore_tui.app.app import KatarestoreApp
from katarestore_tui.app.screens.modals import TooManyErrorsScreen
from katarestore_tui.app.widgets.restore.table_pane import TablePane
from tests.app.conftest import run, screen_named, wait_for
from tests.helpers import options, write_backup

SCHEMA = """
CREATE TABLE others (id int PRIMARY KEY);
CREATE TABLE scores (id int PRIMARY KEY, v int CHECK (v < 0));
"""


@pytest.mark.parametrize("key, state, failed, status", [
    ("c", "partial", 1500, "partial"),  # go on: every record kept aside, the run finishes
    ("s", "failed", 800, "partial"),  # skip: two committed batches stay, the table stops
    ("x", "cancelled", 800, "cancelled"),  # stop the run
])
def test_records_that_keep_failing_ask_the_operator(db_dsn, tmp_path: Path, key, state, failed,
                                                    status):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute(SCHEMA)
    root = tmp_path / "kata_json"
    folder = write_backup(root, {"others.json": [{"id": i} for i in range(1, 11)],
                                 "scores.json": [{"id": i, "v": i} for i in range(1, 1501)]})

    async def scenario():
        app = KatarestoreApp(dsn=db_dsn, backup_root=root)
        async with app.run_test(size=(80, 24)) as pilot:
            app.start_restore(options(db_dsn, folder, batch_size=400))
            await wait_for(pilot, lambda: isinstance(app.screen, TooManyErrorsScreen)
                           and app.screen.query(".dialog-text"), what="the question")
            text = str(app.screen.query_one(".dialog-text", Static).render())
            assert "scores" in text and "23514" in text and "check constraint" in text, text
            assert "Example record #0" in text, text
            await pilot.press(key)
            await wait_for(pilot, lambda: screen_named(app, "RestoreScreen"))
            screen = app.screen
            await wait_for(pilot, lambda: screen.finished is not None, what="the end of the run")
            await pilot.pause(0.3)
            pane = next(p for p in screen.query(TablePane) if p.table == "scores")
            assert (pane.stats.state, pane.stats.failed) == (state, failed)
            assert screen.finished.status == status

    run(scenario)
