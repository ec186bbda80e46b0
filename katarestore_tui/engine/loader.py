"""Load one table: encoded batches -> COPY, bad lines found and quarantined, counts exact.

When COPY fails, the error's CONTEXT names the line (as pgloader uses it): the lines
before it load, that one line is tried alone (so only a proven-bad record is ever
quarantined, with its own error), and the rest goes on. Without a line number the
batch is split in halves. A batch's lines stay in hand until its transaction commits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import psycopg

from katarestore_tui.backup.catalog import TableFile
from katarestore_tui.backup.reader import BackupFormatError, RecordReader
from katarestore_tui.db import written
from katarestore_tui.db.copy import StagedInsert, copy_column_name, copy_line_number, copy_lines
from katarestore_tui.db.schema import Table
from katarestore_tui.engine import checkpoint
from katarestore_tui.engine.connect import MAX_ATTEMPTS, Link, connection_lost
from katarestore_tui.engine.context import RunContext, TableJob
from katarestore_tui.engine.encoder import EncodedBatch, SourceEnd
from katarestore_tui.engine.events import (
    CANCELLED,
    DONE,
    FAILED,
    LOADING,
    PARTIAL,
    EventSink,
    ProgressThrottle,
    TableFinished,
    TableProgress,
    TableStarted,
    TableStats,
    Warning,
)
from katarestore_tui.engine.locks import ROW_EXCLUSIVE, LockWaiter
from katarestore_tui.engine.maxerrors import CONTINUE, STOP, ErrorWatch, MaxErrors, TooManyErrors
from katarestore_tui.engine.quarantine import Failure, QuarantineWriter
from katarestore_tui.errors import Cancelled, FatalError
from katarestore_tui.redact import redact_text
from katarestore_tui.words import plural

Columns = Sequence[str]
Lines = Sequence[bytes]


def before(first: int) -> Callable[[dict[str, Any]], bool]:
    """A quarantine filter keeping the entries of records before `first` (and row entries)."""
    return lambda e: e.get("index") is None or e["index"] < first


def is_row_error(exc: psycopg.Error) -> bool:
    """Errors that belong to a record (bad value, constraint), not to the table or server."""
    state = exc.sqlstate or ""
    return state[:2] in ("22", "23") or state == "21000"


# Classes a single record can raise beyond 22/23: a program limit hit by one value (54000
# index row too large, too many array dimensions), a trigger's RAISE (P0), a routine's or a
# view's check (2F, 38, 39, 44), a row changed twice (27). Everything else (42 privileges and
# undefined objects, 0A row security refusing COPY, 53 resources, 55/57 locks and cancels,
# 08 connection) is about the table, the role or the session, even when COPY names a line.
RECORD_CLASSES = ("20", "21", "22", "23", "27", "2F", "38", "39", "44", "54", "P0")


def is_record_error(exc: psycopg.Error) -> bool:
    """An error one record can cause; it is that record's once reproduced on it alone."""
    return (exc.sqlstate or "")[:2] in RECORD_CLASSES


MAX_BATCH_ATTEMPTS = MAX_ATTEMPTS  # a batch redone after this many drops in a row: give up


class Rewind(Exception):
    """After a reconnect the server holds fewer of the table's records than it acknowledged:
    a crash took back commits made with `synchronous_commit = off`. The source must start
    again at `done.records_done`; the loader's counts and quarantine are already back there."""

    def __init__(self, done: checkpoint.Checkpoint) -> None:
        super().__init__(f"rewind to record {done.records_done}")
        self.done = done


class TableSkipped(Exception):
    """The MaxErrors policy stopped this table (its message says why); the others go on."""


class TriggerDropped(Exception):
    """A BEFORE trigger returned NULL for some of the lines: the table did not get them."""


TRIGGER_DROPPED = "a trigger on the table dropped the row (a BEFORE INSERT trigger returned NULL)"


class RecordFetcher:
    """Re-reads the original record for an index, moving forward through the file.

    Only batches that fail need their records, in increasing index order, so one extra
    pass at most: memory stays flat without keeping every batch's dicts.
    """

    def __init__(self, table_file: TableFile) -> None:
        self.table_file = table_file
        self._iter: Iterator[tuple[int, object]] | None = None
        self._last = -1

    def get(self, index: int) -> object:
        if self._iter is None or index <= self._last:
            self._iter = iter(RecordReader(self.table_file))
            self._last = -1
        try:
            for found, record in self._iter:
                self._last = found
                if found == index:
                    return record
        except BackupFormatError:
            pass
        self._iter = None
        return None


@dataclass
class BatchResult:
    loaded: int = 0
    duplicates: int = 0
    failed: int = 0


class BatchWriter:
    """Writes one batch's lines inside the caller's transaction, finding the bad ones."""

    def __init__(
        self,
        conn: psycopg.Connection,
        schema: str,
        table: Table,
        file_name: str,
        on_conflict: str,
        quarantine: QuarantineWriter,
        fetch: Callable[[int], object],
        run_id: str | None = None,
        waiter: LockWaiter | None = None,
        watch: ErrorWatch | None = None,
        progress: Callable[[BatchResult], None] | None = None,
    ) -> None:
        """`run_id`: mark each write as this run's (the set-based FK check needs it);
        `watch`: the MaxErrors policy's counts; `progress`: told of each failure at once."""
        self.conn = conn
        self.watch = watch
        self.progress = progress
        self.run_id = run_id
        self.waiter = waiter  # bounded lock waits, retried; a stop is seen before each try
        self.schema = schema
        self.table = table
        self.file_name = file_name
        self.on_conflict = on_conflict
        self.quarantine = quarantine
        self.fetch = fetch
        self.staged = StagedInsert(conn, schema, table, on_conflict)
        self.staged.run_id = run_id
        # after a key conflict, later batches go straight to the staged path
        self.use_stage = False

    def write(self, batch: EncodedBatch) -> BatchResult:
        result = BatchResult()
        for reject in batch.rejects:
            failure = Failure(None, reject.cause, column=reject.column)
            self.quarantine.add(self.table.name, self.file_name, reject.index, reject.record, failure)
            self._failed(result, reject.index, reject.record, failure)
        if batch.lines:
            self._write(batch.columns, batch.lines, batch.indexes, result)
        return result

    def _attempt(self, columns: Columns, lines: Lines, result: BatchResult) -> None:
        """One try in a savepoint: a failure (or a lock timeout) undoes only this try."""
        if self.waiter is None:
            with self.conn.transaction():
                self._attempt_in(columns, lines, result)
            return
        self.waiter.run(self.conn, self.schema, [self.table.name], ROW_EXCLUSIVE,
                        lambda: self._attempt_in(columns, lines, result))

    def _attempt_in(self, columns: Columns, lines: Lines, result: BatchResult) -> None:
        if self.use_stage:
            inserted, duplicates = self.staged.write(columns, lines)
        else:
            with self.conn.cursor() as cur:
                copy_lines(cur, self.schema, self.table.name, columns, lines)
                # COPY's tag counts the rows the table received, not the lines sent
                inserted, duplicates = cur.rowcount, 0
        if inserted + duplicates < len(lines):  # undone with the savepoint, then found
            raise TriggerDropped
        result.loaded += inserted
        result.duplicates += duplicates
        if self.watch is not None:
            self.watch.loaded(inserted + duplicates)
        if self.run_id is not None:  # same savepoint: the marker's xmin is the rows' xmin
            written.mark_written(self.conn, self.schema, self.run_id, self.table.name)

    def _write(self, columns: Columns, lines: Lines, indexes: list[int],
               result: BatchResult) -> None:
        start = 0
        while start < len(lines):
            chunk = lines[start:]
            try:
                self._attempt(columns, chunk, result)
                return
            except psycopg.Error as exc:
                if not is_record_error(exc):
                    raise
                if self._switch_to_stage(exc):
                    continue
                line = copy_line_number(exc)
            except TriggerDropped:
                line = None  # halves until each dropped line is alone
            if len(chunk) == 1:
                self._single(columns, lines[start], indexes[start], result)
                return
            if line is not None and 1 <= line <= len(chunk):
                bad = start + line - 1
                if bad > start:
                    self._write(columns, lines[start:bad], indexes[start:bad], result)
                self._single(columns, lines[bad], indexes[bad], result)
                start = bad + 1
                continue
            middle = start + len(chunk) // 2
            self._write(columns, lines[start:middle], indexes[start:middle], result)
            start = middle

    def _switch_to_stage(self, exc: psycopg.Error) -> bool:
        """A key that exists already: from now on go through INSERT ... ON CONFLICT."""
        if (
            isinstance(exc, psycopg.errors.UniqueViolation)
            and self.on_conflict != "error"
            and not self.use_stage
            and self.table.conflict_key
        ):
            self.use_stage = True
            return True
        return False

    def _single(self, columns: Columns, line: bytes, index: int, result: BatchResult) -> None:
        """Try one line alone: it loads, or it is quarantined with its own error."""
        while True:
            try:
                self._attempt(columns, [line], result)
                return
            except psycopg.Error as exc:
                if not is_record_error(exc):
                    raise
                if self._switch_to_stage(exc):
                    continue
                self._quarantine(index, exc, result)
                return
            except TriggerDropped:
                if self._classify_by_key(columns, line, result):
                    return
                failure = Failure(None, TRIGGER_DROPPED, phase="trigger")
                record = self.fetch(index)
                self.quarantine.add(self.table.name, self.file_name, index, record, failure)
                self._failed(result, index, record, failure)
                return

    def _classify_by_key(self, columns: Columns, line: bytes, result: BatchResult) -> bool:
        """A dropped line whose key is in the table is a duplicate, whichever path it took."""
        if self.use_stage or not self.table.conflict_key or self.on_conflict == "error":
            return False
        self.use_stage = True  # for this one line only
        try:
            self._attempt(columns, [line], result)
            return True
        except TriggerDropped:
            return False
        except psycopg.Error as exc:
            if not is_row_error(exc):
                raise
            return False
        finally:
            self.use_stage = False

    def _quarantine(self, index: int, exc: psycopg.Error, result: BatchResult) -> None:
        record = self.fetch(index)
        failure = Failure.of(exc)
        if failure.column is None:  # a type error: COPY names the column only in its CONTEXT
            failure.column = copy_column_name(exc, self.table.columns)
        # an error raised in the staging table names it: the operator knows the real table
        stage, real = self.staged.stage, self.table.name
        failure.message = failure.message.replace(stage, real)
        failure.detail = failure.detail.replace(stage, real) if failure.detail else failure.detail
        self.quarantine.add(self.table.name, self.file_name, index, record, failure)
        self._failed(result, index, record, failure)

    def _failed(self, result: BatchResult, index: int | None, record: object,
                failure: Failure) -> None:
        """Count a failure, say so at once, and let the MaxErrors policy stop the table."""
        result.failed += 1
        if self.progress is not None:
            self.progress(result)
        if self.watch is not None:
            self.watch.failed(index, record, failure.sqlstate, failure.message)


class TableLoader:
    """Loads one table file from its batch source, committing per batch.

    `link` is the connection it loads on (the run's own, or one of this table alone); when
    the server drops it, the link reconnects and the loader redoes what did not commit.
    """

    def __init__(self, ctx: RunContext, job: TableJob, link: Link) -> None:
        self.link = link
        self.immediate_constraints = ctx.immediate
        self.schema = ctx.schema.name
        self.table: Table = ctx.schema.tables[job.plan.table]
        self.table_file: TableFile = job.plan.file
        # the checkpoint row this load commits with: the table's, or its range's
        self.row = (job.plan.table if job.part is None
                    else checkpoint.part_name(job.plan.table, job.part))
        self.run_id = ctx.run_id
        self.on_conflict = ctx.options.on_conflict
        self.quarantine: QuarantineWriter = ctx.quarantine
        self.sink: EventSink = ctx.sink
        self.cancel: threading.Event = ctx.cancel
        self.per_batch_commit = ctx.per_batch_commit
        self.errors: MaxErrors = ctx.errors
        self._watch = self.errors.watch(self.table.name)
        table_file, start = self.table_file, job.start
        begun = start or checkpoint.Checkpoint()
        self.stats = TableStats(
            table=self.table.name,
            file=table_file.path.name,
            bytes_total=table_file.size,
            records=begun.records_done,
            loaded=begun.loaded,
            duplicates=begun.duplicates,
            failed=begun.failed,
        )
        self.skip = begun.records_done
        # records of the last commit the server acknowledged (not necessarily on its disk)
        self._committed = begun.records_done
        # whether the table's checkpoint row is on the server's disk: until it is, a batch
        # commits synchronously, so a run log that counts the table always has its row
        self._row_durable = start is not None
        self._fetcher = RecordFetcher(table_file)
        self.stopped = False  # by a table error (_stop_table): resumable once fixed
        self._throttle = ProgressThrottle()
        self._waiter = LockWaiter(ctx.cancel, ctx.sink)

    @property
    def conn(self) -> psycopg.Connection:
        return self.link.conn

    def _writer(self) -> BatchWriter:
        return BatchWriter(
            self.conn, self.schema, self.table, self.table_file.path.name,
            self.on_conflict, self.quarantine, self._fetcher.get,
            run_id=None if self.immediate_constraints else self.run_id, waiter=self._waiter,
            watch=self._watch, progress=self._failed_live,
        )

    def _failed_live(self, batch: BatchResult) -> None:
        """A record of the batch in flight failed: the pane and the CLI see it now, not at
        the commit (a table whose records all fail would look frozen for a whole batch)."""
        self.stats.failing = batch.failed
        if self._throttle.due(self.table.name):
            self.sink(TableProgress(replace(self.stats)))

    def _commit_watched(self, writer: BatchWriter, batch: EncodedBatch
                        ) -> tuple[BatchResult | None, BatchWriter]:
        """`_commit_batch` under the MaxErrors policy: when it trips, the batch rolls back
        (with its quarantine lines), then the policy's answer: go on, skip the table, stop."""
        while True:
            self._watch.begin_batch()
            try:
                result = self._commit_batch(writer, batch)
            except TooManyErrors as trip:
                self._watch.rollback()
                self.stats.failing = 0
                self.quarantine.forget(self.table.name, before(self._first(batch)))
                self.sink(TableProgress(replace(self.stats)))
                choice = self.errors.decide(trip.run)
                if choice == CONTINUE:
                    self._watch.disarm()
                    self.sink(Warning(f"{self.table.name}: going on after {trip.run.failed:,} "
                                      "failed records, as the operator chose", self.table.name))
                    writer = self._writer()
                    continue
                if choice == STOP:
                    self.cancel.set()
                    raise Cancelled from None
                raise TableSkipped(trip.run.text()) from None
            if result is None:
                self._watch.rollback()
            self.stats.failing = 0
            return result, writer

    def run(self, batches: Iterable[EncodedBatch | SourceEnd],
            reopen: Callable[[int], Iterable[EncodedBatch | SourceEnd]] | None = None
            ) -> TableStats:
        """Load every batch, then mark the table finished. `reopen(skip)` gives the batches
        again from record `skip` on: needed when a crash took back acknowledged commits."""
        began = time.monotonic()
        stats = self.stats
        stats.state = LOADING
        self.sink(TableStarted(self.table.name, self.table_file.path.name, self.table_file.size))
        try:
            while True:
                try:
                    self._load(batches, began)
                    if self.stopped:
                        break
                    stats.seconds = time.monotonic() - began
                    if stats.state == LOADING:
                        stats.state = DONE if stats.failed == 0 else PARTIAL
                    self._save_finished()
                    break
                except Rewind as rewind:
                    if reopen is None:
                        raise FatalError(f"{self.table.name}: the server lost committed batches "
                                         "and this load cannot read its file again") from None
                    batches = reopen(rewind.done.records_done)
        except Cancelled:
            stats.state = CANCELLED
            stats.seconds = time.monotonic() - began
            self.sink(TableFinished(replace(stats)))
            raise
        stats.seconds = time.monotonic() - began
        # a table stopped by its own error keeps its checkpoint unfinished: a resume continues it
        self.sink(TableFinished(replace(stats)))
        return stats

    def _load(self, batches: Iterable[EncodedBatch | SourceEnd], began: float) -> None:
        stats = self.stats
        writer = self._writer()
        item: EncodedBatch | None = None
        try:
            for each in batches:
                if self.cancel.is_set():
                    raise Cancelled
                if isinstance(each, SourceEnd):
                    self._finish_source(each)
                    return
                item = each
                result, writer = self._commit_watched(writer, item)
                attempts = 1
                while result is None:  # reconnected: a new writer on the new connection, redo
                    if attempts >= MAX_BATCH_ATTEMPTS:
                        raise FatalError(f"{self.table.name}: the connection dropped {attempts} "
                                         "times on the same batch")
                    writer = self._writer()
                    result, writer = self._commit_watched(writer, item)
                    attempts += 1
                self._committed = item.records_read
                stats.records = item.records_read
                stats.loaded += result.loaded
                stats.duplicates += result.duplicates
                stats.failed += result.failed
                stats.bytes_read = item.bytes_read
                for key in item.new_ignored_keys:
                    self.sink(Warning(f"{self.table.name}: key {key!r} has no column; ignored",
                                      self.table.name))
                stats.seconds = time.monotonic() - began
                if self._throttle.due(self.table.name):
                    self.sink(TableProgress(replace(stats)))
                item = None  # committed: nothing of it is in flight
        except psycopg.Error as exc:  # about the table or the session, not a record
            self._stop_table(exc, item if isinstance(item, EncodedBatch) else None)
            return
        except TableSkipped as skipped:  # the MaxErrors policy: rows so far stay, resumable
            self.stats.state = FAILED
            self.stats.error = str(skipped)
            self.stopped = True
            self.sink(Warning(f"{self.table.name}: {skipped}", self.table.name))
            return
        if self.cancel.is_set():
            raise Cancelled

    def _stop_table(self, exc: psycopg.Error, batch: EncodedBatch | None) -> None:
        """An error about the table or the session, not a record: this table stops.

        The batch rolled back, so its quarantine lines go and its records count nowhere:
        `records` stays at what committed. A lost connection or a stop is not this.
        """
        if self.cancel.is_set():  # a statement cut short by the stop (run() reports it)
            raise Cancelled from None
        if connection_lost(exc, self.conn):  # not the table's error: the run stops, resumable
            raise exc
        if batch is not None:
            first = self._first(batch)
            self.quarantine.forget(self.table.name, self._before(first))
        reason = redact_text(" ".join(str(exc).split()))
        self.stats.state = FAILED
        self.stats.error = f"stopped after {plural(self.stats.records, 'record')}: {reason}"
        self.stopped = True
        self.sink(Warning(f"{self.table.name}: {self.stats.error}", self.table.name))

    def _finish_source(self, end: SourceEnd) -> None:
        stats = self.stats
        stats.records = max(stats.records, end.records_read) if end.fault is None else stats.records
        stats.bytes_read = end.bytes_read
        if end.fault is not None:
            stats.error = end.fault.message
            stats.state = FAILED if stats.records == 0 and end.fault.record_index == 0 else PARTIAL
            self.sink(Warning(f"{self.table.name}: {end.fault.message}", self.table.name))

    def _commit_batch(self, writer: BatchWriter, batch: EncodedBatch) -> BatchResult | None:
        """Write the batch and its checkpoint in one transaction. None: reconnected, redo."""
        stats = self.stats
        try:
            with self.conn.transaction():
                if self.immediate_constraints:  # deferred FKs would fail the whole commit
                    self.conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
                if self.per_batch_commit and not self._row_durable:
                    self.conn.execute("SET LOCAL synchronous_commit = on")
                result = writer.write(batch)
                if self.per_batch_commit:
                    checkpoint.save(self.conn, self.schema, self.run_id, self.row,
                                    checkpoint.Checkpoint(
                                        batch.records_read,
                                        stats.loaded + result.loaded,
                                        stats.duplicates + result.duplicates,
                                        stats.failed + result.failed,
                                    ))
                # the batch's quarantined records are on disk before it counts them as failed
                self.quarantine.sync(self.table.name)
                self._waiter.check()  # a stop during the batch: it rolls back, never commits
            self._row_durable = self._row_durable or self.per_batch_commit
            return result
        except psycopg.OperationalError as exc:
            if not self.link.lost(exc):
                raise
            self.sink(Warning(f"{self.table.name}: connection lost; reconnecting", self.table.name))
            done = self._reconnect_and_read_checkpoint()
            # the commit may have reached the server before the connection died
            if done.records_done >= batch.records_read:
                return BatchResult(done.loaded - stats.loaded, done.duplicates - stats.duplicates,
                                   done.failed - stats.failed)
            if done.records_done < self._committed:  # a crash took back acknowledged batches
                self._rewind(done)
            self.quarantine.forget(self.table.name, self._before(self._first(batch)))
            return None

    def _rewind(self, done: checkpoint.Checkpoint) -> None:
        """Go back to what the server holds: counts, quarantine and (by raising) the source.

        With asynchronous commit the server acknowledges a commit before it is on disk; a
        crash loses the last ones, and only the checkpoint read after the reconnect tells.
        """
        lost = self._committed - done.records_done
        stats = self.stats
        stats.records, stats.loaded = done.records_done, done.loaded
        stats.duplicates, stats.failed = done.duplicates, done.failed
        stats.error, stats.state = None, LOADING
        self._committed = done.records_done
        self._row_durable = done.records_done > 0
        self.quarantine.forget(self.table.name, self._before(done.records_done))
        self.sink(Warning(f"{self.table.name}: the server lost the batches of "
                          f"{plural(lost, 'record')} it had acknowledged (a crash, with "
                          "synchronous_commit off); loading them "
                          f"again from record {done.records_done:,}", self.table.name))
        raise Rewind(done)

    def _reconnect_and_read_checkpoint(self) -> checkpoint.Checkpoint:
        """A new connection, and what the server holds of this table (it may drop again)."""
        def held(conn: psycopg.Connection) -> checkpoint.Checkpoint:
            state = checkpoint.load_one(conn, self.schema, self.run_id, self.row)
            return state or checkpoint.Checkpoint(records_done=self._first_of_file)

        return self.link.renewed(held, self.table.name)

    @property
    def _first_of_file(self) -> int:
        """The index of this load's first record: 0, or its range's first."""
        span = self.table_file.span
        return span.first_index if span else 0

    def _before(self, first: int) -> Callable[[dict[str, Any]], bool]:
        """Keep the quarantine entries of records before `first`, and those of other ranges
        of the table (loaded beside this one), when this load is one range."""
        span = self.table_file.span
        if span is None:
            return before(first)
        return lambda e: e.get("index") is None or e["index"] < first or not span.holds(e["index"])

    @staticmethod
    def _first(batch: EncodedBatch) -> int:
        firsts = batch.indexes[:1] + [r.index for r in batch.rejects[:1]]
        return min(firsts) if firsts else batch.records_read

    def _save_finished(self) -> None:
        """The table's last commit waits for the server's disk: it flushes the WAL of every
        batch before it, so no later crash can take back a table that no loader watches."""
        if not self.per_batch_commit:
            return
        s = self.stats
        done = checkpoint.Checkpoint(s.records, s.loaded, s.duplicates, s.failed, True, s.error)
        for _ in range(MAX_BATCH_ATTEMPTS):  # an upsert: safe to redo on a new connection
            try:
                with self.conn.transaction():
                    self.conn.execute("SET LOCAL synchronous_commit = on")
                    checkpoint.save(self.conn, self.schema, self.run_id, self.row, done)
                    self._waiter.check()
                return
            except psycopg.OperationalError as exc:
                if not self.link.lost(exc):
                    raise
                self.sink(Warning(f"{self.table.name}: connection lost; reconnecting",
                                  self.table.name))
                held = self._reconnect_and_read_checkpoint()
                if held.finished:  # it committed (synchronously) before the line dropped
                    return
                if held.records_done < self._committed:
                    self._rewind(held)
        raise FatalError(f"{self.table.name}: the connection kept dropping while the table "
                         "was being marked finished")
