"""The errors of this session, newest last: what the toasts said, once they are gone."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Static

from katarestore_tui.app.errors_seen import SeenError

NONE_YET = "No errors so far in this session."


class ErrorsScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,ctrl+e", "close", "Close")]

    def __init__(self, errors: list[SeenError]) -> None:
        super().__init__()
        self.errors = list(errors)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="errors-box") as box:
            box.border_title = f"Errors · {len(self.errors)}"
            box.border_subtitle = "esc to close"
            text = "\n".join(f"[$text-error]•[/] {escape(e.line())}" for e in self.errors)
            yield Static(text or NONE_YET, id="errors-text")

    def on_mount(self) -> None:
        self.query_one("#errors-box", VerticalScroll).scroll_end(animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
