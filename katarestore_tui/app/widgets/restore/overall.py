"""The run as a whole: one bar by bytes, records so far, elapsed time and the current phase."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.widgets import Label, ProgressBar

from katarestore_tui.app import format as fmt
from katarestore_tui.app.eta import SmoothedEta
from katarestore_tui.app.widgets.restore.quiet_label import set_text
from katarestore_tui.engine import TableStats


class OverallProgress(Vertical):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.eta = SmoothedEta()

    def compose(self) -> ComposeResult:
        with Horizontal(classes="pane-top"):
            yield Label("[b]Overall[/b]", classes="pane-name")
            yield ProgressBar(total=1, show_eta=False, id="overall-bar")
        yield Label("connecting and planning…", id="overall-detail")

    def show(self, stats: dict[str, TableStats], bytes_total: int, elapsed: float, phase: str,
             finished: bool = False, ended: bool = False) -> None:
        """`finished`: every table was read to its end; `ended`: the run is over either way."""
        read = sum(s.bytes_read for s in stats.values())
        total = max(bytes_total, 1)
        self.query_one(ProgressBar).update(total=total, progress=total if finished else min(read, total))
        records = sum(s.records for s in stats.values())
        failed = sum(s.failed + s.failing for s in stats.values())  # live: the batch in flight
        parts = [fmt.plural(records, "record"), f"{fmt.count(failed)} failed",
                 f"elapsed {fmt.duration(elapsed)}"]
        if not (finished or ended):
            parts.append("ETA " + fmt.duration(self.eta.update(read, bytes_total, elapsed)))
        if phase:
            parts.append(escape(phase))
        set_text(self.query_one("#overall-detail", Label), " · ".join(parts))

    def say(self, text: str) -> None:
        set_text(self.query_one("#overall-detail", Label), escape(text))
