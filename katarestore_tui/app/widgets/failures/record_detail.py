"""One failed record shown whole (highlighted JSON) beside the database's full error."""

from __future__ import annotations

from rich.syntax import Syntax
from rich.table import Table
from textual.widgets import Static

from katarestore_tui.app import format as fmt


def sqlstate_name(code: str | None) -> str:
    if not code:
        return "refused before it reached the server"
    try:
        from psycopg import errors

        return errors.lookup(code).__name__
    except (KeyError, ImportError):
        return "unknown"


class RecordView(Static):
    text = ""  # the JSON shown, as text

    def show(self, entry: dict | None, dark: bool) -> None:
        if entry is None:
            self.text = ""
            self.update("")
            return
        self.text = text = fmt.pretty_json(entry.get("record"))
        theme = "monokai" if dark else "default"
        background = self.background_colors[1].hex  # the pane's own colour, in either theme
        self.update(Syntax(text, "json", theme=theme, word_wrap=True, background_color=background))


class ErrorView(Static):
    lines: tuple[tuple[str, str], ...] = ()  # (label, value) as shown

    def show(self, entry: dict | None) -> None:
        if entry is None:
            self.update("[dim]no record selected[/]")
            return
        index = entry.get("index")
        rows = [
            ("SQLSTATE", f"{entry.get('sqlstate') or '–'} {sqlstate_name(entry.get('sqlstate'))}"),
            ("Message", entry.get("message")),
            ("Detail", entry.get("detail")),
            ("Column", entry.get("column")),
            ("Phase", entry.get("phase")),
            ("File", f"{entry.get('file', '')} · index {'–' if index is None else f'{index:,}'}"),
        ]
        if entry.get("at"):
            rows.append(("Failed at", entry["at"]))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        self.lines = tuple((label, str(value)) for label, value in rows if value not in (None, ""))
        for label, value in self.lines:
            grid.add_row(label, value)
        self.update(grid)
