"""Benchmark screen: compare restore strategies on a backup, and watch the history for regressions.

The run happens in a thread worker that only posts messages; the screen owns the run (its
controls, the live progress per strategy, the worker) and hands the figures to two widgets:
the comparison (table and bars, widgets/benchmark/comparison.py) and the history (table,
one trend line per strategy and two runs side by side, widgets/benchmark/history_view.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Checkbox, Header, Label, ProgressBar, Select, Static
from textual.worker import Worker

from katarestore_tui.app.screens.base import KataScreen
from katarestore_tui.app.widgets.benchmark.comparison import BenchComparison
from katarestore_tui.app.widgets.benchmark.history_view import BenchHistory
from katarestore_tui.app.widgets.footer import KeyFooter
from katarestore_tui.backup.catalog import BackupError, find_backups
from katarestore_tui.bench.events import (
    BenchEvent,
    BenchNote,
    StrategyDone,
    StrategyFinished,
    StrategyProgress,
    StrategyStarted,
)
from katarestore_tui.bench.figures import fmt_rate, fmt_seconds
from katarestore_tui.bench.runner import ALL_STRATEGIES, BenchConfig, BenchResult, run_benchmark
from katarestore_tui.engine import DEFAULT_BATCH_SIZE
from katarestore_tui.history.benchmarks import read_benchmarks
from katarestore_tui.words import plural


@dataclass
class BenchProgress(Message):
    """One event of the running benchmark, as the runner sent it."""

    event: BenchEvent


@dataclass
class BenchComplete(Message):
    result: BenchResult


class BenchmarkScreen(KataScreen):
    HELP_SECTION = "Benchmark"  # help (?) opens on this screen's keys
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "run", "Run"),
        Binding("c", "cancel_run", "Cancel"),
        Binding("m", "mark", "Mark run"),
        Binding("escape,q", "back", "Back", key_display="esc"),
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
            yield BenchComparison()
            yield BenchHistory()
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(BenchComparison).setup()
        self.query_one(BenchHistory).setup()
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
        self.query_one(BenchHistory).show(self.history)

    @property
    def marks(self) -> list[str]:
        """The bench ids picked for the side-by-side view, in picking order."""
        return self.query_one(BenchHistory).marks

    def set_status(self, text: str) -> None:
        self.query_one("#bench-status", Static).update(text)

    # ------------------------------------------------------------------ the views

    def show_comparison(self) -> None:
        record = self.current
        strategies = self.live if self.running else ((record or {}).get("strategies") or {})
        self.query_one(BenchComparison).show(strategies, record, self.running)

    def action_mark(self) -> None:
        self.query_one(BenchHistory).mark_highlighted()

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
        def forward(event: BenchEvent) -> None:
            self.post_message(BenchProgress(event))

        result = run_benchmark(config, forward, cancel)
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


