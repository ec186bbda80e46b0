"""Screen 5: past runs; the highlighted one's summary; its failed records; resume."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header

from katarestore_tui.app.screens.base import KataScreen
from katarestore_tui.app.widgets.history.run_views import RunDetail, RunTable
from katarestore_tui.engine import RestoreOptions, resume_options
from katarestore_tui.history.runlog import RunLog, list_run_logs

MAX_RUNS = 500


class HistoryScreen(KataScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "failures", "Failed records"),
        Binding("r", "resume", "Resume"),
        Binding("g", "reload", "Reload"),
        Binding("escape", "app.pop_screen", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[RunLog] = []
        self.current: RunLog | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield RunTable(id="runs")
        yield RunDetail(id="run-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#runs").border_title = "Runs, newest first (↻ resumable)"
        self.action_reload()

    def action_reload(self) -> None:
        self.runs = [r for r in list_run_logs(MAX_RUNS) if r.kind == "restore"]
        table = self.query_one(RunTable)
        table.show(self.runs)
        table.focus()
        self.show(self.runs[0] if self.runs else None)

    def show(self, run: RunLog | None) -> None:
        self.current = run
        detail = self.query_one(RunDetail)
        detail.border_title = f"Run {run.run_id}" if run else "Run"
        detail.show(run)
        self.refresh_bindings()

    @on(DataTable.RowHighlighted, "#runs")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show(next((r for r in self.runs if r.run_id == event.row_key.value), None))

    @on(DataTable.RowSelected, "#runs")
    def selected(self) -> None:
        self.action_failures()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "resume":
            return bool(self.current and self.current.is_resumable())
        if action == "failures":
            return bool(self.current and self.current.failed)
        return True

    def action_failures(self) -> None:
        from katarestore_tui.app.screens.failures import FailuresScreen

        if self.current:
            self.app.push_screen(FailuresScreen(self.current.run_id))

    def action_resume(self) -> None:
        run = self.current
        if not run or not run.is_resumable():
            return
        problem = self.app.target_problem(run)
        if problem:
            self.notify(problem, title="Not resumed", severity="error", timeout=15)
            return
        # as the CLI's --resume: every run option from the log (nothing is given anew here)
        self.app.start_restore(resume_options(run, RestoreOptions(backup="", dsn=self.app.dsn)))
