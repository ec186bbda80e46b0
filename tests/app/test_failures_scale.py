"""#12.7 in the TUI: 52,000 failures (past the 50,000 once read and the 5,000 once listed):
counts by error over all of them, the filter over all of them, pages, export of all."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Static

from katarestore_tui.app.app import KatarestoreApp
from katarestore_tui.app.screens.failures import PAGE, FailuresScreen
from katarestore_tui.app.screens.modals import ExportScreen
from katarestore_tui.app.widgets.failures.failure_table import FailureTable
from tests.app.conftest import run, wait_for
from tests.app.sample import FAKE_DSN
from tests.engine.test_quarantine_scale import FK, LONG, RUN_ID, write_big_quarantine


def test_every_failure_is_counted_filtered_paged_and_exported(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_big_quarantine()

    async def scenario():
        app = KatarestoreApp(dsn=FAKE_DSN, backup_root=tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await app.push_screen(FailuresScreen(RUN_ID))
            screen = app.screen
            table = screen.query_one(FailureTable)

            def head() -> str:
                return str(screen.query_one("#failure-head", Static).render())

            await wait_for(pilot, lambda: table.row_count == PAGE, what="the first page")
            assert f"{FK + LONG:,} failed records" in head()
            assert f"23503 enrollments {FK:,}" in head() and f"22001 courses {LONG:,}" in head()

            screen.query_one("#error-filter", Input).value = "23503"
            await wait_for(pilot, lambda: screen.matched == FK, what="the filter over all")
            assert f"{FK:,} match" in head()
            first = min(screen.positions)
            table.focus()
            await pilot.press("n")
            await wait_for(pilot, lambda: screen.start == PAGE, what="the next page")
            assert min(screen.positions) == first + PAGE and table.row_count == PAGE
            await pilot.press("b")
            await wait_for(pilot, lambda: screen.start == 0, what="the page before")

            await pilot.press("e")
            await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen))
            await pilot.press("enter")
            out = tmp_path / f"failed-{RUN_ID}.jsonl"
            await wait_for(pilot, lambda: out.exists() and len(out.read_text().splitlines()) == FK,
                           what="every match exported")

    run(scenario)
