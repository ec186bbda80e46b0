"""The Textual app: a thin shell that wires the screens, the target database and SIGHUP."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.worker import Worker

from katarestore_tui.app.commands import KatarestoreCommands
from katarestore_tui.app.errors_seen import ErrorList
from katarestore_tui.app.messages import TargetResolved
from katarestore_tui.app.preferences import THEMES, Preferences, load_preferences, save_preferences
from katarestore_tui.app.screens.base import report_worker_state
from katarestore_tui.app.screens.modals import ConfirmScreen
from katarestore_tui.app.screens.picker import PickerScreen
from katarestore_tui.engine import Plan, RestoreOptions
from katarestore_tui.errors import EXIT_FATAL
from katarestore_tui.locations import default_backup_root
from katarestore_tui.redact import redact_dsn, redact_text

if TYPE_CHECKING:
    from katarestore_tui.history.runlog import RunLog

# a stop cancels the statement in flight (engine/locks.py StopWatch): a run ends within a
# second or two; this bound is for a server that no longer answers even a cancel request
STOP_WAIT_SECONDS = 30.0
HANG_UP_GRACE_SECONDS = 3.0  # after a hang-up, how long the app may take to leave by itself


class KatarestoreApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "katarestore"
    SUB_TITLE = "restore PostgreSQL from JSON backups"
    COMMANDS = App.COMMANDS | {KatarestoreCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark,f1", "help", "Help", key_display="?"),
        Binding("ctrl+t", "toggle_theme", "Theme", show=False),
        Binding("ctrl+e", "errors", "Errors", show=False),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    target_label: reactive[str] = reactive("Target  looking for the database…")

    def __init__(self, dsn: str | None = None, backup_root: Path | None = None,
                 backup: str | None = None, now: Callable[[], datetime] = datetime.now) -> None:
        super().__init__()
        self.requested_dsn = dsn
        self.dsn: str | None = None
        self.schema = "public"  # where the target's tables are: a Prisma URL's ?schema=
        self.backup_root = Path(backup_root or default_backup_root())
        self.initial_backup = str(backup) if backup else None
        self.now = now
        self.prefs: Preferences = load_preferences()
        self.runs: list[tuple[threading.Event, threading.Event]] = []
        self.event_loop: asyncio.AbstractEventLoop | None = None
        self.errors_seen = ErrorList(now)  # every error toast, kept for the Errors screen

    def get_default_screen(self) -> PickerScreen:
        return PickerScreen()

    def on_mount(self) -> None:
        self.event_loop = asyncio.get_running_loop()
        self.theme = self.prefs.theme
        self.resolve_target()

    def on_unmount(self) -> None:
        self.stop_runs(wait=False)  # before asyncio joins the worker threads

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_state(self, event)

    # ------------------------------------------------------------ target database

    @work(thread=True, exclusive=True, exit_on_error=False, group="target")
    def resolve_target(self) -> None:
        from katarestore_tui.db.target import resolve_target, url_schema

        try:
            target = resolve_target(self.requested_dsn)
            schema = url_schema(self.requested_dsn) or "public"
        except Exception as exc:  # the embedded server may fail in many ways: say why
            self.post_message(TargetResolved(None, "", "", redact_text(str(exc))))
            return
        self.post_message(TargetResolved(target.dsn, target.source, target.description, schema=schema))

    @on(TargetResolved)
    def target_resolved(self, message: TargetResolved) -> None:
        if message.error or not message.dsn:
            self.target_label = f"[$text-error]Target  unavailable: {_escape(message.error or '?')}[/]"
            self.notify(message.error or "no target database", title="No target", severity="error")
            return
        self.dsn = message.dsn
        self.schema = message.schema
        where = _escape(redact_dsn(message.dsn))
        if message.schema != "public":
            where += f" schema {_escape(message.schema)}"
        if message.source == "embedded":
            self.target_label = (f"[b]Target[/b]  {_escape(message.description)} "
                                 "[dim](no --dsn, no DATABASE_URL, no PG* variable)[/]")
        elif message.source not in ("--dsn", "$DATABASE_URL"):  # a .env file or the PG* variables
            where = _escape(message.description)
            if message.schema != "public":
                where += f" schema {_escape(message.schema)}"
            self.target_label = f"[b]Target[/b]  {where} [dim](from {_escape(message.source)})[/]"
        else:
            self.target_label = f"[b]Target[/b]  {where} [dim](from {message.source})[/]"

    def target_problem(self, run: RunLog | None) -> str | None:
        """Why a past run may not be resumed or retried from this session, if it may not."""
        if not self.dsn:
            return "the target database is not known yet"
        here, there = redact_dsn(self.dsn), run.target if run else ""
        if run and there and there != here:
            return (f"run {run.run_id} wrote to {there}, this session targets {here}: "
                    "start katarestore with --dsn for that database")
        return None

    # ------------------------------------------------------------ restores in flight

    def track_run(self, cancel: threading.Event, done: threading.Event) -> None:
        self.runs = [(c, d) for c, d in self.runs if not d.is_set()] + [(cancel, done)]

    def restore_running(self) -> bool:
        return any(not done.is_set() for _cancel, done in self.runs)

    def stop_runs(self, wait: bool = True) -> None:
        """Stop every restore now (the statement in flight is rolled back); optionally wait."""
        for cancel, _done in self.runs:
            cancel.set()
        if wait:
            for _cancel, done in self.runs:
                done.wait(STOP_WAIT_SECONDS)

    def hang_up(self) -> None:
        """SIGHUP (the SSH terminal is gone): cancel, then leave; never keep drawing."""
        for cancel, _done in self.runs:
            cancel.set()
        if self.event_loop is not None and not self.event_loop.is_closed():
            self.event_loop.call_soon_threadsafe(self.exit_cancelled)

    def exit_cancelled(self) -> None:
        self.stop_runs(wait=False)
        self.exit(EXIT_FATAL, return_code=EXIT_FATAL)

    def start_restore(self, options: RestoreOptions, plan: Plan | None = None) -> None:
        """`plan`: the one the operator just saw for these options (handed on, not rebuilt)."""
        from katarestore_tui.app.screens.restore import RestoreScreen

        if self.restore_running():
            self.notify("a restore is already running", severity="warning")
            return
        while len(self.screen_stack) > 1:
            self.pop_screen()
        if isinstance(self.screen, PickerScreen):  # a clean is chosen anew for every restore
            self.screen.forget_clean()
        self.push_screen(RestoreScreen(options, self.backup_root, plan=plan))

    def open_verify(self, run: RunLog) -> None:
        """Verify a finished run (restore summary, history): its target must be this one."""
        from katarestore_tui.app.screens.verify import VerifyScreen, options_for_run

        if problem := self.target_problem(run):
            self.notify(problem, title="Not verified", severity="error", timeout=15)
            return
        assert self.dsn is not None  # target_problem said it is known
        self.push_screen(VerifyScreen(options_for_run(run, self.dsn), self.backup_root))

    # ------------------------------------------------------------ actions (keys and palette)

    def remember(self, prefs: Preferences) -> None:
        self.prefs = prefs
        try:
            save_preferences(prefs)
        except OSError as exc:
            self.notify(f"choices not saved: {exc.strerror}", severity="warning")

    def action_toggle_theme(self) -> None:
        self.theme = THEMES[1] if self.theme == THEMES[0] else THEMES[0]
        self.prefs.theme = self.theme
        self.remember(self.prefs)

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """A toast; an error is also kept (Errors screen) and written in every restore
        screen's log, so it outlives its toast."""
        if severity == "error":
            self.errors_seen.add(title, message)
            from katarestore_tui.app.screens.restore import RestoreScreen

            for screen in self.screen_stack:
                if isinstance(screen, RestoreScreen):
                    screen.log_line(f"error: {title + ': ' if title else ''}{message}", style="error")
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def action_errors(self) -> None:
        from katarestore_tui.app.screens.errors import ErrorsScreen

        if not isinstance(self.screen, ErrorsScreen):
            self.push_screen(ErrorsScreen(self.errors_seen.items))

    def action_help(self) -> None:
        from katarestore_tui.app.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            # the section of the screen it was opened on comes first (HELP_SECTION); one help
            # screen per section, built once: opening it again during a load then costs a
            # repaint, not a compose and a render of every key table (scripts/key_latency.py)
            section = getattr(self.screen, "HELP_SECTION", None)
            name = f"help:{section}"
            if not self.is_screen_installed(name):
                self.install_screen(HelpScreen(section), name)
            self.push_screen(name)

    def action_history(self) -> None:
        from katarestore_tui.app.screens.history import HistoryScreen

        if not isinstance(self.screen, HistoryScreen):
            self.push_screen(HistoryScreen())

    def action_backups(self) -> None:
        while len(self.screen_stack) > 1 and not self.restore_running():
            self.pop_screen()

    def action_plan(self) -> None:
        if isinstance(self.screen, PickerScreen):
            self.screen.action_plan()
        else:
            self.notify("plans start from the backup list (command: Backups)", severity="warning")

    def action_last_failures(self) -> None:
        from katarestore_tui.app.screens.failures import FailuresScreen
        from katarestore_tui.history.runlog import list_run_logs

        run = next((r for r in list_run_logs(50) if r.failed), None)
        if run is None:
            self.notify("no run has failed records", severity="information")
            return
        self.push_screen(FailuresScreen(run.run_id))

    def action_benchmark(self) -> None:
        try:
            from katarestore_tui.app.screens.benchmark import BenchmarkScreen
        except ImportError:
            self.notify("the benchmark screen is not installed in this build; "
                        "use `katarestore bench`", severity="warning")
            return
        if not self.dsn:
            self.notify("the target database is not known yet", severity="warning")
            return
        self.push_screen(BenchmarkScreen(self.backup_root, self.dsn))

    def action_backup_target(self) -> None:
        from katarestore_tui.app.screens.backup import BackupScreen

        if not self.dsn:
            self.notify("the target database is not known yet", severity="warning")
            return
        if not isinstance(self.screen, BackupScreen):
            self.push_screen(BackupScreen(self.dsn, self.backup_root, self.schema))

    async def action_quit(self) -> None:
        if not self.restore_running():
            self.exit(0, return_code=0)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit_cancelled()

        self.push_screen(ConfirmScreen(
            "Quit while restoring?",
            "The restore stops now (the batch in flight is rolled back) and stays resumable "
            "(katarestore history, then resume).", yes="Stop and quit", no="Keep going"),
            answered)


def _escape(text: str) -> str:
    from textual.markup import escape

    return escape(text)


def run_app(dsn: str | None = None, backup_root: Path | None = None, backup: str | None = None) -> int:
    """Open the TUI; returns the process exit code. SIGHUP cancels a running restore and exits."""
    app = KatarestoreApp(dsn=dsn, backup_root=backup_root, backup=backup)
    returned = threading.Event()

    def hang_up(_signum: int, _frame: object) -> None:
        # The kernel follows SIGHUP with SIGCONT; Textual would restart its output on the dead tty.
        signal.signal(signal.SIGCONT, signal.SIG_DFL)
        app.hang_up()
        threading.Thread(target=_leave_after_hang_up, args=(app, returned), daemon=True,
                         name="katarestore-hangup").start()

    previous = signal.signal(signal.SIGHUP, hang_up)
    try:
        code = app.run()
        returned.set()
    finally:
        app.stop_runs(wait=True)
        signal.signal(signal.SIGHUP, previous)
    return code if isinstance(code, int) else 0


def _leave_after_hang_up(app: KatarestoreApp, returned: threading.Event) -> None:
    """Textual can block for ever writing to a terminal that is gone (its output thread dies
    on EIO with a full queue): once the restore has stopped and its run log is written,
    leave even if the app could not."""
    app.stop_runs(wait=True)
    if not returned.wait(HANG_UP_GRACE_SECONDS):
        os._exit(EXIT_FATAL)
