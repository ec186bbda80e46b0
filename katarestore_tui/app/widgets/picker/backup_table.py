"""The list of backups under the root, newest first."""

from __future__ import annotations

from datetime import datetime

from katarestore_tui.app import format as fmt
from katarestore_tui.app.widgets.lists import ListTable
from katarestore_tui.backup.catalog import Backup


def records_text(estimates: dict[str, tuple[int, bool]] | None) -> str:
    if estimates is None:
        return "…"
    total = sum(n for n, _ in estimates.values())
    exact = all(e for _, e in estimates.values())
    return fmt.count(total) if exact else f"≈{fmt.count(total)}"


class BackupTable(ListTable):
    """One row per backup folder: name as written, age, tables, size, records."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self.add_column("Backup", key="name")
        self.add_column("Taken", key="age")
        self.add_column("Tables", key="tables")
        self.add_column("Size", key="size")
        self.add_column("Records", key="records")

    def show(self, backups: list[Backup], now: datetime,
             estimates: dict[str, dict[str, tuple[int, bool]]], select: str | None = None) -> None:
        self.clear()
        for backup in backups:
            key = str(backup.path)
            self.add_row(
                backup.name,
                fmt.age(backup.taken_at, now),
                str(len(backup.files)),
                fmt.size(backup.total_bytes),
                records_text(estimates.get(key)),
                key=key,
            )
        if select:
            for row, backup in enumerate(backups):
                if select in (str(backup.path), backup.name):
                    self.move_cursor(row=row)
                    break

    def set_records(self, key: str, estimates: dict[str, tuple[int, bool]]) -> None:
        if key in self.rows:
            self.update_cell(key, "records", records_text(estimates), update_width=True)
