"""The command line, for scripts and cron: one module per sub-command, one parser.

`katarestore_tui.cli:main` is the console entry point named in pyproject.toml.
"""

from katarestore_tui.cli.main import main

__all__ = ["main"]
