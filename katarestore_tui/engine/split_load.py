"""One big table on every core: its file cut into ranges, each parsed by its own process
and loaded by its own COPY connection, with a checkpoint row per range.

The ranges (backup/ranges.py) are written to the checkpoint, synchronously, before any of
them loads; each range then commits its own row with each batch, exactly as a table does,
and the last step folds them into the table's row in one commit. A resume reads the ranges
back from those rows (never cuts the file again) and continues each where it stopped.

A table is cut only where the order of its records cannot change the outcome: no unique
index or exclusion constraint (which copy of a repeated key loads, is a duplicate, or is
quarantined depends on which comes first: parallel ranges would race for it), foreign keys
checked after the load (row by row, a child in one range could arrive before its parent in
another), and each batch its own commit.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import psycopg
from psycopg import sql

from katarestore_tui.backup.ranges import ByteRange, split_ranges
from katarestore_tui.engine import checkpoint
from katarestore_tui.engine.connect import Link
from katarestore_tui.engine.context import RunContext, TableJob
from katarestore_tui.engine.events import (
    CANCELLED,
    DONE,
    FAILED,
    LOADING,
    PARTIAL,
    Event,
    TableFinished,
    TableProgress,
    TableStarted,
    TableStats,
)

RANGE_MIN_BYTES = 64 * 1024 * 1024  # below this a second process and connection cost more
MIN_BYTES_ENV = "KATARESTORE_RANGE_MIN_BYTES"  # tests and benchmarks cut small files


def min_bytes() -> int:
    value = os.environ.get(MIN_BYTES_ENV, "")
    return int(value) if value.isdigit() else RANGE_MIN_BYTES


def part_label(span: ByteRange) -> str:
    """A range as its checkpoint row names it: enough to read the same bytes again."""
    end = "" if span.end_index is None else str(span.end_index)
    return f"{span.start}-{span.end}-{span.first_index}-{end}"


def _span_of(label: str, file_format: str) -> ByteRange:
    start, end, first, end_index = label.split("-")
    array = file_format == "array"
    return ByteRange(int(start), int(end), int(first),
                     None if end_index == "" else int(end_index),
                     prefix=b"[" if array and int(start) > 0 else b"",
                     suffix=b"\n]" if array and end_index != "" else b"")


def gaps(labels: list[str]) -> str | None:
    """What is missing when a table's range rows do not cover its file from its first
    record to its last (a row deleted by hand); None when they do."""
    spans = sorted((_span_of(label, "lines") for label in labels), key=lambda s: s.first_index)
    expected = 0
    for span in spans:
        if span.first_index != expected:
            return f"no checkpoint for its records {expected:,} to {span.first_index - 1:,}"
        if span.end_index is None:
            return None if span is spans[-1] else "overlapping ranges"
        expected = span.end_index
    return f"no checkpoint for its records from {expected:,} on"


@dataclass
class RangedTable:
    """A table whose load is cut into ranges: the table's job and one job per range."""

    job: TableJob
    parts: list[TableJob]


def order_free(conn: psycopg.Connection, schema: str, table: str) -> bool:
    """Whether no record's fate depends on another's: no unique index (partial, expression
    and non-constraint ones included) and no exclusion constraint on the table."""
    name = sql.Identifier(schema, table).as_string(conn)
    row = conn.execute(
        "SELECT NOT EXISTS (SELECT 1 FROM pg_index WHERE indrelid = %s::regclass"
        " AND indisunique) AND NOT EXISTS (SELECT 1 FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype = 'x')",
        (name, name),
    ).fetchone()
    return bool(row and row[0])


def plan_ranges(ctx: RunContext, job: TableJob) -> RangedTable | None:
    """The table's ranges: those a stopped run recorded, else new ones when the table is
    big enough, `--jobs` > 1 and its records' order cannot matter; None: load it whole."""
    if not ctx.per_batch_commit:
        return None
    conn = ctx.link.conn
    table = job.plan.table
    fmt = job.plan.file.format
    held = checkpoint.load_parts(conn, ctx.schema.name, ctx.run_id, table) if job.start else {}
    if held:  # a resume: exactly the ranges the run started with
        spans = sorted((_span_of(label, fmt) for label in held), key=lambda s: s.start)
        starts = {part_label(s): held[part_label(s)] for s in spans}
    else:
        if job.start is not None and job.start.records_done > 0:
            return None  # begun whole: it goes on whole
        if (ctx.options.jobs < 2 or ctx.immediate or job.plan.file.size < min_bytes()
                or not order_free(conn, ctx.schema.name, table)):
            return None
        found = split_ranges(job.plan.file, ctx.options.jobs)
        if found is None:
            return None
        spans = found
        starts = {part_label(s): checkpoint.Checkpoint(records_done=s.first_index)
                  for s in spans}
        checkpoint.start_parts(conn, ctx.schema.name, ctx.run_id, table,
                               {label: c.records_done for label, c in starts.items()})
    parts = [
        TableJob(replace(job.plan, file=replace(job.plan.file, span=span)),
                 starts[part_label(span)], part=part_label(span))
        for span in spans
    ]
    return RangedTable(job, parts)


class _Totals:
    """The table's counts as the sum of its ranges', kept in `results` for the run log."""

    def __init__(self, ranged: RangedTable, stats: TableStats) -> None:
        self.ranged = ranged
        self.stats = stats
        self.parts: dict[str, TableStats] = {}
        self.lock = threading.Lock()

    def refresh(self) -> TableStats:
        with self.lock:
            s = self.stats
            parts = [(job.plan.file.span, self.parts.get(job.part or "")) for job in self.ranged.parts]
            s.records = s.loaded = s.duplicates = s.failed = s.bytes_read = 0
            for span, part in parts:
                assert span is not None
                if part is None:
                    continue
                s.records += part.records - span.first_index
                s.loaded += part.loaded
                s.duplicates += part.duplicates
                s.failed += part.failed
                s.bytes_read += max(0, min(part.bytes_read, span.end) - span.start)
                s.seconds = max(s.seconds, part.seconds)
            return replace(s)


class _Into(dict[str, TableStats]):
    """The `results` a range's loader fills: its live counts go straight into the totals."""

    def __init__(self, totals: _Totals, label: str) -> None:
        super().__init__()
        self.totals, self.label = totals, label

    def __setitem__(self, key: str, value: TableStats) -> None:
        super().__setitem__(key, value)
        with self.totals.lock:
            self.totals.parts[self.label] = value


def load_ranged(ctx: RunContext, ranged: RangedTable, results: dict[str, TableStats],
                load_part: Callable[[RunContext, TableJob, Link, dict[str, TableStats]],
                                    Any]) -> TableStats:
    """Load every range at once (`--jobs` of them at most), each on a link of its own; when
    all finished, fold their rows into the table's. `load_part` loads one job on a link."""
    plan = ranged.job.plan
    stats = TableStats(plan.table, plan.file.path.name, plan.file.size, state=LOADING)
    totals = _Totals(ranged, stats)
    results[plan.table] = stats
    ctx.sink(TableStarted(plan.table, plan.file.path.name, plan.file.size))

    def heard(event: Event) -> None:
        """A range's own start and end are the table's business; its progress, summed."""
        if isinstance(event, TableStarted | TableFinished):
            return
        if isinstance(event, TableProgress):
            event = TableProgress(totals.refresh())
        ctx.sink(event)

    part_ctx = replace(ctx, sink=heard)

    def one(job: TableJob) -> None:
        label = job.part or ""
        start = job.start or checkpoint.Checkpoint()
        begun = TableStats(plan.table, records=start.records_done, loaded=start.loaded,
                           duplicates=start.duplicates, failed=start.failed,
                           bytes_read=job.plan.file.span.end if start.finished
                           and job.plan.file.span else 0,
                           state=(PARTIAL if start.failed or start.error else DONE)
                           if start.finished else LOADING, error=start.error)
        with totals.lock:
            totals.parts[label] = begun
        if start.finished:  # a resume: this range had finished before the stop
            return
        link = ctx.table_link(plan.table)
        try:
            load_part(part_ctx, job, link, _Into(totals, label))
        except BaseException:
            ctx.cancel.set()  # the other ranges stop at their next batch boundary
            raise
        finally:
            link.close()

    errors: list[BaseException] = []
    workers = max(1, min(ctx.options.jobs, len(ranged.parts)))
    with ThreadPoolExecutor(max_workers=workers,
                            thread_name_prefix=f"katarestore-{plan.table}") as pool:
        futures = [pool.submit(one, job) for job in ranged.parts]
        for future in futures:
            exc = future.exception()
            if exc is not None:
                errors.append(exc)
    final = _final_state(totals)
    if errors:
        final.state = CANCELLED
        stats.state = CANCELLED
        ctx.sink(TableFinished(final))
        raise errors[0]
    if final.state != FAILED or not _any_stopped(totals):
        _fold(ctx, plan.table, final)
    ctx.sink(TableFinished(replace(final)))
    return final


def _any_stopped(totals: _Totals) -> bool:
    """A range stopped by a table error (not by a fault of its bytes): left unfinished."""
    return any(p.state == FAILED and (p.error or "").startswith("stopped after")
               for p in totals.parts.values())


def _final_state(totals: _Totals) -> TableStats:
    totals.refresh()
    s = totals.stats
    states = [p.state for p in totals.parts.values()]
    errors = [p.error for p in totals.parts.values() if p.error]
    s.error = errors[0] if errors else None
    if _any_stopped(totals) or (s.error and s.records == 0):
        s.state = FAILED
    elif CANCELLED in states:
        s.state = CANCELLED
    else:
        s.state = DONE if s.failed == 0 and not s.error else PARTIAL
    return s


def _fold(ctx: RunContext, table: str, final: TableStats) -> None:
    """The ranges' rows become the table's finished row (a fresh link: the ranges' closed)."""
    done = checkpoint.Checkpoint(final.records, final.loaded, final.duplicates, final.failed,
                                 True, final.error)
    link = ctx.table_link(table)
    try:
        link.retrying(lambda: checkpoint.finish_parts(link.conn, ctx.schema.name, ctx.run_id,
                                                      table, done))
    finally:
        link.close()


def keep_committed(parts: dict[str, checkpoint.Checkpoint], file_format: str
                   ) -> Callable[[dict[str, Any]], bool]:
    """A quarantine filter for a resume: each range keeps the entries it committed."""
    spans = [(_span_of(label, file_format), state.records_done) for label, state in parts.items()]

    def keep(entry: dict[str, Any]) -> bool:
        index = entry.get("index")
        if index is None:
            return True
        for span, done in spans:
            if span.holds(index):
                return bool(index < done)
        return False

    return keep
