"""Run table loads one after another, or N at a time with parents before children."""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

import psycopg

from katarestore_tui.db.schema import Schema
from katarestore_tui.engine import checkpoint, indexes
from katarestore_tui.engine.connect import Session
from katarestore_tui.engine.encoder import EncodedBatch, SourceEnd
from katarestore_tui.engine.events import EventSink, TableStats, Warning
from katarestore_tui.engine.loader import TableLoader
from katarestore_tui.engine.locks import LockWaiter
from katarestore_tui.engine.options import RestoreOptions
from katarestore_tui.engine.plan import TablePlan
from katarestore_tui.engine.quarantine import QuarantineWriter
from katarestore_tui.engine.source import ParserProcess, inline_batches

PARSER_PROCESS_MIN_BYTES = 4 * 1024 * 1024  # below this, starting a process costs more
Source = Generator[EncodedBatch | SourceEnd, None, None] | ParserProcess  # both have close()


@dataclass
class TableJob:
    plan: TablePlan
    start: checkpoint.Checkpoint | None = None


def run_tables(
    jobs: list[TableJob],
    options: RestoreOptions,
    schema: Schema,
    run_id: str,
    session: Session,
    main_conn: psycopg.Connection,
    quarantine: QuarantineWriter,
    sink: EventSink,
    cancel: threading.Event,
    immediate: bool,
    results: dict[str, TableStats] | None = None,
) -> dict[str, TableStats]:
    """Load every job; `results` (when given) holds each table's live stats as soon as it
    starts, so a run that stops part-way (cancel, fatal error) still reports what committed."""
    results = {} if results is None else results

    current = {"conn": main_conn}  # one table after another: the latest live connection

    def uses_process(job: TableJob) -> bool:
        return options.parser_process and job.plan.file.size >= PARSER_PROCESS_MIN_BYTES

    def open_source(job: TableJob, on_parsed: Callable[[], None] | None = None,
                    skip: int | None = None) -> Source:
        table = schema.tables[job.plan.table]
        if skip is None:
            skip = job.start.records_done if job.start else 0
        if uses_process(job):
            return ParserProcess(job.plan.file, table, options.batch_size, skip, cancel, on_parsed)
        return inline_batches(job.plan.file, table, options.batch_size, skip)

    def load(job: TableJob, conn: psycopg.Connection | None, batches: Source | None = None
             ) -> TableStats:
        own = conn is None  # a connection of this job alone (--jobs > 1)
        if conn is None:  # waits out a blip like a reconnect does
            conn = session.reopen(lambda m: sink(Warning(m, job.plan.table)))
        opened = [conn] if own else []  # closed when the table is done

        def reconnect() -> psycopg.Connection:
            fresh = session.reopen(lambda m: sink(Warning(m, table.name)))
            if own:
                opened.append(fresh)
            else:  # the tables after this one go on on the new connection
                if current["conn"] is not main_conn:
                    current["conn"].close()
                current["conn"] = fresh
            return fresh

        table = schema.tables[job.plan.table]
        source = {"now": batches if batches is not None else open_source(job)}

        def reopen(skip: int) -> Source:
            """The file again from record `skip` on (the server lost batches in a crash)."""
            source["now"].close()
            source["now"] = open_source(job, skip=skip)
            return source["now"]

        waiter = LockWaiter(cancel, sink)
        try:
            # hook: an empty table's secondary indexes go until its data is in
            index_phase = indexes.before_data(conn, options, table.name, run_id, waiter, sink)
            loader = TableLoader(
                conn, schema.name, table, job.plan.file, run_id, options.on_conflict,
                quarantine, sink, cancel, job.start,
                per_batch_commit=not options.single_transaction,
                # one transaction for everything: a lost connection lost it all, never go on
                reconnect=None if options.single_transaction else reconnect,
                immediate_constraints=immediate,
            )
            results[job.plan.table] = loader.stats  # counts only what has committed
            stats = loader.run(source["now"], reopen)
            # hook: the "indexes" phase builds them again (on the loader's latest connection)
            indexes.after_data(loader.conn, options, stats, run_id, waiter, sink, index_phase)
            return stats
        finally:
            source["now"].close()  # stops a parser process now, not when garbage is collected
            for each in opened:
                each.close()

    if options.jobs <= 1 or len(jobs) <= 1:
        # The next table's parser process starts as soon as this table's file is parsed
        # (or at once when this one is parsed inline), so it works while the server takes
        # this table's last batches: no core waits at a table boundary.
        started: dict[int, Source] = {}
        lock = threading.Lock()
        ended = False

        def open_chained(i: int) -> Source:
            """Table i's source; once its file is parsed, table i + 1's parser starts."""
            return open_source(jobs[i], lambda: start_early(i + 1))

        def start_early(i: int) -> None:
            with lock:
                if ended or cancel.is_set() or i >= len(jobs) or i in started:
                    return
                if uses_process(jobs[i]):
                    started[i] = open_chained(i)

        try:
            for i, job in enumerate(jobs):
                with lock:
                    batches = started.pop(i, None)
                if batches is None:
                    batches = open_chained(i)
                if not uses_process(job):
                    start_early(i + 1)
                results[job.plan.table] = load(job, current["conn"], batches)
        finally:
            with lock:
                ended = True
                leftover = list(started.values())
                started.clear()
            for source in leftover:  # cancelled or failed before their turn came
                source.close()
            if current["conn"] is not main_conn:  # the caller reopens its own when needed
                current["conn"].close()
        return results

    order = [job.plan.table for job in jobs]
    pending = list(jobs)
    finished: set[str] = set()
    running: dict[Future, str] = {}
    with ThreadPoolExecutor(max_workers=options.jobs, thread_name_prefix="katarestore") as pool:
        while pending or running:
            for job in list(pending):
                earlier = set(order[: order.index(job.plan.table)])
                if set(job.plan.parents) & earlier <= finished and len(running) < options.jobs:
                    pending.remove(job)
                    running[pool.submit(load, job, None)] = job.plan.table
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                name = running.pop(future)
                try:
                    results[name] = future.result()  # re-raises Cancelled / FatalError
                except BaseException:
                    cancel.set()  # the other tables stop at their next batch boundary
                    raise
                finished.add(name)
    return results
