"""The keys of every screen and the way through a restore, one key away (? or F1)."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

INTRO = (
    "Restore a PostgreSQL database from a folder of per-table JSON files: "
    "Backups → Plan (a dry run, nothing written) → Restore → Failed records. "
    "Every record ends loaded, duplicate (its key was already there) or failed; "
    "a failed record is kept whole in the run's quarantine, with the database's error."
)
KEYS = (
    ("Everywhere", (
        ("? F1", "this help"),
        ("ctrl+p", "command palette: every action by name"),
        ("ctrl+t", "dark / light theme"),
        ("ctrl+e", "errors of this session (they stay after their toast)"),
        ("ctrl+q", "quit (a running restore stops now, resumable)"),
        ("q esc", "back (on the backups: quit)"),
        ("j k", "down / up in a list (as ↓ ↑)"),
        ("g G", "first / last row of a list"),
    )),
    ("Backups", (
        ("↑ ↓", "choose a backup; its table files show below"),
        ("tab", "the options: batch size, on conflict, jobs, tables, clean first"),
        ("p enter", "plan the restore"),
        ("h b r", "history · benchmark · look for backups again"),
    )),
    ("Plan", (
        ("s", "start the restore (clean first asks you to type the schema name)"),
        ("esc", "back to the backups"),
    )),
    ("Restore", (
        ("c esc q", "stop now: the batch in flight rolls back (asks first; resumable)"),
        ("esc q", "once the run is over: back"),
        ("f", "failed records of this run"),
        ("l", "switch between the log and the summary"),
        ("v", "verify the finished run: the backup read again, compared row by row"),
        ("c s x", "a table whose records keep failing asks: go on, skip the table, stop the run"),
    )),
    ("Failed records", (
        ("space", "mark a record; retry and export use the marked ones"),
        ("/", "filter by error text (the table filter is beside it)"),
        ("r", "load the selected tables' failed records again, once the cause is fixed"),
        ("n b", "next / previous page of the matching records"),
        ("e", "export the marked records (else every match, all pages) as JSON lines"),
        ("y Y", "copy the record / its error to the clipboard (OSC 52, also over SSH)"),
    )),
    ("History", (
        ("enter f", "failed records of the highlighted run"),
        ("r", "resume a stopped run (↻): no record is loaded twice (never one loading now)"),
        ("v", "verify the highlighted run: verdict and differences per table"),
        ("/", "filter by run id, status, backup or target (esc clears)"),
        ("^r F5", "read the run logs again"),
    )),
    ("Benchmark", (
        ("r", "run the chosen strategies (legacy, batched, copy) in throw-away schemas"),
        ("c", "cancel the benchmark run"),
        ("m", "mark the highlighted past run (A, B): two marked runs are compared side by side"),
    )),
    ("Verify", (
        ("↑ ↓", "a table's differences: key, record index and differing columns"),
        ("esc", "back (a verify in progress stops; nothing was written)"),
    )),
)
OUTRO = ("Over SSH, run long restores inside tmux or screen: a lost terminal cancels the run "
         "(it stays resumable). Headless: katarestore restore --help.")


def help_text(first: str | None = None) -> Group:
    """Every screen's keys; `first` (the screen help was opened on) comes first, marked."""
    parts: list = [Text(INTRO), Text("")]
    ordered = sorted(KEYS, key=lambda item: item[0] != first)  # stable: the rest keep their order
    for section, keys in ordered:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(width=9, style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        for key, does in keys:
            grid.add_row(key, does)
        title = f"{section} (this screen)" if section == first else section
        parts += [Text(title, style="bold underline"), grid, Text("")]
    parts.append(Text(OUTRO, style="italic"))
    return Group(*parts)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark,f1", "close", "Close")]

    def __init__(self, screen_section: str | None = None) -> None:
        super().__init__()
        self.screen_section = screen_section

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = f"Help · {self.screen_section}" if self.screen_section else "Help"
            box.border_subtitle = "esc to close"
            yield Static(help_text(self.screen_section), id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)
