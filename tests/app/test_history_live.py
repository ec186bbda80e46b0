"""#12.8 in the TUI: History shows a run loading now as running, with its live counts,
and does not offer to resume it; once it stops, it is resumable."""

from __future__ import annotations

from katarestore_tui.app.app import KatarestoreApp
from katarestore_tui.app.widgets.history.run_views import RunTable
from tests.app.conftest import run, screen_named, wait_for
from tests.history.test_live import LiveRun


def test_history_shows_a_running_run_live(db, db_dsn, tmp_path):
    live = LiveRun(db, db_dsn, tmp_path)

    async def scenario():
        app = KatarestoreApp(dsn=db_dsn, backup_root=tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            beats = tmp_path.glob
            await wait_for(pilot, lambda: list(beats("data/runs/*/live.json"))
                           and list(beats("data/runs/*/run.json")), what="the run's heartbeat")
            await pilot.press("h")
            await wait_for(pilot, lambda: screen_named(app, "HistoryScreen"))
            screen = app.screen
            table = screen.query_one(RunTable)

            def cell(column: str) -> str:
                if not table.row_count:
                    return ""
                return str(table.get_cell_at((0, table.get_column_index(column))))

            await wait_for(pilot, lambda: cell("records") == "50", timeout=20,
                           what="the live count of the loaded table (50 records)")
            assert cell("status") == "running" and cell("resumable").strip() == ""
            assert screen.check_action("resume", ()) is not True
            await pilot.press("r")
            await pilot.pause(0.2)
            assert screen_named(app, "HistoryScreen")  # nothing resumed
            live.stop()
            await wait_for(pilot, lambda: cell("status") == "cancelled", timeout=10,
                           what="the end of the run in the list")
            assert cell("resumable") == "↻"

    try:
        run(scenario)
    finally:
        live.stop()
