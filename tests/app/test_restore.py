"""Screen 2 and 3: plan, start, watch the panes reach their final counts; cancel; clean first."""

from __future__ import annotations

import psycopg
from textual.widgets import Input

from katarestore_tui.app.screens.modals import ConfirmCleanScreen, ConfirmScreen
from katarestore_tui.app.widgets.picker.backup_table import BackupTable
from katarestore_tui.app.widgets.restore.summary import RunSummary
from katarestore_tui.app.widgets.restore.table_pane import TablePane
from katarestore_tui.history.runs import is_resumable, read_run
from tests.app.conftest import BLOCKED_TABLE, NEWEST, TableLock, Target, run, screen_named, wait_for


async def open_plan(app, pilot, batch_size: str | None = None, clean: bool = False) -> None:
    await wait_for(pilot, lambda: app.screen.query_one(BackupTable).row_count and app.dsn)
    if batch_size:
        app.screen.query_one("#batch-size", Input).value = batch_size
    if clean:
        app.screen.query_one("#clean").value = True
    await pilot.press("p")
    await wait_for(pilot, lambda: screen_named(app, "PlanScreen"), what="the plan")


async def start_clean_restore(app, pilot):
    """Plan with Clean first, start, type the schema name to confirm: the restore screen."""
    await open_plan(app, pilot, clean=True)
    await pilot.press("s")
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmCleanScreen))
    await pilot.press(*"public", "enter")
    await wait_for(pilot, lambda: screen_named(app, "RestoreScreen"))
    return app.screen


def pane_counts(screen) -> dict[str, dict[str, int]]:
    return {
        pane.table: {k: getattr(pane.stats, k) for k in ("records", "loaded", "duplicates", "failed")}
        for pane in screen.query(TablePane)
    }


def test_restore_panes_reach_the_final_counts(target: Target):
    async def scenario():
        app = target.app()
        async with app.run_test(size=(80, 24)) as pilot:
            await open_plan(app, pilot, batch_size="300")
            await pilot.press("s")
            await wait_for(pilot, lambda: screen_named(app, "RestoreScreen"))
            screen = app.screen
            await wait_for(pilot, lambda: screen.finished is not None, what="the end of the run")
            await pilot.pause(0.3)
            assert screen.finished.status == "partial"
            assert pane_counts(screen) == target.demo.expected
            states = {pane.table: pane.stats.state for pane in screen.query(TablePane)}
            assert set(states.values()) == {"partial"}
            assert all(pane.has_class("-partial") for pane in screen.query(TablePane))
            summary = screen.query_one(RunSummary)
            assert screen.query_one("#summary-box").display
            text = str(summary.render())
            assert screen.finished.run_id in text and "failed" in text
            assert not app.restore_running()
            assert screen.check_action("cancel", ()) is False
            assert screen.check_action("failures", ()) is True

    run(scenario)
    with psycopg.connect(target.dsn) as conn:
        loaded = conn.execute("SELECT count(*) FROM users").fetchone()[0]
    assert loaded == target.demo.expected["users"]["loaded"]


def blocked(screen) -> bool:
    """The loader waits on the locked table: every table before it is finished."""
    stats = screen.stats.get(BLOCKED_TABLE)
    return stats is not None and stats.state == "loading"


async def cancel_at_the_locked_table(app, pilot, lock: TableLock):
    """Start a restore, cancel it (confirmed) while it waits on the locked table; its screen."""
    await open_plan(app, pilot, batch_size="20")
    await pilot.press("s")
    await wait_for(pilot, lambda: screen_named(app, "RestoreScreen"))
    screen = app.screen
    await wait_for(pilot, lambda: blocked(screen), what="the locked table")
    await pilot.press("c")
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
    await pilot.press("y")
    lock.release()
    await wait_for(pilot, lambda: screen.finished is not None, what="the cancel")
    return screen


def test_cancel_mid_run_leaves_a_resumable_run_that_resumes(target: Target, lock: TableLock):
    async def scenario():
        app = target.app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await cancel_at_the_locked_table(app, pilot, lock)
            assert screen.finished.status == "cancelled", (screen.finished.status, screen.finished.error)
            run_id = screen.finished.run_id
            done = sum(s.records for s in screen.stats.values())
            total = sum(target.demo.rows_per_table.values())
            assert 0 < done < total
            assert is_resumable(read_run(run_id))

            await pilot.press("h")
            await wait_for(pilot, lambda: screen_named(app, "HistoryScreen"))
            history = app.screen
            assert history.current.run_id == run_id
            assert history.check_action("resume", ()) is True
            await pilot.press("r")
            await wait_for(pilot, lambda: screen_named(app, "RestoreScreen") and app.screen is not screen)
            resumed = app.screen
            assert resumed.options.resume == run_id
            await wait_for(pilot, lambda: resumed.finished is not None, what="the resume")
            assert resumed.finished.status == "partial", resumed.finished.error
            assert resumed.finished.run_id == run_id
            counts = {name: {k: getattr(s, k) for k in ("records", "loaded", "duplicates", "failed")}
                      for name, s in resumed.finished.tables.items()}
            assert counts == target.demo.expected  # no record loaded twice, none lost
            earlier = resumed.panes["users"].stats  # finished before the cancel: shown at once
            assert earlier.state == "partial" and earlier.records == target.demo.expected["users"]["records"]

    run(scenario)


def test_a_resume_of_a_changed_backup_is_refused_with_the_file_named(target: Target, lock: TableLock):
    async def scenario():
        app = target.app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await cancel_at_the_locked_table(app, pilot, lock)
            run_id = screen.finished.run_id
            users = target.root / NEWEST / "users.json"
            users.write_bytes(users.read_bytes() + b"\n")  # a new export arrived in its place

            await pilot.press("h")
            await wait_for(pilot, lambda: screen_named(app, "HistoryScreen"))
            await pilot.press("r")
            await wait_for(pilot, lambda: screen_named(app, "RestoreScreen") and app.screen is not screen)
            refused = app.screen
            summary = refused.query_one(RunSummary)
            await wait_for(pilot, lambda: "Not started" in str(summary.render()), what="the refusal")
            text = str(summary.render())
            assert "the backup changed since it started" in text and "users.json" in text
            assert refused.finished is None and not app.restore_running()
            assert is_resumable(read_run(run_id)), "the run is kept for the original files"

    run(scenario)


def test_clean_first_asks_for_the_schema_name(target: Target):
    with psycopg.connect(target.dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO users (id, email, name) "
                     "VALUES ('00000000-0000-4000-8000-0000000000ff', 'stale@example.org', 'Stale')")

    async def scenario():
        app = target.app()
        async with app.run_test(size=(80, 24)) as pilot:
            await open_plan(app, pilot, clean=True)
            assert app.screen.options.clean
            await pilot.press("s")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmCleanScreen))
            await pilot.press(*"pub", "enter")
            assert isinstance(app.screen, ConfirmCleanScreen)  # wrong name: still asking
            assert "not 'public'" in str(app.screen.query_one("#clean-reason").render())
            await pilot.press("escape")
            assert screen_named(app, "PlanScreen")  # nothing started
            await pilot.press("s")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmCleanScreen))
            await pilot.press(*"public", "enter")
            await wait_for(pilot, lambda: screen_named(app, "RestoreScreen"))
            screen = app.screen
            await wait_for(pilot, lambda: screen.finished is not None)
            assert pane_counts(screen) == target.demo.expected

    run(scenario)
    with psycopg.connect(target.dsn) as conn:
        assert conn.execute("SELECT count(*) FROM users WHERE email = 'stale@example.org'").fetchone()[0] == 0


def test_a_lost_terminal_cancels_the_restore_and_exits(target: Target, lock: TableLock):
    async def scenario():
        app = target.app()
        async with app.run_test(size=(80, 24)) as pilot:
            await open_plan(app, pilot, batch_size="20")
            await pilot.press("s")
            await wait_for(pilot, lambda: screen_named(app, "RestoreScreen"))
            screen = app.screen
            await wait_for(pilot, lambda: blocked(screen), what="the locked table")
            app.hang_up()  # what run_app's SIGHUP handler calls
            lock.release()
            await wait_for(pilot, lambda: not app.is_running, what="the exit")
        app.stop_runs(wait=True)
        assert app.return_code == 3
        assert not app.restore_running()
        logged = read_run(screen.run_id)
        assert logged["status"] == "cancelled" and is_resumable(logged)

    run(scenario)


def test_the_plan_screen_hands_its_plan_to_the_restore(target: Target, monkeypatch):
    import katarestore_tui.engine.restore as restore_module

    built = []
    real = restore_module.build_plan
    monkeypatch.setattr(restore_module, "build_plan",
                        lambda *a, **k: built.append(1) or real(*a, **k))

    async def scenario():
        app = target.app()
        async with app.run_test(size=(80, 24)) as pilot:
            await open_plan(app, pilot)
            shown = app.screen.plan
            await pilot.press("s")
            await wait_for(pilot, lambda: screen_named(app, "RestoreScreen"))
            screen = app.screen
            await wait_for(pilot, lambda: screen.finished is not None, what="the end of the run")
            assert len(built) == 1  # the preview's plan, not a second one for the run
            assert screen.plan is shown
            assert screen.finished.status == "partial"
            assert pane_counts(screen) == target.demo.expected

    run(scenario)
