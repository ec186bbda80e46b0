"""Screen 3: a restore running in a thread worker, one pane per table, then the summary."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, RichLog
from textual.worker import Worker

from katarestore_tui.app import format as fmt
from katarestore_tui.app.messages import EngineEvent, RestoreDone
from katarestore_tui.app.screens.base import KataScreen
from katarestore_tui.app.screens.modals import ConfirmScreen
from katarestore_tui.app.widgets.restore.overall import OverallProgress
from katarestore_tui.app.widgets.restore.summary import RunSummary
from katarestore_tui.app.widgets.restore.table_pane import TablePane
from katarestore_tui.engine import (
    DONE,
    LOADING,
    PARTIAL,
    Event,
    IndexPhase,
    LockWait,
    Phase,
    RestoreOptions,
    RunFinished,
    RunStarted,
    TableFinished,
    TableProgress,
    TableStarted,
    TableStats,
    Warning,
    run_restore,
)
from katarestore_tui.history.runs import RunNotFound, read_run

REFRESH_SECONDS = 0.25  # panes redraw at most 4 times a second, however fast events come


class RestoreScreen(KataScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "cancel", "Cancel"),
        Binding("escape", "back", "Back"),
        Binding("f", "failures", "Failures"),
        Binding("l", "toggle_log", "Log"),
        Binding("h", "app.history", "History"),
    ]

    def __init__(self, options: RestoreOptions, backup_root: Path, autostart: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.options, self.backup_root = options, backup_root
        self.autostart, self.clock = autostart, clock
        self.cancel_event = threading.Event()
        self.done_event = threading.Event()
        self.running = False
        self.finished: RunFinished | None = None
        self.run_id: str | None = options.resume
        self.started_at: float | None = None
        self.bytes_total = 0
        self.stats: dict[str, TableStats] = {}
        self.panes: dict[str, TablePane] = {}
        self.pending: dict[str, TableStats] = {}
        self.phase = ""
        self.warnings: list[str] = []
        self.lock_wait: LockWait | None = None  # the wait shown, with a live timer

    def compose(self) -> ComposeResult:
        yield Header()
        yield OverallProgress(id="overall")
        yield VerticalScroll(id="panes")
        yield RichLog(id="log", wrap=True, markup=False, highlight=False, max_lines=2000, min_width=20)
        with VerticalScroll(id="summary-box"):
            yield RunSummary(id="summary")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#panes").border_title = "Tables"
        self.query_one("#log").border_title = "Log"
        self.query_one("#summary-box").border_title = "Summary"
        self.query_one("#summary-box").display = False
        self.set_interval(REFRESH_SECONDS, self.refresh_progress)
        if self.autostart:
            self.begin()

    def begin(self) -> None:
        self.running = True
        self.app.track_run(self.cancel_event, self.done_event)
        self.log_line("starting restore of " + Path(self.options.backup).name
                      + (f" (resuming run {self.options.resume})" if self.options.resume else ""))
        self.refresh_bindings()
        self.restore()

    @work(thread=True, exclusive=True, exit_on_error=False, group="restore")
    def restore(self) -> None:
        try:
            result = run_restore(self.options, self.backup_root, self.sink, self.cancel_event)
            self.post_message(RestoreDone(result))
        finally:
            self.done_event.set()

    def sink(self, event: Event) -> None:
        """Called on the loader's thread: only posts (non-blocking, thread-safe)."""
        self.post_message(EngineEvent(event))

    # ------------------------------------------------------------ engine events (UI thread)

    @on(EngineEvent)
    def engine_event(self, message: EngineEvent) -> None:
        event = message.event
        if isinstance(event, LockWait):
            self.lock_waited(event)
        elif isinstance(event, TableProgress):
            self.pending[event.stats.table] = event.stats  # drawn by the next refresh tick
            if self.lock_wait is not None and self.lock_wait.table == event.stats.table:
                self.lock_wait = None  # a batch committed: that wait is over
        elif isinstance(event, RunStarted):
            self.run_started(event)
        elif isinstance(event, TableStarted):
            stats = TableStats(event.table, event.file, event.bytes_total, state=LOADING)
            self.pending[event.table] = stats
            self.phase = ""
            self.log_line(f"{event.table}: loading {event.file} ({fmt.size(event.bytes_total)})", at=event.at)
        elif isinstance(event, TableFinished):
            self.pending[event.stats.table] = event.stats
            stats = event.stats
            self.log_line(f"{stats.table}: {stats.state}, {stats.loaded:,} loaded, "
                          f"{stats.duplicates:,} duplicates, {stats.failed:,} failed", at=event.at,
                          style="error" if stats.error else None)
            if stats.error:
                self.log_line(f"{stats.table}: {stats.error}", at=event.at, style="error")
        elif isinstance(event, Warning):
            self.warnings.append(event.message)
            self.log_line(f"warning: {event.message}", at=event.at, style="warning")
        elif isinstance(event, IndexPhase) and event.step != "starting":
            # pg_stat_progress_create_index, twice a second: the overall line, not the log
            self.phase = f"indexes: {event.detail}"
        elif isinstance(event, Phase):
            self.phase = event.name  # the detail goes to the log: the overall line stays short
            self.log_line(f"{event.name}: {event.detail}" if event.detail else event.name, at=event.at)
        elif isinstance(event, RunFinished):
            self.run_finished(event)

    def lock_waited(self, event: LockWait) -> None:
        """A statement waits on another session's lock: say who holds it, with a live timer."""
        if event.done:
            self.lock_wait = None
            self.log_line(event.text(), at=event.at)
        else:
            if self.lock_wait is None:  # the start of a wait: once in the log, then the timer
                self.log_line(event.text(), at=event.at, style="warning")
            self.lock_wait = event
        self.refresh_progress()

    def lock_text(self) -> str:
        wait = self.lock_wait
        if wait is None:
            return ""
        return wait.text(wait.waited_seconds + max(0.0, self.clock() - wait.at))

    def run_started(self, event: RunStarted) -> None:
        self.run_id, self.started_at, self.bytes_total = event.run_id, event.at, event.bytes_total
        self.query_one("#panes").border_title = f"Tables · run {event.run_id}"
        self.log_line(f"run {event.run_id} into {event.target}; foreign keys: {event.fk_mode}", at=event.at)
        earlier = self.earlier_stats()
        for name in event.tables:
            self.stats[name] = earlier.get(name) or TableStats(name)
            pane = TablePane(name)
            pane.stats = self.stats[name]
            self.panes[name] = pane
            self.query_one("#panes").mount(pane)

    def earlier_stats(self) -> dict[str, TableStats]:
        """On resume, the tables the stopped run finished: the engine skips them silently."""
        if not self.options.resume:
            return {}
        try:
            tables = read_run(self.options.resume).get("tables") or {}
        except (RunNotFound, OSError, ValueError):
            return {}
        found = {name: TableStats.from_dict(name, data) for name, data in tables.items()}
        return {name: s for name, s in found.items() if s.state in (DONE, PARTIAL)}

    def run_finished(self, event: RunFinished) -> None:
        self.finished = event
        self.running = False
        self.lock_wait = None
        self.pending.clear()
        self.stats.update(event.tables)
        for name, stats in event.tables.items():
            if name in self.panes:
                self.panes[name].show(stats)
        self.phase = event.status
        self.query_one(OverallProgress).show(self.stats, self.bytes_total, event.seconds, event.status,
                                             finished=event.status in ("completed", "partial"),
                                             ended=True)
        self.add_class("-finished")
        self.log_line(f"run {event.status} in {fmt.duration(event.seconds)}", at=event.at)
        summary = self.query_one(RunSummary)
        summary.show_finished(event, self.warnings)
        self.show_summary(True)
        self.refresh_bindings()

    @on(RestoreDone)
    def restore_done(self, message: RestoreDone) -> None:
        self.running = False
        result = message.result
        if result.run_id is None:  # refused before the run began (usage or connection)
            self.query_one(OverallProgress).say("not started")
            self.query_one(RunSummary).show_error(result.error or result.status)
            self.show_summary(True)
            self.notify(result.error or "the restore did not start", severity="error", timeout=15)
        self.refresh_bindings()

    def refresh_progress(self) -> None:
        for name, stats in self.pending.items():
            self.stats[name] = stats
            pane = self.panes.get(name)
            if pane is not None:
                pane.show(stats)
        self.pending.clear()
        if not self.running:
            return
        if self.started_at is not None:
            self.query_one(OverallProgress).show(self.stats, self.bytes_total,
                                                 self.clock() - self.started_at,
                                                 self.lock_text() or self.phase)
        elif self.lock_wait is not None:  # before the run starts: the clean waits on a lock
            self.query_one(OverallProgress).say(self.lock_text())

    def log_line(self, text: str, at: float | None = None, style: str | None = None) -> None:
        since = (at - self.started_at) if at is not None and self.started_at is not None else 0.0
        line = Text(f"{fmt.duration(since)} ", style="dim")
        color = self.app.theme_variables.get(style) if style else None
        line.append(text, style=color or "")
        self.query_one(RichLog).write(line)

    # ------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return bool(self.running)
        if action == "failures":
            return bool(self.finished and any(s.failed for s in self.stats.values()))
        if action == "toggle_log":
            return bool(not self.running)
        return True

    def action_cancel(self) -> None:
        if not self.running:
            return
        self.app.push_screen(ConfirmScreen(
            "Stop the restore?",
            "The batch in flight is rolled back; everything committed stays. The run stays "
            "resumable: History (h), then Resume (r).",
            yes="Stop", no="Keep going",
        ), self.cancel_confirmed)

    def cancel_confirmed(self, yes: bool | None) -> None:
        if yes and self.running:
            self.cancel_event.set()  # the engine cancels the statement in flight at once
            self.lock_wait = None
            self.phase = "stopping: the batch in flight is rolled back…"
            self.log_line(self.phase, at=self.clock(), style="warning")
            if self.started_at is None:
                self.query_one(OverallProgress).say(self.phase)

    def action_back(self) -> None:
        if self.running:
            self.action_cancel()
        else:
            self.app.pop_screen()

    def action_failures(self) -> None:
        if self.finished is not None:
            from katarestore_tui.app.screens.failures import FailuresScreen

            self.app.push_screen(FailuresScreen(self.finished.run_id))

    def action_toggle_log(self) -> None:
        self.show_summary(not self.query_one("#summary-box").display)

    def show_summary(self, summary: bool) -> None:
        self.query_one("#summary-box").display = summary
        self.query_one(RichLog).display = not summary

    def worker_failed(self, worker: Worker) -> None:
        self.running = False
        self.query_one(OverallProgress).say(f"stopped by an unexpected error: {worker.error}")
        self.refresh_bindings()
