"""Past runs: the list, and the summary of the highlighted one."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.markup import escape
from textual.widgets import DataTable, Static

from katarestore_tui.app import format as fmt
from katarestore_tui.app.widgets.lists import ListTable
from katarestore_tui.history.index_phase import index_phase_lines
from katarestore_tui.history.runlog import RunLog

RESUMABLE = "↻"


def started(run: RunLog) -> str:
    """`2024-12-01 10:35` from the run log's ISO time (seconds and zone add nothing here)."""
    return str(run.started_at or "–")[:16].replace("T", " ")


def run_folder(run: RunLog) -> str:
    """The run's folder, from where its quarantine lives (run.json sits beside failed/)."""
    quarantine = run.quarantine
    return quarantine.removesuffix("/failed") if quarantine else ""


COLUMNS = (  # (key, label); the last two only where there is room (both are in the detail)
    ("resumable", " "), ("status", "Status"), ("run", "Run"), ("records", "Records"),
    ("failed", "Failed"), ("backup", "Backup"), ("time", "Time"), ("target", "Target"),
)
WIDE = 100  # below this many columns, Time and Target are left to the run's detail


class RunTable(ListTable):
    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True

    def columns_for(self, width: int) -> tuple[tuple[str, str], ...]:
        return COLUMNS if width >= WIDE else COLUMNS[:-2]

    def show(self, runs: list[RunLog]) -> None:
        wanted = self.columns_for(self.app.size.width)
        if [str(key.value) for key in self.columns] != [key for key, _ in wanted]:
            self.clear(columns=True)
            for key, label in wanted:
                self.add_column(label, key=key)
        self.clear()
        for run in runs:
            cells = self.cells(run)
            self.add_row(*(cells[key] for key, _ in wanted), key=run.run_id)

    @staticmethod
    def cells(run: RunLog) -> dict[str, str]:
        return {
            "resumable": RESUMABLE if run.is_resumable() else " ",
            "status": run.shown_status,  # running (loading now) or interrupted (killed)
            "run": run.run_id,
            "records": fmt.count(run.totals.get("records")),
            "failed": fmt.count(run.totals.get("failed")),
            "backup": run.backup.rstrip("/").rsplit("/", 1)[-1],
            "time": fmt.duration(run.seconds),
            "target": run.target,
        }

    def update_run(self, run: RunLog) -> None:
        """A running run's live counts, in place (the cursor stays where it is)."""
        cells = self.cells(run)
        for column in self.columns:
            self.update_cell(run.run_id, column, cells[str(column.value)])


class RunDetail(Vertical):
    def compose(self) -> ComposeResult:
        yield Static(id="run-info")
        yield DataTable(id="run-tables", cursor_type="none", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#run-tables", DataTable).add_columns(
            "Table", "State", "Records", "Loaded", "Dup", "Failed", "Time")

    def show(self, run: RunLog | None) -> None:
        info = self.query_one("#run-info", Static)
        tables = self.query_one("#run-tables", DataTable)
        tables.clear()
        if run is None:
            info.update("[dim]no run selected[/]")
            return
        options = run.options
        status = run.shown_status
        resumable = " · [b $text-warning]resumable: press r[/]" if run.is_resumable() else ""
        if run.live:
            resumable = (f" · [b $text-success]loading now[/] (pid {run.pid}; counts "
                         "refresh every second; stop it on its own screen or with Ctrl-C)")
        elif run.interrupted:
            resumable = " · no process is loading it (killed or crashed)" + resumable
        lines = [
            f"[b]{escape(status)}[/b]{resumable} · started {escape(started(run))}"
            f" · took {fmt.duration(run.seconds)}",
            f"[b]Backup[/b]  {escape(fmt.short_path(run.backup or None))}",
            f"[b]Target[/b]  {escape(run.target or '–')} · "
            f"schema {escape(options.get('schema', 'public'))}",
            f"[b]Options[/b] batch {options.get('batch_size', 0):,} · on conflict "
            f"{escape(str(options.get('on_conflict', '?')))} · jobs {options.get('jobs', 1)} · "
            f"clean {'yes' if options.get('clean') else 'no'}",
            f"[b]Files[/b]   {escape(fmt.short_path(run_folder(run)))} (run.json, failed/)",
        ]
        if run.error:
            lines.append(f"[$text-error]{escape(run.error)}[/]")
        for line, problem in index_phase_lines(run.to_dict()):  # the "indexes" phase, when it ran
            text = f"[b]Indexes[/b] {escape(line)}"
            lines.append(f"[$text-error]{text}[/]" if problem else text)
        info.update("\n".join(lines))
        for name, stats in run.tables.items():
            tables.add_row(name, stats.state, fmt.count(stats.records),
                           fmt.count(stats.loaded), fmt.count(stats.duplicates),
                           fmt.count(stats.failed), fmt.duration(stats.seconds))
