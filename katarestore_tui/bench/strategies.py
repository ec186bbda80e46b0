"""The strategies a benchmark compares, by name: `legacy`, `batched` and `copy`.

`copy` is katarestore itself: `run_restore` into the scratch schema with the chosen
batch size and jobs (streaming parse, COPY, quarantine, FK check, sequences). Its
run log is kept in history, written as `kind: bench` so it is not taken for a restore.
"""

from __future__ import annotations

from collections.abc import Callable

from katarestore_tui.bench.figures import StrategyRun, TableRun
from katarestore_tui.bench.insert_strategies import run_batched, run_legacy
from katarestore_tui.bench.strategy_context import StrategyContext, StrategyError
from katarestore_tui.engine.events import Event, TableFinished, TableProgress
from katarestore_tui.engine.options import RestoreOptions
from katarestore_tui.engine.restore import RunKind, run_restore
from katarestore_tui.errors import Cancelled

DESCRIPTIONS = {
    "legacy": "one INSERT per row, autocommit, whole file parsed first (the original script)",
    "batched": "multi-row INSERT of 1,000 rows, whole file parsed first (Prisma createMany)",
    "copy": "katarestore: streaming parse, COPY batches, quarantine, set-based FK checks",
}


def run_copy(ctx: StrategyContext) -> StrategyRun:
    options = RestoreOptions(backup=str(ctx.backup.path), dsn=ctx.dsn, schema=ctx.scratch,
                             batch_size=ctx.batch_size, jobs=ctx.jobs)

    def sink(event: Event) -> None:
        if isinstance(event, TableProgress | TableFinished):
            s = event.stats
            done = 1.0 if isinstance(event, TableFinished) or not s.bytes_total else (
                s.bytes_read / s.bytes_total)
            ctx.progress(s.table, done, s.records)

    result = run_restore(options, ctx.backup_root, sink, ctx.cancel,
                         kind=RunKind("bench", ctx.bench_id))
    if result.status == "cancelled":
        raise Cancelled
    if result.status == "failed":
        raise StrategyError(result.error or "the restore failed")
    run = StrategyRun("copy", keeps_failed=True)
    for name, s in result.tables.items():
        run.tables[name] = TableRun(name, records=s.records, attempted=s.records, loaded=s.loaded,
                                    duplicates=s.duplicates, failed=s.failed, seconds=s.seconds,
                                    insert_seconds=s.seconds, error=s.error)
    return run


Strategy = Callable[[StrategyContext], StrategyRun]

STRATEGIES: dict[str, Strategy] = {
    "legacy": run_legacy,
    "batched": run_batched,
    "copy": run_copy,
}
