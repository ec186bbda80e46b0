"""Screen 5: past runs; the highlighted one's summary; its failed records; resume."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header

from katarestore_tui.app.screens.base import KataScreen
from katarestore_tui.app.widgets.history.run_views import RunDetail, RunTable
from katarestore_tui.engine import RestoreOptions
from katarestore_tui.history.live import with_live
from katarestore_tui.history.runs import is_resumable, list_runs

LIVE_SECONDS = 1.0  # a running run's counts are read again this often
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
        self.runs: list[dict] = []
        self.current: dict | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield RunTable(id="runs")
        yield RunDetail(id="run-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#runs").border_title = "Runs, newest first (↻ resumable)"
        self.action_reload()
        self.set_interval(LIVE_SECONDS, self.refresh_live)

    def action_reload(self) -> None:
        self.runs = [with_live(r) for r in list_runs(MAX_RUNS)
                     if r.get("kind", "restore") == "restore"]
        table = self.query_one(RunTable)
        table.show(self.runs)
        table.focus()
        self.show(self.runs[0] if self.runs else None)

    def show(self, run: dict | None) -> None:
        self.current = run
        detail = self.query_one(RunDetail)
        detail.border_title = f"Run {run.get('run_id')}" if run else "Run"
        detail.show(run)
        self.refresh_bindings()

    def refresh_live(self) -> None:
        """Runs loading now: their live counts; their end (or their process's death) shows."""
        from katarestore_tui.history.runs import RunNotFound, read_run

        table = self.query_one(RunTable)
        for i, run in enumerate(self.runs):
            if not run.get("live"):  # finished or interrupted runs do not change by themselves
                continue
            try:
                fresh = with_live(read_run(run["run_id"]))
            except (RunNotFound, OSError, ValueError):
                continue
            self.runs[i] = fresh
            table.update_run(fresh)
            if self.current is not None and self.current.get("run_id") == fresh.get("run_id"):
                self.show(fresh)

    @on(DataTable.RowHighlighted, "#runs")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show(next((r for r in self.runs if r.get("run_id") == event.row_key.value), None))

    @on(DataTable.RowSelected, "#runs")
    def selected(self) -> None:
        self.action_failures()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "resume":
            if self.current and self.current.get("live"):
                return False  # a run loading now is not resumed (the key is not offered)
            return bool(self.current and is_resumable(self.current))
        if action == "failures":
            return bool(self.current and (self.current.get("totals") or {}).get("failed"))
        return True

    def action_failures(self) -> None:
        from katarestore_tui.app.screens.failures import FailuresScreen

        if self.current:
            self.app.push_screen(FailuresScreen(self.current["run_id"]))

    def action_resume(self) -> None:
        run = self.current
        if not run or not is_resumable(run):
            return
        problem = self.app.target_problem(run)
        if problem:
            self.notify(problem, title="Not resumed", severity="error", timeout=15)
            return
        o = run.get("options") or {}
        options = RestoreOptions(
            backup=run.get("backup", ""), dsn=self.app.dsn, schema=o.get("schema", "public"),
            batch_size=o.get("batch_size", 10_000), jobs=o.get("jobs", 1),
            on_conflict=o.get("on_conflict", "skip"), tables=o.get("tables") or [],
            exclude=o.get("exclude") or [], single_transaction=o.get("single_transaction", False),
            fk_mode=o.get("fk_mode", "auto"), resume=run["run_id"],
            triggers=o.get("triggers", "auto"),
        )
        self.app.start_restore(options)
