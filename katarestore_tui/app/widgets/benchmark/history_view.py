"""The benchmark screen's history: past runs, one trend line per strategy, and two runs
picked (A before, B after) shown side by side.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from katarestore_tui.app.widgets.benchmark.cells import HISTORY_COLUMNS, history_cells, side_by_side, when
from katarestore_tui.app.widgets.charts import Point, Trend, TrendChart
from katarestore_tui.app.widgets.lists import ListTable
from katarestore_tui.bench.runner import ALL_STRATEGIES
from katarestore_tui.history.benchmarks import rate_series


class BenchHistory(Vertical):
    """Past benchmark records (newest on top) and the A/B marks picked among them."""

    DEFAULT_CSS = "BenchHistory { height: auto; }"

    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict[str, Any]] = []  # oldest first
        self.marks: list[str] = []  # bench ids picked for side-by-side, in picking order

    def compose(self) -> ComposeResult:
        yield Static("History: rows/s per strategy, oldest to newest (red: a regression)",
                     classes="section")
        yield ListTable(id="bench-history", cursor_type="row", zebra_stripes=True)
        yield TrendChart(id="bench-trend")
        yield Static(id="bench-compare")

    def setup(self) -> None:
        table = self.query_one("#bench-history", DataTable)
        table.add_column(" ", width=1, key="mark")
        table.add_columns(*HISTORY_COLUMNS)

    def show(self, records: list[dict[str, Any]]) -> None:
        """Draw these records (oldest first); marks of records gone are dropped."""
        self.records = records
        table = self.query_one("#bench-history", DataTable)
        table.clear()
        self.marks = [m for m in self.marks if any(r.get("bench_id") == m for r in records)]
        for record in reversed(records):
            table.add_row(*history_cells(record, self._mark_of(record.get("bench_id"))),
                          key=record.get("bench_id"))
        self.show_trend()
        self.show_side_by_side()

    def _mark_of(self, bench_id: str | None) -> str:
        """"A" or "B" for a run picked for the side-by-side view, else ""."""
        marks = self._ordered_marks()
        return chr(ord("A") + marks.index(bench_id)) if bench_id in marks else ""

    def _ordered_marks(self) -> list[str]:
        """Marked runs oldest first: A is 'before', B is 'after'."""
        order = {r.get("bench_id"): i for i, r in enumerate(self.records)}
        return sorted(self.marks, key=lambda m: order.get(m, -1))

    def show_trend(self) -> None:
        series = rate_series(self.records, ALL_STRATEGIES)
        marks = {}
        ids = [r.get("bench_id") for r in self.records]
        for letter, bench_id in zip("AB", self._ordered_marks(), strict=False):
            if bench_id in ids:
                marks[ids.index(bench_id)] = letter
        points = {name: [Point(p.value, p.regression, p.extrapolated) for p in pts]
                  for name, pts in series.items()}
        first = when(self.records[0])[:10] if self.records else ""
        last = when(self.records[-1])[:10] if self.records else ""
        self.query_one("#bench-trend", TrendChart).trend = Trend(points, marks, first, last) \
            if self.records else None

    def show_side_by_side(self) -> None:
        panel = self.query_one("#bench-compare", Static)
        picked = [r for m in self._ordered_marks() for r in self.records if r.get("bench_id") == m]
        if len(picked) < 2:
            hint = "Pick two past runs (enter, or m) to compare them side by side."
            panel.update(Text(hint if self.records else "", style="dim"))
            return
        panel.update(side_by_side(picked[0], picked[1]))

    @on(DataTable.RowSelected, "#bench-history")
    def history_row_picked(self, event: DataTable.RowSelected) -> None:
        self.toggle_mark(event.row_key.value)

    def mark_highlighted(self) -> None:
        """Mark (or unmark) the run under the cursor."""
        table = self.query_one("#bench-history", DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            self.toggle_mark(key)

    def toggle_mark(self, bench_id: str | None) -> None:
        if bench_id is None:
            return
        if bench_id in self.marks:
            self.marks.remove(bench_id)
        else:
            self.marks = ([*self.marks, bench_id])[-2:]
        table = self.query_one("#bench-history", DataTable)
        for record in self.records:
            key = record.get("bench_id")
            if key is None:
                continue
            mark = chr(ord("A") + self._ordered_marks().index(key)) if key in self.marks else ""
            table.update_cell(key, "mark", Text(mark, style="bold yellow"))
        self.show_trend()
        self.show_side_by_side()
