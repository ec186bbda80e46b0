"""The errors every layer may raise, and the exit codes both faces (CLI and TUI) return.

One place, so a new engineer finds what "fatal" means once, and the CLI contract in
DESIGN.md (0 all loaded, 1 some quarantined, 2 usage, 3 fatal; verify: 4 unexplained
differences) is written down once.
"""

from __future__ import annotations

EXIT_OK = 0  # every record loaded or counted as a duplicate
EXIT_PARTIAL = 1  # finished; some records are in the quarantine
EXIT_USAGE = 2  # usage or configuration error: nothing was written
EXIT_FATAL = 3  # cannot connect, target missing, cancelled: the run is resumable
# verify: the target differs from the backup in ways no quarantine or duplicate explains
# (none of 0-3 fits: the command ran to the end and nothing was wrong with how it was asked)
EXIT_DIFFERENT = 4


class ConfigError(Exception):
    """The request cannot be carried out as asked (exit 2): nothing was written."""


class FatalError(Exception):
    """The run cannot go on (connection gone for good, target unusable): exit 3."""


class Cancelled(Exception):
    """The operator asked to stop; the batch in flight was rolled back."""
