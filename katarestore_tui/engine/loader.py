"""Load one table: encoded batches -> COPY, bad lines found and quarantined, counts exact.

When COPY fails, the error's CONTEXT names the line (as pgloader uses it): the lines
before it load, that one line is tried alone (so only a proven-bad record is ever
quarantined, with its own error), and the rest goes on. Without a line number the
batch is split in halves. A batch's lines stay in hand until its transaction commits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import psycopg

from katarestore_tui.backup.catalog import TableFile
from katarestore_tui.backup.reader import BackupFormatError, RecordReader
from katarestore_tui.db.copy import StagedInsert, copy_line_number, copy_lines
from katarestore_tui.db.schema import Table
from katarestore_tui.engine import checkpoint
from katarestore_tui.engine.connect import connection_lost
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
from katarestore_tui.engine.quarantine import Failure, QuarantineWriter
from katarestore_tui.errors import Cancelled, FatalError


def is_row_error(exc: psycopg.Error) -> bool:
    """Errors that belong to a record (bad value, constraint), not to the table or server."""
    state = exc.sqlstate or ""
    return state[:2] in ("22", "23") or state == "21000"


MAX_BATCH_ATTEMPTS = 5  # a batch redone after this many drops in a row: give up (resumable)


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
        waiter: LockWaiter | None = None,
    ) -> None:
        self.conn = conn
        self.waiter = waiter  # bounded lock waits, retried; a stop is seen before each try
        self.schema = schema
        self.table = table
        self.file_name = file_name
        self.on_conflict = on_conflict
        self.quarantine = quarantine
        self.fetch = fetch
        self.staged = StagedInsert(conn, schema, table, on_conflict)
        # after a key conflict, later batches go straight to the staged path
        self.use_stage = False

    def write(self, batch: EncodedBatch) -> BatchResult:
        result = BatchResult()
        for reject in batch.rejects:
            failure = Failure(None, reject.cause, column=reject.column)
            self.quarantine.add(self.table.name, self.file_name, reject.index, reject.record, failure)
            result.failed += 1
        if batch.lines:
            self._write(batch.columns, batch.lines, batch.indexes, result)
        return result

    def _attempt(self, columns, lines, result: BatchResult) -> None:
        """One try in a savepoint: a failure (or a lock timeout) undoes only this try."""
        if self.waiter is None:
            with self.conn.transaction():
                self._attempt_in(columns, lines, result)
            return
        self.waiter.run(self.conn, self.schema, [self.table.name], ROW_EXCLUSIVE,
                        lambda: self._attempt_in(columns, lines, result))

    def _attempt_in(self, columns, lines, result: BatchResult) -> None:
        if self.use_stage:
            inserted, duplicates = self.staged.write(columns, lines)
            result.loaded += inserted
            result.duplicates += duplicates
        else:
            with self.conn.cursor() as cur:
                copy_lines(cur, self.schema, self.table.name, columns, lines)
            result.loaded += len(lines)

    def _write(self, columns, lines, indexes, result: BatchResult) -> None:
        start = 0
        while start < len(lines):
            chunk = lines[start:]
            try:
                self._attempt(columns, chunk, result)
                return
            except psycopg.Error as exc:
                if not is_row_error(exc):
                    raise
                if self._switch_to_stage(exc):
                    continue
                line = copy_line_number(exc)
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

    def _single(self, columns, line: bytes, index: int, result: BatchResult) -> None:
        """Try one line alone: it loads, or it is quarantined with its own error."""
        while True:
            try:
                self._attempt(columns, [line], result)
                return
            except psycopg.Error as exc:
                if not is_row_error(exc):
                    raise
                if self._switch_to_stage(exc):
                    continue
                self._quarantine(index, exc, result)
                return

    def _quarantine(self, index: int, exc: psycopg.Error, result: BatchResult) -> None:
        record = self.fetch(index)
        failure = Failure.of(exc)
        # an error raised in the staging table names it: the operator knows the real table
        stage, real = self.staged.stage, self.table.name
        failure.message = failure.message.replace(stage, real)
        failure.detail = failure.detail.replace(stage, real) if failure.detail else failure.detail
        self.quarantine.add(self.table.name, self.file_name, index, record, failure)
        result.failed += 1


class TableLoader:
    """Loads one table file from its batch source, committing per batch."""

    def __init__(
        self,
        conn: psycopg.Connection,
        schema: str,
        table: Table,
        table_file: TableFile,
        run_id: str,
        on_conflict: str,
        quarantine: QuarantineWriter,
        sink: EventSink,
        cancel: threading.Event,
        start: checkpoint.Checkpoint | None = None,
        per_batch_commit: bool = True,
        reconnect: Callable[[], psycopg.Connection] | None = None,
        immediate_constraints: bool = False,
    ) -> None:
        self.conn = conn
        self.immediate_constraints = immediate_constraints
        self.schema = schema
        self.table = table
        self.table_file = table_file
        self.run_id = run_id
        self.on_conflict = on_conflict
        self.quarantine = quarantine
        self.sink = sink
        self.cancel = cancel
        self.per_batch_commit = per_batch_commit
        self.reconnect = reconnect
        begun = start or checkpoint.Checkpoint()
        self.stats = TableStats(
            table=table.name,
            file=table_file.path.name,
            bytes_total=table_file.size,
            records=begun.records_done,
            loaded=begun.loaded,
            duplicates=begun.duplicates,
            failed=begun.failed,
        )
        self.skip = begun.records_done
        self._fetcher = RecordFetcher(table_file)
        self._throttle = ProgressThrottle()
        self._waiter = LockWaiter(cancel, sink)

    def _writer(self) -> BatchWriter:
        return BatchWriter(
            self.conn, self.schema, self.table, self.table_file.path.name,
            self.on_conflict, self.quarantine, self._fetcher.get, self._waiter,
        )

    def run(self, batches: Iterator[EncodedBatch | SourceEnd]) -> TableStats:
        began = time.monotonic()
        stats = self.stats
        stats.state = LOADING
        self.sink(TableStarted(self.table.name, self.table_file.path.name, self.table_file.size))
        writer = self._writer()
        try:
            for item in batches:
                if self.cancel.is_set():
                    raise Cancelled
                if isinstance(item, SourceEnd):
                    self._finish_source(item)
                    break
                result = self._commit_batch(writer, item)
                attempts = 1
                while result is None:  # reconnected: a new writer on the new connection, redo
                    if attempts >= MAX_BATCH_ATTEMPTS:
                        raise FatalError(f"{self.table.name}: the connection dropped {attempts} "
                                         "times on the same batch")
                    writer = self._writer()
                    result = self._commit_batch(writer, item)
                    attempts += 1
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
            else:
                if self.cancel.is_set():
                    raise Cancelled
        except Cancelled:
            stats.state = CANCELLED
            stats.seconds = time.monotonic() - began
            self.sink(TableFinished(replace(stats)))
            raise
        stats.seconds = time.monotonic() - began
        if stats.state == LOADING:
            stats.state = DONE if stats.failed == 0 else PARTIAL
        self._save_finished()
        self.sink(TableFinished(replace(stats)))
        return stats

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
                result = writer.write(batch)
                if self.per_batch_commit:
                    checkpoint.save(self.conn, self.schema, self.run_id, self.table.name,
                                    checkpoint.Checkpoint(
                                        batch.records_read,
                                        stats.loaded + result.loaded,
                                        stats.duplicates + result.duplicates,
                                        stats.failed + result.failed,
                                    ))
                self._waiter.check()  # a stop during the batch: it rolls back, never commits
            return result
        except psycopg.OperationalError as exc:
            if self.reconnect is None or not connection_lost(exc, self.conn):
                raise
            self.sink(Warning(f"{self.table.name}: connection lost; reconnecting", self.table.name))
            done = self._reconnect_and_read_checkpoint()
            # the commit may have reached the server before the connection died
            if done and done.records_done >= batch.records_read:
                return BatchResult(done.loaded - stats.loaded, done.duplicates - stats.duplicates,
                                   done.failed - stats.failed)
            self.quarantine.forget(
                self.table.name, lambda e: e.get("index") is None or e["index"] < self._first(batch)
            )
            return None

    def _reconnect_and_read_checkpoint(self) -> checkpoint.Checkpoint | None:
        """A new connection, and what the server holds of this table (it may drop again)."""
        for _ in range(MAX_BATCH_ATTEMPTS):
            self.conn = self.reconnect()  # type: ignore[misc]
            try:
                return checkpoint.load(self.conn, self.schema, self.run_id).get(self.table.name)
            except psycopg.OperationalError as exc:
                if not connection_lost(exc, self.conn):
                    raise
        raise FatalError(f"{self.table.name}: the connection kept dropping right after reconnecting")

    @staticmethod
    def _first(batch: EncodedBatch) -> int:
        firsts = batch.indexes[:1] + [r.index for r in batch.rejects[:1]]
        return min(firsts) if firsts else batch.records_read

    def _save_finished(self) -> None:
        if not self.per_batch_commit:
            return
        s = self.stats
        done = checkpoint.Checkpoint(s.records, s.loaded, s.duplicates, s.failed, True, s.error)
        for attempt in (1, 2):  # an upsert: safe to redo on a new connection
            try:
                with self.conn.transaction():
                    checkpoint.save(self.conn, self.schema, self.run_id, self.table.name, done)
                    self._waiter.check()
                return
            except psycopg.OperationalError as exc:
                if attempt == 2 or self.reconnect is None or not connection_lost(exc, self.conn):
                    raise
                self.sink(Warning(f"{self.table.name}: connection lost; reconnecting",
                                  self.table.name))
                self.conn = self.reconnect()
