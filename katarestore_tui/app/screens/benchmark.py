"""Benchmark screen: compare restore strategies on a backup, and watch the history for regressions.

The run happens in a thread worker that only posts messages; the screen draws the live
progress per strategy, the comparison (table and bars), the history (table and one
trend line per strategy) and a side-by-side view of two history runs picked with Enter.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Checkbox, DataTable, Footer, Header, Label, ProgressBar, Select, Static
from textual.worker import Worker

from katarestore_tui.app.screens.base import KataScreen
from katarestore_tui.app.widgets.benchmark.cells import (
    COLORS,
    COMPARISON_COLUMNS,
    HISTORY_COLUMNS,
    comparison_cells,
    history_cells,
    side_by_side,
    when,
)
from katarestore_tui.app.widgets.charts import Bar, BarChart, Point, Trend, TrendChart
from katarestore_tui.backup.catalog import BackupError, find_backups
from katarestore_tui.bench.events import (
    BenchEvent,
    BenchNote,
    StrategyDone,
    StrategyFinished,
    StrategyProgress,
    StrategyStarted,
)
from katarestore_tui.bench.figures import (
    compare,
    fmt_rate,
    fmt_seconds,
)
from katarestore_tui.bench.runner import ALL_STRATEGIES, BenchConfig, BenchResult, run_benchmark
from katarestore_tui.engine import DEFAULT_BATCH_SIZE
from katarestore_tui.history.benchmarks import rate_series, read_benchmarks
from katarestore_tui.words import plural


@dataclass
class BenchProgress(Message):
    """One event of the running benchmark, as the runner sent it."""

    event: BenchEvent


@dataclass
class BenchComplete(Message):
    result: BenchResult


class BenchmarkScreen(KataScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "run", "Run"),
        Binding("c", "cancel_run", "Cancel"),
        Binding("m", "mark", "Mark run"),
        Binding("escape", "back", "Back"),
    ]
    DEFAULT_CSS = """
    BenchmarkScreen #bench-body { padding: 0 1; }
    BenchmarkScreen #bench-controls, BenchmarkScreen #bench-strategies { height: auto; }
    BenchmarkScreen #bench-backup { width: 1fr; }
    BenchmarkScreen #bench-controls Button { margin-left: 1; min-width: 10; }
    BenchmarkScreen #bench-strategies Checkbox { margin-right: 1; }
    BenchmarkScreen #bench-progress { height: auto; }
    BenchmarkScreen .strategy-row { height: 1; }
    BenchmarkScreen .strategy-name { width: 9; text-style: bold; }
    BenchmarkScreen .strategy-row ProgressBar { width: auto; margin-right: 1; }
    BenchmarkScreen .strategy-row ProgressBar Bar { width: 24; }
    BenchmarkScreen .strategy-state { width: 1fr; color: $text-muted; }
    BenchmarkScreen .section { margin-top: 1; text-style: bold; color: $accent; }
    BenchmarkScreen #bench-status, BenchmarkScreen #bench-caption { color: $text-muted; }
    BenchmarkScreen DataTable { height: auto; max-height: 12; }
    BenchmarkScreen #bench-bars, BenchmarkScreen #bench-trend { margin-top: 1; }
    BenchmarkScreen #bench-compare { margin-top: 1; height: auto; }
    """

    def __init__(self, backup_root: Path, dsn: str, *, schema: str = "public",
                 batch_size: int = DEFAULT_BATCH_SIZE, jobs: int = 1, repeat: int = 1,
                 limit_rows: int | None = None) -> None:
        super().__init__()
        self.backup_root = Path(backup_root)
        self.dsn = dsn
        self.schema = schema
        self.batch_size = batch_size
        self.jobs = jobs
        self.repeat = repeat
        self.limit_rows = limit_rows
        self.history: list[dict] = []  # oldest first
        self.current: dict | None = None  # the record shown in the comparison
        self.live: dict[str, dict] = {}  # figures of the run in progress
        self.marks: list[str] = []  # bench ids picked for side-by-side, in picking order
        self._cancel: threading.Event | None = None
        self.running = False

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="bench-body"):
            with Horizontal(id="bench-controls"):
                yield Select[str]([], prompt="choose a backup", id="bench-backup")
                yield Button("Run", id="bench-run", variant="primary")
                yield Button("Cancel", id="bench-cancel", variant="error", disabled=True)
            with Horizontal(id="bench-strategies"):
                for name in ALL_STRATEGIES:
                    yield Checkbox(name, value=True, id=f"pick-{name}")
            yield Static(id="bench-status")
            with Vertical(id="bench-progress"):
                for name in ALL_STRATEGIES:
                    with Horizontal(classes="strategy-row"):
                        yield Label(name, classes="strategy-name")
                        yield ProgressBar(total=1, show_eta=False, id=f"bar-{name}")
                        yield Label("idle", id=f"state-{name}", classes="strategy-state")
            yield Static("Comparison", classes="section")
            yield Static(id="bench-caption")
            yield DataTable(id="bench-table", cursor_type="none", zebra_stripes=True)
            yield BarChart(id="bench-bars")
            yield Static("History: rows/s per strategy, oldest to newest (red: a regression)",
                         classes="section")
            yield DataTable(id="bench-history", cursor_type="row", zebra_stripes=True)
            yield TrendChart(id="bench-trend")
            yield Static(id="bench-compare")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#bench-table", DataTable).add_columns(*COMPARISON_COLUMNS)
        history = self.query_one("#bench-history", DataTable)
        history.add_column(" ", width=1, key="mark")
        history.add_columns(*HISTORY_COLUMNS)
        self.load_backups()
        self.load_history()
        self.current = self.history[-1] if self.history else None
        self.show_comparison()
        limit = f" · legacy/batched: first {plural(self.limit_rows, 'row')}" if self.limit_rows else ""
        self.set_status(f"schema {self.schema} · batch {self.batch_size:,} · jobs {self.jobs} · "
                        f"repeat {self.repeat}{limit} · r run, c cancel, enter: pick 2 runs")

    def load_backups(self) -> None:
        select = self.query_one("#bench-backup", Select)
        try:
            backups = find_backups(self.backup_root)
        except BackupError as exc:
            self.notify(str(exc), title="No backups", severity="error", timeout=12)
            backups = []
        select.set_options([(f"{b.name}  ({len(b.files)} file{'s' if len(b.files) != 1 else ''})",
                             str(b.path)) for b in backups])
        if backups:
            select.value = str(backups[0].path)

    def load_history(self) -> None:
        self.history = read_benchmarks()
        table = self.query_one("#bench-history", DataTable)
        table.clear()
        self.marks = [m for m in self.marks if any(r.get("bench_id") == m for r in self.history)]
        for record in reversed(self.history):
            table.add_row(*history_cells(record, self._mark_of(record.get("bench_id"))),
                          key=record.get("bench_id"))
        self.show_trend()
        self.show_side_by_side()

    def set_status(self, text: str) -> None:
        self.query_one("#bench-status", Static).update(text)

    # ------------------------------------------------------------------ comparison

    def show_comparison(self) -> None:
        record = self.current
        strategies = self.live if self.running else ((record or {}).get("strategies") or {})
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
        if self.running:
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

    # ------------------------------------------------------------------ history views

    def _mark_of(self, bench_id: str | None) -> str:
        """"A" or "B" for a run picked for the side-by-side view, else ""."""
        marks = self._ordered_marks()
        return chr(ord("A") + marks.index(bench_id)) if bench_id in marks else ""

    def _ordered_marks(self) -> list[str]:
        """Marked runs oldest first: A is 'before', B is 'after'."""
        order = {r.get("bench_id"): i for i, r in enumerate(self.history)}
        return sorted(self.marks, key=lambda m: order.get(m, -1))

    def show_trend(self) -> None:
        series = rate_series(self.history, ALL_STRATEGIES)
        marks = {}
        ids = [r.get("bench_id") for r in self.history]
        for letter, bench_id in zip("AB", self._ordered_marks(), strict=False):
            if bench_id in ids:
                marks[ids.index(bench_id)] = letter
        points = {name: [Point(p.value, p.regression, p.extrapolated) for p in pts]
                  for name, pts in series.items()}
        first = when(self.history[0])[:10] if self.history else ""
        last = when(self.history[-1])[:10] if self.history else ""
        self.query_one("#bench-trend", TrendChart).trend = Trend(points, marks, first, last) \
            if self.history else None

    def show_side_by_side(self) -> None:
        panel = self.query_one("#bench-compare", Static)
        picked = [r for m in self._ordered_marks() for r in self.history if r.get("bench_id") == m]
        if len(picked) < 2:
            hint = "Pick two past runs (enter, or m) to compare them side by side."
            panel.update(Text(hint if self.history else "", style="dim"))
            return
        panel.update(side_by_side(picked[0], picked[1]))

    @on(DataTable.RowSelected, "#bench-history")
    def history_row_picked(self, event: DataTable.RowSelected) -> None:
        self._toggle_mark(event.row_key.value)

    def action_mark(self) -> None:
        table = self.query_one("#bench-history", DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            self._toggle_mark(key)

    def _toggle_mark(self, bench_id: str | None) -> None:
        if bench_id is None:
            return
        if bench_id in self.marks:
            self.marks.remove(bench_id)
        else:
            self.marks = ([*self.marks, bench_id])[-2:]
        table = self.query_one("#bench-history", DataTable)
        for record in self.history:
            key = record.get("bench_id")
            if key is None:
                continue
            mark = chr(ord("A") + self._ordered_marks().index(key)) if key in self.marks else ""
            table.update_cell(key, "mark", Text(mark, style="bold yellow"))
        self.show_trend()
        self.show_side_by_side()

    # ------------------------------------------------------------------ running

    @on(Button.Pressed, "#bench-run")
    def action_run(self) -> None:
        if self.running:
            self.notify("a benchmark is running; c cancels it", severity="warning")
            return
        backup = self.query_one("#bench-backup", Select).value
        if backup is Select.NULL:
            self.notify(f"no backup chosen (none found under {self.backup_root}?)", severity="error")
            return
        chosen = tuple(n for n in ALL_STRATEGIES if self.query_one(f"#pick-{n}", Checkbox).value)
        if not chosen:
            self.notify("tick at least one strategy", severity="error")
            return
        config = BenchConfig(dsn=self.dsn, backup_root=self.backup_root, backup=str(backup),
                             schema=self.schema, strategies=chosen, repeat=self.repeat,
                             batch_size=self.batch_size, jobs=self.jobs, limit_rows=self.limit_rows)
        for name in ALL_STRATEGIES:
            self.query_one(f"#bar-{name}", ProgressBar).update(total=1, progress=0)
            self._state(name, "waiting" if name in chosen else "not chosen")
        self.live = {}
        self._cancel = threading.Event()
        self._busy(True)
        self.show_comparison()
        self.set_status(f"running {', '.join(chosen)} on {Path(str(backup)).name} "
                        "(each in its own scratch schema; your tables are not touched)")
        self.bench_worker(config, self._cancel)

    @work(thread=True, exclusive=True, exit_on_error=False, group="benchmark")
    def bench_worker(self, config: BenchConfig, cancel: threading.Event) -> None:
        result = run_benchmark(config, lambda event: self.post_message(BenchProgress(event)), cancel)
        self.post_message(BenchComplete(result))

    @on(Button.Pressed, "#bench-cancel")
    def action_cancel_run(self) -> None:
        if self.running and self._cancel is not None:
            self._cancel.set()
            self.set_status("cancelling: the strategy stops at its next row or batch, then its "
                            "scratch schema is dropped")

    def action_back(self) -> None:
        if self.running:
            self.notify("a benchmark is running: c cancels it first", severity="warning")
        elif len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def _busy(self, busy: bool) -> None:
        self.running = busy
        self.query_one("#bench-run", Button).disabled = busy
        self.query_one("#bench-cancel", Button).disabled = not busy

    def _state(self, name: str, text: str) -> None:
        self.query_one(f"#state-{name}", Label).update(text)

    @on(BenchProgress)
    def bench_progress(self, message: BenchProgress) -> None:
        event = message.event
        if isinstance(event, StrategyStarted):
            of = f" {event.attempt}/{event.repeat}" if event.repeat > 1 else ""
            self.query_one(f"#bar-{event.strategy}", ProgressBar).update(total=1, progress=0)
            self._state(event.strategy, f"running{of}")
        elif isinstance(event, StrategyProgress):
            self.query_one(f"#bar-{event.strategy}", ProgressBar).update(progress=event.fraction)
            self._state(event.strategy, f"{plural(event.rows, 'row')} · {event.table}")
        elif isinstance(event, StrategyFinished):
            if event.status == "ok":
                self.query_one(f"#bar-{event.strategy}", ProgressBar).update(progress=1)
                star = " (extrapolated)" if event.extrapolated else ""
                self._state(event.strategy, f"{fmt_seconds(event.seconds)}, "
                            f"{fmt_rate(event.rows_per_s)}{star}")
            else:
                self._state(event.strategy, f"{event.status}: {event.error or ''}".strip(": "))
        elif isinstance(event, StrategyDone):
            self.live[event.strategy] = event.figures
            self.show_comparison()
        elif isinstance(event, BenchNote):
            self.notify(event.message, title="Benchmark", timeout=8)

    @on(BenchComplete)
    def bench_complete(self, message: BenchComplete) -> None:
        result = message.result
        self._busy(False)
        if result.record is not None:
            self.current = result.record
        self.load_history()
        self.show_comparison()
        if result.status == "completed":
            self.set_status("finished; the run is in the history below")
            self.notify("benchmark finished", timeout=5)
        else:
            self.set_status(f"{result.status}: {result.error or ''}".rstrip(": "))
            self.notify(result.error or result.status, title=f"Benchmark {result.status}",
                        severity="warning" if result.status in ("cancelled", "partial") else "error",
                        timeout=12)

    def worker_failed(self, worker: Worker) -> None:
        self._busy(False)
        self.show_comparison()

    def on_unmount(self) -> None:
        if self._cancel is not None:
            self._cancel.set()  # the worker stops at its next row or batch; schemas are dropped


