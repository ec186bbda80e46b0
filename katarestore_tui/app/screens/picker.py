"""Screen 1: choose a backup and the restore options, then ask for the plan."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Header, Input, Static
from textual.worker import Worker, get_current_worker

from katarestore_tui.app.messages import BackupsFound, PlanReady, PlanRefused, RecordsEstimated
from katarestore_tui.app.preferences import Preferences
from katarestore_tui.app.record_estimate import estimate_backup
from katarestore_tui.app.screens.base import KataScreen
from katarestore_tui.app.widgets.footer import KeyFooter
from katarestore_tui.app.widgets.picker.backup_table import BackupTable
from katarestore_tui.app.widgets.picker.file_preview import FilePreview
from katarestore_tui.app.widgets.picker.options_form import OptionsForm
from katarestore_tui.backup.catalog import Backup, BackupError, find_backups
from katarestore_tui.engine import RestoreOptions, prepare
from katarestore_tui.errors import ConfigError, FatalError


class PickerScreen(KataScreen):
    HELP_SECTION = "Backups"  # help (?) opens on this screen's keys
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "plan", "Plan"),
        Binding("h", "app.history", "History"),
        Binding("b", "app.benchmark", "Benchmark"),
        Binding("r", "refresh", "Refresh", show=False),
        Binding("q", "app.quit", "Quit", show=False),  # the first screen: q leaves, as in k9s
    ]

    def __init__(self) -> None:
        super().__init__()
        self.backups: list[Backup] = []
        self.estimates: dict[str, dict[str, tuple[int, bool]]] = {}
        self.selected: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="target", classes="target-bar")
        yield BackupTable(id="backups")
        with Horizontal(id="picker-bottom"):
            yield FilePreview(id="files")
            yield OptionsForm(self.app.prefs, id="options")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.selected = self.app.initial_backup
        self.query_one("#backups").border_title = f"Backups in {self.app.backup_root}"
        self.query_one("#options").border_title = "Restore options"
        self.watch(self.app, "target_label", self.show_target)
        self.action_refresh()

    def show_target(self, label: str) -> None:
        self.query_one("#target", Static).update(label)

    # ------------------------------------------------------------ backups and estimates

    def action_refresh(self) -> None:
        self.query_one(BackupTable).loading = True
        self.find()

    @work(thread=True, exclusive=True, exit_on_error=False, group="backups")
    def find(self) -> None:
        try:
            self.post_message(BackupsFound(find_backups(self.app.backup_root)))
        except BackupError as exc:
            self.post_message(BackupsFound([], str(exc)))

    @on(BackupsFound)
    def found(self, message: BackupsFound) -> None:
        table = self.query_one(BackupTable)
        table.loading = False
        self.backups = message.backups
        self.selected = self.match(self.selected)
        if message.error:
            self.notify(message.error, title="No backups", severity="error", timeout=12)
        elif not self.backups:
            self.notify(f"no backup folders with .json files under {self.app.backup_root}",
                        title="No backups", severity="warning", timeout=12)
        table.show(self.backups, self.app.now(), self.estimates, self.selected)
        table.focus()
        self.preview()
        wanted = sorted(self.backups, key=lambda b: str(b.path) != self.selected)
        self.estimate([b for b in wanted if str(b.path) not in self.estimates])

    @work(thread=True, exclusive=True, exit_on_error=False, group="estimate")
    def estimate(self, backups: list[Backup]) -> None:
        worker = get_current_worker()
        for backup in backups:
            if worker.is_cancelled:
                return
            self.post_message(RecordsEstimated(str(backup.path), estimate_backup(backup)))

    @on(RecordsEstimated)
    def estimated(self, message: RecordsEstimated) -> None:
        self.estimates[message.backup] = message.files
        self.query_one(BackupTable).set_records(message.backup, message.files)
        if message.backup == self.selected:
            self.preview()

    @on(DataTable.RowHighlighted, "#backups")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.selected = event.row_key.value
        self.preview()

    def match(self, wanted: str | None) -> str | None:
        """The key of the backup named by path or folder name (the demo passes a path)."""
        if not wanted:
            return None
        wanted_path = Path(wanted).expanduser().resolve()
        for backup in self.backups:
            if wanted in (str(backup.path), backup.name) or backup.path.resolve() == wanted_path:
                return str(backup.path)
        return None

    def current(self) -> Backup | None:
        return next((b for b in self.backups if str(b.path) == self.selected), None)

    def preview(self) -> None:
        backup = self.current()
        self.query_one(FilePreview).show(backup, self.estimates.get(self.selected or ""))

    # ------------------------------------------------------------ plan

    @on(DataTable.RowSelected, "#backups")
    def row_selected(self) -> None:
        self.action_plan()

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.action_plan()

    def forget_clean(self) -> None:
        """A restore started: "Clean first" is a choice for that one only."""
        self.query_one(OptionsForm).forget_clean()

    def action_plan(self) -> None:
        form = self.query_one(OptionsForm)
        problems = form.problems()
        if problems:
            field, reason = problems[0]
            form.refresh_reason()
            field.focus()
            self.notify(reason, title="Not planned", severity="error")
            return
        backup = self.current()
        if backup is None:
            self.notify("choose a backup first", severity="warning")
            return
        if not self.app.dsn:
            self.notify(self.app.target_label, title="No target database yet", severity="warning")
            return
        chosen = form.chosen()
        assert chosen is not None
        self.app.remember(Preferences(chosen.batch_size, chosen.on_conflict, chosen.jobs,
                                      chosen.tables, self.app.theme))  # never clean: see there
        options = RestoreOptions(backup=str(backup.path), dsn=self.app.dsn, schema=self.app.schema,
                                 batch_size=chosen.batch_size, jobs=chosen.jobs,
                                 on_conflict=chosen.on_conflict, clean=chosen.clean,
                                 tables=chosen.tables)
        self.query_one("#picker-bottom").loading = True
        self.make_plan(options)

    @work(thread=True, exclusive=True, exit_on_error=False, group="plan")
    def make_plan(self, options: RestoreOptions) -> None:
        try:
            conn, plan = prepare(options, self.app.backup_root)
        except (ConfigError, FatalError) as exc:
            self.post_message(PlanRefused(str(exc)))
            return
        conn.close()
        self.post_message(PlanReady(options, plan))

    @on(PlanRefused)
    def refused(self, message: PlanRefused) -> None:
        self.query_one("#picker-bottom").loading = False
        self.notify(message.reason, title="Cannot plan this restore", severity="error", timeout=15)

    @on(PlanReady)
    def planned(self, message: PlanReady) -> None:
        from katarestore_tui.app.screens.plan import PlanScreen

        self.query_one("#picker-bottom").loading = False
        self.app.push_screen(PlanScreen(message.options, message.plan))

    def worker_failed(self, worker: Worker) -> None:
        self.query_one("#picker-bottom").loading = False
        self.query_one(BackupTable).loading = False
