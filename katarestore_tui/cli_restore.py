"""`katarestore restore`, `retry` and `demo`: thin wrappers around the engine."""

from __future__ import annotations

import argparse
import sys
import threading

from katarestore_tui.cli import backup_root, install_cancel_handlers, print_json
from katarestore_tui.cli_output import TextReporter, plan_text, summary_text

EXIT_USAGE, EXIT_FATAL = 2, 3


def _resolve_target(dsn: str | None, reporter: TextReporter) -> str | None:
    from katarestore_tui.db.target import resolve_dsn

    try:
        resolved, source = resolve_dsn(dsn)
    except Exception as exc:  # the embedded server could not start: say why, exit 3
        reporter.say(f"error: {exc}")
        return None
    if source == "embedded":
        from katarestore_tui.db.embedded import describe_embedded

        reporter.say(f"target: {describe_embedded()} (no --dsn and no $DATABASE_URL)")
    return resolved


def _confirm_clean(options, plan, reporter: TextReporter, assume_yes: bool) -> bool:
    if assume_yes:
        return True
    names = ", ".join(t.table for t in plan.tables)
    if not sys.stdin.isatty():
        reporter.say(f"error: --clean would empty {names}; add --yes to confirm when not "
                     "running interactively")
        return False
    dbname = plan.schema.name
    reporter.say(f"--clean will EMPTY these tables of schema {dbname!r}: {names}")
    answer = input(f"type the schema name ({dbname}) to confirm: ").strip()
    return answer == dbname


def _inherit_run_options(args: argparse.Namespace, before: dict) -> None:
    """A resume continues the run as it was started: options left out come from its log."""
    fk_checks = {"auto": "auto", "replica": "after", "immediate": "row"}
    defaults = {"schema": "public", "tables": [], "exclude": [], "on_conflict": "skip",
                "single_transaction": False, "jobs": 1, "triggers": "auto"}
    for name, default in defaults.items():
        if name in before and getattr(args, name) == default:
            setattr(args, name, before[name])
    if args.fk_checks == "auto" and before.get("fk_mode") in fk_checks:
        args.fk_checks = fk_checks[before["fk_mode"]]


def restore_command(args: argparse.Namespace) -> int:
    from katarestore_tui.engine.options import RestoreOptions
    from katarestore_tui.engine.restore import prepare, run_restore
    from katarestore_tui.history.runs import RunNotFound, read_run

    reporter = TextReporter()
    backup = args.backup or ""
    if args.resume:
        try:
            previous = read_run(args.resume)
        except RunNotFound as exc:
            reporter.say(f"error: {exc}")
            return EXIT_USAGE
        backup = backup or previous.get("backup", "")
        _inherit_run_options(args, previous.get("options") or {})
    dsn = _resolve_target(args.dsn, reporter)
    if dsn is None:
        return EXIT_FATAL
    options = RestoreOptions(
        backup=backup,
        dsn=dsn,
        schema=args.schema,
        batch_size=args.batch_size,
        jobs=args.jobs,
        on_conflict=args.on_conflict,
        clean=args.clean,
        tables=args.tables,
        exclude=args.exclude,
        single_transaction=args.single_transaction,
        dry_run=args.dry_run,
        resume=args.resume,
        parser_process=not args.no_parser_process,
        fk_mode={"auto": "auto", "after": "replica", "row": "immediate"}[args.fk_checks],
        triggers=args.triggers,
    )
    root = backup_root(args)
    if args.clean and not args.dry_run and not args.resume:
        from katarestore_tui.engine.connect import FatalError
        from katarestore_tui.engine.restore import ConfigError

        try:
            conn, plan = prepare(options, root)
            conn.close()
        except ConfigError as exc:
            reporter.say(f"error: {exc}")
            return EXIT_USAGE
        except FatalError as exc:
            reporter.say(f"error: {exc}")
            return EXIT_FATAL
        if not _confirm_clean(options, plan, reporter, args.yes):
            reporter.say("not confirmed: nothing was changed")
            return EXIT_USAGE
    cancel = threading.Event()
    restore_handlers = install_cancel_handlers(cancel, reporter.say)
    try:
        result = run_restore(options, root, reporter, cancel)
    finally:
        restore_handlers()
    if result.status == "dry-run" and result.plan is not None:
        if args.json:
            print_json(result.plan.to_dict())
        else:
            print(plan_text(result.plan))
        return result.exit_code
    if result.run_id is None:  # failed before the run began: usage or connection
        reporter.say(f"error: {result.error}")
        if args.json:
            print_json(result.summary())
        return result.exit_code
    if args.json:
        print_json(result.summary())
    else:
        print(summary_text(result.summary()))
    return result.exit_code


def retry_command(args: argparse.Namespace) -> int:
    from katarestore_tui.engine.retry import retry_run
    from katarestore_tui.history.runs import RunNotFound, read_run

    reporter = TextReporter()
    try:
        run = read_run(args.run_id)
    except RunNotFound as exc:
        reporter.say(f"error: {exc}")
        return EXIT_USAGE
    target = args.dsn
    if target is None and "****" not in (run.get("target") or "****"):
        target = run["target"]
    dsn = _resolve_target(target, reporter)
    if dsn is None:
        return EXIT_FATAL
    result = retry_run(args.run_id, dsn, args.table)
    if args.json:
        print_json({"run_id": result.run_id, "tables": result.tables, "error": result.error})
    else:
        for name, counts in result.tables.items():
            print(f"{name}: retried {counts['retried']:,}: {counts['loaded']:,} loaded, "
                  f"{counts['duplicates']:,} duplicates, {counts['still_failed']:,} still failing")
        if not result.tables:
            print("no quarantined records to retry")
    if result.error:
        reporter.say(f"error: {result.error}")
        return EXIT_FATAL
    return 1 if result.still_failed else 0


def demo_command(args: argparse.Namespace) -> int:
    import psycopg

    from katarestore_tui.demo import create_demo_schema, write_demo_backup

    reporter = TextReporter()
    dsn = _resolve_target(args.dsn, reporter)
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
        json=args.json, triggers="auto",
    )
    return restore_command(ns)
