"""Screen 1: choosing a backup and the options, against a real PostgreSQL."""

from __future__ import annotations

import json

from textual.widgets import Input, Label

from katarestore_tui.app.widgets.picker.backup_table import BackupTable
from katarestore_tui.app.widgets.picker.file_preview import FilePreview
from katarestore_tui.locations import preferences_file
from tests.app.conftest import NEWEST, OLDER, Target, run, screen_named, wait_for


def test_pick_a_backup_and_see_its_plan(target: Target):
    async def scenario():
        app = target.app()
        async with app.run_test(size=(80, 24)) as pilot:
            table = app.screen.query_one(BackupTable)
            await wait_for(pilot, lambda: table.row_count == 2 and app.dsn, what="backups")
            assert [table.get_row_at(i)[0] for i in range(2)] == [NEWEST, OLDER]  # newest first
            exact = f"{sum(target.demo.rows_per_table.values()):,}"  # small files: counted exactly
            await wait_for(pilot, lambda: table.get_row_at(0)[4] == exact, what="record estimate")
            preview = app.screen.query_one(FilePreview)
            assert preview.border_title == f"Files of {NEWEST}"
            await pilot.press("down")
            assert preview.border_title == f"Files of {OLDER}"
            await pilot.press("up", "p")
            await wait_for(pilot, lambda: screen_named(app, "PlanScreen"), what="the plan")
            plan = app.screen.plan
            assert plan.backup.name == NEWEST
            assert [t.table for t in plan.tables][:2] == ["users", "courses"]
            assert not app.screen.options.clean

    run(scenario)


def test_a_bad_batch_size_is_refused_with_the_reason(target: Target):
    async def scenario():
        app = target.app()
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.screen.query_one(BackupTable).row_count and app.dsn)
            batch = app.screen.query_one("#batch-size", Input)
            reason = app.screen.query_one("#batch-reason", Label)
            batch.focus()
            for text, why in (("0", "outside 1 to 1,000,000"), ("2000000", "outside"),
                              ("10k", "not a whole number"), ("", "enter a whole number")):
                batch.value = ""
                if text:
                    await pilot.press(*text)
                await pilot.pause()
                assert why in str(reason.render()), text
                await pilot.press("enter")
                await pilot.pause(0.2)
                assert screen_named(app, "PickerScreen"), f"{text!r} was accepted"
            batch.value = ""
            await pilot.press(*"2_500")
            await pilot.pause()
            assert "rows per COPY batch" in str(reason.render())
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen_named(app, "PlanScreen"))
            assert app.screen.options.batch_size == 2500

    run(scenario)


def test_choices_are_remembered_without_the_dsn(target: Target):
    async def scenario():
        app = target.app()
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.screen.query_one(BackupTable).row_count and app.dsn)
            app.screen.query_one("#batch-size", Input).value = "750"
            app.screen.query_one("#jobs", Input).value = "2"
            app.screen.query_one("#tables", Input).value = "users, courses"
            await pilot.press("p")
            await wait_for(pilot, lambda: screen_named(app, "PlanScreen"))
            assert [t.table for t in app.screen.plan.tables] == ["users", "courses"]

    run(scenario)
    saved = json.loads(preferences_file().read_text())
    assert saved["batch_size"] == 750 and saved["jobs"] == 2
    assert saved["tables"] == ["users", "courses"]
    assert "dsn" not in saved and target.dsn not in preferences_file().read_text()

    async def reopened():
        app = target.app()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert app.screen.query_one("#batch-size", Input).value == "750"
            assert app.screen.query_one("#tables", Input).value == "users, courses"

    run(reopened)


def test_a_backup_passed_by_the_cli_is_preselected(target: Target):
    async def scenario():
        app = target.app(backup=str(target.root / OLDER))  # what `katarestore demo` does
        async with app.run_test(size=(80, 24)) as pilot:
            table = app.screen.query_one(BackupTable)
            await wait_for(pilot, lambda: table.row_count == 2)
            assert table.cursor_row == 1
            assert app.screen.query_one(FilePreview).border_title == f"Files of {OLDER}"

    run(scenario)
