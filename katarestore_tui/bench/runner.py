"""One benchmark run: every strategy x repeat into its own scratch schema, then one record.

The only entry point the CLI and the screen call. It never raises for the operator's
mistakes; a strategy that fails is recorded as failed and the others still run; a
scratch schema is dropped after each attempt whatever happened (cancel included).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from katarestore_tui.backup.catalog import Backup, BackupError, resolve_backup
from katarestore_tui.bench import strategies
from katarestore_tui.bench.environment import describe
from katarestore_tui.bench.events import (
    BenchFinished,
    BenchNote,
    BenchSink,
    BenchStarted,
    StrategyDone,
    StrategyFinished,
    StrategyProgress,
    StrategyStarted,
    ignore_bench_events,
)
from katarestore_tui.bench.figures import CANCELLED, FAILED, OK, StrategyRun, aggregate
from katarestore_tui.bench.insert_strategies import BATCH_ROWS
from katarestore_tui.bench.memory import PeakMemory, release_memory
from katarestore_tui.bench.scratch import ScratchError, ScratchSchema, sweep_stale
from katarestore_tui.bench.strategy_context import ProgressTracker, StrategyContext
from katarestore_tui.db.schema import Schema, read_schema
from katarestore_tui.engine.connect import connect
from katarestore_tui.engine.options import DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE
from katarestore_tui.engine.plan import Plan, build_plan
from katarestore_tui.errors import EXIT_FATAL, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, Cancelled, FatalError
from katarestore_tui.history.benchmarks import append_benchmark
from katarestore_tui.history.runs import new_run_id
from katarestore_tui.redact import redact_dsn, redact_text

ALL_STRATEGIES = ("legacy", "batched", "copy")
MAX_REPEAT = 100


@dataclass
class BenchConfig:
    dsn: str
    backup_root: Path
    backup: str | None = None  # a folder, a name under the root, or None for the newest
    schema: str = "public"
    strategies: tuple[str, ...] = ALL_STRATEGIES
    repeat: int = 1
    batch_size: int = DEFAULT_BATCH_SIZE
    jobs: int = 1
    limit_rows: int | None = None  # legacy/batched load only this many rows per table

    def validate(self) -> list[str]:
        problems = []
        unknown = [s for s in self.strategies if s not in strategies.STRATEGIES]
        if unknown or not self.strategies:
            problems.append(f"--strategies takes {', '.join(strategies.STRATEGIES)} "
                            f"(got {', '.join(self.strategies) or 'none'})")
        if len(set(self.strategies)) != len(self.strategies):
            problems.append("--strategies names a strategy twice")
        if not 1 <= self.repeat <= MAX_REPEAT:
            problems.append(f"--repeat must be between 1 and {MAX_REPEAT} (got {self.repeat})")
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            problems.append(f"--batch-size must be between 1 and {MAX_BATCH_SIZE:,}")
        if not 1 <= self.jobs <= 32:
            problems.append(f"--jobs must be between 1 and 32 (got {self.jobs})")
        if self.limit_rows is not None and self.limit_rows < 1:
            problems.append("--limit-rows must be at least 1")
        return problems


@dataclass
class BenchResult:
    status: str  # completed | partial | cancelled | failed
    exit_code: int
    record: dict | None = None  # what was appended to benchmarks.jsonl
    error: str | None = None


def run_benchmark(
    config: BenchConfig, sink: BenchSink = ignore_bench_events, cancel: threading.Event | None = None
) -> BenchResult:
    """Validate, plan against the target, run every strategy, append the history record."""
    cancel = cancel or threading.Event()

    def refuse(code: int, message: str) -> BenchResult:
        sink(BenchFinished("failed", code, None, message))
        return BenchResult("failed", code, None, message)

    problems = config.validate()
    if problems:
        return refuse(EXIT_USAGE, "; ".join(problems))
    try:
        backup = resolve_backup(config.backup or None, config.backup_root)
    except BackupError as exc:
        return refuse(EXIT_USAGE, str(exc))
    try:
        conn = connect(config.dsn)
    except FatalError as exc:
        return refuse(EXIT_FATAL, str(exc))
    with conn:
        schema = read_schema(conn, config.schema)
        if not schema.tables:
            return refuse(EXIT_FATAL, f"schema {config.schema!r} of {redact_dsn(config.dsn)} has "
                          "no tables: the benchmark copies the target's table definitions")
        plan = build_plan(backup, schema)
        if not plan.tables:
            return refuse(EXIT_FATAL, f"no file of {backup.path} matches a table of schema "
                          f"{config.schema!r}")
        environment = describe(conn)
        notes = sweep_stale(config.dsn, conn)
    return _Bench(config, backup, schema, plan, environment, notes, sink, cancel).execute()


@dataclass
class _Bench:
    config: BenchConfig
    backup: Backup
    schema: Schema
    plan: Plan
    environment: dict
    notes: list[str]
    sink: BenchSink
    cancel: threading.Event
    bench_id: str = field(default_factory=lambda: "bench-" + new_run_id())
    leftovers: list[str] = field(default_factory=list)

    def note(self, message: str) -> None:
        if message not in self.notes:
            self.notes.append(message)
        self.sink(BenchNote(message))

    def execute(self) -> BenchResult:
        began = time.monotonic()
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        sizes = {t.table: t.file.size for t in self.plan.tables}
        self.sink(BenchStarted(self.bench_id, self.backup.name, self.config.strategies,
                               self.config.repeat, sum(sizes.values())))
        for message in list(self.notes):
            self.sink(BenchNote(message))
        figures: dict[str, dict] = {}
        cancelled = False
        self._prewarm()
        for name in self.config.strategies:
            runs: list[StrategyRun] = []
            for attempt in range(1, self.config.repeat + 1):
                run = self._attempt(name, attempt, sizes)
                runs.append(run)
                if run.status != OK:
                    cancelled = run.status == CANCELLED
                    break
            figures[name] = aggregate(name, runs, self.config.limit_rows)
            self.sink(StrategyDone(name, figures[name]))
            if cancelled or self.cancel.is_set():
                cancelled = True
                break
        if cancelled:
            status, code = "cancelled", EXIT_FATAL
        elif self.leftovers or any(f["status"] != OK for f in figures.values()):
            status, code = "partial", EXIT_PARTIAL
        else:
            status, code = "completed", EXIT_OK
        record = self._record(started_at, time.monotonic() - began, status, figures)
        append_benchmark(record)
        self.sink(BenchFinished(status, code, record, record["error"]))
        return BenchResult(status, code, record, record["error"])

    def _prewarm(self) -> None:
        """Read every file once, so no strategy pays for a cold page cache alone."""
        for table_plan in self.plan.tables:
            with open(table_plan.file.path, "rb") as handle:
                while handle.read(1 << 20) and not self.cancel.is_set():
                    pass

    def _attempt(self, name: str, attempt: int, sizes: dict[str, int]) -> StrategyRun:
        release_memory()
        run = StrategyRun(name, status=FAILED)
        if self.cancel.is_set():
            run.status = CANCELLED
            return run
        scratch = ScratchSchema(self.config.dsn, self.schema, [t.table for t in self.plan.tables])

        def emit(fraction: float, rows: int, table: str) -> None:
            self.sink(StrategyProgress(name, attempt, fraction, rows, table))

        try:
            scratch.create()
            for message in scratch.notes:
                self.note(message)
            self.sink(StrategyStarted(name, attempt, self.config.repeat, scratch.name))
            ctx = StrategyContext(
                dsn=self.config.dsn, scratch=scratch.name, schema=self.schema, plan=self.plan,
                backup=self.backup, backup_root=self.config.backup_root, bench_id=self.bench_id,
                batch_size=self.config.batch_size, jobs=self.config.jobs,
                limit_rows=self.config.limit_rows if name != "copy" else None,
                cancel=self.cancel, progress=ProgressTracker(sizes, emit),
            )
            with PeakMemory() as peak:
                began = time.monotonic()
                run = strategies.STRATEGIES[name](ctx)
                run.measured_seconds = time.monotonic() - began
            run.strategy, run.status = name, OK
            run.peak_rss_bytes, run.start_rss_bytes = peak.peak_bytes, peak.start_bytes
        except Cancelled:
            run = StrategyRun(name, status=CANCELLED, error="cancelled")
        except Exception as exc:  # any failure of one strategy is recorded; the others go on
            run = StrategyRun(name, status=FAILED,
                              error=redact_text(f"{type(exc).__name__}: {str(exc).strip()}"))
        finally:
            try:
                scratch.drop()
            except ScratchError as exc:
                self.leftovers.append(scratch.name)
                self.note(str(exc))
        self.sink(StrategyFinished(name, attempt, run.status, run.seconds, run.rows_per_s,
                                   run.extrapolated, run.error))
        return run

    def _record(self, started_at: str, seconds: float, status: str, figures: dict) -> dict:
        records = max((f.get("records", 0) for f in figures.values()), default=0)
        errors = [f"{name}: {f['error']}" for name, f in figures.items()
                  if f.get("error") and f["status"] == FAILED]
        if self.leftovers:
            errors.append("scratch schemas left behind: " + ", ".join(self.leftovers))
        return {
            "kind": "benchmark",
            "bench_id": self.bench_id,
            "time": started_at,
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "status": status,
            "seconds": round(seconds, 3),
            "backup": self.backup.name,
            "backup_path": str(self.backup.path),
            "backup_bytes": self.backup.total_bytes,
            "records": records,
            "table_count": len(self.plan.tables),
            "schema": self.config.schema,
            "target": redact_dsn(self.config.dsn),
            "order": list(self.config.strategies),
            "strategies": figures,
            "repeat": self.config.repeat,
            "batch_size": self.config.batch_size,
            "legacy_batch_rows": BATCH_ROWS,
            "jobs": self.config.jobs,
            "limit_rows": self.config.limit_rows,
            **self.environment,
            "notes": self.notes,
            "scratch_left": self.leftovers,
            "error": "; ".join(errors) or ("cancelled" if status == "cancelled" else None),
        }
