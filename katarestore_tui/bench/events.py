"""What a benchmark run tells its consumers (CLI lines, the TUI screen): plain dataclasses.

Like the engine's events, these are posted from the benchmark's thread; a sink must be
thread-safe and quick. Progress is throttled by time at the source.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class BenchEvent:
    at: float = field(default_factory=time.monotonic, kw_only=True)


@dataclass(frozen=True)
class BenchStarted(BenchEvent):
    bench_id: str
    backup: str  # the backup folder's name
    strategies: tuple[str, ...]
    repeat: int
    bytes_total: int


@dataclass(frozen=True)
class StrategyStarted(BenchEvent):
    strategy: str
    attempt: int  # 1-based, up to `repeat`
    repeat: int
    scratch: str  # the scratch schema this attempt writes to


@dataclass(frozen=True)
class StrategyProgress(BenchEvent):
    strategy: str
    attempt: int
    fraction: float  # 0..1 of this attempt, by bytes of the backup's files
    rows: int  # rows handled so far in this attempt
    table: str  # the table being loaded now


@dataclass(frozen=True)
class StrategyFinished(BenchEvent):
    """One attempt is over; `status` is ok, failed or cancelled."""

    strategy: str
    attempt: int
    status: str
    seconds: float
    rows_per_s: float
    extrapolated: bool = False
    error: str | None = None


@dataclass(frozen=True)
class StrategyDone(BenchEvent):
    """Every attempt of one strategy is over: its aggregated figures (as in the record)."""

    strategy: str
    figures: dict


@dataclass(frozen=True)
class BenchNote(BenchEvent):
    """Something the operator should read: a foreign key not copied, a stale schema dropped."""

    message: str


@dataclass(frozen=True)
class BenchFinished(BenchEvent):
    status: str  # completed | partial | cancelled | failed
    exit_code: int
    record: dict | None  # the history record (None when nothing ran)
    error: str | None = None


BenchSink = Callable[[BenchEvent], None]


def ignore_bench_events(_event: BenchEvent) -> None:
    """A sink for callers that only want the result."""
