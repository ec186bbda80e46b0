"""`katarestore demo`: a sample Katacore backup and schema, then the TUI (or a CLI restore)."""

from __future__ import annotations

import argparse

from katarestore_tui.cli.output import TextReporter
from katarestore_tui.cli.parser import backup_root
from katarestore_tui.cli.restore import restore_command
from katarestore_tui.cli.target import target_dsn
from katarestore_tui.errors import EXIT_FATAL, EXIT_USAGE


def demo_command(args: argparse.Namespace) -> int:
    import psycopg

    from katarestore_tui.demo import (
        DemoRefused,
        create_demo_schema,
        inspect_demo_target,
        write_demo_backup,
    )

    reporter = TextReporter()
    if not args.no_tui:  # refuse before anything is written: the TUI would hang on a pipe
        from katarestore_tui.cli.terminal import terminal_problem

        problem = terminal_problem("katarestore demo's terminal app")
        if problem:
            reporter.say(f"error: {problem}; or katarestore demo --no-tui")
            return EXIT_USAGE
    dsn = target_dsn(args.dsn, reporter)
    if dsn is None:
        return EXIT_FATAL
    with psycopg.connect(dsn, autocommit=True) as conn:
        refusal = _demo_refusal(inspect_demo_target(conn), getattr(args, "into_existing", False))
        try:
            if refusal is None:
                create_demo_schema(conn, drop_existing=True)
        except DemoRefused as exc:
            refusal = str(exc)
        except psycopg.Error as exc:  # a name the demo needs is taken by an index, a sequence
            refusal = f"could not create the sample schema: {exc}"
    if refusal is not None:
        reporter.say(f"error: {refusal}")
        reporter.say("katarestore demo refused: nothing was changed")
        return EXIT_USAGE
    reporter.say("created the sample schema (users, courses, lessons, enrollments, ...)")
    root = backup_root(args)
    demo = write_demo_backup(root, rows=args.rows, bad_records=True)
    reporter.say(f"wrote a sample Katacore backup to {demo.path}")
    if not args.no_tui:
        from katarestore_tui.app.app import run_app

        # the app names where its target came from: give it the operator's own choice only
        return run_app(dsn=args.dsn, backup_root=root, backup=str(demo.path))
    # the restore's own parser: every restore option gets its default (a hand-built namespace
    # missed each new one: --max-errors crashed this path)
    from katarestore_tui.cli.parser import build_parser

    argv = ["restore", str(demo.path), "--dsn", dsn, "--backup-root", str(root), "--schema",
            "public", "--yes", *(["--json"] if args.json else [])]
    return restore_command(build_parser().parse_args(argv))


def _demo_refusal(target, into_existing: bool) -> str | None:
    """Why the demo may not write into this target, or None: only its own tables may go."""
    if target.foreign:
        return (f"the target already has {', '.join(target.foreign)}, not created by "
                "katarestore demo: refusing to drop or change them (use an empty database, "
                "or unset DATABASE_URL for the embedded server)")
    if target.other_tables and not into_existing:
        shown = ", ".join(target.other_tables[:5]) + (", ..." if len(target.other_tables) > 5
                                                      else "")
        return (f"schema public of the target already has tables ({shown}): the demo only writes "
                "into an empty database; add --into-existing to create its sample tables "
                "next to them (tables it did not create are never touched)")
    return None
