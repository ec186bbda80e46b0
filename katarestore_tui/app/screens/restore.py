"""Screen 3: a restore running in a thread worker, one pane per table, then the summary."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Header, RichLog
from textual.worker import Worker

from katarestore_tui.app import format as fmt
from katarestore_tui.app.messages import EngineEvent, RestoreDone
from katarestore_tui.app.screens.base import KataScreen
from katarestore_tui.app.screens.modals import ConfirmScreen, TooManyErrorsScreen
from katarestore_tui.app.widgets.footer import KeyFooter
from katarestore_tui.app.widgets.restore.overall import OverallProgress
from katarestore_tui.app.widgets.restore.summary import RunSummary
from katarestore_tui.app.widgets.restore.table_pane import TablePane
from katarestore_tui.engine import (
    LOADING,
    SKIP,
    STOP,
    ErrorRun,
    Event,
    IndexPhase,
    LockWait,
    Phase,
    Plan,
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
from katarestore_tui.history.runlog import RunLog
from katarestore_tui.history.runs import RunNotFound

REFRESH_SECONDS = 0.25  # panes redraw at most 4 times a second, however fast events come
# what the table panes leave below them: the log's (or the summary's) minimum height, as in
# app.tcss; and the share of the screen they may take at most on a tall terminal
BELOW_PANES = {"log": 5, "summary": 6}
PANES_SHARE = {"log": 0.75, "summary": 0.5}


class RestoreScreen(KataScreen):
    HELP_SECTION = "Restore"  # help (?) opens on this screen's keys
    BINDINGS: ClassVar[list[BindingType]] = [
        # while a restore runs, esc and q stop it (asking first); once it is over they go back
        Binding("c,escape,q", "cancel", "Stop", key_display="c"),
        Binding("escape,q", "back", "Back", key_display="esc"),
        Binding("f", "failures", "Failures"),
        Binding("l", "toggle_log", "Log"),
        Binding("h", "app.history", "History"),
        Binding("v", "verify", "Verify"),
    ]

    def __init__(self, options: RestoreOptions, backup_root: Path, autostart: bool = True,
                 clock: Callable[[], float] = time.monotonic, plan: Plan | None = None) -> None:
        super().__init__()
        self.options, self.backup_root = options, backup_root
        self.plan = plan  # the plan the operator saw: handed on, not built again
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
        self.follow: str | None = None  # a table that started loading, until it is in view
        self.earlier_records = 0  # a resume: records the stopped run had committed

    def compose(self) -> ComposeResult:
        yield Header()
        yield OverallProgress(id="overall")
        yield VerticalScroll(id="panes")
        yield RichLog(id="log", wrap=True, markup=False, highlight=False, max_lines=2000, min_width=20)
        with VerticalScroll(id="summary-box"):
            yield RunSummary(id="summary")
        yield KeyFooter()

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
            result = run_restore(self.options, self.backup_root, self.sink, self.cancel_event,
                                 plan=self.plan, on_errors=self.ask_errors)
            self.post_message(RestoreDone(result))
        finally:
            self.done_event.set()

    def ask_errors(self, run: ErrorRun) -> str:
        """On the loader's thread: a table's records keep failing; the operator answers
        (the load waits with nothing in flight). A stop or a hang-up meanwhile is a stop."""
        answer: Future[str] = Future()

        def ask() -> None:
            self.log_line(f"{run.table}: {run.text()}", at=self.clock(), style="error")
            self.app.push_screen(TooManyErrorsScreen(run),
                                 lambda choice: answer.set_result(choice or SKIP))

        self.app.call_from_thread(ask)
        while not self.cancel_event.is_set():
            try:
                return answer.result(timeout=0.2)
            except TimeoutError:
                continue
        return STOP

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
                          f"{fmt.plural(stats.duplicates, 'duplicate')}, {stats.failed:,} failed",
                          at=event.at,
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
        self.earlier_records = event.earlier_records
        self.query_one("#panes").border_title = f"Tables · run {event.run_id}"
        self.log_line(f"run {event.run_id} into {event.target}; foreign keys: {event.fk_mode}", at=event.at)
        for name in event.tables:  # on resume, the engine says which tables were finished
            self.stats[name] = event.finished.get(name) or TableStats(name)
            pane = TablePane(name)
            pane.stats = self.stats[name]
            self.panes[name] = pane
            self.query_one("#panes").mount(pane)

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
        summary.show_finished(event, self.warnings, self.earlier_records)
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
            started = stats.state == LOADING and self.stats.get(name, stats).state != LOADING
            self.stats[name] = stats
            pane = self.panes.get(name)
            if pane is not None:
                pane.show(stats)
                if started:  # many tables: bring the one loading into view (fit_panes does)
                    self.follow = name
        self.pending.clear()
        self.call_after_refresh(self.fit_panes)
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
        if action == "back":
            return not self.running
        if action == "failures":
            return bool(self.finished and any(s.failed for s in self.stats.values()))
        if action == "toggle_log":
            return bool(not self.running)
        if action == "verify":
            return bool(self.finished and self.finished.status in ("completed", "partial"))
        return True

    def action_verify(self) -> None:
        if self.finished is None:
            return
        try:  # the run's options and tables as it recorded them, which verify explains it by
            run = RunLog.load(self.finished.run_id)
        except (RunNotFound, OSError, ValueError) as exc:
            self.notify(str(exc), title="Not verified", severity="error")
            return
        self.app.open_verify(run)

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
        self.fit_panes()

    def on_resize(self) -> None:
        self.fit_panes()

    def fit_panes(self) -> None:
        """The panes take what the header, the overall line, the footer and the log's (or the
        summary's) minimum leave, so nothing is pushed off an 80x24 screen; the rest scrolls."""
        below = "summary" if self.query_one("#summary-box").display else "log"
        fixed = 2 + self.query_one(OverallProgress).outer_size.height  # header, footer
        room = self.size.height - fixed - BELOW_PANES[below]
        panes = self.query_one("#panes", VerticalScroll)
        panes.styles.max_height = max(4, min(room, int(self.size.height * PANES_SHARE[below])))
        panes.border_subtitle = "PgUp/PgDn: more tables" if panes.max_scroll_y else ""
        pane = self.panes.get(self.follow or "")
        if pane is not None:  # until it is in view: panes above it may still be collapsing
            top, shown = panes.scroll_offset.y, panes.scrollable_content_region.height
            region = pane.virtual_region
            if region.height and top <= region.y and region.bottom <= top + shown:
                self.follow = None  # laid out (not the empty region of a pane just mounted) and in view
            else:
                panes.scroll_to_widget(pane, animate=False)

    def worker_failed(self, worker: Worker) -> None:
        self.running = False
        self.query_one(OverallProgress).say(f"stopped by an unexpected error: {worker.error}")
        self.refresh_bindings()
