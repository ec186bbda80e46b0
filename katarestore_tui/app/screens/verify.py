"""Verify a run: the backup read again and compared with the target, the verdict per table.

Opened from the restore screen once a run finished (`v`) and from the history (`v` on a
run's row). The engine runs in a thread worker; each table's verdict arrives as a message.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Header, Static
from textual.worker import Worker

from katarestore_tui.app.messages import TableVerified, VerifyDone
from katarestore_tui.app.screens.base import KataScreen
from katarestore_tui.app.widgets.footer import KeyFooter
from katarestore_tui.app.widgets.verify.verdicts import VerdictDetail, VerdictTable
from katarestore_tui.engine import TableVerdict, VerifyOptions, VerifyResult, run_verify
from katarestore_tui.history.runlog import RunLog


def options_for_run(run: RunLog, dsn: str) -> VerifyOptions:
    """Verify what a run restored: its backup, schema and tables, explained by its log."""
    return VerifyOptions(backup=run.backup, dsn=dsn, schema=run.options.get("schema", "public"),
                         run_id=run.run_id, tables=list(run.tables))


class VerifyScreen(KataScreen):
    HELP_SECTION = "Verify"  # help (?) opens on this screen's keys
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", "Back", key_display="esc"),
    ]

    def __init__(self, options: VerifyOptions, backup_root: Path) -> None:
        super().__init__()
        self.options, self.backup_root = options, backup_root
        self.cancel_event = threading.Event()
        self.verdicts: dict[str, TableVerdict] = {}
        self.result: VerifyResult | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="verify-status")
        yield VerdictTable(id="verdicts")
        with VerticalScroll(id="verdict-box"):
            yield VerdictDetail(id="verdict-detail")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#verdicts").border_title = "Verify: per table"
        self.query_one("#verdict-box").border_title = "Differences"
        run = f" (run {self.options.run_id})" if self.options.run_id else ""
        self.say(f"verifying {Path(self.options.backup).name}{run}: reading the backup again…")
        self.verify()

    def say(self, text: str) -> None:
        self.query_one("#verify-status", Static).update(text)

    @work(thread=True, exclusive=True, exit_on_error=False, group="verify")
    def verify(self) -> None:
        def sink(verdict: TableVerdict) -> None:
            self.post_message(TableVerified(verdict))

        result = run_verify(self.options, self.backup_root, sink, self.cancel_event)
        self.post_message(VerifyDone(result))

    @on(TableVerified)
    def table_verified(self, message: TableVerified) -> None:
        verdict = message.verdict
        self.verdicts[verdict.table] = verdict
        table = self.query_one(VerdictTable)
        table.add_verdict(verdict)
        if len(self.verdicts) == 1:
            self.query_one(VerdictDetail).show(verdict)
        self.say(f"verified {len(self.verdicts)} tables…")

    @on(VerifyDone)
    def verify_done(self, message: VerifyDone) -> None:
        self.result = result = message.result
        if result.error:
            self.say(f"verify stopped: {result.error}")
            self.notify(result.error, title="Verify failed", severity="error", timeout=12)
            return
        self.say(f"{result.status}: {result.line()} ({result.seconds:.1f} s)")

    @on(DataTable.RowHighlighted, "#verdicts")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.query_one(VerdictDetail).show(self.verdicts.get(str(event.row_key.value)))

    def action_back(self) -> None:
        self.cancel_event.set()  # stops at the next batch; the temporary tables roll back
        self.app.pop_screen()

    def worker_failed(self, worker: Worker) -> None:
        self.say(f"verify stopped by an unexpected error: {worker.error}")
