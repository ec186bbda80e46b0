"""One restore run from start to summary: the only entry point the UI and CLI call.

Order of work, as pg_restore does it: data first (with per-row FK triggers off when the
role may), then one set-based check per foreign key that moves orphan rows to
quarantine, then sequences. Every record read ends as loaded, duplicate or failed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from katarestore_tui.backup.catalog import Backup, BackupError, resolve_backup
from katarestore_tui.backup.reader import backend_warning
from katarestore_tui.db import load_steps, written
from katarestore_tui.db.schema import Schema, read_schema
from katarestore_tui.engine import checkpoint, indexes
from katarestore_tui.engine.cleancopy import plan_clean_copy, snapshot_before_clean
from katarestore_tui.engine.connect import Link, Session, connect
from katarestore_tui.engine.context import RunContext, TableJob
from katarestore_tui.engine.events import (
    CANCELLED,
    DONE,
    FAILED,
    LOADING,
    PARTIAL,
    SKIPPED,
    EventSink,
    Phase,
    RunFinished,
    RunStarted,
    TableFinished,
    TableStats,
    Warning,
    ignore_events,
)
from katarestore_tui.engine.fkcheck import quarantine_orphans
from katarestore_tui.engine.fkretry import retry_missing_parents
from katarestore_tui.engine.loader import before
from katarestore_tui.engine.locks import (
    ACCESS_EXCLUSIVE,
    LOCK_TIMEOUT_SETTING,
    ROW_EXCLUSIVE,
    LockWaiter,
    StopWatch,
    bound_lock_waits,
    cancelled_by_stop,
)
from katarestore_tui.engine.maxerrors import ErrorRun, MaxErrors, skip_table
from katarestore_tui.engine.options import RestoreOptions
from katarestore_tui.engine.plan import (
    EXISTING_CAP,
    Plan,
    build_plan,
    existing_rows_warning,
    trigger_warning,
)
from katarestore_tui.engine.quarantine import QuarantineWriter, quarantine_dir
from katarestore_tui.engine.resume import check_checkpoint, check_resumable, file_marks
from katarestore_tui.engine.scheduler import run_tables
from katarestore_tui.engine.source import SourceCrashed
from katarestore_tui.engine.split_load import keep_committed
from katarestore_tui.errors import (
    EXIT_FATAL,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    Cancelled,
    ConfigError,
    FatalError,
)
from katarestore_tui.history.live import LiveBeacon
from katarestore_tui.history.runlog import RunLog, TableLog
from katarestore_tui.history.runs import reserve_run_id
from katarestore_tui.locations import run_dir
from katarestore_tui.redact import redact_dsn, redact_text
from katarestore_tui.words import plural, was

SESSION_SETTINGS = (
    # ISO strings without an offset mean UTC, as Prisma writes them, whatever the server's zone
    "SET TimeZone = 'UTC'",
    # a server crash may lose the last batches, but each batch commits together with its
    # checkpoint row, so --resume still knows exactly what is in: no fsync wait per batch
    "SET synchronous_commit = off",
    # a role's or the DSN's timeouts are for the app's queries, not for a restore's COPY (as
    # pg_restore sets them for its sessions)
    "SET statement_timeout = 0",
    "SET idle_in_transaction_session_timeout = 0",
    # no statement queues behind another session's lock for long (retried, see locks.py)
    LOCK_TIMEOUT_SETTING,
)



@dataclass(frozen=True)
class RunKind:
    """What the run log calls a run: a restore, or the `copy` strategy of a benchmark."""

    kind: str = "restore"
    bench_id: str | None = None


@dataclass
class RestoreResult:
    run_id: str | None
    status: str  # completed | partial | cancelled | failed | dry-run
    exit_code: int
    seconds: float
    backup: str
    plan: Plan | None = None
    tables: dict[str, TableStats] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    fk_mode: str = ""
    triggers: str = ""  # on | off: whether the tables' own triggers fired

    @property
    def quarantine(self) -> str | None:
        return str(quarantine_dir(self.run_id)) if self.run_id else None

    def summary(self) -> dict[str, Any]:
        """The `--json` summary DESIGN.md fixes."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "backup": self.backup,
            "seconds": round(self.seconds, 3),
            "tables": {
                name: {k: s.to_dict()[k] for k in ("records", "loaded", "duplicates", "failed",
                                                      "seconds", "state", "error")}
                for name, s in self.tables.items()
            },
            "totals": totals(self.tables),
            "quarantine": self.quarantine if any(s.failed for s in self.tables.values()) else None,
            "fk_mode": self.fk_mode,
            "triggers": self.triggers,
            "warnings": self.warnings,
            "error": self.error,
        }


def totals(tables: dict[str, TableStats]) -> dict[str, int]:
    keys = ("records", "loaded", "duplicates", "failed")
    return {k: sum(getattr(s, k) for s in tables.values()) for k in keys}


def prepare(options: RestoreOptions, backup_root: Path, plan: Plan | None = None
            ) -> tuple[psycopg.Connection, Plan]:
    """Validate, find the backup, connect, read the schema and plan. Raises Config/FatalError.

    `plan`: one `prepare` made before for these options (the preview the operator saw, the
    plan a --clean was confirmed on): it is handed on, not built a second time.
    """
    problems = options.validate()
    if problems:
        raise ConfigError("; ".join(problems))
    if plan is None:
        try:
            backup = resolve_backup(options.backup or None, backup_root)
        except BackupError as exc:
            raise ConfigError(str(exc)) from None
    else:
        backup = plan.backup
    options.backup = str(backup.path.resolve())  # a resume may start from another folder
    previous = check_resumable(options) if options.resume else None
    conn = connect(options.dsn)
    try:
        if previous is not None:
            check_checkpoint(conn, options, previous)
        if plan is None:
            plan = _make_plan(conn, options, backup)
        if options.clean and not options.resume and (refusal := clean_refusal(plan)):
            raise ConfigError(f"{refusal}; nothing was changed")
    except (ConfigError, FatalError, psycopg.Error):
        conn.close()
        raise
    return conn, plan


def _make_plan(conn: psycopg.Connection, options: RestoreOptions, backup: Backup) -> Plan:
    """Read the target's schema and match the backup's files to its tables."""
    schema = read_schema(conn, options.schema)
    if not schema.tables:
        raise FatalError(
            f"schema {options.schema!r} of {redact_dsn(options.dsn)} has no tables: run the "
            "app's migrations first (katarestore fills existing tables, it does not create them)"
        )
    plan = build_plan(backup, schema, options.tables, options.exclude)
    if refusal := plan.conflict_message() or plan.unknown_message():
        raise ConfigError(refusal)
    if not plan.tables:
        raise FatalError(
            f"no file of {backup.path} matches a table of schema {options.schema!r}"
            + (f" ({'; '.join(plan.warnings[:3])})" if plan.warnings else "")
        )
    known = {"on": True, "off": False}.get(options.triggers)
    if known is None and options.fk_mode == "immediate":
        known = True
    if message := trigger_warning(plan, known):  # on the plan: dry runs and the TUI show it
        plan.warnings.append(message)
    if not options.resume:  # a resume's tables hold its own rows: nothing to warn of
        count_existing_rows(conn, plan)
        if message := existing_rows_warning(plan, options.on_conflict, options.clean,
                                            options.snapshot):
            plan.warnings.insert(0, message)  # first: it decides what the run will do
    if options.clean and not options.resume:  # the plan and the confirmation say so, with the size
        counted = {t.table: t.existing_rows for t in plan.tables
                   if t.existing_rows is not None and not t.existing_estimated
                   and t.existing_rows < EXISTING_CAP}  # a count that hit the cap is a floor
        plan.clean_copy = plan_clean_copy(conn, options.schema, [t.table for t in plan.tables],
                                          options.snapshot, options.snapshot_dir, counted)
    return plan


def count_existing_rows(conn: psycopg.Connection, plan: Plan) -> None:
    """Rows each target table holds now, counted up to EXISTING_CAP (a bounded scan).

    Never waits on another session's lock (the plan must not queue behind the app): a table
    locked exclusively gets the statistics' estimate instead."""
    for table in plan.tables:
        name = sql.Identifier(plan.schema.name, table.table)
        query = sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {} LIMIT {}) AS held").format(
            name, sql.Literal(EXISTING_CAP))
        try:
            with conn.transaction():
                conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE NOWAIT").format(name))
                row = conn.execute(query).fetchone()
                table.existing_rows = int(row[0]) if row else None
        except psycopg.errors.LockNotAvailable:
            table.existing_rows, table.existing_estimated = _estimated_rows(conn, name), True
        except psycopg.Error:  # no SELECT privilege: the plan says nothing of it
            table.existing_rows = None


def _estimated_rows(conn: psycopg.Connection, name: sql.Identifier) -> int | None:
    """The statistics' live-row count: no lock taken, possibly a little behind."""
    try:
        row = conn.execute(sql.SQL("SELECT n_live_tup FROM pg_stat_user_tables "
                                   "WHERE relid = {}::regclass").format(
                                       sql.Literal(name.as_string(conn)))).fetchone()
    except psycopg.Error:
        return None
    return int(row[0]) if row else None


def clean_refusal(plan: Plan) -> str | None:
    """Why --clean may not empty the plan's tables (TRUNCATE would fail), or None."""
    outsiders = load_steps.referencing_outsiders(plan.schema, [t.table for t in plan.tables])
    if not outsiders:
        return None
    detail = "; ".join(f"{t} is referenced by {', '.join(r)}" for t, r in outsiders.items())
    return (f"--clean refused: tables outside the backup reference its tables ({detail}). "
            "Add them with --tables or empty them yourself")


def run_restore(
    options: RestoreOptions,
    backup_root: Path,
    sink: EventSink = ignore_events,
    cancel: threading.Event | None = None,
    plan: Plan | None = None,
    kind: RunKind | None = None,
    on_errors: Callable[[ErrorRun], str] | None = None,
) -> RestoreResult:
    """Plan (unless `plan` is handed on from `prepare`) and, unless dry-run, load; never
    raises for the operator's mistakes. `kind`: what the run log calls the run.

    `on_errors`: asked (on a loader thread) when a table's records keep failing; answers
    continue / skip / stop (engine/maxerrors.py). Default: the table stops, the rest go on."""
    cancel = cancel or threading.Event()
    began = time.monotonic()
    try:
        conn, plan = prepare(options, backup_root, plan)
    except ConfigError as exc:
        return RestoreResult(None, "failed", EXIT_USAGE, 0.0, options.backup, error=str(exc))
    except FatalError as exc:
        return RestoreResult(None, "failed", EXIT_FATAL, 0.0, options.backup, error=str(exc))
    warnings = list(plan.warnings)
    if options.dry_run:
        conn.close()
        return RestoreResult(None, "dry-run", EXIT_OK, time.monotonic() - began,
                             options.backup, plan, warnings=warnings)
    run_id = options.resume or reserve_run_id()
    if not checkpoint.lock_run(conn, run_id):
        conn.close()
        return RestoreResult(None, "failed", EXIT_FATAL, 0.0, options.backup, error=(
            f"run {run_id} is being loaded by another katarestore process right now; "
            "wait for it to finish or stop it, then resume"))
    if not options.single_transaction:  # one transaction keeps no checkpoint: a kill
        try:  # leaves no trace
            checkpoint.ensure_table(conn, options.schema)
        except checkpoint.NoCheckpointPlace as exc:  # refused before anything is touched
            conn.close()
            return RestoreResult(None, "failed", EXIT_USAGE, 0.0, options.backup, error=str(exc))
    with conn:
        run = _Run(options, conn, plan, sink, cancel, began, warnings, run_id)
        run.kind = kind or RunKind()
        run.errors = MaxErrors(options.max_errors, decide=on_errors or skip_table)
        # History tells this run (loading now) from one a kill left "running" (#12.8)
        with LiveBeacon(run_id, lambda: {name: {**s.to_dict(), "failing": s.failing}
                                         for name, s in list(run.stats.items())}):
            return run.execute()


def _first_fk_entries(committed: int) -> Callable[[dict[str, Any]], bool]:
    """A quarantine filter keeping every load entry and the first `committed` FK-check ones."""
    seen = 0

    def keep(entry: dict[str, Any]) -> bool:
        nonlocal seen
        if entry.get("phase") != "fk-check":
            return True
        seen += 1
        return seen <= committed

    return keep


class _Run:
    def __init__(self, options: RestoreOptions, conn: psycopg.Connection, plan: Plan,
                 sink: EventSink, cancel: threading.Event, began: float, warnings: list[str],
                 run_id: str) -> None:
        self.options: RestoreOptions = options
        # the run's own connection; reopened (and the run's lock taken again) after a drop
        self.link = Link(conn, None, lambda m: self.sink(Warning(m)), on_renew=self._relock)
        self.plan = plan
        self.schema: Schema = plan.schema
        self.sink: EventSink = sink
        self.cancel: threading.Event = cancel
        self.began = began
        self.warnings: list[str] = warnings
        self.run_id = run_id
        self.stats: dict[str, TableStats] = {
            t.table: TableStats(t.table, t.file.path.name, t.file.size) for t in plan.tables
        }
        self.fk_mode = "immediate"
        self.started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        self.files = file_marks(plan)
        self.resumable = False  # a finished run whose stopped tables a resume can continue
        self.sequence_problems: list[str] = []  # a sequence that cannot take a loaded value
        self.index_problems: list[str] = []  # an index an earlier run dropped that fails to build
        # "pending" until the TRUNCATE has committed; a resume of a pending clean cleans first
        self.clean_state: str | None = "pending" if options.clean and not options.resume else None
        self.clean_copy: str | None = None  # the folder holding what --clean removed
        self.stopwatch = StopWatch(cancel)  # a stop cancels the statement in flight
        self.waiter = LockWaiter(cancel, sink)
        self.kind = RunKind()
        self.errors = MaxErrors()  # run_restore sets the operator's policy
        self.retries: list[dict[str, Any]] = []
        self.resumed: dict[str, checkpoint.Checkpoint] = {}  # a resume: what had committed

    def warn(self, message: str, table: str | None = None) -> None:
        self.warnings.append(message)
        self.sink(Warning(message, table))

    def execute(self) -> RestoreResult:
        status, code, error = "failed", EXIT_FATAL, None
        quarantine = QuarantineWriter(self.run_id)
        try:
            self.stopwatch.watch(self.conn)
            self.stopwatch.start()
            self._start()
            if self.options.single_transaction:  # batches become savepoints of one transaction
                with self.conn.transaction():
                    if self.fk_mode == "replica":  # made, and dropped, inside the transaction
                        written.ensure_tables(self.conn, self.options.schema)
                    if self.clean_state == "pending":  # emptied only if the load commits too
                        self._clean()
                    self._load_all(quarantine)
                    self._after_load(quarantine)
                    self._forget_written()
                    self.waiter.check()  # a stop during the load: nothing commits
            else:
                self._load_all(quarantine)
                self._reconnecting(lambda: self._after_load(quarantine), quarantine)
            failed_any = (any(s.failed or s.state not in (DONE, SKIPPED) for s in self.stats.values())
                          or bool(self.sequence_problems) or bool(self.index_problems))
            status, code = ("partial", EXIT_PARTIAL) if failed_any else ("completed", EXIT_OK)
            self.waiter.check()  # a stop before the end: the checkpoint stays
            if stopped := self._stopped_tables():  # their checkpoints stay for the resume
                self.resumable = True
                error = (f"{', '.join(stopped)} stopped (see the table's error); once that is "
                         f"fixed, continue with: katarestore restore --resume {self.run_id}")
            elif not self.options.single_transaction and self._final_log_written(status, code):
                # the log says "finished" before the checkpoint goes: a kill between the two
                # leaves a stale checkpoint row, never a "running" log whose checkpoint is gone
                self._reconnecting(self._forget_run, quarantine)
        except Cancelled:
            status, code = "cancelled", EXIT_FATAL
            error = f"cancelled; continue with: katarestore restore --resume {self.run_id}"
        except FatalError as exc:
            error = str(exc)
        except psycopg.Error as exc:
            if cancelled_by_stop(exc, self.cancel):  # our own cancel of the statement in flight
                status, code = "cancelled", EXIT_FATAL
                error = f"cancelled; continue with: katarestore restore --resume {self.run_id}"
            else:
                error = redact_text(f"database error: {str(exc).strip()}")
        except SourceCrashed as exc:
            error = redact_text(str(exc))
        except Exception as exc:  # never a traceback for the operator; the run log says what
            error = redact_text(f"unexpected error ({type(exc).__name__}): {exc}")
        finally:
            self.stopwatch.close()
            quarantine.close()
            self.link.close()  # the connections it reopened (run_restore closes the first)
        if error and status == "failed":
            error += f" (the run is resumable: katarestore restore --resume {self.run_id})"
        return self._finish(status, code, error)

    def _stopped_tables(self) -> list[str]:
        """Tables a table-level error stopped (privileges, row security): not finished.

        A file's fault also leaves a table failed, but finished: a resume cannot help it.
        """
        stopped = [name for name, s in self.stats.items() if s.state == FAILED]
        if not stopped or self.options.single_transaction:
            return []
        self.link.ensure_live()
        committed = checkpoint.load(self.conn, self.options.schema, self.run_id)
        return [name for name in stopped if not (name in committed and committed[name].finished)]

    def _final_log_written(self, status: str, code: int) -> bool:
        try:
            self._write_log(status, None, code)
            return True
        except OSError:  # a full disk: keep the checkpoint, the log still says "running"
            return False

    def _forget_run(self) -> None:
        checkpoint.forget_run(self.conn, self.options.schema, self.run_id)
        indexes.drop_record_when_empty(self.conn, self.options.schema)
        self._forget_written()

    def _forget_written(self) -> None:
        """The FK check's markers go with the run; their tables once no other run is on."""
        with checkpoint.sole_session(self.conn) as alone:
            written.forget_run(self.conn, self.options.schema, self.run_id, drop_empty=alone)

    def _start(self) -> None:
        if warning := backend_warning():
            self.warn(warning)
        bound_lock_waits(self.conn)
        for statement in SESSION_SETTINGS:
            self.conn.execute(statement)
        if self.options.resume:
            self._restore_checkpoints()
        finished = self._count_finished()
        self.fk_mode = self._choose_fk_mode()
        if not self.options.single_transaction:  # such a run keeps no checkpoint
            # on the server's disk before the run log says "running": a resume needs it
            checkpoint.mark_run(self.conn, self.options.schema, self.run_id)
        if self.fk_mode == "replica" and not self.options.single_transaction:
            written.ensure_tables(self.conn, self.options.schema)  # the FK check needs the run's rows
        self._say_triggers()
        self._write_log("running")
        if self.clean_state == "pending" and not self.options.single_transaction:
            self._clean()
            self.clean_state = "done"  # the TRUNCATE committed: a resume must not clean again
            self._write_log("running")
        self.sink(RunStarted(self.run_id, self.options.backup, redact_dsn(self.options.dsn),
                             tuple(self.stats), sum(s.bytes_total for s in self.stats.values()),
                             self.fk_mode, finished,
                             sum(start.records_done for name, start in self.resumed.items()
                                 if name in self.stats)))
        for message in self.plan.warnings:  # skipped files, ignored keys, symlinks not followed
            self.sink(Warning(message))
        # what an earlier run dropped and never built comes first (outside any transaction)
        built = indexes.rebuild_left_over(self.conn, self.options.dsn, self.options.schema,
                                          self.waiter, self.sink)
        self.index_problems = built.problems
        for problem in built.problems:
            self.warn(problem)

    def _restore_checkpoints(self) -> None:
        try:
            previous = RunLog.load(self.run_id)
        except Exception as exc:
            raise FatalError(str(exc)) from None
        if previous.backup != self.options.backup:
            raise FatalError(
                f"run {self.run_id} restored {previous.backup or None}, not {self.options.backup}"
            )
        self.started_at = previous.started_at or self.started_at
        self.retries = previous.retries  # a retry may have run between the stop and now
        if previous.options.get("clean"):
            # a run log from before "clean" was kept was written after its clean committed
            self.options.clean = True
            self.clean_state = previous.clean or "done"
            self.clean_copy = previous.clean_copy
        self.resumed = checkpoint.load(self.conn, self.options.schema, self.run_id)

    def _count_finished(self) -> dict[str, TableStats]:
        """A resume: the tables the stopped run finished keep the counts they committed."""
        finished = {}
        for name, start in self.resumed.items():
            if name not in self.stats or not start.finished:
                continue
            stats = self.stats[name]
            stats.records, stats.loaded = start.records_done, start.loaded
            stats.duplicates, stats.failed = start.duplicates, start.failed
            stats.error = start.error
            stats.state = (FAILED if start.error and not start.records_done
                           else PARTIAL if start.failed or start.error else DONE)
            finished[name] = replace(stats)
        return finished

    def _choose_fk_mode(self) -> str:
        triggers = self.options.triggers
        if self.options.fk_mode == "immediate" or triggers == "on":
            return "immediate"  # replica mode would silence the triggers asked for
        reason = load_steps.try_replica_role(self.conn)
        if reason is None:
            return "replica"
        if triggers == "off":
            raise FatalError(
                "--triggers off needs session_replication_role, which this role may not set "
                f"({reason}): run as a superuser, or leave --triggers out (they run)")
        self.warn(
            "foreign keys are checked row by row (slower): this role may not set "
            f"session_replication_role ({reason}). Grant it, or run as the table owner's superuser."
        )
        return "immediate"

    @property
    def triggers(self) -> str:
        """Whether the tables' own triggers fire: only when loading row by row."""
        return "on" if self.fk_mode == "immediate" else "off"

    def _say_triggers(self) -> None:
        if message := trigger_warning(self.plan, self.triggers == "on"):
            self.warn(message)

    def _clean(self) -> None:
        names = [t.table for t in self.plan.tables]
        if refusal := clean_refusal(self.plan):  # on a resume: the schema changed meanwhile
            raise FatalError(refusal)
        if self.options.resume:
            self.sink(Phase("clean", "the run's --clean never committed: emptying its tables"))
        def empty() -> None:
            # on disk before the run log says "done": a crash must not bring the rows back
            # under a log that tells the resume not to clean
            self.conn.execute("SET LOCAL synchronous_commit = on")
            if self.options.snapshot:
                self._snapshot_before_clean(names)
            load_steps.truncate(self.conn, self.options.schema, names)

        # in a transaction that commits only if no stop came: never emptied after a stop
        self.waiter.run(self.conn, self.options.schema, names, ACCESS_EXCLUSIVE, empty)
        self.sink(Phase("clean", f"emptied {plural(len(names), 'table')}"))

    def _snapshot_before_clean(self, names: list[str]) -> None:
        """The rows about to be removed, into a backup folder, in the clean's transaction."""
        self.sink(Phase("clean", "writing a copy of what --clean removes"))
        copy = snapshot_before_clean(self.conn, self.schema, names, self.options.snapshot_dir,
                                     self.run_id, self.cancel)
        self.clean_copy = str(copy.folder)
        self.sink(Phase("clean", copy.describe()))

    def _load_all(self, quarantine: QuarantineWriter) -> None:
        resumed = self.resumed
        settings = [*SESSION_SETTINGS, checkpoint.HOLD_SHARED]
        if self.fk_mode == "replica":
            settings.append("SET session_replication_role = replica")
        session = Session(self.options.dsn, self.cancel, settings)
        session.live = self.stopwatch.conns  # every connection it opens is stopped with the run
        if not self.options.single_transaction:  # one transaction: a drop lost it all
            self.link.session = session
        jobs = []
        for table_plan in self.plan.tables:
            start = resumed.get(table_plan.table)
            if start is not None and start.finished:
                # FK-check entries past the committed count belong to a rolled-back check
                quarantine.forget(table_plan.table, _first_fk_entries(start.fk_moved))
                continue
            parts = (checkpoint.load_parts(self.conn, self.options.schema, self.run_id,
                                           table_plan.table) if start is not None else {})
            if parts:  # cut into ranges: each keeps the lines of what it committed
                quarantine.forget(table_plan.table,
                                  keep_committed(parts, table_plan.file.format))
            elif start is not None:  # drop quarantine lines written after the last commit
                quarantine.forget(table_plan.table, before(start.records_done))
            elif self.options.resume:  # nothing of this table committed: start it afresh
                quarantine.forget(table_plan.table, lambda e: False)
            jobs.append(TableJob(table_plan, start))
        ctx = RunContext(self.options, self.schema, self.run_id, session, self.link, quarantine,
                         self.sink, self.cancel, immediate=self.fk_mode == "immediate",
                         errors=self.errors)
        # filled as tables start: a stopped run still logs its counts
        run_tables(jobs, ctx, results=self.stats)

    @property
    def conn(self) -> psycopg.Connection:
        return self.link.conn

    def _relock(self, fresh: psycopg.Connection) -> None:
        """A new connection of the run holds the run's lock again (it went with the old)."""
        checkpoint.lock_run(fresh, self.run_id)

    def _reconnecting(self, step: Callable[[], None], quarantine: QuarantineWriter) -> None:
        """Run a set-based step after the load; if the connection drops, redo it on a new one.

        Each table's FK check commits with its checkpoint's `fk_moved`, so the quarantine is
        first trimmed to what committed; sequences and the cleanup are idempotent.
        """
        def trim_to_committed() -> None:  # a try rolled back after a lock wait: redo it
            for name, state in checkpoint.load(self.conn, self.options.schema,
                                               self.run_id).items():
                quarantine.forget(name, _first_fk_entries(state.fk_moved))

        names = [t.table for t in self.plan.tables]
        self.link.retrying(
            lambda: self.waiter.run(self.conn, self.options.schema, names, ROW_EXCLUSIVE, step,
                                    own_transaction=False, before_retry=trim_to_committed),
            on_lost=lambda: self.warn("connection lost after the load; reconnecting to finish"),
            after_renew=trim_to_committed,
        )

    def _after_load(self, quarantine: QuarantineWriter) -> None:
        self.link.ensure_live()
        # a few commits (the FK check's, the sequences'): each waits for the server's disk,
        # so a crash after one was acknowledged cannot take it back unseen
        self.conn.execute("SET synchronous_commit = on")
        loaded_tables = [t.table for t in self.plan.tables]
        if self.fk_mode == "replica":
            self.waiter.check()
            self.sink(Phase("foreign keys", "checking every foreign key set-based"))
            moved = quarantine_orphans(self.conn, self.plan, self.stats, quarantine, self.run_id,
                                       commit_counts=not self.options.single_transaction,
                                       cancel=self.cancel)
            if moved:
                self.warn(f"{plural(moved, 'row')} referenced missing parents and "
                          f"{was(moved)} quarantined")
                for stats in self.stats.values():  # the final counts, for panes and logs
                    self.sink(TableFinished(replace(stats)))
        elif self.fk_mode == "immediate":
            self._retry_missing_parents(quarantine)
        self.waiter.check()  # setval is not transactional: none after a stop
        self.sink(Phase("sequences", "moving sequences past the loaded values"))
        reset, problems = load_steps.reset_sequences(self.conn, self.schema, loaded_tables)
        for line in reset:
            self.sink(Phase("sequences", line))
        for line in problems:
            if line not in self.warnings:  # redone after a reconnect: said once
                self.warn(line)
        self.sequence_problems = problems

    def _retry_missing_parents(self, quarantine: QuarantineWriter) -> None:
        """Row-by-row FKs refused children whose parents came later: load them now."""
        again = retry_missing_parents(self.conn, self.plan, self.stats, quarantine, self.run_id,
                                      not self.options.single_transaction, self.warn)
        if again:
            self.sink(Phase("foreign keys", f"{plural(again, 'record')} refused for a parent that came "
                            f"later {was(again)} loaded once their parents were in"))
            for stats in self.stats.values():
                self.sink(TableFinished(replace(stats)))

    def _write_log(self, status: str, error: str | None = None, code: int | None = None) -> None:
        RunLog(
            run_id=self.run_id,
            kind=self.kind.kind,
            bench_id=self.kind.bench_id,
            status=status,
            exit_code=code,
            backup=self.options.backup,
            target=redact_dsn(self.options.dsn),
            options=self.options.redacted(),
            started_at=self.started_at,
            finished_at=time.strftime("%Y-%m-%dT%H:%M:%S%z") if status != "running" else None,
            seconds=round(time.monotonic() - self.began, 3),
            fk_mode=self.fk_mode,
            triggers=self.triggers,
            tables={name: TableLog.from_dict(s.to_dict()) for name, s in self.stats.items()},
            files=self.files,
            checkpoint_marked=True,  # the target holds the run's own checkpoint row
            totals=totals(self.stats),
            warnings=self.warnings,
            error=error,
            resumable=self.resumable,
            quarantine=str(quarantine_dir(self.run_id)),
            clean=self.clean_state,
            retries=self.retries,
            clean_copy=self.clean_copy,
            index_problems=self.index_problems,
        ).save()

    def _finish(self, status: str, code: int, error: str | None) -> RestoreResult:
        seconds = time.monotonic() - self.began
        for stats in self.stats.values():  # stopped part-way: not "loading" in the run log
            if stats.state == LOADING:
                stats.state = CANCELLED
        try:
            self._write_log(status, error, code)
        except OSError as exc:  # a full disk: say so, and the log still says "running"
            note = (f"the run log {run_dir(self.run_id) / 'run.json'} could not be updated "
                    f"({exc.strerror or exc}); it still says the run is running, which "
                    "--resume accepts")
            error = f"{error}; {note}" if error else note
            code = max(code, EXIT_FATAL)
            if status in ("completed", "partial"):
                status = "failed"
        result = RestoreResult(self.run_id, status, code, seconds, self.options.backup, self.plan,
                               dict(self.stats), self.warnings, error, self.fk_mode,
                               self.triggers)
        self.sink(RunFinished(self.run_id, status, code, seconds, dict(self.stats),
                              str(run_dir(self.run_id)), str(quarantine_dir(self.run_id)), error))
        return result
