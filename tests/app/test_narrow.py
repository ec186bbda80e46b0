"""At 80 columns nothing an operator needs is cut: History's backup, the benchmark's loaded/failed."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable

from katarestore_tui.app.widgets.history.run_views import RunTable
from tests.app.conftest import run
from tests.app.test_benchmark_screen import NO_SERVER, BenchApp, fake_history
from tests.app.test_keys import app_for, runs, to_history

__all__ = ["fake_history", "runs"]


def visible_columns(table: DataTable) -> list[str]:
    """The columns (key, else label) whose whole width lies inside the table as drawn."""
    width, shown, x = table.scrollable_content_region.width, [], 0
    for key, column in table.columns.items():
        x += column.get_render_width(table)
        if x <= width:
            shown.append(str(key.value) if key.value is not None else column.label.plain)
    return shown


@pytest.mark.parametrize(("size", "extra"), [((80, 24), []), ((120, 40), ["time", "target"])])
def test_history_shows_whole_columns_and_leaves_time_and_target_to_the_detail_when_narrow(
        runs: Path, size: tuple[int, int], extra: list[str]):
    async def scenario():
        app = app_for(runs)
        async with app.run_test(size=size) as pilot:
            await to_history(app, pilot)
            table = app.screen.query_one(RunTable)
            keys = [str(k.value) for k in table.columns]
            assert keys == ["resumable", "status", "run", "records", "failed", "backup", *extra]
            whole = keys[:-1] if "target" in keys else keys  # a long DSN may run off the edge
            assert visible_columns(table)[:len(whole)] == whole, "a column is cut at the right edge"

    run(scenario)


def test_benchmark_comparison_keeps_loaded_and_failed_in_view_at_80_columns(fake_history: Path):
    async def scenario():
        app = BenchApp(fake_history, NO_SERVER)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.3)
            table = app.screen.query_one("#bench-table", DataTable)
            assert table.row_count == 3
            shown = visible_columns(table)
            assert shown[:5] == ["strategy", "time", "rows/s", "loaded", "failed"], shown

    run(scenario)
