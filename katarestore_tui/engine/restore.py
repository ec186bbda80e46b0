"""One restore run from start to summary: the only entry point the UI and CLI call.

Order of work, as pg_restore does it: data first (with per-row FK triggers off when the
role may), then one set-based check per foreign key that moves orphan rows to
quarantine, then sequences. Every record read ends as loaded, duplicate or failed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import psycopg

from katarestore_tui.backup.catalog import BackupError, resolve_backup
from katarestore_tui.backup.reader import backend_warning
from katarestore_tui.db import maintenance, written
from katarestore_tui.db.schema import Schema, read_schema
from katarestore_tui.engine import checkpoint, indexes
from katarestore_tui.engine.connect import Session, connect, connection_lost
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
from katarestore_tui.engine.loader import MAX_BATCH_ATTEMPTS
from katarestore_tui.engine.locks import (
    ACCESS_EXCLUSIVE,
    LOCK_TIMEOUT_SETTING,
    ROW_EXCLUSIVE,
    LockWaiter,
    StopWatch,
    bound_lock_waits,
    cancelled_by_stop,
)
from katarestore_tui.engine.options import RestoreOptions
from katarestore_tui.engine.plan import Plan, build_plan, trigger_warning
from katarestore_tui.engine.quarantine import QuarantineWriter, quarantine_dir
from katarestore_tui.engine.scheduler import TableJob, run_tables
from katarestore_tui.engine.source import SourceCrashed
from katarestore_tui.errors import (
    EXIT_FATAL,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    Cancelled,
    ConfigError,
    FatalError,
)
from katarestore_tui.history.runs import (
    RunNotFound,
    is_resumable,
    read_run,
    reserve_run_id,
    write_run,
)
from katarestore_tui.locations import run_dir
from katarestore_tui.redact import redact_dsn, redact_text

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

    def summary(self) -> dict:
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


def prepare(options: RestoreOptions, backup_root: Path) -> tuple[psycopg.Connection, Plan]:
    """Validate, find the backup, connect, read the schema and plan. Raises Config/FatalError."""
    problems = options.validate()
    if problems:
        raise ConfigError("; ".join(problems))
    try:
        backup = resolve_backup(options.backup or None, backup_root)
    except BackupError as exc:
        raise ConfigError(str(exc)) from None
    options.backup = str(backup.path.resolve())  # a resume may start from another folder
    if options.resume:
        check_resumable(options)
    conn = connect(options.dsn)
    if options.resume:
        try:
            check_checkpoint(conn, options)
        except (ConfigError, psycopg.Error):
            conn.close()
            raise
    schema = read_schema(conn, options.schema)
    if not schema.tables:
        conn.close()
        raise FatalError(
            f"schema {options.schema!r} of {redact_dsn(options.dsn)} has no tables: run the "
            "app's migrations first (katarestore fills existing tables, it does not create them)"
        )
    plan = build_plan(backup, schema, options.tables, options.exclude)
    if refusal := plan.conflict_message():
        conn.close()
        raise ConfigError(refusal)
    if not plan.tables:
        conn.close()
        raise FatalError(
            f"no file of {backup.path} matches a table of schema {options.schema!r}"
            + (f" ({'; '.join(plan.warnings[:3])})" if plan.warnings else "")
        )
    if options.clean and not options.resume and (refusal := clean_refusal(plan)):
        conn.close()
        raise ConfigError(f"{refusal}; nothing was changed")
    known = {"on": True, "off": False}.get(options.triggers)
    if known is None and options.fk_mode == "immediate":
        known = True
    if message := trigger_warning(plan, known):  # on the plan: dry runs and the TUI show it
        plan.warnings.append(message)
    return conn, plan


def clean_refusal(plan: Plan) -> str | None:
    """Why --clean may not empty the plan's tables (TRUNCATE would fail), or None."""
    outsiders = maintenance.referencing_outsiders(plan.schema, [t.table for t in plan.tables])
    if not outsiders:
        return None
    detail = "; ".join(f"{t} is referenced by {', '.join(r)}" for t, r in outsiders.items())
    return (f"--clean refused: tables outside the backup reference its tables ({detail}). "
            "Add them with --tables or empty them yourself")


# What a run restores; a resume continues the same run, so these must not change.
RUN_DEFINING_OPTIONS = ("schema", "tables", "exclude", "on_conflict", "single_transaction",
                        "triggers")


def check_resumable(options: RestoreOptions) -> None:
    """Refuse a resume that would load records twice or restore something else."""
    try:
        previous = read_run(options.resume or "")
    except RunNotFound as exc:
        raise ConfigError(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"run {options.resume}: unreadable run log ({exc})") from None
    if not is_resumable(previous):
        hint = (f"; load its failed records again with: katarestore retry {options.resume}"
                if previous.get("status") == "partial" else "")
        raise ConfigError(f"run {options.resume} is {previous.get('status')}: there is nothing to "
                          f"resume (resuming it would load its records a second time){hint}")
    if changed_files := _changed_files(previous):
        raise ConfigError(
            f"run {options.resume} cannot be resumed: the backup changed since it started ("
            + "; ".join(changed_files)
            + "). A resume skips the records the run already loaded, which would now be other "
            "records; put the original files back, or start a new run"
        )
    before = previous.get("options") or {}
    if options.clean and not before.get("clean"):
        raise ConfigError(
            f"run {options.resume} was started without --clean: a resume continues the same "
            "run and never empties the tables it loads into (leave --clean out); nothing was "
            "changed"
        )
    changed = [name for name in RUN_DEFINING_OPTIONS
               if name in before and before[name] != getattr(options, name)]
    if changed:
        raise ConfigError(
            f"run {options.resume} was started with "
            + ", ".join(f"{name}={before[name]!r}" for name in changed)
            + ": a resume continues the same run (leave those options out)"
        )


def check_checkpoint(conn: psycopg.Connection, options: RestoreOptions) -> None:
    """Refuse a resume whose checkpoint in the target is gone (dropped, or its rows deleted).

    A resume starts each table where the checkpoint says; without it, it would load every
    committed record a second time (doubling the rows of a table without a key). Exit 2, as
    every refused resume: nothing was touched, the operator decides what to do.
    """
    if options.single_transaction:
        return  # such a run keeps no checkpoint: what it loaded rolled back with it
    run_id = options.resume or ""
    previous = read_run(run_id)
    held = checkpoint.load(conn, options.schema, run_id)
    where = checkpoint.location(conn, options.schema)
    problems = []
    if previous.get("checkpoint_marked") and not checkpoint.run_marked(conn, options.schema, run_id):
        problems.append(f"{where} was dropped" if not checkpoint.table_exists(conn, options.schema)
                        else f"{where} has no rows of this run any more")
    for name, counts in (previous.get("tables") or {}).items():
        if counts.get("records") and name not in held:
            problems.append(f"the run log counts {counts['records']:,} records of {name} as "
                            f"committed, but {where} has no checkpoint for {name}")
    if problems:
        raise ConfigError(
            f"run {run_id} cannot be resumed: its checkpoint in the target is gone ("
            + "; ".join(problems)
            + "). A resume would load the records the run already committed again (rows twice "
            "in a table without a key). Check the target; to load the backup anew, start a "
            "new run (--clean empties the tables first)"
        )


def file_marks(plan: Plan) -> dict[str, dict]:
    """Size and modification time of each table file, kept in the run log for a resume."""
    marks = {}
    for planned in plan.tables:
        st = planned.file.path.stat()
        marks[planned.file.path.name] = {"bytes": st.st_size, "mtime_ns": st.st_mtime_ns}
    return marks


def _changed_files(previous: dict) -> list[str]:
    """What differs between the files a run started on and those in its folder now."""
    folder = Path(previous.get("backup") or ".")
    changes = []
    for name, mark in (previous.get("files") or {}).items():  # older run logs have none
        try:
            st = (folder / name).stat()
        except OSError:
            changes.append(f"{name} is gone")
            continue
        if st.st_size != mark["bytes"]:
            changes.append(f"{name} was {mark['bytes']:,} bytes, is {st.st_size:,}")
        elif st.st_mtime_ns != mark["mtime_ns"]:
            changes.append(f"{name} was modified at {time.ctime(st.st_mtime_ns / 1e9)}")
    return changes


def run_restore(
    options: RestoreOptions,
    backup_root: Path,
    sink: EventSink = ignore_events,
    cancel: threading.Event | None = None,
) -> RestoreResult:
    """Plan and (unless dry-run) load; never raises for the operator's mistakes."""
    cancel = cancel or threading.Event()
    began = time.monotonic()
    try:
        conn, plan = prepare(options, backup_root)
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
        return _Run(options, conn, plan, sink, cancel, began, warnings, run_id).execute()


def _first_fk_entries(committed: int):
    """A quarantine filter keeping every load entry and the first `committed` FK-check ones."""
    seen = 0

    def keep(entry: dict) -> bool:
        nonlocal seen
        if entry.get("phase") != "fk-check":
            return True
        seen += 1
        return seen <= committed

    return keep


class _Run:
    def __init__(self, options, conn, plan: Plan, sink, cancel, began, warnings, run_id: str):
        self.options: RestoreOptions = options
        self.conn: psycopg.Connection = conn
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
        self._opened: list[psycopg.Connection] = []  # reopened after a drop; closed at the end
        self.started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        self.files = file_marks(plan)
        self.resumable = False  # a finished run whose stopped tables a resume can continue
        self.sequence_problems: list[str] = []  # a sequence that cannot take a loaded value
        self.index_problems: list[str] = []  # an index an earlier run dropped that fails to build
        # "pending" until the TRUNCATE has committed; a resume of a pending clean cleans first
        self.clean_state: str | None = "pending" if options.clean and not options.resume else None
        self.stopwatch = StopWatch(cancel)  # a stop cancels the statement in flight
        self.waiter = LockWaiter(cancel, sink)

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
            for conn in self._opened:
                conn.close()
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
        self._live_conn()
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
                             self.fk_mode))
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
            previous = read_run(self.run_id)
        except Exception as exc:
            raise FatalError(str(exc)) from None
        if previous.get("backup") != self.options.backup:
            raise FatalError(
                f"run {self.run_id} restored {previous.get('backup')}, not {self.options.backup}"
            )
        self.started_at = previous.get("started_at", self.started_at)
        if (previous.get("options") or {}).get("clean"):
            # a run log from before "clean" was kept was written after its clean committed
            self.options.clean = True
            self.clean_state = previous.get("clean", "done")
        self.resumed = checkpoint.load(self.conn, self.options.schema, self.run_id)

    def _choose_fk_mode(self) -> str:
        triggers = self.options.triggers
        if self.options.fk_mode == "immediate" or triggers == "on":
            return "immediate"  # replica mode would silence the triggers asked for
        reason = maintenance.try_replica_role(self.conn)
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
            maintenance.truncate(self.conn, self.options.schema, names)

        # in a transaction that commits only if no stop came: never emptied after a stop
        self.waiter.run(self.conn, self.options.schema, names, ACCESS_EXCLUSIVE, empty)
        self.sink(Phase("clean", f"emptied {len(names)} tables"))

    def _load_all(self, quarantine: QuarantineWriter) -> None:
        resumed = getattr(self, "resumed", {})
        settings = [*SESSION_SETTINGS, checkpoint.HOLD_SHARED]
        if self.fk_mode == "replica":
            settings.append("SET session_replication_role = replica")
        session = Session(self.options.dsn, self.cancel, settings)
        session.live = self.stopwatch.conns  # every connection it opens is stopped with the run
        self.session = session
        jobs = []
        for table_plan in self.plan.tables:
            start = resumed.get(table_plan.table)
            if start is not None and start.finished:
                stats = self.stats[table_plan.table]
                stats.records, stats.loaded = start.records_done, start.loaded
                stats.duplicates, stats.failed = start.duplicates, start.failed
                stats.error = start.error
                stats.state = (FAILED if start.error and not start.records_done
                               else PARTIAL if start.failed or start.error else DONE)
                # FK-check entries past the committed count belong to a rolled-back check
                quarantine.forget(table_plan.table, _first_fk_entries(start.fk_moved))
                continue
            if start is not None:  # drop quarantine lines written after the last commit
                quarantine.forget(table_plan.table, lambda e, n=start.records_done:
                                  e.get("index") is None or e["index"] < n)
            elif self.options.resume:  # nothing of this table committed: start it afresh
                quarantine.forget(table_plan.table, lambda e: False)
            jobs.append(TableJob(table_plan, start))
        run_tables(
            jobs, self.options, self.schema, self.run_id, session, self.conn,
            quarantine, self.sink, self.cancel, immediate=self.fk_mode == "immediate",
            results=self.stats,  # filled as tables start: a stopped run still logs its counts
        )

    def _live_conn(self) -> None:
        """The run's own connection may have dropped while the tables loaded: reopen it."""
        if self.options.single_transaction:
            return
        try:
            if not (self.conn.broken or self.conn.closed):
                self.conn.execute("SELECT 1")  # idle through --jobs loads: is it still there?
                return
        except psycopg.OperationalError:
            pass
        self.conn = self.session.reopen(lambda m: self.sink(Warning(m)))
        self._opened.append(self.conn)
        checkpoint.lock_run(self.conn, self.run_id)

    def _reconnecting(self, step, quarantine: QuarantineWriter) -> None:
        """Run a set-based step after the load; if the connection drops, redo it on a new one.

        Each table's FK check commits with its checkpoint's `fk_moved`, so the quarantine is
        first trimmed to what committed; sequences and the cleanup are idempotent.
        """
        def trim_to_committed() -> None:  # a try rolled back after a lock wait: redo it
            for name, state in checkpoint.load(self.conn, self.options.schema,
                                               self.run_id).items():
                quarantine.forget(name, _first_fk_entries(state.fk_moved))

        names = [t.table for t in self.plan.tables]
        for attempt in range(1, MAX_BATCH_ATTEMPTS + 1):
            try:
                self.waiter.run(self.conn, self.options.schema, names, ROW_EXCLUSIVE, step,
                                own_transaction=False, before_retry=trim_to_committed)
                return
            except psycopg.OperationalError as exc:
                if (self.options.single_transaction or attempt == MAX_BATCH_ATTEMPTS
                        or not connection_lost(exc, self.conn)):
                    raise
                self.warn("connection lost after the load; reconnecting to finish")
                self.conn.close()
                self._live_conn()
                trim_to_committed()

    def _after_load(self, quarantine: QuarantineWriter) -> None:
        self._live_conn()
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
                rows = "row" if moved == 1 else "rows"
                self.warn(f"{moved:,} {rows} referenced missing parents and were quarantined")
                for stats in self.stats.values():  # the final counts, for panes and logs
                    self.sink(TableFinished(replace(stats)))
        elif self.fk_mode == "immediate":
            self._retry_missing_parents(quarantine)
        self.waiter.check()  # setval is not transactional: none after a stop
        self.sink(Phase("sequences", "moving sequences past the loaded values"))
        moved, problems = maintenance.reset_sequences(self.conn, self.schema, loaded_tables)
        for line in moved:
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
            self.sink(Phase("foreign keys", f"{again:,} records refused for a parent that came "
                            "later were loaded once their parents were in"))
            for stats in self.stats.values():
                self.sink(TableFinished(replace(stats)))

    def _write_log(self, status: str, error: str | None = None, code: int | None = None) -> None:
        write_run(self.run_id, {
            "run_id": self.run_id,
            "kind": "restore",
            "status": status,
            "exit_code": code,
            "backup": self.options.backup,
            "target": redact_dsn(self.options.dsn),
            "options": self.options.redacted(),
            "started_at": self.started_at,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z") if status != "running" else None,
            "seconds": round(time.monotonic() - self.began, 3),
            "fk_mode": self.fk_mode,
            "triggers": self.triggers,
            "tables": {name: s.to_dict() for name, s in self.stats.items()},
            "files": self.files,
            "checkpoint_marked": True,  # the target holds the run's own checkpoint row
            "totals": totals(self.stats),
            "warnings": self.warnings,
            "error": error,
            "resumable": self.resumable,
            "quarantine": str(quarantine_dir(self.run_id)),
            "clean": self.clean_state,
            "index_problems": self.index_problems,
        })

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
