"""Clean first empties tables: a destructive choice is never remembered (#12.6).

It starts unticked in every session, whatever the preferences file says, and again on
the backup list after a restore that cleaned; the harmless choices are still remembered.
"""

from __future__ import annotations

import json

from textual.widgets import Checkbox, Input

from katarestore_tui.app.preferences import load_preferences
from katarestore_tui.locations import preferences_file
from tests.app.conftest import Target, run, screen_named, wait_for
from tests.app.test_restore import open_plan, start_clean_restore


def clean_box(app) -> Checkbox:
    return app.screen.query_one("#clean", Checkbox)


def test_clean_first_starts_unticked_in_the_next_session(target: Target):
    async def first_session():
        app = target.app()
        async with app.run_test(size=(80, 24)) as pilot:
            await open_plan(app, pilot, batch_size="700", clean=True)
            assert app.screen.options.clean  # chosen for this plan

    run(first_session)
    saved = json.loads(preferences_file().read_text())
    assert saved["batch_size"] == 700  # the harmless choices are remembered
    assert "clean" not in saved and not getattr(load_preferences(), "clean", False)

    # a preferences file from an older version that did remember it
    preferences_file().write_text(json.dumps({**saved, "clean": True}))

    async def next_session():
        app = target.app()
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: screen_named(app, "PickerScreen"))
            await pilot.pause()
            assert app.screen.query_one("#batch-size", Input).value == "700"
            assert clean_box(app).value is False
            await open_plan(app, pilot)
            assert app.screen.options.clean is False

    run(next_session)


def test_clean_first_is_unticked_again_after_a_restore_that_cleaned(target: Target):
    async def scenario():
        app = target.app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await start_clean_restore(app, pilot)
            await wait_for(pilot, lambda: screen.finished is not None, what="the run")
            await pilot.press("escape")
            await wait_for(pilot, lambda: screen_named(app, "PickerScreen"))
            assert clean_box(app).value is False
            await open_plan(app, pilot)  # planning the next restore does not clean
            assert app.screen.options.clean is False

    run(scenario)
