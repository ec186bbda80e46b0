"""`katarestore` with no sub-command opens the TUI; each sub-command has its own module."""

from __future__ import annotations

import argparse
import os
import sys

from katarestore_tui.cli.logs import setup_logging
from katarestore_tui.cli.parser import build_parser
from katarestore_tui.cli.terminal import leave_quietly_on_broken_pipe, terminal_problem
from katarestore_tui.errors import EXIT_FATAL, EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(getattr(args, "verbose", 0) or 0, getattr(args, "quiet", 0) or 0)
    try:
        code = _dispatch(parser, args)
        sys.stdout.flush()  # a reader that left shows here, not in the interpreter's exit
        return code
    except BrokenPipeError:
        return leave_quietly_on_broken_pipe()
    except KeyboardInterrupt:
        print("\nstopped at once; the run is resumable (katarestore history)", file=sys.stderr)
        return EXIT_FATAL
    except Exception as exc:
        return _database_error(exc, args)


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    command = args.command
    if command is None:
        problem = terminal_problem()
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return EXIT_USAGE
        from katarestore_tui.app.app import run_app

        return run_app(dsn=args.dsn, backup_root=args.backup_root)
    if command == "restore":
        from katarestore_tui.cli.restore import restore_command

        return restore_command(args)
    if command == "verify":
        from katarestore_tui.cli.verify import verify_command

        return verify_command(args)
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
    if command == "backup":
        from katarestore_tui.cli.backup import backup_command

        return backup_command(args)
    if command == "demo":
        from katarestore_tui.cli.demo import demo_command

        return demo_command(args)
    if command == "embedded":
        from katarestore_tui.cli.embedded import embedded_command

        return embedded_command(args)
    if command == "completion":
        import shtab

        print(shtab.complete(parser, shell=args.shell), end="")
        return 0
    parser.error(f"unknown command {command}")
    return EXIT_USAGE


def _database_error(exc: Exception, args: argparse.Namespace) -> int:
    """A database error a command did not catch (demo's connect): one line, no traceback,
    whose DSN and password are masked (libpq echoes a malformed URL's words)."""
    import psycopg

    from katarestore_tui.redact import redact_text, secrets_of

    if not isinstance(exc, psycopg.Error):
        raise exc
    secrets = secrets_of(getattr(args, "dsn", None)) + secrets_of(os.environ.get("DATABASE_URL"))
    print(f"error: {redact_text(str(exc).strip(), secrets)}", file=sys.stderr)
    return EXIT_FATAL
