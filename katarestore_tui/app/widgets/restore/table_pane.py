"""One table's progress: state, a bar by bytes read, counts, speed and time left."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.widgets import Label, ProgressBar

from katarestore_tui.app import format as fmt
from katarestore_tui.app.eta import SmoothedEta
from katarestore_tui.app.widgets.restore.quiet_label import set_text
from katarestore_tui.engine import (
    CANCELLED,
    DONE,
    FAILED,
    LOADING,
    PARTIAL,
    SKIPPED,
    WAITING,
    TableStats,
)

STATE_MARKS = {
    WAITING: "·", LOADING: "▶", DONE: "✓", PARTIAL: "!", FAILED: "✗", SKIPPED: "–", CANCELLED: "■",
}
STATES = (WAITING, LOADING, DONE, PARTIAL, FAILED, SKIPPED, CANCELLED)
# one line for a table with nothing to watch: waiting, or finished without a failure; a dozen
# tables then fit 80x24 with the one loading in view
COMPACT_STATES = (WAITING, DONE, SKIPPED)


def counts_line(stats: TableStats) -> str:
    parts = [fmt.plural(stats.records, "record"), f"{fmt.count(stats.loaded)} loaded"]
    parts.append(f"{fmt.count(stats.duplicates)} dup")
    failures = stats.failed + stats.failing  # live: the batch in flight's failures too
    failed = f"{fmt.count(failures)} failed"
    parts.append(f"[b $text-error]{failed}[/]" if failures else failed)
    parts.append(fmt.rate(stats.records, stats.seconds))
    return " · ".join(parts)


def brief_line(stats: TableStats) -> str:
    """The counts of a finished table, on its one line (where the bar was)."""
    if stats.state == SKIPPED:
        return "skipped"
    parts = [f"{fmt.count(stats.loaded)} loaded"]
    if stats.duplicates:
        parts.append(f"{fmt.count(stats.duplicates)} dup")
    parts.append(fmt.rate(stats.records, stats.seconds))
    return " · ".join(parts)


def time_text(stats: TableStats, eta: SmoothedEta | None = None) -> str:
    """Time left while loading (at the smoothed rate), time taken once done."""
    if stats.state == LOADING:
        eta = eta or SmoothedEta()
        return "ETA " + fmt.duration(eta.update(stats.bytes_read, stats.bytes_total, stats.seconds))
    if stats.state in (WAITING, SKIPPED):
        return ""
    return fmt.duration(stats.seconds)


class TablePane(Vertical):
    """Two lines for a table loading or with failures, one for the others (COMPACT_STATES)."""

    def __init__(self, table: str, bytes_total: int = 0, **kwargs) -> None:
        super().__init__(classes="table-pane", **kwargs)
        self.table = table
        self.stats = TableStats(table, bytes_total=bytes_total)
        self.drawn = False  # children exist only once mounted; until then `show` just keeps stats
        self.eta = SmoothedEta()

    def compose(self) -> ComposeResult:
        with Horizontal(classes="pane-top"):
            yield Label(classes="pane-name")
            yield ProgressBar(total=max(self.stats.bytes_total, 1), show_eta=False, classes="pane-bar")
            yield Label(classes="pane-brief")
            yield Label(classes="pane-time")
        yield Label(classes="pane-counts")

    def on_mount(self) -> None:
        self.drawn = True
        self.show(self.stats)

    def show(self, stats: TableStats) -> None:
        self.stats = stats
        if not self.drawn:
            return
        for state in STATES:
            self.set_class(stats.state == state, f"-{state}")
        self.set_class(stats.state in COMPACT_STATES and not stats.error, "-compact")
        mark = STATE_MARKS.get(stats.state, "?")
        set_text(self.query_one(".pane-name", Label), f"{mark} {escape(stats.table)} {stats.state}")
        bar = self.query_one(ProgressBar)
        total = max(stats.bytes_total, 1)
        done = total if stats.state in (DONE, PARTIAL, SKIPPED) else stats.bytes_read
        bar.update(total=total, progress=min(done, total))
        set_text(self.query_one(".pane-time", Label), time_text(stats, self.eta))
        set_text(self.query_one(".pane-brief", Label), brief_line(stats))
        counts = counts_line(stats)
        if stats.error:
            counts += f"\n[$text-error]{escape(stats.error)}[/]"
        set_text(self.query_one(".pane-counts", Label), counts)
