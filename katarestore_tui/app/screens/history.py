"""Screen 5: past runs; the highlighted one's summary; its failed records; resume."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Header, Input

from katarestore_tui.app.screens.base import KataScreen
from katarestore_tui.app.widgets.footer import KeyFooter
from katarestore_tui.app.widgets.history.run_views import RunDetail, RunTable
from katarestore_tui.engine import RestoreOptions, resume_options
from katarestore_tui.history.live import with_live
from katarestore_tui.history.runlog import RunLog, list_run_logs
from katarestore_tui.history.runs import RunNotFound

LIVE_SECONDS = 1.0  # a running run's counts are read again this often
MAX_RUNS = 500


class HistoryScreen(KataScreen):
    HELP_SECTION = "History"  # help (?) opens on this screen's keys
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "failures", "Failed records"),
        Binding("r", "resume", "Resume"),
        Binding("v", "verify", "Verify"),
        Binding("slash", "filter", "Filter"),
        Binding("ctrl+r,f5", "reload", "Reload", key_display="^r"),
        Binding("escape,q", "back", "Back", key_display="esc"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.all_runs: list[RunLog] = []
        self.runs: list[RunLog] = []  # those the filter shows
        self.current: RunLog | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="filter: run id, status, backup or target (esc closes)",
                    id="run-filter", compact=True)
        yield RunTable(id="runs")
        yield RunDetail(id="run-detail")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#runs").border_title = "Runs, newest first (↻ resumable)"
        self.query_one("#run-filter").display = False
        self.action_reload()
        self.set_interval(LIVE_SECONDS, self.refresh_live)

    def action_reload(self) -> None:
        # a run loading now: its live counts (history/live.py)
        self.all_runs = [with_live(r) for r in list_run_logs(MAX_RUNS) if r.kind == "restore"]
        self.apply_filter()
        self.query_one(RunTable).focus()

    def apply_filter(self) -> None:
        needle = self.query_one("#run-filter", Input).value.strip().lower()
        fields = ("run_id", "shown_status", "backup", "target")
        self.runs = [r for r in self.all_runs
                     if not needle or any(needle in str(getattr(r, f) or "").lower() for f in fields)]
        table = self.query_one(RunTable)
        table.show(self.runs)
        shown = f"{len(self.runs)} of {len(self.all_runs)}" if needle else ""
        table.border_subtitle = f"filter “{needle}”: {shown}" if needle else ""
        self.show(self.runs[0] if self.runs else None)

    @on(Input.Changed, "#run-filter")
    def filter_changed(self) -> None:
        self.apply_filter()

    @on(Input.Submitted, "#run-filter")
    def filter_submitted(self) -> None:
        self.query_one(RunTable).focus()

    def action_filter(self) -> None:
        box = self.query_one("#run-filter", Input)
        box.display = True
        box.focus()

    def action_back(self) -> None:
        """Esc in the filter closes it (and clears it); elsewhere it goes back."""
        box = self.query_one("#run-filter", Input)
        if self.focused is box:
            box.value = ""
            box.display = False
            self.query_one(RunTable).focus()
        else:
            self.app.pop_screen()

    def show(self, run: RunLog | None) -> None:
        self.current = run
        detail = self.query_one(RunDetail)
        detail.border_title = f"Run {run.run_id}" if run else "Run"
        detail.show(run)
        self.refresh_bindings()

    def refresh_live(self) -> None:
        """Runs loading now: their live counts; their end (or their process's death) shows."""
        table = self.query_one(RunTable)
        for i, run in enumerate(self.all_runs):
            if not run.live:  # finished or interrupted runs do not change by themselves
                continue
            try:
                fresh = with_live(RunLog.load(run.run_id))
            except (RunNotFound, OSError, ValueError):
                continue
            self.all_runs[i] = fresh
            self.runs = [fresh if r.run_id == fresh.run_id else r for r in self.runs]
            if any(r.run_id == fresh.run_id for r in self.runs):
                table.update_run(fresh)
            if self.current is not None and self.current.run_id == fresh.run_id:
                self.show(fresh)

    @on(DataTable.RowHighlighted, "#runs")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show(next((r for r in self.runs if r.run_id == event.row_key.value), None))

    @on(DataTable.RowSelected, "#runs")
    def selected(self) -> None:
        self.action_failures()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "resume":  # never a run loading now (is_resumable says no to it)
            return bool(self.current and self.current.is_resumable())
        if action == "failures":
            return bool(self.current and self.current.failed)
        if action == "verify":  # what a run wrote can be proven once it stopped
            return bool(self.current and self.current.status not in ("running", None))
        return True

    def action_verify(self) -> None:
        if self.current:
            self.app.open_verify(self.current)

    def action_failures(self) -> None:
        from katarestore_tui.app.screens.failures import FailuresScreen

        if self.current:
            self.app.push_screen(FailuresScreen(self.current.run_id))

    def action_resume(self) -> None:
        run = self.current
        if not run or not run.is_resumable():
            return
        problem = self.app.target_problem(run)
        dsn = self.app.dsn
        if problem or dsn is None:  # target_problem names a missing DSN
            self.notify(problem or "no target database", title="Not resumed", severity="error",
                        timeout=15)
            return
        # as the CLI's --resume: every run option from the log (nothing is given anew here)
        self.app.start_restore(resume_options(run, RestoreOptions(backup="", dsn=dsn)))
