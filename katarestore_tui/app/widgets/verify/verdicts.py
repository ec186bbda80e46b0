"""The verify result per table (one row each), and the highlighted table's differences."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from katarestore_tui.app import format as fmt
from katarestore_tui.app.widgets.lists import ListTable
from katarestore_tui.engine import TableVerdict

VERDICT_MARK = {"match": "✓ match", "accounted": "✓ accounted", "different": "✗ different"}


class VerdictTable(ListTable):
    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for label, key in (("Table", "table"), ("Verdict", "verdict"), ("Records", "records"),
                           ("Match", "match"), ("Quar.", "quarantined"),
                           ("Unexpl.", "unexplained"), ("By", "method")):
            self.add_column(label, key=key)

    def add_verdict(self, verdict: TableVerdict) -> None:
        self.add_row(verdict.table, VERDICT_MARK[verdict.verdict], fmt.count(verdict.records),
                     fmt.count(verdict.matched), fmt.count(verdict.quarantined),
                     fmt.count(verdict.unexplained), verdict.method, key=verdict.table)


class VerdictDetail(Static):
    """Counts in words, then each listed difference (key and columns), then notes."""

    def show(self, verdict: TableVerdict | None) -> None:
        if verdict is None:
            self.update("")
            return
        lines = [f"{verdict.table}: {verdict.line()}"]
        lines += [f"  {d.kind:<10} {d.text()}" for d in verdict.differences]
        if verdict.fault:
            lines.append(f"  file cut short: {verdict.fault}")
        lines += [f"  note: {n}" for n in verdict.notes]
        self.update(Text("\n".join(lines)))  # keys and values are data, never markup
