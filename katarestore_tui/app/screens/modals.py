"""Questions that must be answered before something irreversible happens."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from katarestore_tui.app.format import plural
from katarestore_tui.engine import ErrorRun


class ConfirmScreen(ModalScreen[bool]):
    """Yes or no; Escape is no."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, title: str, question: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__(classes="dialog-screen")
        self.title_text, self.question, self.yes, self.no = title, question, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = self.title_text
            yield Static(self.question, classes="dialog-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", variant="error", id="yes")
                yield Button(f"{self.no} (n)", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class ConfirmCleanScreen(ModalScreen[bool]):
    """Clean-first empties tables: the operator types the schema name to go on."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, schema: str, tables: list[str], target: str, copy_note: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self.schema, self.tables, self.target = schema, tables, target
        self.copy_note = copy_note  # where the copy of what is removed goes, and its size

    def compose(self) -> ComposeResult:
        shown = ", ".join(self.tables[:12]) + (f" and {len(self.tables) - 12} more"
                                               if len(self.tables) > 12 else "")
        with Vertical(classes="dialog") as box:
            box.border_title = "Empty tables before loading?"
            yield Static(
                f"Clean first will [b]EMPTY {plural(len(self.tables), 'table')}[/b] of schema "
                f"[b]{self.schema}[/b] on {self.target} before loading:\n{shown}"
                + (f"\n\n{escape(self.copy_note)}" if self.copy_note else ""),
                classes="dialog-text",
                markup=True,
            )
            yield Label(f"Type the schema name ({self.schema}) to confirm:")
            yield Input(placeholder="schema name", id="schema-name", compact=True)
            yield Label("", id="clean-reason", classes="reason")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Empty and restore", variant="error", id="yes", disabled=True)
                yield Button("Cancel (esc)", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Changed)
    def typed(self, event: Input.Changed) -> None:
        matches = event.value.strip() == self.schema
        self.query_one("#yes", Button).disabled = not matches
        self.query_one("#clean-reason", Label).update("")

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() == self.schema:
            self.dismiss(True)
        else:
            self.query_one("#clean-reason", Label).update(
                f"{event.value.strip()!r} is not {self.schema!r}: nothing will be emptied"
            )

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_cancel(self) -> None:
        self.dismiss(False)


class ExportScreen(ModalScreen[str | None]):
    """Ask where to write exported records; returns the path or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, count: int, default_path: str) -> None:
        super().__init__(classes="dialog-screen")
        self.count, self.default_path = count, default_path

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = "Export failed records"
            yield Static(
                f"Write {plural(self.count, 'record')} (with their errors) as JSON lines to:",
                classes="dialog-text",
            )
            yield Input(self.default_path, id="export-path", compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export", variant="primary", id="yes")
                yield Button("Cancel (esc)", id="no")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(self.query_one(Input).value.strip() or None if event.button.id == "yes" else None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TooManyErrorsScreen(ModalScreen[str]):
    """A table's records keep failing with one error: go on, skip the table, or stop.

    The load waits for the answer with nothing in flight (the batch rolled back);
    Escape skips the table, as the CLI does.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "answer('continue')", "Go on"),
        Binding("s,escape", "answer('skip')", "Skip table"),
        Binding("x", "answer('stop')", "Stop run"),
    ]
    AUTO_FOCUS = "#skip"  # (not on_mount: a key may answer before the dialog is mounted)

    def __init__(self, run: ErrorRun) -> None:
        super().__init__(classes="dialog-screen")
        self.run = run

    def compose(self) -> ComposeResult:
        run = self.run
        why = (f"more than {plural(run.limit, 'record')} failed (--max-errors {run.limit})"
               if run.limit is not None else f"its first {plural(run.failed, 'record')} all failed")
        where = "" if run.example_index is None else f" #{run.example_index}"
        with Vertical(classes="dialog") as box:
            box.border_title = f"{run.table}: records keep failing"
            yield Static(
                f"[b]{escape(run.table)}[/b] stopped: {why}.\n"
                f"[b]{escape(run.sqlstate or 'refused before loading')}[/b] "
                f"{escape(run.message)}\nExample record{where}: {escape(run.example_text)}\n\n"
                "The batch in flight was rolled back; committed rows stay and the table "
                "is resumable once the cause is fixed.",
                classes="dialog-text", markup=True,
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Go on (c)", id="continue")
                yield Button("Skip table (s)", variant="primary", id="skip")
                yield Button("Stop run (x)", variant="error", id="stop")

    def action_answer(self, value: str) -> None:
        self.dismiss(value)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "skip")
