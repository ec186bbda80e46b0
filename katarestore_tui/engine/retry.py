"""Load a run's quarantined records again, after the operator fixed the cause.

Records that load now leave the quarantine and count as loaded (or duplicates);
the rest stay, with the error of this attempt. The run's counts stay exact.

A retry has the restore's checkpoint discipline, so a kill -9 at any moment loads nothing
twice and leaves no count stuck. Per table, before anything loads, the quarantine file is
copied to a base file; the entries are then retried in batches, and each batch commits
together with a checkpoint row (run "<run_id> retry") saying how many base entries are
done, while the outcome of each entry was appended to a journal file (flushed) just
before. Only then is the table finished: the quarantine rewritten from base + journal,
the run log updated (once, marked with the attempt id), the checkpoint row deleted, the
side files removed. Each of these steps can be redone, so the next retry first finishes
whatever an interrupted one committed, from what the database says was committed.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import psycopg

from katarestore_tui.db.convert import ConversionError
from katarestore_tui.db.schema import Table, read_schema
from katarestore_tui.engine import checkpoint, indexes
from katarestore_tui.engine.connect import connect
from katarestore_tui.engine.encoder import EncodedBatch, RecordEncoder, Rejected
from katarestore_tui.engine.events import DONE, PARTIAL, ignore_events
from katarestore_tui.engine.loader import BatchWriter
from katarestore_tui.engine.locks import LockWaiter
from katarestore_tui.engine.quarantine import Failure, QuarantineWriter, read_entries
from katarestore_tui.errors import FatalError
from katarestore_tui.history.runlog import RunLog, TableLog
from katarestore_tui.jsontext import dumps_exact
from katarestore_tui.words import plural

RETRY_BATCH = 5_000
Entry = dict[str, Any]  # one quarantine line, as read_entries gives it


@dataclass
class RetryResult:
    run_id: str
    tables: dict[str, dict[str, int]] = field(default_factory=dict)  # table -> counts
    error: str | None = None
    # what an interrupted retry had committed, finished by this one: table -> counts
    recovered: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def still_failed(self) -> int:
        return sum(t["still_failed"] for t in self.tables.values())


def retry_run(run_id: str, dsn: str, table: str | None = None,
              cancel: threading.Event | None = None,
              select: Callable[[Entry], bool] | None = None,
              batch_size: int = RETRY_BATCH) -> RetryResult:
    """Retry the run's quarantined records (of `table`, and only those `select` accepts)."""
    run = RunLog.load(run_id)
    schema_name = run.options.get("schema", "public")
    result = RetryResult(run_id)
    writer = QuarantineWriter(run_id)
    index_problems: list[str] = []
    try:
        conn = connect(dsn)
    except FatalError as exc:
        result.error = str(exc)
        return result
    try:
        if not checkpoint.lock_run(conn, _retry_key(run_id)):
            raise FatalError(f"another retry of run {run_id} is running")
        conn.execute("SET TimeZone = 'UTC'")  # as the restore reads ISO strings
        if run.fk_mode == "replica":
            conn.execute("SET session_replication_role = origin")  # check each row now
        result.recovered = _recover(conn, schema_name, run_id, writer)
        # indexes a restore dropped and did not build: first, so the retried rows meet them
        built = indexes.rebuild_left_over(conn, dsn, schema_name,
                                          LockWaiter(cancel or threading.Event(), ignore_events),
                                          ignore_events)
        index_problems = built.problems  # said at the end; the records are retried anyway
        schema = read_schema(conn, schema_name)
        # parents first: a child record may be waiting for a parent retried just before it
        names = [table] if table else schema.load_order(
            [n for n in sorted(run.tables) if n in schema.tables])[0]
        for name in names:
            path = writer.path(name)
            if not path.exists() or name not in schema.tables:
                continue
            entries = list(read_entries(path))  # a quarantine is small next to its table
            if not entries:
                continue
            attempt = _Attempt(conn, schema_name, run_id, schema.tables[name], writer.path(name))
            result.tables[name] = attempt.run(entries, select, batch_size, cancel)
            if cancel is not None and cancel.is_set():
                break
    except FatalError as exc:
        result.error = str(exc)
    except psycopg.Error as exc:  # the server refused something that is not a record's fault
        result.error = f"retry stopped: {exc}".strip()
    finally:
        conn.close()
        writer.close()
    if index_problems and result.error is None:
        result.error = "; ".join(index_problems)
    if any(t["loaded"] + t["duplicates"] for t in result.tables.values()):
        run = RunLog.load(run_id)
        run.retries.append(result.tables)
        run.save()
    return result


def _retry_key(run_id: str) -> str:
    """The checkpoint run id of a run's retries (a run id never holds a space)."""
    return f"{run_id} retry"


class _SideFiles:
    """The base copy of a table's quarantine and the journal of outcomes, next to it."""

    def __init__(self, quarantine: Path) -> None:
        self.quarantine = quarantine
        self.base = quarantine.with_name(quarantine.name + ".retry-base")
        self.journal = quarantine.with_name(quarantine.name + ".retry-journal")

    def start(self, entries: list[Entry]) -> None:
        _write_atomic(self.base, [dumps_exact(e) for e in entries])
        _write_atomic(self.journal, [])

    def merged(self, done: int) -> list[Entry]:
        """The quarantine once the first `done` journal lines (the committed ones) apply."""
        outcomes: dict[int, Entry | None] = {}
        with open(self.journal, encoding="utf-8") as handle:
            for _, line in zip(range(done), handle, strict=False):
                item = json.loads(line)
                outcomes[item["pos"]] = item["failure"]
        if len(outcomes) < done:
            raise FatalError(f"{self.journal} holds fewer outcomes than the database committed; "
                             "the quarantine of this table cannot be finished safely")
        kept = []
        for pos, entry in enumerate(read_entries(self.base)):
            if pos not in outcomes:
                kept.append(entry)
            elif (outcome := outcomes[pos]) is not None:
                entry.update(outcome)
                kept.append(entry)
        return kept

    def remove(self) -> None:
        for path in (self.base, self.journal):
            path.unlink(missing_ok=True)


class _Attempt:
    """One table's retry: batches that commit with their checkpoint, then the bookkeeping."""

    def __init__(self, conn: psycopg.Connection, schema: str, run_id: str, table: Table,
                 quarantine: Path) -> None:
        self.conn = conn
        self.schema = schema
        self.run_id = run_id
        self.table = table
        self.files = _SideFiles(quarantine)
        self.state = checkpoint.Checkpoint(error="attempt " + secrets.token_hex(6))

    def run(self, entries: list[Entry], select: Callable[[Entry], bool] | None,
            batch_size: int, cancel: threading.Event | None) -> dict[str, int]:
        positions = [p for p, e in enumerate(entries) if select is None or select(e)]
        checkpoint.ensure_table(self.conn, self.schema)
        self.files.start(entries)
        with open(self.files.journal, "a", encoding="utf-8") as journal:
            for start in range(0, len(positions), batch_size):
                self._commit(entries, positions[start:start + batch_size], journal)
                if cancel is not None and cancel.is_set():
                    break
        state = self.state
        counts = {"retried": state.records_done, "loaded": state.loaded,
                  "duplicates": state.duplicates, "still_failed": state.failed}
        _finish(self.conn, self.schema, self.run_id, self.table.name, self.files, state)
        return counts

    def _commit(self, entries: list[Entry], chunk: list[int], journal: IO[str]) -> None:
        """One batch and its checkpoint in one transaction; its outcomes journaled first."""
        failures: dict[int, Failure] = {}
        # lines of a batch that did not commit may stay: an error ends the attempt, and
        # the next retry reads only as many lines as the database says were committed
        with self.conn.transaction():
            loaded, duplicates = _write_batch(self.conn, self.schema, self.table, entries,
                                              chunk, failures)
            journal.writelines(json.dumps({"pos": p, "failure": _outcome(failures.get(p))})
                               + "\n" for p in chunk)
            journal.flush()
            os.fsync(journal.fileno())
            state = replace(self.state, records_done=self.state.records_done + len(chunk),
                            loaded=self.state.loaded + loaded,
                            duplicates=self.state.duplicates + duplicates,
                            failed=self.state.failed + len(failures))
            checkpoint.save(self.conn, self.schema, _retry_key(self.run_id),
                            self.table.name, state)
        self.state = state


def _outcome(failure: Failure | None) -> Entry | None:
    """How a quarantine entry changes: None = it left (loaded or a duplicate)."""
    if failure is None:
        return None
    return {"sqlstate": failure.sqlstate, "message": failure.message,
            "detail": failure.detail, "column": failure.column}


def _write_batch(conn: psycopg.Connection, schema_name: str, table: Table,
                 entries: list[Entry], chunk: list[int],
                 failures: dict[int, Failure]) -> tuple[int, int]:
    """Encode and write the entries at `chunk` inside the caller's transaction."""
    encoder = RecordEncoder(table)

    class _Collect:  # stands in for the QuarantineWriter: this attempt's failures, by position
        def add(self, _table: str, _file: str, index: int, _record: object,
                failure: Failure) -> None:
            failures[index] = failure

    groups: dict[tuple[str, ...], EncodedBatch] = {}
    for position in chunk:
        record = entries[position].get("record")
        try:
            if not isinstance(record, dict):
                raise ConversionError("record is not a JSON object")
            layout, line = encoder.encode(record)
        except ConversionError as exc:
            batch = groups.setdefault((), EncodedBatch((), [], []))
            batch.rejects.append(Rejected(position, record, str(exc)))
            continue
        batch = groups.setdefault(layout.columns, EncodedBatch(layout.columns, [], []))
        batch.indexes.append(position)
        batch.lines.append(line)
    bw = BatchWriter(conn, schema_name, table, "", "skip", _Collect(),  # type: ignore[arg-type]
                     lambda position: entries[position].get("record"))
    loaded = duplicates = 0
    for batch in groups.values():
        outcome = bw.write(batch)
        loaded += outcome.loaded
        duplicates += outcome.duplicates
    return loaded, duplicates


def _recover(conn: psycopg.Connection, schema: str, run_id: str,
             writer: QuarantineWriter) -> dict[str, dict[str, int]]:
    """Finish the tables an interrupted retry left, from what the database committed."""
    recovered = {}
    pending = checkpoint.load(conn, schema, _retry_key(run_id))
    for name, state in pending.items():
        files = _SideFiles(writer.path(name))
        if not files.base.exists():
            raise FatalError(f"an interrupted retry of {name} committed {plural(state.loaded, 'row')} "
                             f"but its file {files.base} is gone: the quarantine and run log "
                             "of this table cannot be corrected automatically")
        _finish(conn, schema, run_id, name, files, state)
        recovered[name] = {"retried": state.records_done, "loaded": state.loaded,
                           "duplicates": state.duplicates, "still_failed": state.failed}
    # side files without a checkpoint row: nothing of theirs committed, or all was finished
    for base in writer.folder.glob("*.retry-base") if writer.folder.exists() else ():
        quarantine = base.with_name(base.name.removesuffix(".retry-base"))
        _SideFiles(quarantine).remove()
    return recovered


def _finish(conn: psycopg.Connection, schema: str, run_id: str, table: str, files: _SideFiles,
            state: checkpoint.Checkpoint) -> None:
    """Quarantine, then run log, then checkpoint row, then side files: each step redoable."""
    _write_atomic(files.quarantine, [dumps_exact(e)
                                     for e in files.merged(state.records_done)])
    _apply_to_run_log(run_id, table, state)
    checkpoint.forget_table(conn, schema, _retry_key(run_id), table)
    files.remove()


def _apply_to_run_log(run_id: str, table: str, state: checkpoint.Checkpoint) -> None:
    """Move the attempt's loaded and duplicate records out of `failed`, once per attempt."""
    run = RunLog.load(run_id)
    stats = run.tables.setdefault(table, TableLog())
    if stats.retry_applied == state.error or not (state.loaded + state.duplicates):
        return
    stats.loaded += state.loaded
    stats.duplicates += state.duplicates
    stats.failed -= state.loaded + state.duplicates
    stats.retry_applied = state.error
    if stats.failed == 0 and stats.state == PARTIAL and not stats.error:
        stats.state = DONE
    run.recount()
    if run.status == "partial" and run.failed == 0 and not any(
        t.error for t in run.tables.values()
    ):
        run.status = "completed"
        run.exit_code = 0
    run.save()


def _write_atomic(path: Path, lines: list[str]) -> None:
    """Write-then-rename, owner-only: a kill leaves the old file or the new one, never half."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.writelines(line + "\n" for line in lines)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
