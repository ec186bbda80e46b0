"""`katarestore verify`: prove, per table, that the target holds exactly the backup's records.

The backup is read again through the restore's own reader and encoder (the same batches,
in the parser process when asked), COPYed into a temporary table of the target's column
types, and compared set-based (db/compare.py). Memory stays flat: only one batch is in
hand. A run's quarantine and duplicate counts explain what the run did not load; nothing
in the target is written (the temporary tables live and die in verify's own session).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from katarestore_tui.backup.catalog import BackupError, resolve_backup
from katarestore_tui.db import compare
from katarestore_tui.db.copy import copy_line_number
from katarestore_tui.db.schema import Table, read_schema
from katarestore_tui.engine.connect import connect
from katarestore_tui.engine.encoder import EncodedBatch, SourceEnd
from katarestore_tui.engine.loader import is_record_error
from katarestore_tui.engine.plan import TablePlan, build_plan
from katarestore_tui.engine.quarantine import read_quarantine
from katarestore_tui.engine.verify_result import Difference, TableVerdict, VerifyResult
from katarestore_tui.engine.verify_source import Sources
from katarestore_tui.errors import EXIT_FATAL, EXIT_USAGE, Cancelled, ConfigError, FatalError
from katarestore_tui.history.runs import RunNotFound, list_runs, read_run
from katarestore_tui.redact import redact_dsn, redact_text

VERIFY_BATCH = 10_000
SESSION_SETTINGS = (
    "SET TimeZone = 'UTC'",  # as the restore reads ISO strings without an offset
    "SET statement_timeout = 0",
    "SET idle_in_transaction_session_timeout = 0",
    "SET work_mem = '64MB'",  # the join's hash table; the server's memory, not ours
)


@dataclass
class VerifyOptions:
    backup: str  # a backup folder or its name under the root; "" = the newest
    dsn: str
    schema: str = "public"
    run_id: str | None = None  # the run whose quarantine and duplicates explain; None = latest
    use_run: bool = True  # False: judge the target by the backup alone
    on_conflict: str | None = None  # the duplicate rule; None = the run's, else skip
    tables: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    limit: int = 20  # differences listed per kind and table (counts are always whole)
    batch_size: int = VERIFY_BATCH
    parser_process: bool = True


TableSink = Callable[[TableVerdict], None]


def latest_run(backup: str, dsn: str) -> dict[str, Any] | None:
    """The newest restore run of this backup folder into this target, if one is recorded."""
    target = redact_dsn(dsn)
    for run in list_runs():
        if (run.get("kind", "restore") == "restore" and run.get("backup") == backup
                and run.get("target") == target and run.get("status") != "dry-run"):
            return run
    return None


def _find_run(options: VerifyOptions, backup: str) -> dict[str, Any] | None:
    if not options.use_run:
        return None
    if options.run_id is None:
        return latest_run(backup, options.dsn)
    try:
        run = read_run(options.run_id)
    except RunNotFound as exc:
        raise ConfigError(str(exc)) from None
    if run.get("backup") != backup:
        raise ConfigError(f"run {options.run_id} restored {run.get('backup')}, not {backup}: "
                          "verify that backup, or leave --run out")
    return run


def run_verify(options: VerifyOptions, backup_root: Path, on_table: TableSink | None = None,
               cancel: threading.Event | None = None) -> VerifyResult:
    """Verify every table of the backup (or of the run); never raises for the operator."""
    began = time.monotonic()
    result = VerifyResult(options.backup, redact_dsn(options.dsn))
    try:
        _verify(options, backup_root, result, on_table, cancel or threading.Event())
    except ConfigError as exc:
        result.error, result.error_code = str(exc), EXIT_USAGE
    except (FatalError, Cancelled) as exc:
        result.error, result.error_code = str(exc) or "cancelled", EXIT_FATAL
    except psycopg.Error as exc:
        result.error = redact_text(f"verify stopped: {str(exc).strip()}")
        result.error_code = EXIT_FATAL
    result.seconds = time.monotonic() - began
    return result


def _verify(options: VerifyOptions, backup_root: Path, result: VerifyResult,
            on_table: TableSink | None, cancel: threading.Event) -> None:
    try:
        backup = resolve_backup(options.backup or None, backup_root)
    except BackupError as exc:
        raise ConfigError(str(exc)) from None
    result.backup = str(backup.path.resolve())
    run = _find_run(options, result.backup)
    result.run_id = run.get("run_id") if run else None
    run_options = (run or {}).get("options") or {}
    result.on_conflict = options.on_conflict or run_options.get("on_conflict") or "skip"
    schema_name = run_options.get("schema") or options.schema
    conn = connect(options.dsn)
    with conn:
        for statement in SESSION_SETTINGS:
            conn.execute(statement)
        schema = read_schema(conn, schema_name)
        only = options.tables or run_options.get("tables") or []
        exclude = options.exclude or run_options.get("exclude") or []
        plan = build_plan(backup, schema, only, exclude)
        result.warnings.extend(plan.warnings)
        if not plan.tables:
            raise FatalError(f"no file of {backup.path} matches a table of schema "
                             f"{schema_name!r}")
        run_tables = (run or {}).get("tables") or {}
        sources = Sources([(p, schema.tables[p.table]) for p in plan.tables], options, cancel)
        try:
            for position, planned in enumerate(plan.tables):
                if run is not None and planned.table not in run_tables:
                    result.warnings.append(f"{planned.table}: not in run {result.run_id}; "
                                           "judged by the backup alone")
                verdict = TableCheck(conn, schema_name, planned, schema.tables[planned.table],
                                     options, result, run_tables.get(planned.table),
                                     cancel).run(sources.batches(position))
                result.tables[planned.table] = verdict
                if on_table is not None:
                    on_table(verdict)
        finally:
            sources.close()


class TableCheck:
    """One table: stage the file's records, then compare and account for each."""

    def __init__(self, conn: psycopg.Connection, schema: str, planned: TablePlan, table: Table,
                 options: VerifyOptions, result: VerifyResult, run_counts: dict[str, Any] | None,
                 cancel: threading.Event) -> None:
        self.conn = conn
        self.schema = schema
        self.planned = planned
        self.table = table
        self.options = options
        self.result = result
        self.cancel = cancel
        self.run_counts = run_counts
        self.quarantine: set[int] = set()
        if result.run_id and run_counts is not None:
            self.quarantine = {e["index"] for e in read_quarantine(result.run_id, table.name)
                               if isinstance(e.get("index"), int)}
        self.columns = [c.name for c in table.writable_columns]
        self.given: set[str] = set()  # every column some record gave
        self.always: set[str] = set(self.columns)  # the columns every record gave
        key = table.conflict_key
        self.verdict = TableVerdict(table.name, planned.file.path.name,
                                    f"key ({', '.join(key)})" if key else "multiset")

    def run(self, batches: Iterator[EncodedBatch | SourceEnd]) -> TableVerdict:
        began = time.monotonic()
        with self.conn.transaction():
            compare.create_stage(self.conn, self.schema, self.table, self.columns)
            self._stage(batches)
            compare.stage_quarantine(self.conn, sorted(self.quarantine))
            self._compare()
            compare.drop_stage(self.conn)
        self.verdict.seconds = time.monotonic() - began
        return self.verdict

    def _stage(self, batches: Iterator[EncodedBatch | SourceEnd]) -> None:
        for item in batches:
            if self.cancel.is_set():
                raise Cancelled("verify cancelled")
            if isinstance(item, SourceEnd):
                self.verdict.records = item.records_read
                if item.fault is not None:
                    self.verdict.fault = item.fault.message
                continue
            for reject in item.rejects:
                self._unloadable(reject.index, reject.cause)
            if item.lines:
                self.given.update(item.columns)
                self.always.intersection_update(item.columns)
                mask = "".join("1" if c in item.columns else "0" for c in self.columns)
                tails = [f"\t{i}\t{mask}\n".encode() for i in item.indexes]
                lines = [line[:-1] + tail for line, tail in zip(item.lines, tails, strict=True)]
                self._copy(list(item.columns), lines, item.indexes)

    def _unloadable(self, index: int, cause: str) -> None:
        if index in self.quarantine:
            self.verdict.quarantined += 1
            return
        self.verdict.unloadable += 1
        if sum(d.kind == "unloadable" for d in self.verdict.differences) < self.options.limit:
            self.verdict.differences.append(Difference("unloadable", {}, index, cause=cause))

    def _copy(self, columns: list[str], lines: list[bytes], indexes: list[int]) -> None:
        """COPY into the stage; a line the server refuses (a value of the wrong kind) is
        unloadable, found from COPY's line number (or one at a time), as the loader does."""
        start = 0
        with self.conn.cursor() as cur:
            while start < len(lines):
                try:
                    with self.conn.transaction():
                        compare.copy_stage(cur, columns, b"".join(lines[start:]))
                    return
                except psycopg.Error as exc:
                    if not is_record_error(exc):
                        raise
                    line = copy_line_number(exc)
                    if line is None and len(lines) - start > 1:
                        for one in range(start, len(lines)):
                            self._copy(columns, lines[one:one + 1], indexes[one:one + 1])
                        return
                    bad = start + (line or 1) - 1
                    if bad > start:
                        with self.conn.transaction():
                            compare.copy_stage(cur, columns, b"".join(lines[start:bad]))
                    message = (exc.diag.message_primary or str(exc)).strip()
                    self._unloadable(indexes[bad], f"{exc.sqlstate}: {message}")
                    start = bad + 1

    def _compare(self) -> None:
        verdict = self.verdict
        compared = [c for c in self.columns if c in self.given]
        key = self.table.conflict_key
        if key and all(c in self.given for c in key):
            masked = any(c not in self.always for c in compared)
            comparison: compare.KeyedComparison | compare.MultisetComparison = (
                compare.KeyedComparison(self.conn, self.schema, self.table, compared, masked,
                                        keep_last=self.result.on_conflict == "update"))
        else:
            if key:
                verdict.method = "multiset"
                verdict.notes.append("the file gives no value for the key "
                                     f"({', '.join(key)}): compared as a multiset")
            common = [c for c in compared if c in self.always]
            if len(common) < len(compared):
                verdict.notes.append("columns some records leave out are not compared: "
                                     + ", ".join(c for c in compared if c not in common))
            comparison = compare.MultisetComparison(self.conn, self.schema, self.table, common)
        counts = comparison.counts()
        verdict.matched, verdict.missing, verdict.extra = counts.matched, counts.missing, counts.extra
        verdict.different, verdict.repeated = counts.different, counts.repeated
        verdict.quarantined += len(compare.quarantined_staged(self.conn))
        self._explain_duplicates()
        for kind in ("missing", "different", "extra"):
            if getattr(counts, kind):
                # every differing row explained: they are the rows the run kept
                shown = "kept" if kind == "different" and not verdict.different else kind
                for sample in comparison.samples(kind, self.options.limit):
                    verdict.differences.append(Difference(shown, sample.values, sample.index,
                                                          sample.columns))

    def _explain_duplicates(self) -> None:
        """With `skip`, a record whose key was already in the target is counted a duplicate
        and the target's row is kept: as many differing rows as the run counted such
        duplicates are explained (which ones, the run log does not say)."""
        verdict = self.verdict
        if self.run_counts is None or self.result.on_conflict != "skip":
            return
        before = max(0, int(self.run_counts.get("duplicates") or 0) - verdict.repeated)
        verdict.kept = min(verdict.different, before)
        verdict.different -= verdict.kept
        if verdict.kept:
            rows = "row differs" if verdict.kept == 1 else "rows differ"
            verdict.notes.append(f"{verdict.kept:,} {rows} from the backup; run "
                                 f"{self.result.run_id} counted as many records as duplicates "
                                 "of rows already there, which it keeps as they were")
