"""Quarantined records, one row each, with a mark column for multi-selection."""

from __future__ import annotations

from collections.abc import Container, Mapping
from typing import Any

from katarestore_tui.app.widgets.lists import ListTable

MARK = "●"
MAX_ROWS = 5_000  # DataTable slows with very many rows: filter to narrow


def short(text: str | None, width: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


class FailureTable(ListTable):
    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self.add_column(" ", key="mark")
        self.add_column("Table", key="table")
        self.add_column("Index", key="index")
        self.add_column("SQLSTATE", key="sqlstate")
        self.add_column("Message", key="message")

    def show(self, entries: Mapping[int, dict[str, Any]], positions: list[int],
             marked: Container[int]) -> None:
        """`positions` index `entries`; they become the row keys."""
        self.clear()
        for position in positions[:MAX_ROWS]:
            entry = entries[position]
            index = entry.get("index")
            self.add_row(
                MARK if position in marked else " ",
                entry.get("table", ""),
                "–" if index is None else f"{index:,}",
                entry.get("sqlstate") or "–",
                short(entry.get("message")),
                key=str(position),
            )

    def set_mark(self, position: int, marked: bool) -> None:
        key = str(position)
        if key in self.rows:
            self.update_cell(key, "mark", MARK if marked else " ")
