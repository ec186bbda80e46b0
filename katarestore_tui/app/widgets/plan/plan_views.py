"""The parts of a plan: the load order, one table's key mapping, and what will not load."""

from __future__ import annotations

from textual.markup import escape
from textual.widgets import Static

from katarestore_tui.app import format as fmt
from katarestore_tui.app.widgets.lists import ListTable
from katarestore_tui.engine import Plan, TablePlan


def keys_summary(table: TablePlan) -> str:
    parts = [f"{len(table.key_map)} matched"]
    if table.renamed:
        parts.append(f"{len(table.renamed)} renamed")
    if table.ignored_keys:
        parts.append(f"{len(table.ignored_keys)} ignored")
    if table.unfilled_columns:
        parts.append(f"{len(table.unfilled_columns)} unfilled")
    return ", ".join(parts)


def existing_text(rows: int | None) -> str:
    """Rows the target table holds before the run: what the operator must not overlook."""
    if rows is None:
        return "?"
    return "empty" if rows == 0 else fmt.plural(rows, "row")


class OrderTable(ListTable):
    """Tables in load order (parents first)."""

    def show(self, plan: Plan) -> None:
        self.cursor_type = "row"
        self.add_columns("#", "Table", "Size", "In target", "Keys", "Parents (loaded before)")
        for number, table in enumerate(plan.tables, 1):
            self.add_row(
                str(number),
                table.table,
                fmt.size(table.file.size),
                ("≈" if table.existing_estimated else "") + existing_text(table.existing_rows),
                keys_summary(table),
                ", ".join(table.parents) or "–",
                key=table.table,
            )


class MappingView(Static):
    """How the highlighted table's JSON keys meet its columns."""

    def show(self, table: TablePlan | None) -> None:
        if table is None:
            self.update("")
            return
        lines = [f"[dim]from {escape(table.file.path.name)}[/]"]
        if table.renamed:
            lines.append("[b]Renamed keys[/b] (JSON key → column)")
            lines += [f"  {escape(k)} → {escape(c)}" for k, c in table.renamed.items()]
        same = [k for k, c in table.key_map.items() if k == c]
        if same:
            lines.append(f"[b]Same name[/b] ({len(same)}): " + escape(", ".join(same)))
        if table.ignored_keys:
            ignored = escape(", ".join(table.ignored_keys))
            lines.append(f"[b $text-warning]Ignored keys[/] (no column): {ignored}")
        if table.unfilled_columns:
            lines.append("[b $text-error]NOT NULL columns with no key[/] (those records fail): "
                         + escape(", ".join(table.unfilled_columns)))
        if not table.key_map:
            lines.append("[b $text-error]No key of the first record matches a column[/]")
        self.update("\n".join(lines) or "no keys read")


class NotesView(Static):
    """Warnings, and every file or table that will not take part, with the reason."""

    def show(self, plan: Plan) -> None:
        lines = [f"[$text-warning]•[/] {escape(w)}" for w in plan.warnings]
        if plan.files_without_table:
            names = ", ".join(f.path.name for f in plan.files_without_table)
            lines.append(f"[b]Files with no table[/b]: {escape(names)}")
        if plan.tables_without_file:
            lines.append(f"[b]Tables with no file[/b] (left as they are): "
                         f"{escape(', '.join(plan.tables_without_file))}")
        if plan.excluded:
            lines.append(f"[b]Excluded[/b]: {escape(', '.join(plan.excluded))}")
        if not lines and any(t.existing_rows for t in plan.tables):  # never "no warnings" then
            lines.append("[$text-warning]•[/] target tables hold rows already (see In target)")
        self.update("\n".join(lines) or "[$text-success]No warnings: every file matches a table.[/]")
