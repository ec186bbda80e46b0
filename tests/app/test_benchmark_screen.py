"""The benchmark screen: a real run with Pilot, cancel, picking two runs, and snapshots."""

from __future__ import annotations

import asyncio
import functools
import threading
from pathlib import Path

import pytest
from rich.console import Console
from textual.app import App
from textual.widgets import Button, Checkbox, DataTable, Label, Static

from katarestore_tui.app.screens.benchmark import BenchmarkScreen
from katarestore_tui.app.widgets.charts import Bar, Point, bar_text, trend_text
from katarestore_tui.bench import strategies
from katarestore_tui.errors import Cancelled
from katarestore_tui.history.benchmarks import append_benchmark, read_benchmarks
from tests.bench.fixtures import BACKUP_NAME, demo_target, scratch_left

__all__ = ["demo_target"]

NO_SERVER = "postgresql://nobody@127.0.0.1:1/none"  # the snapshots never connect


class BenchApp(App):
    def __init__(self, root: Path, dsn: str, **options) -> None:
        super().__init__()
        self.root, self.dsn, self.options = root, dsn, options

    def on_mount(self) -> None:
        self.push_screen(BenchmarkScreen(self.root, self.dsn, **self.options))


def figures(seconds: float, records: int, extrapolated: bool = False, loaded: int | None = None,
            rss_mb: int = 60) -> dict:
    attempted = 120_000 if extrapolated else records
    return {"status": "ok", "attempts": 3, "completed": 3, "extrapolated": extrapolated,
            "seconds": seconds, "seconds_min": seconds * 0.95, "seconds_max": seconds * 1.1,
            "rows_per_s": round(records / seconds, 1), "peak_rss_bytes": rss_mb * 1024 * 1024,
            "records": records, "attempted": attempted,
            "loaded": attempted if loaded is None else loaded, "duplicates": 0,
            "failed": 0 if loaded is None else records - loaded,
            "dropped": 0 if loaded is None else records - loaded, "tables": {}, "runs": [],
            "error": None}


def fake_record(day: int, legacy: float | None, batched: float, copy: float, *, version="0.1.0",
                records: int = 1_380_000) -> dict:
    strategies_ = {}
    if legacy is not None:
        strategies_["legacy"] = figures(legacy, records, extrapolated=True, rss_mb=1_480)
    strategies_["batched"] = figures(batched, records, loaded=records - 1000, rss_mb=1_510)
    strategies_["copy"] = figures(copy, records)
    return {
        "kind": "benchmark", "bench_id": f"bench-2026050{day}", "time": f"2026-05-0{day}T10:1{day}:00+00:00",
        "status": "completed", "backup": BACKUP_NAME, "backup_bytes": 450_000_000, "records": records,
        "table_count": 6, "strategies": strategies_, "repeat": 3, "batch_size": 10_000, "jobs": 2,
        "limit_rows": 20_000 if legacy is not None else None, "host": "bench-host",
        "server_version": "15.20 (Debian)", "versions": {"katarestore": version, "psycopg": "3.3.9",
                                                         "ijson": "3.6.0", "textual": "8.2.8"},
        "notes": [], "error": None,
    }


@pytest.fixture
def fake_history(tmp_path: Path) -> Path:
    """Seven past runs with fixed figures; the sixth is a regression of copy (a slower version)."""
    root = tmp_path / "kata_json"
    (root / BACKUP_NAME).mkdir(parents=True)
    (root / BACKUP_NAME / "users.json").write_text("[]")
    copies = [21.0, 20.5, 21.2, 20.8, 20.9, 27.5, 20.7]
    for day, copy in enumerate(copies, start=1):
        append_benchmark(fake_record(day, 9_800.0 if day % 2 else None, 560.0 + day, copy,
                                     version="0.2.0" if day == 6 else "0.1.0"))
    return root


# --------------------------------------------------------------------------- snapshots

def test_snapshot_80x24(fake_history, snap_compare):
    assert snap_compare(BenchApp(fake_history, NO_SERVER), terminal_size=(80, 24))


def test_snapshot_120x40(fake_history, snap_compare):
    assert snap_compare(BenchApp(fake_history, NO_SERVER), terminal_size=(120, 40))


def test_snapshot_two_runs_side_by_side(fake_history, snap_compare):
    async def pick_two(pilot):
        table = pilot.app.screen.query_one("#bench-history", DataTable)
        table.focus()
        await pilot.press("down", "enter", "down", "down", "enter")
        pilot.app.screen.query_one("#bench-body").scroll_end(animate=False)
        await pilot.pause()

    assert snap_compare(BenchApp(fake_history, NO_SERVER), terminal_size=(120, 40), run_before=pick_two)


# --------------------------------------------------------------------------- pilot

def run_async(test):
    """Run a Pilot test on its own event loop (no async pytest plugin needed)."""

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return wrapper


@run_async
async def test_a_run_fills_the_table_the_history_and_the_progress(demo_target):
    app = BenchApp(demo_target.root, demo_target.dsn)
    async with app.run_test(size=(120, 50)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.query_one("#bench-table", DataTable).row_count == 0
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = screen.query_one("#bench-table", DataTable)
        assert [str(table.get_row_at(i)[0]) for i in range(table.row_count)] == ["legacy", "batched", "copy"]
        assert screen.query_one("#bench-history", DataTable).row_count == 1
        for name in ("legacy", "batched", "copy"):
            assert "/s" in str(screen.query_one(f"#state-{name}", Label).render())
        assert not screen.query_one("#bench-run", Button).disabled
        assert BACKUP_NAME in str(screen.query_one("#bench-caption", Static).render())
    (record,) = read_benchmarks()
    assert record["status"] == "completed" and set(record["strategies"]) == {"legacy", "batched", "copy"}
    assert scratch_left(demo_target.dsn) == []


@run_async
async def test_only_the_ticked_strategies_run(demo_target):
    app = BenchApp(demo_target.root, demo_target.dsn)
    async with app.run_test(size=(120, 50)) as pilot:
        await pilot.pause()
        app.screen.query_one("#pick-legacy", Checkbox).value = False
        app.screen.query_one("#pick-batched", Checkbox).value = False
        await pilot.click("#bench-run")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.query_one("#bench-table", DataTable).row_count == 1
        assert "not chosen" in str(app.screen.query_one("#state-legacy", Label).render())
    assert list(read_benchmarks()[0]["strategies"]) == ["copy"]


@run_async
async def test_cancel_stops_the_run_and_drops_the_scratch_schema(demo_target, monkeypatch):
    started = threading.Event()

    def waits_for_cancel(ctx):
        started.set()
        if not ctx.cancel.wait(30):
            raise AssertionError("the screen never cancelled")
        raise Cancelled

    monkeypatch.setitem(strategies.STRATEGIES, "legacy", waits_for_cancel)
    app = BenchApp(demo_target.root, demo_target.dsn)
    async with app.run_test(size=(120, 50)) as pilot:
        await pilot.pause()
        await pilot.press("r")
        while not started.is_set():
            await pilot.pause(0.05)
        await pilot.press("c")
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert "cancelled" in str(screen.query_one("#bench-status", Static).render())
        assert not screen.query_one("#bench-run", Button).disabled
        assert screen.query_one("#bench-cancel", Button).disabled
    (record,) = read_benchmarks()
    assert record["status"] == "cancelled" and list(record["strategies"]) == ["legacy"]
    assert scratch_left(demo_target.dsn) == []


@run_async
async def test_picking_two_runs_compares_them_oldest_first(fake_history):
    app = BenchApp(fake_history, NO_SERVER)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        history = screen.query_one("#bench-history", DataTable)
        history.focus()
        await pilot.press("enter")  # the newest run (day 7)
        await pilot.press("down", "m")  # the run before it (day 6)
        assert screen.marks == ["bench-20260507", "bench-20260506"]
        panel = screen.query_one("#bench-compare", Static)
        text = _plain(panel.content)
        assert "before (A)" in text and "2026-05-06" in text.split("B 2026-05-07")[0]
        assert "+33%" in text  # copy was slower in the 0.2.0 run (A), then recovered (B)
        assert "±0%" in text  # batched did not move
        await pilot.press("m")  # unpick one: the panel goes back to the hint
        assert "Pick two" in _plain(panel.content)
        # a third pick replaces the oldest pick
        await pilot.press("down", "enter", "down", "enter")
        assert screen.marks == ["bench-20260505", "bench-20260504"]


@run_async
async def test_no_backups_is_said_and_run_refuses(tmp_path):
    app = BenchApp(tmp_path / "nowhere", NO_SERVER)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        assert not app.screen.running
        assert "no backup chosen" in " ".join(str(n.message) for n in app._notifications)


def _plain(renderable) -> str:
    console = Console(width=160, record=True)
    console.print(renderable)
    return console.export_text()


# --------------------------------------------------------------------------- charts

def test_bars_are_proportional_and_never_vanish():
    text = bar_text([Bar("legacy", 100.0, "100 s"), Bar("copy", 0.01, "0.01 s")], 60).plain
    legacy, copy = text.splitlines()
    assert legacy.count("█") > 30
    assert copy.split()[1] in "▏▎▍▌▋▊▉█"  # the tiny one still shows a sliver


def test_trend_aligns_runs_marks_picks_and_flags_regressions():
    series = {"copy": [Point(100.0), Point(100.0), Point(70.0, regression=True)],
              "legacy": [Point(None), Point(5.0, extrapolated=True), Point(5.0)]}
    text = trend_text(series, 40, {0: "A", 2: "B"})
    lines = text.plain.splitlines()
    assert lines[0].startswith("copy   ██████▆▆▆") and lines[0].rstrip().endswith("70 ▼")
    assert lines[1].startswith("legacy ···")
    assert lines[2].strip() == "A     B"
    red = [span for span in text.spans if "red" in str(span.style)]
    assert red, "the regression is drawn in red"
