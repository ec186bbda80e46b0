"""Screen 2: the dry-run plan; nothing is written until the operator starts the restore."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.markup import escape
from textual.widgets import DataTable, Header, Static

from katarestore_tui.app import format as fmt
from katarestore_tui.app.screens.base import KataScreen
from katarestore_tui.app.screens.modals import ConfirmCleanScreen
from katarestore_tui.app.widgets.footer import KeyFooter
from katarestore_tui.app.widgets.plan.plan_views import MappingView, NotesView, OrderTable
from katarestore_tui.engine import Plan, RestoreOptions
from katarestore_tui.redact import redact_dsn


class PlanScreen(KataScreen):
    HELP_SECTION = "Plan"  # help (?) opens on this screen's keys
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "start", "Start restore"),
        Binding("escape,q", "app.pop_screen", "Back", key_display="esc"),
    ]

    def __init__(self, options: RestoreOptions, plan: Plan) -> None:
        super().__init__()
        self.options, self.plan = options, plan

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self.headline(), id="plan-head", classes="headline")
        yield OrderTable(id="order")
        with Horizontal(id="plan-bottom"):
            with VerticalScroll(id="mapping-box"):
                yield MappingView(id="mapping")
            with VerticalScroll(id="notes-box"):
                yield NotesView(id="notes")
        yield KeyFooter()

    def headline(self) -> str:
        o, plan = self.options, self.plan
        total = sum(t.file.size for t in plan.tables)
        clean = "[b $text-error]clean first: tables are emptied[/]" if o.clean else "clean first: no"
        copy = f"\n{escape(plan.clean_copy.describe())}" if o.clean and plan.clean_copy else ""
        return (
            f"[b]{plan.backup.name}[/b] → [b]{plan.schema.name}[/b] on {escape(redact_dsn(o.dsn))}\n"
            f"{fmt.plural(len(plan.tables), 'table')}, {fmt.size(total)} · batch {o.batch_size:,} · "
            f"on conflict {o.on_conflict} · jobs {o.jobs} · {clean}{copy}"
        )

    def on_mount(self) -> None:
        order = self.query_one(OrderTable)
        order.border_title = "Load order (parents first)"
        order.show(self.plan)
        notes = self.query_one("#notes-box")
        count = len(self.plan.warnings)
        notes.border_title = f"Warnings ({count})" if count else "Warnings"
        self.query_one(NotesView).show(self.plan)
        self.show_mapping(self.plan.tables[0].table if self.plan.tables else None)
        order.focus()

    @on(DataTable.RowHighlighted, "#order")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_mapping(event.row_key.value)

    def show_mapping(self, name: str | None) -> None:
        table = self.plan.table(name) if name else None
        self.query_one("#mapping-box").border_title = f"Keys of {name}" if name else "Keys"
        self.query_one(MappingView).show(table)

    def action_start(self) -> None:
        if not self.options.clean:
            self.start()
            return
        names = [t.table for t in self.plan.tables]
        self.app.push_screen(
            ConfirmCleanScreen(self.plan.schema.name, names, redact_dsn(self.options.dsn),
                               self.plan.clean_copy.describe() if self.plan.clean_copy else ""),
            self.confirmed,
        )

    def confirmed(self, yes: bool | None) -> None:
        if yes:
            self.start()
        else:
            self.notify("not confirmed: nothing was emptied or loaded", severity="warning")

    def start(self) -> None:
        self.app.start_restore(self.options, self.plan)
