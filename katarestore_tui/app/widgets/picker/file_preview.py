"""The table files of the highlighted backup, with their sizes and record counts."""

from __future__ import annotations

from textual.widgets import DataTable

from katarestore_tui.app import format as fmt
from katarestore_tui.backup.catalog import Backup


def file_label(name: str) -> str:
    """`users` for the usual `users.json`; other formats keep their suffix."""
    return name.removesuffix(".json")


class FilePreview(DataTable, can_focus=False):
    """Read-only: Tab goes from the backup list straight to the options."""

    def on_mount(self) -> None:
        self.cursor_type = "none"
        self.add_column("Table file", key="file")
        self.add_column("Size", key="size")
        self.add_column("Records", key="records")

    def show(self, backup: Backup | None, estimates: dict[str, tuple[int, bool]] | None) -> None:
        self.clear()
        if backup is None:
            self.border_title = "Files"
            return
        self.border_title = f"Files of {backup.name}"
        for table_file in sorted(backup.files, key=lambda f: f.size, reverse=True):
            found = (estimates or {}).get(table_file.path.name)
            records = "…" if found is None else (fmt.count(found[0]) if found[1]
                                                  else f"≈{fmt.count(found[0])}")
            self.add_row(file_label(table_file.path.name), fmt.size(table_file.size), records)
