"""Past runs: the list, and the summary of the highlighted one."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.markup import escape
from textual.widgets import DataTable, Static

from katarestore_tui.app import format as fmt
from katarestore_tui.history.runlog import RunLog

RESUMABLE = "↻"


def started(run: RunLog) -> str:
    """`2024-12-01 10:35` from the run log's ISO time (seconds and zone add nothing here)."""
    return str(run.started_at or "–")[:16].replace("T", " ")


def run_folder(run: RunLog) -> str:
    """The run's folder, from where its quarantine lives (run.json sits beside failed/)."""
    quarantine = run.quarantine
    return quarantine.removesuffix("/failed") if quarantine else ""


class RunTable(DataTable):
    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self.add_column(" ", key="resumable")
        self.add_column("Status", key="status")
        self.add_column("Run", key="run")
        self.add_column("Records", key="records")
        self.add_column("Failed", key="failed")
        self.add_column("Time", key="time")
        self.add_column("Backup", key="backup")
        self.add_column("Target", key="target")

    def show(self, runs: list[RunLog]) -> None:
        self.clear()
        for run in runs:
            self.add_row(
                RESUMABLE if run.is_resumable() else " ",
                run.status,
                run.run_id,
                fmt.count(run.totals.get("records")),
                fmt.count(run.totals.get("failed")),
                fmt.duration(run.seconds),
                run.backup.rstrip("/").rsplit("/", 1)[-1],
                run.target,
                key=run.run_id,
            )


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
        status = run.status
        resumable = " · [b $text-warning]resumable: press r[/]" if run.is_resumable() else ""
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
        info.update("\n".join(lines))
        for name, stats in run.tables.items():
            tables.add_row(name, stats.state, fmt.count(stats.records),
                           fmt.count(stats.loaded), fmt.count(stats.duplicates),
                           fmt.count(stats.failed), fmt.duration(stats.seconds))
