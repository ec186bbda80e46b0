"""A resumed run: the tables the stopped run finished show it from the start, and the
summary's rate counts only this run's records over this run's time."""

from __future__ import annotations

import re

from textual.widgets import Label

from katarestore_tui.app.widgets.restore.summary import RunSummary
from katarestore_tui.app.widgets.restore.table_pane import TablePane
from tests.app.conftest import BLOCKED_TABLE, TableLock, Target, run, screen_named, wait_for
from tests.app.test_restore import cancel_at_the_locked_table


def pane_line(pane: TablePane) -> str:
    return str(pane.query_one(".pane-name", Label).render())


def test_a_resume_shows_finished_tables_as_finished_and_rates_this_run_only(
        target: Target, lock: TableLock):
    async def scenario():
        app = target.app()
        async with app.run_test(size=(80, 24)) as pilot:
            first = await cancel_at_the_locked_table(app, pilot, lock)
            earlier = {name for name, s in first.finished.tables.items()
                       if s.state in ("done", "partial")}
            assert earlier and BLOCKED_TABLE not in earlier
            again = TableLock(target.dsn, BLOCKED_TABLE)  # the resume waits there too
            try:
                await pilot.press("h")
                await wait_for(pilot, lambda: screen_named(app, "HistoryScreen"))
                await pilot.press("r")
                await wait_for(pilot, lambda: screen_named(app, "RestoreScreen")
                               and app.screen is not first)
                resumed = app.screen
                await wait_for(pilot, lambda: resumed.stats.get(BLOCKED_TABLE) is not None
                               and resumed.stats[BLOCKED_TABLE].state == "loading",
                               what="the resume at the locked table")
                await pilot.pause(0.3)  # a refresh tick or two
                for name in earlier:  # mid-run: finished, with the counts the first run committed
                    pane = resumed.panes[name]
                    assert pane.stats.state == first.finished.tables[name].state, pane_line(pane)
                    assert pane.stats.records == first.finished.tables[name].records
                    assert "waiting" not in pane_line(pane), pane_line(pane)
            finally:
                again.release()
            await wait_for(pilot, lambda: resumed.finished is not None, what="the resume's end")
            done = resumed.finished
            this_run = sum(s.records for n, s in done.tables.items() if n not in earlier)
            text = str(resumed.query_one(RunSummary).render())
            rate = re.search(r"(\S+) records? this run in [^(]+\(([^)]+)\)", text)
            assert rate, text
            assert rate.group(1).replace(",", "") == str(this_run), text
            assert f"{sum(s.records for s in done.tables.values()):,}" in text  # and both

    run(scenario)
