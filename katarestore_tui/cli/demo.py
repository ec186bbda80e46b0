"""`katarestore demo`: a sample Katacore backup and schema, then the TUI (or a CLI restore)."""

from __future__ import annotations

import argparse

from katarestore_tui.cli.output import TextReporter
from katarestore_tui.cli.parser import backup_root
from katarestore_tui.cli.restore import restore_command
from katarestore_tui.cli.target import target_dsn
from katarestore_tui.errors import EXIT_FATAL


def demo_command(args: argparse.Namespace) -> int:
    import psycopg

    from katarestore_tui.demo import create_demo_schema, write_demo_backup

    reporter = TextReporter()
    dsn = target_dsn(args.dsn, reporter)
    if dsn is None:
        return EXIT_FATAL
    root = backup_root(args)
    demo = write_demo_backup(root, rows=args.rows, bad_records=True)
    reporter.say(f"wrote a sample Katacore backup to {demo.path}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        create_demo_schema(conn, drop_existing=True)
    reporter.say("created the sample schema (users, courses, lessons, enrollments, ...)")
    if not args.no_tui:
        from katarestore_tui.app.app import run_app

        # the app names where its target came from: give it the operator's own choice only
        return run_app(dsn=args.dsn, backup_root=root, backup=str(demo.path))
    ns = argparse.Namespace(
        backup=str(demo.path), dsn=dsn, backup_root=root, schema="public", batch_size=10_000,
        jobs=1, on_conflict="skip", clean=False, tables=[], exclude=[], single_transaction=False,
        dry_run=False, resume=None, no_parser_process=False, fk_checks="auto", yes=True,
        json=args.json,
    )
    return restore_command(ns)
