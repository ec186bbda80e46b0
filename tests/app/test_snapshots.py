"""Every screen at 80x24 and 120x40, from fixed data (no times, run ids or temp paths vary)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot

from katarestore_tui.app.app import KatarestoreApp
from katarestore_tui.app.messages import EngineEvent
from katarestore_tui.app.screens.failures import FailuresScreen
from katarestore_tui.app.screens.plan import PlanScreen
from katarestore_tui.app.screens.restore import RestoreScreen
from katarestore_tui.engine.options import RestoreOptions
from katarestore_tui.engine.restore import prepare
from tests.app import sample
from tests.app.conftest import NEWEST, OLDER

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
NOW = datetime(2024, 12, 4, 9, 0, 0)


@pytest.fixture
def snap_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work in the test's folder with relative paths, so no temp path reaches the screen."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KATARESTORE_DATA_DIR", "data")
    root = Path("kata_json")
    sample.write_sample_backup(root, NEWEST)
    sample.write_sample_backup(root, OLDER, users=25)
    return root


def make_app(root: Path) -> KatarestoreApp:
    return KatarestoreApp(dsn=sample.FAKE_DSN, backup_root=root, now=lambda: NOW)


async def settle(pilot: Pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.3)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_picker(snap_compare, snap_root: Path, size):
    assert snap_compare(make_app(snap_root), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_picker_refuses_batch_size(snap_compare, snap_root: Path, size):
    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        field = pilot.app.screen.query_one("#batch-size")
        field.value = "0"
        field.cursor_blink = False
        field.focus()
        await pilot.press("enter")
        await pilot.pause(0.2)
        pilot.app.clear_notifications()
        await pilot.pause()

    assert snap_compare(make_app(snap_root), terminal_size=size, run_before=run_before)


def sample_plan(dsn: str, root: Path, clean: bool = False):
    sample.create_sample_schema(dsn)
    options = RestoreOptions(backup=str(root / NEWEST), dsn=dsn, clean=clean, jobs=2,
                             snapshot_dir="/var/backups/katarestore")  # the same in every snapshot
    conn, plan = prepare(options, root)
    conn.close()
    options.dsn = sample.FAKE_DSN  # what the screen shows; nothing connects in a snapshot
    return options, plan


@pytest.mark.parametrize("size", SIZES)
def test_plan(snap_compare, snap_root: Path, db_dsn: str, size):
    options, plan = sample_plan(db_dsn, snap_root)

    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.app.push_screen(PlanScreen(options, plan))
        await pilot.pause()

    assert snap_compare(make_app(snap_root), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_plan_clean_confirmation(snap_compare, snap_root: Path, db_dsn: str, size):
    options, plan = sample_plan(db_dsn, snap_root, clean=True)

    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.app.push_screen(PlanScreen(options, plan))
        await pilot.press("s", *"pub")
        pilot.app.screen.query_one("Input").cursor_blink = False
        await pilot.pause()

    assert snap_compare(make_app(snap_root), terminal_size=size, run_before=run_before)


def restore_screen(finished: bool) -> RestoreScreen:
    options = RestoreOptions(backup=sample.BACKUP, dsn=sample.FAKE_DSN)
    return RestoreScreen(options, Path("kata_json"), autostart=False, clock=lambda: 112.0)


async def replay(pilot: Pilot, finished: bool) -> None:
    await settle(pilot)
    screen = restore_screen(finished)
    await pilot.app.push_screen(screen)
    screen.running = not finished
    for event in sample.restore_events(finished):
        screen.post_message(EngineEvent(event))
    await pilot.pause(0.6)
    screen.refresh_bindings()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_restore_running(snap_compare, snap_root: Path, size):
    async def run_before(pilot: Pilot) -> None:
        await replay(pilot, finished=False)

    assert snap_compare(make_app(snap_root), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_restore_finished(snap_compare, snap_root: Path, size):
    async def run_before(pilot: Pilot) -> None:
        await replay(pilot, finished=True)

    assert snap_compare(make_app(snap_root), terminal_size=size, run_before=run_before)


def test_restore_finished_light_theme(snap_compare, snap_root: Path):
    async def run_before(pilot: Pilot) -> None:
        pilot.app.theme = "textual-light"
        await replay(pilot, finished=True)

    assert snap_compare(make_app(snap_root), terminal_size=(120, 40), run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_failures(snap_compare, snap_root: Path, size):
    sample.write_sample_runs()

    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.app.push_screen(FailuresScreen(sample.RUN_ID))
        await settle(pilot)
        await pilot.press("down")
        await pilot.pause()

    assert snap_compare(make_app(snap_root), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_history(snap_compare, snap_root: Path, size):
    sample.write_sample_runs()

    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("h")
        await pilot.pause()

    assert snap_compare(make_app(snap_root), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare, snap_root: Path, size):
    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(make_app(snap_root), terminal_size=size, run_before=run_before)
