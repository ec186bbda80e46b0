"""What the operator needs when the run ends: totals, speed, where the files are, what next."""

from __future__ import annotations

from pathlib import Path

from textual.markup import escape
from textual.widgets import Static

from katarestore_tui.app import format as fmt
from katarestore_tui.engine import RunFinished

STATUS_STYLE = {
    "completed": "$text-success",
    "partial": "$text-warning",
    "cancelled": "$text-warning",
    "failed": "$text-error",
}
STATUS_TEXT = {
    "completed": "Completed: every record loaded or counted as a duplicate",
    "partial": "Finished with failures: some records are in quarantine",
    "cancelled": "Cancelled: the batch in flight was rolled back, the run is resumable",
    "failed": "Failed",
}
MAX_WARNINGS = 8


def speed_line(records: int, seconds: float, earlier_records: int = 0) -> str:
    """"1,000 records in 0:00:02 (500 rows/s)"; on a resume only this run's records are timed."""
    if not earlier_records:
        return f"{fmt.plural(records, 'record')} in {fmt.duration(seconds)} ({fmt.rate(records, seconds)})"
    now = max(0, records - earlier_records)
    return (f"{fmt.plural(now, 'record')} this run in {fmt.duration(seconds)} "
            f"({fmt.rate(now, seconds)}) · {fmt.count(records)} in all")


class RunSummary(Static):
    def show_finished(self, done: RunFinished, warnings: list[str] | None = None,
                      earlier_records: int = 0) -> None:
        """`earlier_records`: on a resume, what the stopped run had committed; the rate is
        this run's records over this run's time, and the total is said beside it."""
        totals = {k: sum(getattr(s, k) for s in done.tables.values())
                  for k in ("records", "loaded", "duplicates", "failed")}
        style = STATUS_STYLE.get(done.status, "$text-error")
        # a file cut short (or a table stopped) is the headline, not one warning among many
        faults = [s for s in done.tables.values() if s.error and s.state in ("partial", "failed")]
        headline = STATUS_TEXT.get(done.status, done.status)
        if done.status == "partial" and faults:
            headline = (f"Finished with problems: {', '.join(s.table for s in faults)} did not "
                        "load whole" + ("; some records are in quarantine" if totals["failed"]
                                        else ""))
        lines = [
            f"[b {style}]{escape(headline)}[/]",
            *(f"[b $text-error]{escape(s.table)}: {escape(s.error or '')}[/]" for s in faults),
            speed_line(totals["records"], done.seconds, earlier_records),
            f"{fmt.count(totals['loaded'])} loaded · {fmt.plural(totals['duplicates'], 'duplicate')} · "
            f"{fmt.count(totals['failed'])} failed",
            f"[b]Run log[/b]     {escape(fmt.short_path(Path(done.run_dir) / 'run.json'))}",
        ]
        if totals["failed"]:
            lines.append(f"[b]Quarantine[/b]  {escape(fmt.short_path(done.quarantine_dir))}")
        if done.status in ("cancelled", "failed"):
            lines.append(f"[b]Resume[/b]      katarestore restore --resume {escape(done.run_id)}  "
                         "(or [b]h[/b] History, then [b]r[/b])")
        if done.error and done.status != "cancelled":
            lines.append(f"[$text-error]{escape(done.error)}[/]")
        if totals["failed"]:
            lines.append("[dim]Next: [b]f[/b] shows each failed record whole with the database's "
                         "error; fix the cause, then [b]r[/b] there loads them again.[/]")
        if warnings:
            lines.append(f"[b]Warnings[/b] ({len(warnings)})")
            lines += [f"  [$text-warning]•[/] {escape(w)}" for w in warnings[:MAX_WARNINGS]]
            if len(warnings) > MAX_WARNINGS:
                lines.append(f"  … {len(warnings) - MAX_WARNINGS} more in the log ([b]l[/b])")
        self.update("\n".join(lines))

    def show_error(self, error: str) -> None:
        self.update(f"[b $text-error]Not started[/]\n{escape(error)}")
