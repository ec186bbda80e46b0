"""What every strategy gets: where to write, what to read, how to report and stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from katarestore_tui.backup.catalog import Backup
from katarestore_tui.db.schema import Schema
from katarestore_tui.engine.plan import Plan


class StrategyError(Exception):
    """A strategy could not finish; the message is safe to show (no password)."""


@dataclass
class StrategyContext:
    dsn: str
    scratch: str  # the schema this attempt writes to (same tables as the target's)
    schema: Schema  # the target's catalog: column types, keys
    plan: Plan  # the target's plan: files matched to tables, parents first
    backup: Backup
    backup_root: Path
    bench_id: str
    batch_size: int
    jobs: int
    limit_rows: int | None
    cancel: threading.Event
    progress: Callable[[str, float, int], None] = field(default=lambda _t, _f, _r: None)
    # progress(table, fraction of that table done, rows of that table handled)


class ProgressTracker:
    """Per-table fractions -> one fraction of the attempt, by file size; throttled by time."""

    def __init__(self, sizes: dict[str, int], emit: Callable[[float, int, str], None],
                 interval: float = 0.1) -> None:
        self.sizes = sizes
        self.total = sum(sizes.values()) or 1
        self.emit = emit
        self.interval = interval
        self._state: dict[str, tuple[float, int]] = {}
        self._last = 0.0
        self._lock = threading.Lock()

    def __call__(self, table: str, fraction: float, rows: int) -> None:
        with self._lock:
            self._state[table] = (min(max(fraction, 0.0), 1.0), rows)
            now = time.monotonic()
            if now - self._last < self.interval and fraction < 1.0:
                return
            self._last = now
            done = sum(self.sizes.get(t, 0) * f for t, (f, _r) in self._state.items())
            rows_total = sum(r for _f, r in self._state.values())
        self.emit(done / self.total, rows_total, table)
