"""Connections for the loader: redacted errors, session settings, reconnect with backoff.

`Link` is the one place a dropped session is recognised and replaced: the loader, the
scheduler and the run's own steps after the load hold a Link, never a bare connection
they reopen themselves. What to redo after a reconnect stays with the caller (a batch
reads the checkpoint first; a set-based step trims the quarantine to what committed).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import TypeVar

import psycopg

from katarestore_tui.errors import FatalError
from katarestore_tui.redact import redact_dsn, redact_text, secrets_of

RECONNECT_SECONDS = 60.0  # how long a lost server may take to come back
MAX_ATTEMPTS = 5  # a step redone after this many drops in a row: give up (resumable)

T = TypeVar("T")


# the server ended the session: administrator command, crash, starting up or shutting down
_LOST_STATES = ("57P01", "57P02", "57P03")


def connection_lost(exc: psycopg.Error, conn: psycopg.Connection) -> bool:
    """Whether `exc` means the session is gone (reconnect and redo), not a failed statement."""
    state = exc.sqlstate or ""
    return conn.closed or conn.broken or state.startswith("08") or state in _LOST_STATES


def connect(dsn: str, timeout: int = 10) -> psycopg.Connection:
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=timeout,
                               application_name="katarestore")
    except psycopg.Error as exc:
        reason = redact_text(str(exc).strip(), secrets_of(dsn))
        raise FatalError(f"cannot connect to {redact_dsn(dsn)}: {reason}") from None


class Session:
    """Opens connections configured the same way, and reopens them after a drop."""

    def __init__(self, dsn: str, cancel: threading.Event, settings: list[str] | None = None):
        self.dsn = dsn
        self.cancel = cancel
        self.settings = settings or []
        self.reconnect_seconds = RECONNECT_SECONDS
        # every connection opened, for the run's StopWatch to cancel its statement on a stop
        self.live: weakref.WeakSet[psycopg.Connection] = weakref.WeakSet()

    def open(self) -> psycopg.Connection:
        conn = connect(self.dsn)
        self.live.add(conn)
        try:
            for statement in self.settings:
                conn.execute(statement)
        except psycopg.OperationalError as exc:  # dropped again at once (a server restarting)
            conn.close()
            raise FatalError(f"the connection to {redact_dsn(self.dsn)} dropped while it was "
                             f"being set up: {redact_text(str(exc).strip())}") from None
        return conn

    def reopen(self, on_wait: Callable[[str], None] | None = None) -> psycopg.Connection:
        """Reconnect with exponential backoff for up to `reconnect_seconds`."""
        deadline = time.monotonic() + self.reconnect_seconds
        delay = 0.5
        last = ""
        while time.monotonic() < deadline and not self.cancel.is_set():
            try:
                return self.open()
            except FatalError as exc:
                last = str(exc)
                if on_wait:
                    on_wait(f"server unreachable, retrying in {delay:.1f}s")
                self.cancel.wait(delay)
                delay = min(delay * 2, 8.0)
        raise FatalError(
            f"lost the connection to {redact_dsn(self.dsn)} and it did not come back within "
            f"{self.reconnect_seconds:.0f}s ({last or 'cancelled'})"
        )


class Link:
    """A connection of the run that is replaced when the session drops.

    `session` None: never reconnect (`--single-transaction`: a drop lost everything, going
    on would be wrong). `on_renew` runs on each replacement before it is used (the run's
    own connection takes the run's lock again). Replacements are closed by `close()`; the
    first connection too when `owned`.
    """

    def __init__(self, conn: psycopg.Connection, session: Session | None,
                 warn: Callable[[str], None], on_renew: Callable[[psycopg.Connection], None]
                 | None = None, owned: bool = False) -> None:
        self.conn = conn
        self.session = session
        self.warn = warn
        self.on_renew = on_renew
        self._opened: list[psycopg.Connection] = [conn] if owned else []

    def lost(self, exc: psycopg.Error) -> bool:
        """Whether `exc` means this link's session is gone and the link may reconnect."""
        return self.session is not None and connection_lost(exc, self.conn)

    def renew(self) -> psycopg.Connection:
        """A new session in place of the lost one (waits out a blip, see Session.reopen)."""
        if self.session is None:
            raise FatalError("the connection was lost and this run cannot reconnect")
        fresh = self.session.reopen(self.warn)
        self._opened.append(fresh)
        self.conn = fresh
        if self.on_renew is not None:
            self.on_renew(fresh)
        return fresh

    def renewed(self, step: Callable[[psycopg.Connection], T], what: str) -> T:
        """Reconnect, then `step` on the new connection; reconnect again if it drops at once.

        `what` names the step for the message when it never gets through.
        """
        for _ in range(MAX_ATTEMPTS):
            conn = self.renew()
            try:
                return step(conn)
            except psycopg.OperationalError as exc:
                if not connection_lost(exc, conn):
                    raise
        raise FatalError(f"{what}: the connection kept dropping right after reconnecting")

    def retrying(self, step: Callable[[], T], on_lost: Callable[[], None] | None = None,
                 after_renew: Callable[[], None] | None = None) -> T:
        """`step` (idempotent, or made so by `after_renew`), redone on a new connection each
        time the session drops, up to MAX_ATTEMPTS tries."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return step()
            except psycopg.OperationalError as exc:
                if attempt == MAX_ATTEMPTS or not self.lost(exc):
                    raise
                if on_lost is not None:
                    on_lost()
                self.conn.close()
                self.renew()
                if after_renew is not None:
                    after_renew()
        raise AssertionError("unreachable: the last attempt returns or raises")

    def ensure_live(self) -> None:
        """Idle through a long load, the connection may be gone: probe it, renew it if so."""
        if self.session is None:
            return
        try:
            if not (self.conn.broken or self.conn.closed):
                self.conn.execute("SELECT 1")
                return
        except psycopg.OperationalError:
            pass
        self.renew()

    def close(self) -> None:
        """Close every connection this link opened (and its first one when owned)."""
        for conn in self._opened:
            conn.close()
        self._opened.clear()
