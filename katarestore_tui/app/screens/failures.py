"""Screen 4: a run's quarantined records, filterable, each shown whole with its error.

A quarantine may hold more records than a screen should keep: the counts (by table and
by error), the filter and the export read every file, streamed, in a thread; the list
shows one page of the matches at a time (n / b page on).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.markup import escape
from textual.widgets import DataTable, Header, Input, Label, Select, Static
from textual.worker import get_current_worker

from katarestore_tui.app import format as fmt
from katarestore_tui.app.messages import QuarantineCounted, QuarantinePage, RetryDone
from katarestore_tui.app.screens.base import KataScreen
from katarestore_tui.app.screens.modals import ExportScreen
from katarestore_tui.app.widgets.failures.failure_table import FailureTable
from katarestore_tui.app.widgets.failures.record_detail import ErrorView, RecordView
from katarestore_tui.app.widgets.footer import KeyFooter
from katarestore_tui.engine import (
    QuarantineCounts,
    QuarantineFilter,
    count_quarantine,
    export_quarantine,
    quarantine_dir,
    quarantine_page,
    retry_run,
)
from katarestore_tui.history.runlog import RunLog
from katarestore_tui.history.runs import RunNotFound

PAGE = 500  # records listed at once (a DataTable slows with very many rows)
TOP_ERRORS = 3  # error groups named in the headline


class FailuresScreen(KataScreen):
    HELP_SECTION = "Failed records"  # help (?) opens on this screen's keys
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "mark", "Mark"),
        Binding("r", "retry", "Retry table"),
        Binding("e", "export", "Export"),
        Binding("slash", "filter", "Filter"),
        Binding("n", "page(1)", "Next page"),
        Binding("b", "page(-1)", "Prev page"),
        Binding("y", "copy_record", "Copy", show=False),
        Binding("Y", "copy_error", "Copy error", show=False),
        Binding("escape,q", "back", "Back", key_display="esc"),
    ]

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.run: RunLog | None = None
        self.entries: dict[int, dict[str, Any]] = {}  # the page listed, by number in the quarantine
        self.total = 0  # every entry of the quarantine
        self.matched = 0  # every entry the filter matches
        self.start = 0  # the first listed match's place among the matches
        self.counts = QuarantineCounts()
        self.positions: list[int] = []  # numbers listed, in order
        self.marked: dict[int, dict[str, Any]] = {}  # kept across pages and filters
        self.current: int | None = None
        self.first_page = True

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
        """Count the whole quarantine (streamed), then list the first page."""
        self.post_message(QuarantineCounted(count_quarantine(self.run_id)))

    @on(QuarantineCounted)
    def counted(self, message: QuarantineCounted) -> None:
        try:
            self.run = RunLog.load(self.run_id)
        except (RunNotFound, OSError, ValueError, TypeError, KeyError):
            self.run = None
        self.counts, self.total = message.counts, message.counts.total
        self.marked.clear()
        tables = sorted(self.counts.tables)
        select = self.query_one("#table-filter", Select)
        keep = select.value if select.value in tables else Select.NULL
        with self.prevent(Select.Changed):
            select.set_options([(t, t) for t in tables])
            select.value = keep
        self.fetch(self.where(), 0)

    def where(self) -> QuarantineFilter:
        value = self.query_one("#table-filter", Select).value
        return QuarantineFilter(value if isinstance(value, str) else None,
                                self.query_one("#error-filter", Input).value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="page")
    def fetch(self, where: QuarantineFilter, start: int) -> None:
        """Read every file for the matches; keep one page. A newer filter cancels this."""
        worker = get_current_worker()
        page, matched = quarantine_page(self.run_id, where, start, PAGE,
                                        stop=lambda: worker.is_cancelled)
        if not worker.is_cancelled:
            self.post_message(QuarantinePage(page, matched, start))

    @on(QuarantinePage)
    def paged(self, message: QuarantinePage) -> None:
        self.entries, self.matched, self.start = message.entries, message.matched, message.start
        self.positions = list(message.entries)
        table = self.query_one(FailureTable)
        table.loading = False
        table.show(self.entries, self.positions, self.marked)
        self.current = self.positions[0] if self.positions else None
        self.show_current()
        self.show_head()
        if self.first_page:
            self.first_page = False
            table.focus()

    @on(Select.Changed, "#table-filter")
    @on(Input.Changed, "#error-filter")
    def filter_changed(self) -> None:
        self.fetch(self.where(), 0)

    def action_page(self, step: int) -> None:
        start = self.start + step * PAGE
        if 0 <= start < self.matched:
            self.fetch(self.where(), start)

    def show_head(self) -> None:
        listed = len(self.positions)
        # the run's id is in the quarantine's path below: this line stays within 80 columns
        parts = [f"{fmt.count(self.total)} failed {fmt.noun(self.total, 'record')}",
                 f"{fmt.count(self.matched)} match"]
        if self.matched > listed:
            parts.append(f"{self.start + 1:,}–{self.start + listed:,} shown (n/b: pages)")
        if self.marked:
            parts.append(f"{len(self.marked):,} marked")
        groups = [f"{escape(code)} {escape(table)} {count:,}"
                  for (table, code), count in self.counts.top_errors(TOP_ERRORS)]
        more = len(self.counts.errors) - len(groups)
        by_error = "[dim]By error[/] " + " · ".join(groups) + (f" · {more} more" if more > 0 else "")
        where = escape(fmt.short_path(quarantine_dir(self.run_id)))
        self.query_one("#failure-head", Static).update(
            " · ".join(parts) + (f"\n{by_error}" if groups else "") + f"\n[dim]Quarantine[/] {where}")

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
            del self.marked[position]
        else:
            self.marked[position] = self.entries[position]
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
        chosen = list(self.marked.values()) or (
            [self.entries[self.current]] if self.current is not None else [])
        tables = sorted({e.get("table", "") for e in chosen})
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
        """The marked records, else every record the filter matches (all pages)."""
        count = len(self.marked) or self.matched
        if not count:
            self.notify("nothing to export", severity="warning")
            return
        value = self.query_one("#table-filter", Select).value
        suffix = f"-{value}" if isinstance(value, str) else ""
        default = str(Path.cwd() / f"failed-{self.run_id}{suffix}.jsonl")
        where, numbers = self.where(), set(self.marked) if self.marked else None

        def chosen(path: str | None) -> None:
            self.export(where, numbers, path)

        self.app.push_screen(ExportScreen(count, default), chosen)

    @work(thread=True, exit_on_error=False, group="export")
    def export(self, where: QuarantineFilter, numbers: set[int] | None, path: str | None) -> None:
        if not path:
            return
        target = Path(path).expanduser()
        try:
            written = export_quarantine(self.run_id, where, target, numbers)
        except OSError as exc:
            self.app.call_from_thread(self.notify, f"cannot write {target}: {exc.strerror}",
                                      severity="error", timeout=12)
            return
        self.app.call_from_thread(self.notify, f"wrote {fmt.plural(written, 'record')} to "
                                  f"{target}", title="Exported")

    def worker_failed(self, worker) -> None:
        self.query_one(FailureTable).loading = False
