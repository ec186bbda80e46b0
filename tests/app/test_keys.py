"""The keys operators bring from k9s, lazygit and pg_activity: q, j/k, g/G, /, y, per-screen help."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import Input

from katarestore_tui.app.app import KatarestoreApp
from katarestore_tui.app.messages import EngineEvent
from katarestore_tui.app.screens.help import HelpScreen, help_text
from katarestore_tui.app.screens.modals import ConfirmScreen
from katarestore_tui.app.screens.restore import RestoreScreen
from katarestore_tui.app.widgets.history.run_views import RunTable
from katarestore_tui.engine import RestoreOptions
from tests.app import sample
from tests.app.conftest import run, screen_named, wait_for

RUNS_NEWEST_FIRST = ["20241201-111002-c4d5", sample.RUN_ID, "20241128-221500-0b1c"]


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sample's three past runs and the partial one's failed records, in a relative data dir."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KATARESTORE_DATA_DIR", "data")
    sample.write_sample_runs()
    return tmp_path


def app_for(root: Path) -> KatarestoreApp:
    return KatarestoreApp(dsn=sample.FAKE_DSN, backup_root=root / "kata_json")


async def to_history(app: KatarestoreApp, pilot) -> None:
    """From the first screen to History, as an operator gets there (h)."""
    await pilot.press("h")
    await wait_for(pilot, lambda: screen_named(app, "HistoryScreen"))


def footer_keys(app: KatarestoreApp) -> dict[str, str]:
    """What the footer offers now: description -> key, as the operator reads it."""
    return {b.binding.description: key for key, b in app.active_bindings.items() if b.enabled}


def test_lists_move_with_j_k_g_and_G_and_q_goes_back_then_quits(runs: Path):
    async def scenario():
        app = app_for(runs)
        async with app.run_test(size=(80, 24)) as pilot:
            await to_history(app, pilot)
            history = app.screen
            table = history.query_one(RunTable)
            assert table.row_count == 3
            moves = {}
            for key in ("j", "j", "k", "G", "g"):
                await pilot.press(key)
                moves.setdefault(key, []).append(history.current.run_id)
            assert moves["j"] == RUNS_NEWEST_FIRST[1:3]
            assert moves["k"] == [RUNS_NEWEST_FIRST[1]]
            assert moves["G"] == [RUNS_NEWEST_FIRST[-1]] and moves["g"] == [RUNS_NEWEST_FIRST[0]]

            await pilot.press("q")
            assert screen_named(app, "PickerScreen")
            await pilot.press("q")  # the first screen: q leaves
            await pilot.pause()
        assert app.return_code == 0

    run(scenario)


def test_history_filters_as_you_type_and_esc_clears_the_filter(runs: Path):
    async def scenario():
        app = app_for(runs)
        async with app.run_test(size=(80, 24)) as pilot:
            await to_history(app, pilot)
            history = app.screen
            await pilot.press("slash", *"cancel")
            box = history.query_one("#run-filter", Input)
            assert box.display and box.value == "cancel"
            assert [r.run_id for r in history.runs] == [RUNS_NEWEST_FIRST[0]]
            assert history.query_one(RunTable).row_count == 1
            assert history.current.status == "cancelled"
            await pilot.press("q")  # typed into the filter, not a way out
            assert box.value == "cancelq" and history.runs == []

            await pilot.press("escape")
            assert not box.display and box.value == ""
            assert history.query_one(RunTable).row_count == 3
            assert app.screen is history  # the first esc only closed the filter
            await pilot.press("escape")
            assert screen_named(app, "PickerScreen")

    run(scenario)


def test_help_opens_on_the_keys_of_the_screen_it_was_asked_from(runs: Path):
    async def scenario():
        app = app_for(runs)
        async with app.run_test(size=(80, 24)) as pilot:
            await to_history(app, pilot)
            await pilot.press("question_mark")
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
            help_screen = app.screen
            assert help_screen.screen_section == "History"
            assert help_screen.query_one("#help-box").border_title == "Help · History"
            plain = _plain(app, help_text(help_screen.screen_section))
            first_section = plain.index("History (this screen)")
            assert first_section < plain.index("Everywhere") < plain.index("Benchmark")
            assert "^r F5" in plain and "j k" in plain and "y Y" in plain

    run(scenario)


def _plain(app: KatarestoreApp, renderable) -> str:
    with app.console.capture() as capture:
        app.console.print(renderable)
    return capture.get()


def test_y_copies_the_record_and_shift_y_its_error(runs: Path):
    async def scenario():
        app = app_for(runs)
        async with app.run_test(size=(120, 40)) as pilot:
            await to_history(app, pilot)
            await pilot.press("j", "f")  # the partial run's failed records
            await wait_for(pilot, lambda: screen_named(app, "FailuresScreen"))
            failures = app.screen
            await wait_for(pilot, lambda: failures.total == len(sample.QUARANTINED))
            await pilot.press("y")
            shown = failures.entries[failures.current]
            assert json.loads(app.clipboard) == shown["record"]
            await pilot.press("Y")
            assert f"Message: {shown['message']}" in app.clipboard.splitlines()
            assert app.clipboard.startswith("SQLSTATE: " + shown["sqlstate"])

    run(scenario)


def test_esc_and_q_stop_a_running_restore_and_go_back_once_it_is_over(tmp_path: Path):
    async def scenario():
        app = KatarestoreApp(dsn=sample.FAKE_DSN, backup_root=tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = RestoreScreen(RestoreOptions(backup=sample.BACKUP, dsn=sample.FAKE_DSN), tmp_path,
                                   autostart=False, clock=lambda: 112.0)
            await app.push_screen(screen)
            screen.running = True
            for event in sample.restore_events(finished=False):
                screen.post_message(EngineEvent(event))
            await pilot.pause(0.3)
            screen.refresh_bindings()
            await pilot.pause()
            offered = footer_keys(app)
            assert "Stop" in offered and "Back" not in offered  # esc is not labelled Back here

            await pilot.press("q")
            assert isinstance(app.screen, ConfirmScreen) and app.screen.title_text == "Stop the restore?"
            await pilot.press("n")
            assert app.screen is screen and not screen.cancel_event.is_set()

            for event in sample.restore_events(finished=True)[-1:]:  # the run ends
                screen.post_message(EngineEvent(event))
            await pilot.pause(0.3)
            offered = footer_keys(app)
            assert "Back" in offered and "Stop" not in offered
            await pilot.press("q")
            assert app.screen is not screen

    run(scenario)
