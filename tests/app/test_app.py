"""App-wide behaviour: help, themes, the command palette, the benchmark screen, quitting."""

from __future__ import annotations

import json
from pathlib import Path

from katarestore_tui.app.app import KatarestoreApp
from katarestore_tui.app.preferences import Preferences, load_preferences
from katarestore_tui.locations import preferences_file
from tests.app.conftest import TableLock, Target, run, screen_named, wait_for

FAKE_DSN = "postgresql://katacore:s3cret@db.internal:5432/katacore"


def test_help_theme_and_palette(tmp_path: Path):
    (tmp_path / "kata_json").mkdir()

    async def scenario():
        app = KatarestoreApp(dsn=FAKE_DSN, backup_root=tmp_path / "kata_json")
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.dsn)
            assert "s3cret" not in app.target_label and "****" in app.target_label
            await pilot.press("question_mark")
            assert screen_named(app, "HelpScreen")
            await pilot.press("escape")
            assert screen_named(app, "PickerScreen")

            assert app.theme == "textual-dark"
            await pilot.press("ctrl+t")
            assert app.theme == "textual-light"

            await pilot.press("ctrl+p")
            await pilot.pause()
            await pilot.press(*"history")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen_named(app, "HistoryScreen"), what="palette command")

    run(scenario)
    assert load_preferences().theme == "textual-light"
    assert "s3cret" not in preferences_file().read_text()


def test_benchmark_binding_opens_the_benchmark_screen_or_says_why(target: Target):
    async def scenario():
        app = target.app()
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.dsn)
            await pilot.press("b")
            await pilot.pause()
            try:
                from katarestore_tui.app.screens.benchmark import BenchmarkScreen  # noqa: F401
            except ImportError:
                assert any("benchmark" in n.message for n in app._notifications)
            else:
                assert screen_named(app, "BenchmarkScreen")

    run(scenario)


def test_damaged_preferences_fall_back_to_defaults():
    path = preferences_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"batch_size": 0, "jobs": "two", "on_conflict": "drop", "clean": 1,
                                "tables": ["users", 3], "theme": "neon"}))
    prefs = load_preferences()
    assert prefs == Preferences(tables=["users"])
    path.write_text("{not json")
    assert load_preferences() == Preferences()


def test_quit_while_restoring_asks_first(target: Target, lock: TableLock):
    async def scenario():
        app = target.app()
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.screen.query_one("BackupTable").row_count and app.dsn)
            await pilot.press("p")
            await wait_for(pilot, lambda: screen_named(app, "PlanScreen"))
            await pilot.press("s")
            await wait_for(pilot, lambda: app.restore_running())
            await pilot.press("ctrl+q")
            await wait_for(pilot, lambda: screen_named(app, "ConfirmScreen"))
            await pilot.press("n")
            assert app.is_running and app.restore_running()
            await pilot.press("ctrl+q")
            await wait_for(pilot, lambda: screen_named(app, "ConfirmScreen"))
            await pilot.press("y")
            lock.release()
            await wait_for(pilot, lambda: not app.is_running)
        app.stop_runs(wait=True)
        assert app.return_code == 3

    run(scenario)
