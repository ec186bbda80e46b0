"""Past runs: the list, and the summary of the highlighted one."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.markup import escape
from textual.widgets import DataTable, Static

from katarestore_tui.app import format as fmt
from katarestore_tui.history.index_phase import index_phase_lines
from katarestore_tui.history.runs import is_resumable

RESUMABLE = "↻"


def started(run: dict) -> str:
    """`2024-12-01 10:35` from the run log's ISO time (seconds and zone add nothing here)."""
    return str(run.get("started_at") or "–")[:16].replace("T", " ")


def run_folder(run: dict) -> str:
    """The run's folder, from where its quarantine lives (run.json sits beside failed/)."""
    quarantine = run.get("quarantine") or ""
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

    def show(self, runs: list[dict]) -> None:
        self.clear()
        for run in runs:
            totals = run.get("totals") or {}
            self.add_row(
                RESUMABLE if is_resumable(run) else " ",
                run.get("status", "?"),
                run.get("run_id", "?"),
                fmt.count(totals.get("records")),
                fmt.count(totals.get("failed")),
                fmt.duration(run.get("seconds")),
                (run.get("backup") or "").rstrip("/").rsplit("/", 1)[-1],
                run.get("target") or "",
                key=run.get("run_id"),
            )


class RunDetail(Vertical):
    def compose(self) -> ComposeResult:
        yield Static(id="run-info")
        yield DataTable(id="run-tables", cursor_type="none", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#run-tables", DataTable).add_columns(
            "Table", "State", "Records", "Loaded", "Dup", "Failed", "Time")

    def show(self, run: dict | None) -> None:
        info = self.query_one("#run-info", Static)
        tables = self.query_one("#run-tables", DataTable)
        tables.clear()
        if run is None:
            info.update("[dim]no run selected[/]")
            return
        options = run.get("options") or {}
        status = run.get("status", "?")
        resumable = " · [b $text-warning]resumable: press r[/]" if is_resumable(run) else ""
        lines = [
            f"[b]{escape(status)}[/b]{resumable} · started {escape(started(run))}"
            f" · took {fmt.duration(run.get('seconds'))}",
            f"[b]Backup[/b]  {escape(fmt.short_path(run.get('backup')))}",
            f"[b]Target[/b]  {escape(run.get('target') or '–')} · "
            f"schema {escape(options.get('schema', 'public'))}",
            f"[b]Options[/b] batch {options.get('batch_size', 0):,} · on conflict "
            f"{escape(str(options.get('on_conflict', '?')))} · jobs {options.get('jobs', 1)} · "
            f"clean {'yes' if options.get('clean') else 'no'}",
            f"[b]Files[/b]   {escape(fmt.short_path(run_folder(run)))} (run.json, failed/)",
        ]
        if run.get("error"):
            lines.append(f"[$text-error]{escape(run['error'])}[/]")
        for line, problem in index_phase_lines(run):  # the "indexes" phase, when it ran
            text = f"[b]Indexes[/b] {escape(line)}"
            lines.append(f"[$text-error]{text}[/]" if problem else text)
        info.update("\n".join(lines))
        for name, stats in (run.get("tables") or {}).items():
            tables.add_row(name, stats.get("state", "?"), fmt.count(stats.get("records")),
                           fmt.count(stats.get("loaded")), fmt.count(stats.get("duplicates")),
                           fmt.count(stats.get("failed")), fmt.duration(stats.get("seconds")))
