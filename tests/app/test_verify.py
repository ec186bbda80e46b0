"""The verify screen: offered on a finished restore's summary and on a history row (`v`);
it shows the verdict per table, and a change made afterwards is named by key and column."""

from __future__ import annotations

import psycopg

from katarestore_tui.app.widgets.verify.verdicts import VerdictDetail, VerdictTable
from tests.app.conftest import Target, run, screen_named, wait_for
from tests.app.test_restore import open_plan


def test_verify_from_the_summary_then_from_the_history(target: Target):
    async def scenario():
        app = target.app()
        async with app.run_test(size=(80, 24)) as pilot:
            await open_plan(app, pilot)
            await pilot.press("s")
            await wait_for(pilot, lambda: screen_named(app, "RestoreScreen"))
            restore = app.screen
            await wait_for(pilot, lambda: restore.finished is not None, what="the end of the run")
            assert restore.check_action("verify", ()) is True
            await pilot.press("v")
            await wait_for(pilot, lambda: screen_named(app, "VerifyScreen"))
            verify = app.screen
            await wait_for(pilot, lambda: verify.result is not None, what="the verdict")
            result = verify.result
            assert result.error is None and result.run_id == restore.finished.run_id
            assert result.status == "accounted"  # the demo's bad records are in quarantine
            assert verify.query_one(VerdictTable).row_count == len(target.demo.expected)
            for name, expected in target.demo.expected.items():
                verdict = result.tables[name]
                assert (verdict.quarantined, verdict.unexplained) == (expected["failed"], 0), name
            await pilot.press("escape")
            assert app.screen is restore

            with psycopg.connect(target.dsn, autocommit=True) as conn:
                conn.execute("DELETE FROM quiz_attempts WHERE id = (SELECT min(id) FROM quiz_attempts)")
            await pilot.press("h")
            await wait_for(pilot, lambda: screen_named(app, "HistoryScreen"))
            assert app.screen.check_action("verify", ()) is True
            await pilot.press("v")
            await wait_for(pilot, lambda: screen_named(app, "VerifyScreen"))
            verify = app.screen
            await wait_for(pilot, lambda: verify.result is not None, what="the second verdict")
            assert verify.result.status == "different"
            assert verify.result.tables["quiz_attempts"].missing == 1
            table = verify.query_one(VerdictTable)
            row = table.get_row_index("quiz_attempts")
            table.move_cursor(row=row)
            await pilot.pause(0.1)
            text = str(verify.query_one(VerdictDetail).render())
            assert "1 missing" in text and "missing    id=" in text

    run(scenario)
