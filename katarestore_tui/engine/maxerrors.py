"""When a table's records keep failing, stop the table and ask, instead of quarantining
a million copies of one error.

pgloader offers two ends: keep every bad row aside and go on, or `--on-error-stop` at the
first refusal. An operator needs the middle, as bulk loaders' error limits give it:
- by default a table stops when its first `streak` records (1,000) all failed with one
  error (a CHECK every row violates, a NOT NULL column the backup never fills): going on
  would only write the same error a million times;
- `--max-errors N` stops a table once more than N of its records failed, whatever the
  errors (`--max-errors 0` is pgloader's `--on-error-stop`).
The batch in flight rolls back (rows of committed batches stay; the table is resumable),
then `decide` says what next: go on with this table (the limit is off for it), skip the
table (the others go on), or stop the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from katarestore_tui.jsontext import dumps_exact
from katarestore_tui.words import plural

CONTINUE, SKIP, STOP = "continue", "skip", "stop"
DEFAULT_STREAK = 1_000
EXAMPLE_CHARS = 300  # an example record is shown cut to this many characters


@dataclass(frozen=True)
class ErrorRun:
    """What tripped the limit: the table, how many failed, the error and one record."""

    table: str
    failed: int
    sqlstate: str | None
    message: str
    example_index: int | None
    example: object
    limit: int | None = None  # --max-errors, or None: the first-records streak tripped

    @property
    def example_text(self) -> str:
        text = dumps_exact(self.example) if self.example is not None else "(not read)"
        return text if len(text) <= EXAMPLE_CHARS else text[:EXAMPLE_CHARS - 1] + "…"

    def text(self) -> str:
        """Why the table stopped: error code and message, and an example record (the
        table's name goes before it wherever it is shown)."""
        why = (f"more than {plural(self.limit, 'record')} failed (--max-errors {self.limit})"
               if self.limit is not None
               else f"its first {plural(self.failed, 'record')} all failed with one error")
        code = self.sqlstate or "refused before loading"
        where = "" if self.example_index is None else f" #{self.example_index}"
        return (f"stopped: {why}: [{code}] {self.message}; "
                f"example record{where}: {self.example_text}")


class TooManyErrors(Exception):
    """Raised inside a batch's transaction: the batch rolls back, then the policy decides."""

    def __init__(self, run: ErrorRun) -> None:
        super().__init__(f"{run.table}: {run.text()}")
        self.run = run


def skip_table(_run: ErrorRun) -> str:
    """The CLI's answer: this table stops with its message; the other tables go on."""
    return SKIP


@dataclass
class MaxErrors:
    """The policy the loader consults for every failed and every loaded record."""

    limit: int | None = None  # --max-errors N
    streak: int = DEFAULT_STREAK
    decide: Callable[[ErrorRun], str] = skip_table

    def watch(self, table: str) -> ErrorWatch:
        return ErrorWatch(self, table)


@dataclass
class _Counts:
    failed: int = 0  # records of this table that failed in this load
    good: int = 0  # loaded or duplicates in this load
    same: bool = True  # every failure so far had one error
    key: tuple[str | None, str] | None = None
    first: tuple[int | None, object] | None = None  # the example: index and record


@dataclass
class ErrorWatch:
    """One table's counts for the policy, with an undo for a batch that rolled back."""

    policy: MaxErrors
    table: str
    armed: bool = True
    counts: _Counts = field(default_factory=_Counts)
    pending: int = 0  # failures in the batch in flight: shown live, committed or undone
    _saved: _Counts = field(default_factory=_Counts)

    def begin_batch(self) -> None:
        self._saved = _Counts(**vars(self.counts))
        self.pending = 0

    def rollback(self) -> None:
        """The batch did not commit: its records count for nothing, here too."""
        self.counts = _Counts(**vars(self._saved))
        self.pending = 0

    def committed(self) -> None:
        self.pending = 0

    def disarm(self) -> None:
        """The operator chose to go on: this table is not stopped again."""
        self.armed = False

    def loaded(self, count: int) -> None:
        self.counts.good += count

    def failed(self, index: int | None, record: object, sqlstate: str | None,
               message: str) -> None:
        """Count one failure; raise TooManyErrors when the policy says the table stops."""
        c = self.counts
        c.failed += 1
        self.pending += 1
        key = (sqlstate, message) if sqlstate else (None, message.split(":")[0])
        if c.key is None:
            c.key, c.first = key, (index, record)
        elif key != c.key:
            c.same = False
        if not self.armed:
            return
        limit = self.policy.limit
        if limit is not None and c.failed > limit:
            raise TooManyErrors(self._run(sqlstate, message, index, record, limit))
        # the streak is the default only: an operator's --max-errors is the limit they chose
        if limit is None and c.good == 0 and c.same and c.failed >= self.policy.streak:
            assert c.first is not None
            raise TooManyErrors(self._run(sqlstate, message, *c.first, None))

    def _run(self, sqlstate: str | None, message: str, index: int | None, record: object,
             limit: int | None) -> ErrorRun:
        return ErrorRun(self.table, self.counts.failed, sqlstate, message, index, record, limit)
