"""What the loader tells its consumers (TUI, CLI, history): plain dataclasses.

The engine calls an `EventSink` (any callable taking an `Event`). Sinks must be
thread-safe and quick: the TUI's sink posts a message, the CLI's prints a line.
Progress events are throttled by time at the source (see `ProgressThrottle`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Table states, in the order a table goes through them.
WAITING = "waiting"
LOADING = "loading"
DONE = "done"  # every record loaded or counted as a duplicate
PARTIAL = "partial"  # finished, some records quarantined or the file was cut short
FAILED = "failed"  # could not load at all (missing table, unreadable file)
SKIPPED = "skipped"  # excluded by the operator or already complete on resume
CANCELLED = "cancelled"


@dataclass
class TableStats:
    """Running counts for one table; `loaded + duplicates + failed == records`."""

    table: str
    file: str = ""
    bytes_total: int = 0
    bytes_read: int = 0
    records: int = 0
    loaded: int = 0
    duplicates: int = 0
    failed: int = 0
    seconds: float = 0.0
    state: str = WAITING
    error: str | None = None  # a reader fault or fatal table error, shown to the operator
    # failed records of the batch in flight, counted as they happen (not in `failed` until
    # the batch commits, so `balanced` holds); shown live, never written to the run log
    failing: int = 0
    # the "indexes" phase, when it ran: {"dropped", "built", "seconds", "problems"}
    indexes: dict[str, Any] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return self.loaded + self.duplicates + self.failed == self.records

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "bytes": self.bytes_total,
            "records": self.records,
            "loaded": self.loaded,
            "duplicates": self.duplicates,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
            "state": self.state,
            "error": self.error,
            **({"indexes": self.indexes} if self.indexes else {}),
        }

    @classmethod
    def from_dict(cls, table: str, data: Mapping[str, Any]) -> TableStats:
        return cls(
            table=table,
            file=data.get("file", ""),
            bytes_total=data.get("bytes", 0),
            records=data.get("records", 0),
            loaded=data.get("loaded", 0),
            duplicates=data.get("duplicates", 0),
            failed=data.get("failed", 0),
            seconds=data.get("seconds", 0.0),
            state=data.get("state", WAITING),
            error=data.get("error"),
            indexes=data.get("indexes") or {},
        )


@dataclass(frozen=True)
class Event:
    """Base of every engine event."""

    at: float = field(default_factory=time.monotonic, kw_only=True)


@dataclass(frozen=True)
class RunStarted(Event):
    run_id: str
    backup: str
    target: str  # redacted DSN
    tables: tuple[str, ...]
    bytes_total: int
    fk_mode: str  # "replica" (checks after load) or "immediate"
    # a resume: the tables the stopped run had finished, with their counts (not loaded again)
    finished: dict[str, TableStats] = field(default_factory=dict)
    # a resume: records the stopped run had committed (every table): not this run's work,
    # so a rate over this run's time leaves them out
    earlier_records: int = 0


@dataclass(frozen=True)
class TableStarted(Event):
    table: str
    file: str
    bytes_total: int


@dataclass(frozen=True)
class TableProgress(Event):
    """A snapshot of one table's counts (a copy: safe to keep)."""

    stats: TableStats


@dataclass(frozen=True)
class TableFinished(Event):
    stats: TableStats


@dataclass(frozen=True)
class Warning(Event):
    message: str
    table: str | None = None


@dataclass(frozen=True)
class Phase(Event):
    """A run-wide step outside table loading (foreign-key checks, sequences)."""

    name: str
    detail: str = ""


@dataclass(frozen=True)
class IndexPhase(Phase):
    """The "indexes" phase: a secondary index built after its table's data.

    `step` is pg_stat_progress_create_index's phase ("building index: scanning table", ...)
    or "starting"; `done`/`total` its tuples (or blocks) so far. A Phase, so every consumer
    that shows phases shows this one too.
    """

    table: str = ""
    index: str = ""
    step: str = ""
    done: int = 0
    total: int = 0


@dataclass(frozen=True)
class LockWait(Event):
    """A statement waits for a lock another session holds (sent every `lock_timeout`).

    `done` is sent once the lock was granted after a wait. The query is the blocker's,
    literals masked and cut short: other sessions' passwords are never shown.
    """

    table: str
    blocker_pid: int | None
    blocker_query: str
    waited_seconds: float
    done: bool = False
    blocker_state: str = ""  # e.g. "idle in transaction"

    def text(self, waited: float | None = None) -> str:
        """"waiting for a lock on users held by pid 42 (query SELECT …) for 0:42"."""
        seconds = self.waited_seconds if waited is None else waited
        if self.done:
            return f"got the lock on {self.table} after {clock(seconds)}"
        holder = f"held by pid {self.blocker_pid}" if self.blocker_pid else "held by another session"
        detail = ", ".join(part for part in (self.blocker_state,
                                             self.blocker_query and f"query {self.blocker_query}")
                           if part)
        return (f"waiting for a lock on {self.table} {holder}"
                + (f" ({detail})" if detail else "") + f" for {clock(seconds)}")


def clock(seconds: float) -> str:
    """0:42, 12:05, 1:02:03: a wait as an operator reads it."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass(frozen=True)
class RunFinished(Event):
    run_id: str
    status: str  # completed | partial | cancelled | failed
    exit_code: int
    seconds: float
    tables: dict[str, TableStats]
    run_dir: str
    quarantine_dir: str
    error: str | None = None


EventSink = Callable[[Event], None]


def ignore_events(_event: Event) -> None:
    """A sink for callers that only want the result."""


class ProgressThrottle:
    """Lets a progress event through at most every `interval` seconds per table."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self._last: dict[str, float] = {}

    def due(self, table: str) -> bool:
        now = time.monotonic()
        if now - self._last.get(table, 0.0) >= self.interval:
            self._last[table] = now
            return True
        return False
