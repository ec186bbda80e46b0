"""Screen 5: past runs, the highlighted run's summary, its failed records, resume."""

from __future__ import annotations

import threading
import time

from katarestore_tui.app.widgets.history.run_views import RESUMABLE, RunDetail, RunTable
from katarestore_tui.engine.options import RestoreOptions
from katarestore_tui.engine.restore import run_restore
from tests.app.conftest import Target, run, screen_named, wait_for


def restore(target: Target, cancel_first: bool = False):
    cancel = threading.Event()
    if cancel_first:
        cancel.set()
    options = RestoreOptions(backup=str(target.demo.path), dsn=target.dsn, batch_size=500)
    return run_restore(options, target.root, cancel=cancel)


def test_history_lists_runs_and_opens_their_failed_records(target: Target):
    finished = restore(target)
    time.sleep(1.1)  # run ids sort by the second they started in
    cancelled = restore(target, cancel_first=True)
    assert (finished.status, cancelled.status) == ("partial", "cancelled")

    async def scenario():
        app = target.app()
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.dsn)
            await pilot.press("h")
            await wait_for(pilot, lambda: screen_named(app, "HistoryScreen"))
            screen = app.screen
            table = screen.query_one(RunTable)
            assert table.row_count == 2
            newest = table.get_row_at(0)
            assert newest[0] == RESUMABLE and newest[1] == "cancelled" and newest[2] == cancelled.run_id
            assert table.get_row_at(1)[0] == " "
            assert screen.check_action("resume", ()) is True
            assert screen.check_action("failures", ()) is False  # nothing failed before the cancel

            await pilot.press("down")
            assert screen.current.run_id == finished.run_id
            detail = screen.query_one(RunDetail)
            assert detail.border_title == f"Run {finished.run_id}"
            assert screen.query_one("#run-tables").row_count == len(target.demo.expected)
            assert screen.check_action("resume", ()) is False

            await pilot.press("enter")
            await wait_for(pilot, lambda: screen_named(app, "FailuresScreen"))
            failures = app.screen
            assert failures.run_id == finished.run_id
            await wait_for(pilot, lambda: failures.total == target.expected_failed())
            await pilot.press("escape")
            assert app.screen is screen

    run(scenario)


def test_a_run_from_another_target_is_not_resumed(target: Target):
    cancelled = restore(target, cancel_first=True)

    async def scenario():
        app = target.app()
        app.requested_dsn = target.dsn.replace("dbname=", "dbname=other_")
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.dsn)
            await pilot.press("h")
            await wait_for(pilot, lambda: screen_named(app, "HistoryScreen"))
            assert app.screen.current.run_id == cancelled.run_id
            await pilot.press("r")
            await pilot.pause()
            assert screen_named(app, "HistoryScreen")  # refused, with the reason shown
            assert any("wrote to" in n.message for n in app._notifications)

    run(scenario)


def test_the_run_detail_shows_the_indexes_phase(target: Target):
    """The demo's secondary indexes went until their tables' data was in: the run says so."""
    from textual.widgets import Static

    finished = restore(target)

    async def scenario():
        app = target.app()
        async with app.run_test(size=(100, 40)) as pilot:
            await wait_for(pilot, lambda: app.dsn)
            await pilot.press("h")
            await wait_for(pilot, lambda: screen_named(app, "HistoryScreen"))
            assert app.screen.current.run_id == finished.run_id
            info = app.screen.query_one("#run-info", Static)
            text = str(info.content)
            for table in ("lessons", "lesson_progress", "quiz_attempts"):
                assert f"{table}: 1 secondary dropped before the data, 1 built after it" in text

    run(scenario)
