"""Screen 4: a run's quarantined records, filterable, each shown whole with its error."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.markup import escape
from textual.widgets import DataTable, Header, Input, Label, Select, Static

from katarestore_tui.app import format as fmt
from katarestore_tui.app.messages import QuarantineLoaded, RetryDone
from katarestore_tui.app.screens.base import KataScreen
from katarestore_tui.app.screens.modals import ExportScreen
from katarestore_tui.app.widgets.failures.failure_table import MAX_ROWS, FailureTable
from katarestore_tui.app.widgets.failures.record_detail import ErrorView, RecordView
from katarestore_tui.app.widgets.footer import KeyFooter
from katarestore_tui.engine import quarantine_dir, read_quarantine, retry_run
from katarestore_tui.history.runlog import RunLog
from katarestore_tui.history.runs import RunNotFound
from katarestore_tui.jsontext import dumps_exact

MAX_ENTRIES = 50_000  # kept in memory; the files on disk hold them all


class FailuresScreen(KataScreen):
    HELP_SECTION = "Failed records"  # help (?) opens on this screen's keys
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "mark", "Mark"),
        Binding("r", "retry", "Retry table"),
        Binding("e", "export", "Export"),
        Binding("slash", "filter", "Filter"),
        Binding("y", "copy_record", "Copy", show=False),
        Binding("Y", "copy_error", "Copy error", show=False),
        Binding("escape,q", "back", "Back", key_display="esc"),
    ]

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.run: RunLog | None = None
        self.entries: list[dict] = []
        self.total = 0
        self.positions: list[int] = []
        self.marked: set[int] = set()
        self.current: int | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="failure-filters"):
            yield Label("Table", classes="form-label-short")
            yield Select([], prompt="all tables", id="table-filter", compact=True)
            yield Label("Error", classes="form-label-short")
            yield Input(placeholder="message, detail, column or SQLSTATE",
                        id="error-filter", compact=True)
        yield Static(id="failure-head", classes="headline")
        with Horizontal(id="failure-body"):
            yield FailureTable(id="failure-list")
            with Vertical(id="failure-detail"):
                with VerticalScroll(id="record-box"):
                    yield RecordView(id="record")
                with VerticalScroll(id="error-box"):
                    yield ErrorView(id="error")
        yield KeyFooter()

    def on_resize(self) -> None:
        self.set_class(self.size.width < 140, "-narrow")

    def on_mount(self) -> None:
        self.query_one("#failure-list").border_title = "Failed records"
        self.query_one("#record-box").border_title = "Record"
        self.query_one("#error-box").border_title = "Error"
        self.query_one(FailureTable).loading = True
        self.watch(self.app, "theme", lambda _theme: self.show_current())
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="quarantine")
    def load(self) -> None:
        entries: list[dict[str, Any]] = []
        total = 0
        for entry in read_quarantine(self.run_id):
            total += 1
            if len(entries) < MAX_ENTRIES:
                entries.append(entry)
        self.post_message(QuarantineLoaded(entries, total))

    @on(QuarantineLoaded)
    def loaded(self, message: QuarantineLoaded) -> None:
        try:
            self.run = RunLog.load(self.run_id)
        except (RunNotFound, OSError, ValueError, TypeError, KeyError):
            self.run = None
        self.entries, self.total = message.entries, message.total
        self.marked.clear()
        tables = sorted({e.get("table", "") for e in self.entries})
        select = self.query_one("#table-filter", Select)
        keep = select.value if select.value in tables else Select.NULL
        select.set_options([(t, t) for t in tables])
        select.value = keep
        table = self.query_one(FailureTable)
        table.loading = False
        self.apply_filter()
        table.focus()

    @on(Select.Changed, "#table-filter")
    @on(Input.Changed, "#error-filter")
    def filter_changed(self) -> None:
        self.apply_filter()

    def apply_filter(self) -> None:
        value = self.query_one("#table-filter", Select).value
        table = value if isinstance(value, str) else None
        needle = self.query_one("#error-filter", Input).value.strip().lower()
        fields = ("message", "detail", "column", "sqlstate")
        self.positions = [
            i for i, e in enumerate(self.entries)
            if (table is None or e.get("table") == table)
            and (not needle or any(needle in str(e.get(f) or "").lower() for f in fields))
        ]
        self.query_one(FailureTable).show(self.entries, self.positions, self.marked)
        self.current = self.positions[0] if self.positions else None
        self.show_current()
        self.show_head()

    def show_head(self) -> None:
        shown = len(self.positions)
        parts = [f"Run {self.run_id}", f"{fmt.count(self.total)} failed {fmt.noun(self.total, 'record')}",
                 f"{fmt.count(shown)} shown"]
        if shown > MAX_ROWS:
            parts.append(f"first {MAX_ROWS:,} listed: filter to narrow")
        if self.total > len(self.entries):
            parts.append(f"first {MAX_ENTRIES:,} read")
        if self.marked:
            parts.append(f"{len(self.marked):,} marked")
        where = escape(fmt.short_path(quarantine_dir(self.run_id)))
        self.query_one("#failure-head", Static).update(" · ".join(parts) + f"\n[dim]Quarantine[/] {where}")

    @on(DataTable.RowHighlighted, "#failure-list")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.current = int(event.row_key.value) if event.row_key.value is not None else None
        self.show_current()

    def show_current(self) -> None:
        entry = self.entries[self.current] if self.current is not None and self.entries else None
        box = self.query_one("#record-box")
        if entry is None:
            box.border_title = "Record"
        else:
            index = entry.get("index")
            box.border_title = f"Record {entry.get('table')} #{'–' if index is None else index}"
        self.query_one(RecordView).show(entry, self.app.current_theme.dark)
        self.query_one(ErrorView).show(entry)

    # ------------------------------------------------------------ actions

    def selection(self) -> list[int]:
        """Marked records, else every record that matches the filters."""
        return sorted(self.marked) if self.marked else list(self.positions)

    def action_copy_record(self) -> None:
        """y: the record as shown, to the terminal's clipboard (OSC 52: works over SSH and tmux)."""
        self.copy(self.query_one(RecordView).text, "record")

    def action_copy_error(self) -> None:
        """Y: the error, one `Label: value` line each, as shown."""
        lines = self.query_one(ErrorView).lines
        self.copy("\n".join(f"{label}: {value}" for label, value in lines), "error")

    def copy(self, text: str, what: str) -> None:
        if not text or self.current is None:
            self.notify("no record selected", severity="warning")
            return
        self.app.copy_to_clipboard(text)
        self.notify(f"{what} copied to the clipboard ({len(text):,} characters; through the "
                    "terminal, OSC 52: tmux needs set-clipboard on)", timeout=4)

    def action_mark(self) -> None:
        if self.current is None:
            return
        position = self.current
        if position in self.marked:
            self.marked.discard(position)
        else:
            self.marked.add(position)
        table = self.query_one(FailureTable)
        table.set_mark(position, position in self.marked)
        table.action_cursor_down()
        self.show_head()

    def action_filter(self) -> None:
        self.query_one("#error-filter", Input).focus()

    def action_back(self) -> None:
        if self.focused is self.query_one("#error-filter", Input):
            self.query_one(FailureTable).focus()
        else:
            self.app.pop_screen()

    def action_retry(self) -> None:
        positions = sorted(self.marked) or ([self.current] if self.current is not None else [])
        tables = sorted({self.entries[p].get("table", "") for p in positions})
        if not tables:
            self.notify("no record selected", severity="warning")
            return
        problem = self.app.target_problem(self.run)
        dsn = self.app.dsn
        if problem or dsn is None:  # target_problem names a missing DSN
            self.notify(problem or "no target database", title="Not retried", severity="error",
                        timeout=15)
            return
        self.notify(f"retrying every quarantined record of {', '.join(tables)} "
                    "(the engine retries whole tables)")
        self.query_one(FailureTable).loading = True
        self.retry(tables, dsn)

    @work(thread=True, exclusive=True, exit_on_error=False, group="retry")
    def retry(self, tables: list[str], dsn: str) -> None:
        for table in tables:
            self.post_message(RetryDone(retry_run(self.run_id, dsn, table)))

    @on(RetryDone)
    def retried(self, message: RetryDone) -> None:
        result = message.result
        if result.error:
            self.notify(result.error, title="Retry failed", severity="error", timeout=15)
        for name, counts in result.tables.items():
            self.notify(f"{name}: retried {counts['retried']:,}: {counts['loaded']:,} loaded, "
                        f"{fmt.plural(counts['duplicates'], 'duplicate')}, "
                        f"{counts['still_failed']:,} still failing",
                        severity="warning" if counts["still_failed"] else "information", timeout=10)
        self.load()

    def action_export(self) -> None:
        chosen = self.selection()
        if not chosen:
            self.notify("nothing to export", severity="warning")
            return
        value = self.query_one("#table-filter", Select).value
        suffix = f"-{value}" if isinstance(value, str) else ""
        default = str(Path.cwd() / f"failed-{self.run_id}{suffix}.jsonl")
        self.app.push_screen(ExportScreen(len(chosen), default),
                             lambda path: self.export(chosen, path))

    def export(self, positions: list[int], path: str | None) -> None:
        if not path:
            return
        target = Path(path).expanduser()
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.writelines(dumps_exact(self.entries[p]) + "\n" for p in positions)
        except OSError as exc:
            self.notify(f"cannot write {target}: {exc.strerror}", severity="error", timeout=12)
            return
        self.notify(f"wrote {fmt.plural(len(positions), 'record')} to {target}", title="Exported")

    def worker_failed(self, worker) -> None:
        self.query_one(FailureTable).loading = False
