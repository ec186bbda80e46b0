"""Run table loads one after another, or N at a time with parents before children.

`run_sequential` loads on the run's own connection and starts the next table's parser
early; `run_parallel` gives each table a connection of its own. Both fill `results` as
tables start, so a run that stops part-way still reports what committed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from functools import partial
from typing import Protocol, cast

from katarestore_tui.engine import indexes
from katarestore_tui.engine.connect import Link
from katarestore_tui.engine.context import RunContext, TableJob
from katarestore_tui.engine.encoder import EncodedBatch, SourceEnd
from katarestore_tui.engine.events import TableStats
from katarestore_tui.engine.loader import TableLoader
from katarestore_tui.engine.locks import LockWaiter
from katarestore_tui.engine.source import ParserProcess, inline_batches
from katarestore_tui.engine.split_load import RangedTable, load_ranged, plan_ranges

PARSER_PROCESS_MIN_BYTES = 4 * 1024 * 1024  # below this, starting a process costs more


class Source(Protocol):
    """A table's batches: a parser process, or the inline generator (both can be closed)."""

    def __iter__(self) -> Iterator[EncodedBatch | SourceEnd]: ...

    def close(self) -> None: ...


__all__ = ["TableJob", "run_parallel", "run_sequential", "run_tables"]


def run_tables(jobs: list[TableJob], ctx: RunContext,
               results: dict[str, TableStats] | None = None) -> dict[str, TableStats]:
    """Load every job, one after another or `--jobs` at a time."""
    results = {} if results is None else results
    if ctx.options.jobs <= 1 or len(jobs) <= 1:
        return run_sequential(jobs, ctx, results)
    return run_parallel(jobs, ctx, results)


def _ranges(ctx: RunContext, job: TableJob) -> RangedTable | None:
    """The job cut into ranges (a big table on every core), or None: loaded whole."""
    return ctx.link.retrying(lambda: plan_ranges(ctx, job))


def _uses_process(ctx: RunContext, job: TableJob) -> bool:
    return ctx.options.parser_process and job.plan.file.size >= PARSER_PROCESS_MIN_BYTES


def _open_source(ctx: RunContext, job: TableJob, on_parsed: Callable[[], None] | None = None,
                 skip: int | None = None) -> Source:
    """The job's batches from record `skip` on (default: where the job starts)."""
    table = ctx.schema.tables[job.plan.table]
    if skip is None:
        skip = job.start.records_done if job.start else 0
    if _uses_process(ctx, job):
        return ParserProcess(job.plan.file, table, ctx.options.batch_size, skip, ctx.cancel,
                             on_parsed)
    # a generator underneath: close() stops it
    return cast(Source, inline_batches(job.plan.file, table, ctx.options.batch_size, skip))


def _load(ctx: RunContext, job: TableJob, link: Link, results: dict[str, TableStats],
          batches: Source | None = None) -> TableStats:
    """One table on `link`; its source is closed when the table is done, whatever happened."""
    source = batches if batches is not None else _open_source(ctx, job)

    def reopen(skip: int) -> Source:
        """The file again from record `skip` on (the server lost batches in a crash)."""
        nonlocal source
        source.close()
        source = _open_source(ctx, job, skip=skip)
        return source

    try:
        loader = TableLoader(ctx, job, link)
        results[job.plan.table] = loader.stats  # counts only what has committed
        return loader.run(source, reopen)
    finally:
        source.close()  # stops a parser process now, not when garbage is collected


def _with_indexes(ctx: RunContext, link: Link, table: str,
                  load: Callable[[], TableStats]) -> TableStats:
    """The "indexes" phase around a table's whole load (all its ranges, when it has them):
    an empty table's secondary indexes go before its data and are built again after it."""
    waiter = LockWaiter(ctx.cancel, ctx.sink)
    phase = indexes.before_data(link.conn, ctx.options, table, ctx.run_id, waiter, ctx.sink)
    stats = load()
    # on the link's latest connection (it may have been reopened during the load)
    indexes.after_data(link.conn, ctx.options, stats, ctx.run_id, waiter, ctx.sink, phase)
    return stats


def run_sequential(jobs: list[TableJob], ctx: RunContext,
                   results: dict[str, TableStats]) -> dict[str, TableStats]:
    """One table after another on the run's own connection (`ctx.link`).

    The next table's parser process starts as soon as this table's file is parsed (or at
    once when this one is parsed inline), so it works while the server takes this table's
    last batches: no core waits at a table boundary.
    """
    started: dict[int, Source] = {}
    lock = threading.Lock()
    ended = False

    def open_chained(i: int) -> Source:
        """Table i's source; once its file is parsed, table i + 1's parser starts."""
        return _open_source(ctx, jobs[i], lambda: start_early(i + 1))

    def start_early(i: int) -> None:
        with lock:
            if ended or ctx.cancel.is_set() or i >= len(jobs) or i in started:
                return
            if _uses_process(ctx, jobs[i]):
                started[i] = open_chained(i)

    try:
        for i, job in enumerate(jobs):
            with lock:
                batches = started.pop(i, None)
            if (ranged := _ranges(ctx, job)) is not None:
                if batches is not None:  # started early for a whole load: not needed
                    batches.close()
                results[job.plan.table] = _with_indexes(
                    ctx, ctx.link, job.plan.table, partial(load_ranged, ctx, ranged, results, _load))
                start_early(i + 1)
                continue
            if batches is None:
                batches = open_chained(i)
            if not _uses_process(ctx, job):
                start_early(i + 1)
            results[job.plan.table] = _with_indexes(
                ctx, ctx.link, job.plan.table,
                partial(_load, ctx, job, ctx.link, results, batches))
    finally:
        with lock:
            ended = True
            leftover = list(started.values())
            started.clear()
        for source in leftover:  # cancelled or failed before their turn came
            source.close()
    return results


def run_parallel(jobs: list[TableJob], ctx: RunContext,
                 results: dict[str, TableStats]) -> dict[str, TableStats]:
    """Up to `--jobs` tables at once, each on a connection of its own; a table starts
    once every parent listed before it has finished. A table cut into ranges takes every
    slot (its ranges use them): it starts when nothing else runs, and runs alone."""
    order = [job.plan.table for job in jobs]
    pending = list(jobs)
    finished: set[str] = set()
    running: dict[Future[TableStats], str] = {}
    ranged: dict[str, RangedTable | None] = {}
    alone = False  # a ranged table is running

    def load_alone(job: TableJob) -> TableStats:
        link = ctx.table_link(job.plan.table)  # waits out a blip like a reconnect does
        try:
            return _with_indexes(ctx, link, job.plan.table, partial(_load, ctx, job, link, results))
        finally:
            link.close()

    with ThreadPoolExecutor(max_workers=ctx.options.jobs,
                            thread_name_prefix="katarestore") as pool:
        while pending or running:
            for job in list(pending):
                earlier = set(order[: order.index(job.plan.table)])
                if (alone or not set(job.plan.parents) & earlier <= finished
                        or len(running) >= ctx.options.jobs):
                    continue
                name = job.plan.table
                if name not in ranged:
                    ranged[name] = _ranges(ctx, job)
                cut = ranged[name]
                if cut is not None:
                    if running:
                        break  # let the running tables finish first; nothing else starts
                    pending.remove(job)
                    running[pool.submit(_with_indexes, ctx, ctx.link, name,
                                        partial(load_ranged, ctx, cut, results, _load))] = name
                    alone = True
                    break
                pending.remove(job)
                running[pool.submit(load_alone, job)] = name
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                name = running.pop(future)
                alone = alone and ranged.get(name) is None
                try:
                    results[name] = future.result()  # re-raises Cancelled / FatalError
                except BaseException:
                    ctx.cancel.set()  # the other tables stop at their next batch boundary
                    raise
                finished.add(name)
    return results
