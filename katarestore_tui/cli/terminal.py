"""The CLI in pipes and scripts: no terminal for the TUI, a reader that leaves (`| head`)."""

from __future__ import annotations

import os
import sys

# a process killed by SIGPIPE exits 128 + 13 in a shell: `set -o pipefail` scripts see the
# same from katarestore as from grep or cat, and it is none of the contract's 0-3
EXIT_BROKEN_PIPE = 141


def terminal_problem(what: str = "the terminal app") -> str | None:
    """Why the TUI cannot start here (no terminal on stdin or stdout), or None.

    Textual started on a pipe waits for keys that never come: a cron job would hang.
    """
    if sys.stdin.isatty() and sys.stdout.isatty():
        return None
    which = "stdin" if not sys.stdin.isatty() else "stdout"
    return (f"{what} needs a terminal ({which} is not one); in scripts use "
            "`katarestore restore ...` (katarestore --help for every command)")


def leave_quietly_on_broken_pipe() -> int:
    """The reader of stdout went away (`katarestore history | head`): no traceback.

    Python's documented recipe (signal module, "Note on SIGPIPE"): point stdout at devnull
    so the interpreter's final flush does not raise again.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout was closed or replaced by a test: nothing to flush
        pass
    return EXIT_BROKEN_PIPE
