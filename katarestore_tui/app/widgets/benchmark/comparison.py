"""The benchmark screen's comparison of one run: a caption, the figures table, one bar each.

The screen decides which figures to show (the run in progress, or a record from the
history); this widget only draws them.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from katarestore_tui.app.widgets.benchmark.cells import COLORS, COMPARISON_COLUMNS, comparison_cells, when
from katarestore_tui.app.widgets.charts import Bar, BarChart
from katarestore_tui.bench.figures import compare, fmt_rate, fmt_seconds
from katarestore_tui.words import plural


class BenchComparison(Vertical):
    """One run's strategies side by side: the table and a bar chart of their times."""

    DEFAULT_CSS = "BenchComparison { height: auto; }"

    def compose(self) -> ComposeResult:
        yield Static("Comparison", classes="section")
        yield Static(id="bench-caption")
        yield DataTable(id="bench-table", cursor_type="none", zebra_stripes=True)
        yield BarChart(id="bench-bars")

    def setup(self) -> None:
        self.query_one("#bench-table", DataTable).add_columns(*COMPARISON_COLUMNS)

    def show(self, strategies: dict[str, Any], record: dict[str, Any] | None, running: bool) -> None:
        """Draw `strategies` (figures by name); `record` is the history record they come from."""
        table = self.query_one("#bench-table", DataTable)
        table.clear()
        rows = compare(strategies)
        for row in rows:
            table.add_row(*comparison_cells(row), key=row.strategy)
        self.query_one("#bench-bars", BarChart).bars = [
            Bar(row.strategy + ("*" if row.extrapolated else ""), row.seconds or 0.0,
                f"{fmt_seconds(row.seconds)} · {fmt_rate(row.rows_per_s)}" if row.seconds else row.status,
                COLORS.get(row.strategy, "cyan"))
            for row in rows
        ]
        caption = self.query_one("#bench-caption", Static)
        if running:
            caption.update("this run so far (a line appears as each strategy finishes)")
        elif record is None:
            caption.update("no benchmark yet: choose a backup and press r")
        else:
            extra = ""
            if any(r.extrapolated for r in rows):
                extra = (f"; * extrapolated from the first {plural(record.get('limit_rows'), 'row')} "
                         "per table")
            caption.update(f"{when(record)} · {record.get('backup')} · {record.get('records') or 0:,} "
                           f"records · batch {record.get('batch_size', 0):,} · jobs "
                           f"{record.get('jobs', 1)} · time = median of {record.get('repeat', 1)}{extra}")
