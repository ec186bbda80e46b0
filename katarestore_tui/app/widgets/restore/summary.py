"""What the operator needs when the run ends: totals, speed, and where the files are."""

from __future__ import annotations

from pathlib import Path

from textual.markup import escape
from textual.widgets import Static

from katarestore_tui.app import format as fmt
from katarestore_tui.engine.events import RunFinished

NBSP = "\u00a0"  # keeps a count and its word on one line when the summary wraps
STATUS_STYLE = {
    "completed": "$success", "partial": "$warning", "cancelled": "$warning", "failed": "$error",
}
STATUS_TEXT = {
    "completed": "Completed: every record loaded or counted as a duplicate",
    "partial": "Finished with failures: some records are in quarantine",
    "cancelled": "Cancelled: stopped at a batch boundary, the run is resumable",
    "failed": "Failed",
}


class RunSummary(Static):
    def show_finished(self, done: RunFinished) -> None:
        totals = {k: sum(getattr(s, k) for s in done.tables.values())
                  for k in ("records", "loaded", "duplicates", "failed")}
        style = STATUS_STYLE.get(done.status, "$error")
        lines = [
            f"[b {style}]{STATUS_TEXT.get(done.status, done.status)}[/]",
            " · ".join([
                f"{fmt.count(totals['records'])}{NBSP}records in {fmt.duration(done.seconds)} "
                f"({fmt.rate(totals['records'], done.seconds).replace(' ', NBSP)})",
                f"{fmt.count(totals['loaded'])}{NBSP}loaded",
                f"{fmt.count(totals['duplicates'])}{NBSP}dup",
                f"{fmt.count(totals['failed'])}{NBSP}failed",
            ]),
            f"[b]Run log[/b]     {escape(fmt.short_path(Path(done.run_dir) / 'run.json'))}",
        ]
        if totals["failed"]:
            lines.append(f"[b]Quarantine[/b]  {escape(fmt.short_path(done.quarantine_dir))}  "
                         f"([b]f[/b]: open)")
        if done.status in ("cancelled", "failed"):
            lines.append(f"[b]Resume[/b]      katarestore restore --resume {escape(done.run_id)}  "
                         "(or [b]h[/b] History, then [b]r[/b])")
        if done.error and done.status != "cancelled":
            lines.append(f"[$error]{escape(done.error)}[/]")
        self.update("\n".join(lines))

    def show_error(self, error: str) -> None:
        self.update(f"[b $error]Not started[/]\n{escape(error)}")
