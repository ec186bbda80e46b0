"""Messages the app's thread workers post to its screens (the only way back from a thread)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from katarestore_tui.backup.catalog import Backup
from katarestore_tui.engine import (
    Event,
    Plan,
    QuarantineCounts,
    RestoreOptions,
    RestoreResult,
    RetryResult,
    TableVerdict,
    VerifyResult,
)


@dataclass
class TargetResolved(Message):
    """The target DSN is known (or could not be found: `error`)."""

    dsn: str | None
    source: str
    description: str
    error: str | None = None
    schema: str = "public"  # the URL's ?schema= (Prisma), else public


@dataclass
class BackupsFound(Message):
    backups: list[Backup]
    error: str | None = None


@dataclass
class RecordsEstimated(Message):
    backup: str  # the backup folder's path
    files: dict[str, tuple[int, bool]]  # file name -> (records, exact)


@dataclass
class PlanReady(Message):
    options: RestoreOptions
    plan: Plan


@dataclass
class PlanRefused(Message):
    reason: str


@dataclass
class EngineEvent(Message):
    """One event of a running restore, as the engine sent it."""

    event: Event


@dataclass
class RestoreDone(Message):
    result: RestoreResult


@dataclass
class QuarantineCounted(Message):
    """The whole quarantine in numbers (by table, by error), read streamed."""

    counts: QuarantineCounts


@dataclass
class QuarantinePage(Message):
    """One page of the entries that match the filter, by their number in the quarantine."""

    entries: dict[int, dict]
    matched: int  # how many match in all (every file read)
    start: int  # the first listed match's place among the matches


@dataclass
class RetryDone(Message):
    result: RetryResult


@dataclass
class VerifyDone(Message):
    result: VerifyResult


@dataclass
class TableVerified(Message):
    verdict: TableVerdict
