"""-v/-q: the log level of a CLI run, for katarestore's own lines and the libraries' log.

katarestore's progress lines (stderr) are the `katarestore` logger's INFO: -q keeps only
warnings and errors (a cron mail shows what went wrong and nothing else); -v adds
katarestore's debug lines and the libraries' warnings; -vv the libraries' debug log (psycopg).
"""

from __future__ import annotations

import logging
import sys

LOGGER = "katarestore"


class _LateStderr(logging.StreamHandler):
    """Writes to sys.stderr as it is at each record (tests and redirections swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def setup_logging(verbose: int = 0, quiet: int = 0) -> None:
    """Set the levels once per command; safe to call again (the handler is not doubled)."""
    level_of_ours = {-1: logging.WARNING, 0: logging.INFO}.get(max(-1, verbose - quiet), logging.DEBUG)
    ours = logging.getLogger(LOGGER)
    ours.setLevel(level_of_ours)
    ours.propagate = False  # its INFO lines are the CLI's own output, printed by TextReporter
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, _LateStderr):
            root.removeHandler(handler)
    if verbose - quiet >= 1:
        handler = _LateStderr()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.DEBUG if verbose - quiet >= 2 else logging.INFO)
        logging.getLogger("katarestore_tui").setLevel(logging.DEBUG)


def level_of(line: str) -> int:
    """The level of a reporter line by its first word (the lines say "error:", "warning:")."""
    head = line.lstrip().lower()
    if head.startswith("error"):
        return logging.ERROR
    if head.startswith(("warning", "sigint", "sigterm", "sighup", "not confirmed")):
        return logging.WARNING
    return logging.INFO


def shown(line: str, level: int | None = None) -> bool:
    """Whether -v/-q let this reporter line through (INFO and up when never set up)."""
    threshold = logging.getLogger(LOGGER).level or logging.INFO
    return (level if level is not None else level_of(line)) >= threshold
