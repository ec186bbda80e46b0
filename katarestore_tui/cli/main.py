"""`katarestore` with no sub-command opens the TUI; each sub-command has its own module."""

from __future__ import annotations

import sys

from katarestore_tui.cli.parser import build_parser
from katarestore_tui.errors import EXIT_FATAL, EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command
    try:
        if command is None:
            from katarestore_tui.app.app import run_app

            return run_app(dsn=args.dsn, backup_root=args.backup_root)
        if command == "restore":
            from katarestore_tui.cli.restore import restore_command

            return restore_command(args)
        if command == "history":
            from katarestore_tui.cli.history import history_command

            return history_command(args)
        if command == "failures":
            from katarestore_tui.cli.history import failures_command

            return failures_command(args)
        if command == "retry":
            from katarestore_tui.cli.restore import retry_command

            return retry_command(args)
        if command == "bench":
            from katarestore_tui.cli.bench import bench_command

            return bench_command(args)
        if command == "demo":
            from katarestore_tui.cli.demo import demo_command

            return demo_command(args)
    except KeyboardInterrupt:
        print("\nstopped at once; the run is resumable (katarestore history)", file=sys.stderr)
        return EXIT_FATAL
    parser.error(f"unknown command {command}")
    return EXIT_USAGE
