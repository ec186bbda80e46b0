"""A backup of a dozen tables at 80x24: the table loading stays in view and the log keeps its rows."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from textual.containers import VerticalScroll
from textual.widgets import RichLog

from katarestore_tui.app.app import KatarestoreApp
from katarestore_tui.app.messages import EngineEvent
from katarestore_tui.app.screens.restore import RestoreScreen
from katarestore_tui.app.widgets.restore.table_pane import TablePane
from katarestore_tui.engine import (
    RestoreOptions,
    RunStarted,
    TableFinished,
    TableProgress,
    TableStarted,
)
from tests.app import sample
from tests.app.conftest import run, wait_for


def names(count: int) -> list[str]:
    return [f"table_{i:02d}" for i in range(1, count + 1)]
LOG_ROWS = 3  # the log's border takes two of its five rows


def events_until(tables: list[str], loading: str) -> list:
    """Tables finish in order until `loading`, which is half read; the rest wait."""
    events: list = [RunStarted(sample.RUN_ID, sample.BACKUP, sample.FAKE_TARGET, tuple(tables),
                               1_000_000 * len(tables), "replica", at=100.0)]
    at = 100.0
    for name in tables:
        events.append(TableStarted(name, f"{name}.json", 1_000_000, at=at))
        if name == loading:
            half = sample.stats(name, 5_000, state="loading", read=0.5)
            events.append(TableProgress(half, at=at + 0.5))
            return events
        at += 1.0
        events.append(TableFinished(sample.stats(name, 10_000), at=at))
    raise AssertionError(f"{loading} is not one of the tables")


def visible_in(container: VerticalScroll, pane: TablePane) -> bool:
    """The pane's rows lie inside the part of the scrolled container on screen."""
    top = container.scroll_offset.y
    bottom = top + container.scrollable_content_region.height
    region = pane.virtual_region
    return region.y >= top and region.y + region.height <= bottom


@pytest.mark.parametrize(("count", "loading"), [(12, "table_10"), (12, "table_12"), (20, "table_15"),
                                               (20, "table_20")])
def test_the_loading_table_stays_in_view_and_the_log_keeps_its_rows(tmp_path: Path, count: int,
                                                                     loading: str):
    run(lambda: scenario(tmp_path, names(count), loading))


async def scenario(tmp_path: Path, tables: list[str], loading: str) -> None:
    app = KatarestoreApp(dsn=sample.FAKE_DSN, backup_root=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = RestoreScreen(RestoreOptions(backup=sample.BACKUP, dsn=sample.FAKE_DSN), tmp_path,
                               autostart=False, clock=lambda: 112.0)
        await app.push_screen(screen)
        screen.running = True
        for event in events_until(tables, loading):
            screen.post_message(EngineEvent(event))
        panes = screen.query_one("#panes", VerticalScroll)
        # a few redraw ticks (4 a second) lay the panes out; a busy machine needs more of them
        with contextlib.suppress(AssertionError):  # the checks below then say what is wrong
            await wait_for(pilot, lambda: len(screen.panes) == len(tables) and all(
                p.virtual_region.height for p in screen.panes.values())
                and screen.panes[loading].stats.state == "loading"
                and visible_in(panes, screen.panes[loading]), timeout=10)
        active = screen.panes[loading]
        assert visible_in(panes, active), (
            f"{loading} is off screen: rows {active.virtual_region.y}.. of the panes, "
            f"scrolled to {panes.scroll_offset.y}, {panes.scrollable_content_region.height} shown")
        for name in tables:
            pane = screen.panes[name]
            if pane.stats.state in ("done", "waiting"):
                rows = pane.virtual_region.height  # laid out, whether scrolled into view or not
                assert rows == 1, f"{name} ({pane.stats.state}) takes {rows} rows"
        assert active.virtual_region.height == 2  # the one loading keeps its counts line

        if len(tables) <= 12:  # a dozen tables fit 80x24 whole: one line each but the one loading
            assert panes.max_scroll_y == 0 and panes.border_subtitle == ""
        else:  # more: the way to the others is shown
            assert panes.max_scroll_y > 0 and panes.border_subtitle == "PgUp/PgDn: more tables"

        log = screen.query_one(RichLog)
        assert log.display and log.scrollable_content_region.height >= LOG_ROWS, (
            f"the log shows {log.scrollable_content_region.height} rows")
        footer_top = 24 - 1
        assert log.region.bottom <= footer_top, f"the log runs under the footer: ends at {log.region.bottom}"
