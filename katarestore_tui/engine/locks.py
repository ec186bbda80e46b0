"""Stops that stop at any moment, and lock waits that are bounded and shown.

Two pieces, used by the run and the loader:

- `StopWatch` turns the cancel event into a cancel of the statement in flight on every
  connection of the run (`Connection.cancel_safe()`, from its own thread): a COPY, a
  TRUNCATE queued behind another session's lock or a slow FK check ends now, its
  transaction rolls back, and the caller sees `Cancelled`.
- `LockWaiter` runs one step in a transaction (a savepoint inside a batch) under a short
  `lock_timeout`; when the lock is not granted in time it says who holds it (pid and
  query, as pg_activity shows blockers), lets the queue behind it drain, and tries again
  until it gets the lock or the run is stopped. A step never commits after a stop.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import psycopg
from psycopg import errors
from psycopg.pq import TransactionStatus

from katarestore_tui.engine.events import EventSink, LockWait
from katarestore_tui.errors import Cancelled

# How long one statement may wait for a lock before it gives up and retries. A statement
# queued for a lock makes every later request for a conflicting lock queue behind it: a
# TRUNCATE waiting on a long read would block all the application's readers of that table.
# 5 s bounds that outage while a short lock (another batch, a quick DDL) still gets through.
LOCK_TIMEOUT_SECONDS = 5.0
LOCK_TIMEOUT_SETTING = f"SET lock_timeout = '{int(LOCK_TIMEOUT_SECONDS * 1000)}ms'"
RETRY_PAUSE_SECONDS = 0.2  # between tries: the readers queued behind us get their lock
QUERY_CHARS = 60  # of another session's query shown; literals are masked before that
WATCH_SECONDS = 0.1  # how soon a stop reaches the statement in flight
RECANCEL_SECONDS = 0.5  # a statement begun just after a cancel request is cancelled too

# The relation lock each kind of step takes, and the granted modes that block it
# (the conflict table of the PostgreSQL manual, "Table-Level Locks").
ACCESS_EXCLUSIVE = "AccessExclusiveLock"  # TRUNCATE, DROP, most ALTER TABLE
ROW_EXCLUSIVE = "RowExclusiveLock"  # COPY, INSERT, UPDATE, DELETE
SHARE = "ShareLock"  # CREATE INDEX
_BLOCKED_BY = {
    ACCESS_EXCLUSIVE: ["AccessShareLock", "RowShareLock", "RowExclusiveLock",
                       "ShareUpdateExclusiveLock", "ShareLock", "ShareRowExclusiveLock",
                       "ExclusiveLock", "AccessExclusiveLock"],
    ROW_EXCLUSIVE: ["ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"],
    SHARE: ["RowExclusiveLock", "ShareUpdateExclusiveLock", "ShareRowExclusiveLock",
            "ExclusiveLock", "AccessExclusiveLock"],
}

T = TypeVar("T")


@dataclass(frozen=True)
class Blocker:
    pid: int
    table: str
    query: str  # masked and shortened
    state: str  # e.g. "idle in transaction"


_BLOCKER_SQL = """
SELECT l.pid, c.relname, coalesce(a.query, ''), coalesce(a.state, '')
FROM pg_locks AS l
JOIN pg_class AS c ON c.oid = l.relation
JOIN pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_activity AS a ON a.pid = l.pid
WHERE l.locktype = 'relation' AND l.pid <> pg_backend_pid()
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND n.nspname = %s AND c.relname = ANY(%s) AND l.mode = ANY(%s)
ORDER BY l.granted DESC, a.xact_start NULLS LAST, l.pid
LIMIT 1
"""


def find_blocker(conn: psycopg.Connection, schema: str, tables: list[str], mode: str
                 ) -> Blocker | None:
    """The session holding (or first in line for) a lock on `tables` that conflicts with `mode`.

    Asked right after our own wait timed out, so `pg_blocking_pids()` of our pid would be
    empty: the holders are read from pg_locks with the manual's conflict table instead.
    """
    modes = _BLOCKED_BY.get(mode, _BLOCKED_BY[ACCESS_EXCLUSIVE])
    try:
        row = conn.execute(_BLOCKER_SQL, (schema, tables, modes)).fetchone()
    except psycopg.Error:  # only a hint for the operator: never fail the run for it
        return None
    if row is None:
        return None
    return Blocker(row[0], row[1], short_query(row[2]), row[3])


# a quoted literal (also one cut short by track_activity_query_size), or a dollar-quoted one
_LITERAL = re.compile(r"'(?:[^'\\]|\\.|'')*(?:'|$)|\$(\w*)\$.*?(?:\$\1\$|$)", re.S)


def short_query(query: str) -> str:
    """Another session's query, safe to show: literals masked (a password may be one),
    whitespace folded, cut to `QUERY_CHARS`."""
    masked = _LITERAL.sub("'…'", query)
    folded = " ".join(masked.split())
    return folded if len(folded) <= QUERY_CHARS else folded[: QUERY_CHARS - 1] + "…"


def bound_lock_waits(conn: psycopg.Connection) -> None:
    """From now on no statement of `conn` waits more than `LOCK_TIMEOUT_SECONDS` for a lock."""
    conn.execute(LOCK_TIMEOUT_SETTING)


def cancelled_by_stop(exc: BaseException, cancel: threading.Event) -> bool:
    """Whether `exc` is our own cancel of the statement in flight (not a statement_timeout)."""
    return cancel.is_set() and isinstance(exc, errors.QueryCanceled)


class LockWaiter:
    """Runs steps that may wait on another session's lock: bounded waits, retried, shown."""

    def __init__(self, cancel: threading.Event, sink: EventSink) -> None:
        self.cancel = cancel
        self.sink = sink

    def check(self) -> None:
        """Raise `Cancelled` once a stop was asked: called before anything commits."""
        if self.cancel.is_set():
            raise Cancelled

    def run(
        self,
        conn: psycopg.Connection,
        schema: str,
        tables: list[str],
        mode: str,
        step: Callable[[], T],
        *,
        own_transaction: bool = True,
        before_retry: Callable[[], None] | None = None,
    ) -> T:
        """`step()` in a transaction (a savepoint inside one) that commits only if no stop came.

        With `own_transaction=False` the step manages its transactions itself (each of them
        must be safe to redo; `before_retry` undoes the side effects of a rolled-back try).
        """
        first_try: float | None = None
        table = tables[0] if len(tables) == 1 else ", ".join(tables)
        while True:
            self.check()
            began = time.monotonic()
            try:
                result = self._once(conn, step, own_transaction)
            except errors.LockNotAvailable:
                first_try = began if first_try is None else first_try
                table = self._waited(conn, schema, tables, mode, first_try)
                if before_retry is not None:
                    before_retry()
                continue
            except errors.QueryCanceled as exc:
                if cancelled_by_stop(exc, self.cancel):
                    raise Cancelled from None
                raise
            if first_try is not None:
                self.sink(LockWait(table, None, "", time.monotonic() - first_try, done=True))
            return result

    def _once(self, conn: psycopg.Connection, step: Callable[[], T], own_transaction: bool) -> T:
        if not own_transaction:
            return step()
        with conn.transaction():
            result = step()
            self.check()  # a stop during the step: roll back, never commit
        return result

    def _waited(self, conn: psycopg.Connection, schema: str, tables: list[str], mode: str,
                first_try: float) -> str:
        """Say who holds the lock and for how long we waited; pause; stop if asked.

        Returns the table waited on (the blocker's, when one of several).
        """
        self.check()
        blocker = find_blocker(conn, schema, tables, mode)
        table = blocker.table if blocker else (tables[0] if len(tables) == 1 else ", ".join(tables))
        self.sink(LockWait(table, blocker.pid if blocker else None,
                           blocker.query if blocker else "", time.monotonic() - first_try,
                           blocker_state=blocker.state if blocker else ""))
        if self.cancel.wait(RETRY_PAUSE_SECONDS):
            raise Cancelled
        return table


class StopWatch:
    """Cancels the statement in flight on every watched connection as soon as a stop comes.

    psycopg's `cancel_safe()` is made to be called from another thread; the loader's own
    thread then sees `QueryCanceled`, its transaction rolls back and it raises `Cancelled`.
    """

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel
        self.conns: weakref.WeakSet[psycopg.Connection] = weakref.WeakSet()
        self._over = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, conn: psycopg.Connection) -> None:
        self.conns.add(conn)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name="katarestore-stopwatch")
            self._thread.start()

    def close(self) -> None:
        self._over.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self.cancel.wait(WATCH_SECONDS):
            if self._over.is_set():
                return
        while not self._over.is_set():
            for conn in list(self.conns):
                _cancel_statement(conn)
            self._over.wait(RECANCEL_SECONDS)


def _cancel_statement(conn: psycopg.Connection) -> None:
    """Cancel what `conn` is running, if anything (an idle session has nothing to cancel)."""
    with contextlib.suppress(Exception):  # closed meanwhile, server gone: nothing to stop
        if not conn.closed and conn.pgconn.transaction_status == TransactionStatus.ACTIVE:
            conn.cancel_safe(timeout=2.0)
