"""Signals during a CLI run: Ctrl-C, SIGTERM and a lost terminal all become a cancel."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable


def install_cancel_handlers(cancel: threading.Event, say) -> Callable[[], None]:
    """Ctrl-C / SIGTERM / SIGHUP: stop now; a second Ctrl-C leaves without the run's summary.

    The engine cancels the statement in flight and rolls its transaction back (nothing
    commits after a stop), so the first signal already ends the run within a second or two.
    A lost SSH terminal (SIGHUP) is a cancel like any other: the run stays resumable.
    Returns a function that puts the previous handlers back.
    """

    def first(signum, _frame):
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        name = signal.Signals(signum).name
        say(f"{name}: stopping now; the batch in flight is rolled back (Ctrl-C again to leave "
            "at once)")

    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.signal(sig, first) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
