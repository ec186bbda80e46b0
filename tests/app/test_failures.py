"""Screen 4: open a failed record, filter, mark, export and retry, against a real PostgreSQL."""

from __future__ import annotations

import json
import os
from pathlib import Path

import psycopg
from textual.widgets import Input, Select

from katarestore_tui.app.screens.modals import ExportScreen
from katarestore_tui.app.widgets.failures.failure_table import FailureTable
from katarestore_tui.app.widgets.failures.record_detail import ErrorView, RecordView
from katarestore_tui.engine.quarantine import read_quarantine
from katarestore_tui.history.runs import read_run
from tests.app.conftest import Target, run, screen_named, wait_for
from tests.app.test_restore import open_plan


def test_open_filter_export_and_retry_failed_records(target: Target, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    async def scenario():
        app = target.app()
        async with app.run_test(size=(120, 40)) as pilot:
            await open_plan(app, pilot)
            await pilot.press("s")
            await wait_for(pilot, lambda: screen_named(app, "RestoreScreen"))
            restore = app.screen
            await wait_for(pilot, lambda: restore.finished is not None)
            run_id = restore.finished.run_id
            await pilot.press("f")
            await wait_for(pilot, lambda: screen_named(app, "FailuresScreen"))
            screen = app.screen
            table = screen.query_one(FailureTable)
            await wait_for(pilot, lambda: table.row_count == target.expected_failed(), what="records")

            # the highlighted record is shown whole, beside the database's error
            entry = screen.entries[screen.current]
            record_text = screen.query_one(RecordView).text
            assert json.loads(record_text) == json.loads(json.dumps(entry["record"], default=str))
            error = dict(screen.query_one(ErrorView).lines)
            assert error["Message"] == entry["message"]
            assert error["SQLSTATE"].startswith(entry["sqlstate"] or "–")

            # filter by table, then by error text
            screen.query_one("#table-filter", Select).value = "courses"
            await wait_for(pilot, lambda: table.row_count
                           == target.demo.expected["courses"]["failed"], what="the table filter")
            screen.query_one("#table-filter", Select).clear()
            await pilot.press("slash", *"nul character")
            await wait_for(pilot, lambda: 1 <= table.row_count < target.expected_failed(),
                           what="the error filter")
            assert screen.query_one("#error-filter", Input).value == "nul character"
            assert all("NUL" in screen.entries[p]["message"] for p in screen.positions)
            await pilot.press("escape")  # leaves the filter field, stays on the screen
            screen.query_one("#error-filter", Input).value = ""
            await wait_for(pilot, lambda: table.row_count == target.expected_failed())

            # mark two records and export them
            table.focus()
            await pilot.press("space", "space")
            assert len(screen.marked) == 2
            await pilot.press("e")
            await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen))
            await pilot.press("enter")
            exported = tmp_path / f"failed-{run_id}.jsonl"
            await wait_for(pilot, lambda: exported.exists()
                           and len(exported.read_text().splitlines()) == 2, what="the export")
            lines = exported.read_text().splitlines()
            assert len(lines) == 2 and all(json.loads(line)["record"] is not None for line in lines)
            assert os.stat(exported).st_mode & 0o777 == 0o600

            # fix the cause of the long course title, then retry that table
            with psycopg.connect(target.dsn, autocommit=True) as conn:
                conn.execute("ALTER TABLE courses ALTER COLUMN title TYPE text")
            screen.marked.clear()
            screen.query_one("#table-filter", Select).value = "courses"
            await wait_for(pilot, lambda: table.row_count
                           == target.demo.expected["courses"]["failed"])
            table.focus()
            await pilot.press("r")
            await wait_for(pilot, lambda: not any(e["table"] == "courses" for e in screen.entries.values()),
                           what="the retry")
            assert screen.total == target.expected_failed() - 1
        return run_id

    run(scenario)
    remaining = list(read_quarantine(read_run_id()))
    assert not [e for e in remaining if e["table"] == "courses"]
    assert read_run(read_run_id())["tables"]["courses"]["failed"] == 0


def read_run_id() -> str:
    from katarestore_tui.history.runs import list_runs

    return list_runs(1)[0]["run_id"]
