"""Back up the target into the backup root (`katarestore backup` in the TUI), table by table.

The export runs in a thread worker; its progress callback only stores the latest counts
per table under a lock, and a 4-per-second timer draws them, so the worker never waits
for the screen. Escape or `c` stops it: the half-written folder is removed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.markup import escape
from textual.message import Message
from textual.widgets import DataTable, Header, Static
from textual.worker import Worker

from katarestore_tui.app import format as fmt
from katarestore_tui.app.screens.base import KataScreen
from katarestore_tui.app.widgets.footer import KeyFooter
from katarestore_tui.engine import ExportProgress, ExportResult, run_backup
from katarestore_tui.redact import redact_dsn, redact_text

COLUMNS = ("table", "rows", "of about", "written", "state")


@dataclass
class BackupDone(Message):
    result: ExportResult | None
    error: str | None = None


class BackupScreen(KataScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "stop", "Stop"),
        Binding("escape", "back", "Back"),
    ]
    DEFAULT_CSS = """
    BackupScreen #backup-tables { height: 1fr; }
    BackupScreen #backup-result { height: auto; padding: 0 1; }
    """

    def __init__(self, dsn: str, root: Path, schema: str = "public", autostart: bool = True) -> None:
        super().__init__()
        self.dsn, self.root, self.schema = dsn, root, schema
        self.autostart = autostart
        self.cancel = threading.Event()
        self.done = threading.Event()
        self.latest: dict[str, ExportProgress] = {}
        self._lock = threading.Lock()
        self.result: ExportResult | None = None
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"Back up [b]{escape(self.schema)}[/b] of {escape(redact_dsn(self.dsn))} "
                     f"into {escape(str(self.root))}/YYYYMMDD_HHMMSS, from one snapshot",
                     classes="headline")
        yield DataTable(id="backup-tables", cursor_type="row", zebra_stripes=True)
        yield Static("", id="backup-result")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.border_title = "Tables"
        for name in COLUMNS:
            table.add_column(name, key=name)
        self.set_interval(0.25, self.redraw)
        if self.autostart:
            self.start()

    def start(self) -> None:
        self.app.track_run(self.cancel, self.done)  # a quit or a hang-up stops it too
        self.query_one("#backup-result", Static).update("writing…")
        self.export()

    @work(thread=True, exclusive=True, exit_on_error=False, group="backup")
    def export(self) -> None:
        try:
            result = run_backup(self.dsn, self.root, self.schema, progress=self.progress,
                                cancel=self.cancel)
            self.post_message(BackupDone(result))
        except Exception as exc:  # every failure is shown; the half-written folder is gone
            text = "stopped" if self.cancel.is_set() else redact_text(str(exc) or type(exc).__name__)
            self.post_message(BackupDone(None, text))
        finally:
            self.done.set()

    def progress(self, event: ExportProgress) -> None:  # the worker thread: store only
        with self._lock:
            self.latest[event.table] = event

    def redraw(self) -> None:
        with self._lock:
            latest = dict(self.latest)
        table = self.query_one(DataTable)
        for name, event in latest.items():
            cells = (name, fmt.count(event.records), fmt.count(event.estimate) if event.estimate else "",
                     fmt.size(event.bytes), "done" if event.done else "writing")
            if name in table.rows:
                for column, value in zip(COLUMNS[1:], cells[1:], strict=True):
                    table.update_cell(name, column, value)
            else:
                table.add_row(*cells, key=name)

    @on(BackupDone)
    def finished(self, message: BackupDone) -> None:
        self.redraw()
        self.result, self.error = message.result, message.error
        box = self.query_one("#backup-result", Static)
        if message.result is not None:
            r = message.result
            box.update(f"[b]written[/b] {escape(str(r.folder))}: {fmt.plural(len(r.tables), 'table')}, "
                       f"{fmt.plural(r.records, 'row')}, {fmt.size(r.bytes)}")
            self.notify(f"backup written: {r.folder.name}", title="Backup")
        else:
            box.update(f"[$text-error]no backup was written: {escape(message.error or '?')}[/]")

    def worker_failed(self, worker: Worker) -> None:
        self.done.set()

    def action_stop(self) -> None:
        if not self.done.is_set():
            self.cancel.set()
            self.query_one("#backup-result", Static).update("stopping…")

    def action_back(self) -> None:
        self.action_stop()
        self.app.pop_screen()
