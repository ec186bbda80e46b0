"""Connections for the loader: redacted errors, session settings, reconnect with backoff."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable

import psycopg

from katarestore_tui.errors import FatalError
from katarestore_tui.redact import redact_dsn, redact_text, secrets_of

RECONNECT_SECONDS = 60.0  # how long a lost server may take to come back


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
