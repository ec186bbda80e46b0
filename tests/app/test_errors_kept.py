"""Errors outlive their toast: in the restore log pane, and on the Errors screen (ctrl+e or
the command palette's "Errors") for the whole session."""

from __future__ import annotations

from psycopg.conninfo import conninfo_to_dict, make_conninfo
from textual.widgets import RichLog, Static

from katarestore_tui.app.commands import COMMANDS
from katarestore_tui.app.screens.restore import RestoreScreen
from katarestore_tui.engine import RestoreOptions
from tests.app.conftest import NEWEST, Target, run, screen_named, wait_for


def log_text(screen: RestoreScreen) -> str:
    return "\n".join(line.text for line in screen.query_one(RichLog).lines)


def test_an_error_stays_in_the_restore_log_and_on_the_errors_screen(target: Target):
    params = conninfo_to_dict(target.dsn)
    params["dbname"] = params["dbname"] + "_gone"  # a target that is not there: refused
    options = RestoreOptions(backup=str(target.root / NEWEST), dsn=make_conninfo(**params))

    async def scenario():
        app = target.app()
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.dsn)
            screen = RestoreScreen(options, target.root)
            app.push_screen(screen)
            await wait_for(pilot, lambda: app._notifications and not screen.running,
                           what="the refusal's toast")
            toast = next(iter(app._notifications))
            assert toast.severity == "error" and "_gone" in toast.message
            assert "error: " in log_text(screen) and "_gone" in log_text(screen)
            app.clear_notifications()  # the toast has gone
            await pilot.pause()
            await pilot.press("ctrl+e")
            await wait_for(pilot, lambda: screen_named(app, "ErrorsScreen")
                           and app.screen.query("#errors-text"))
            listed = str(app.screen.query_one("#errors-text", Static).render())
            assert "_gone" in listed and listed.count("•") == 1
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is screen, what="back on the restore")
            app.notify("a second one", title="Later", severity="error")
            app.notify("not an error", severity="warning")  # only errors are kept
            await pilot.pause()
            await app.run_action("errors")
            await wait_for(pilot, lambda: screen_named(app, "ErrorsScreen")
                           and app.screen.query("#errors-text"))
            listed = str(app.screen.query_one("#errors-text", Static).render())
            assert listed.count("•") == 2 and "Later: a second one" in listed
            assert "not an error" not in listed

    run(scenario)
    assert ("Errors", "app.errors") in {(name, action) for name, _, action in COMMANDS}
