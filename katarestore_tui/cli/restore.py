"""`katarestore restore` and `retry`: thin wrappers around the engine."""

from __future__ import annotations

import argparse
import sys
import threading

from katarestore_tui.cli.output import TextReporter, plan_text, print_json, summary_text
from katarestore_tui.cli.parser import backup_root
from katarestore_tui.cli.signals import install_cancel_handlers
from katarestore_tui.cli.target import target_dsn
from katarestore_tui.errors import EXIT_FATAL, EXIT_USAGE


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
    defaults = {"schema": None, "tables": [], "exclude": [], "on_conflict": "skip",
                "single_transaction": False, "jobs": 1, "triggers": "auto"}
    for name, default in defaults.items():
        if name in before and getattr(args, name) == default:
            setattr(args, name, before[name])
    if args.fk_checks == "auto" and before.get("fk_mode") in fk_checks:
        args.fk_checks = fk_checks[before["fk_mode"]]


def restore_command(args: argparse.Namespace) -> int:
    from katarestore_tui.engine import RestoreOptions, prepare, run_restore
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
    dsn = target_dsn(args.dsn, reporter)
    if dsn is None:
        return EXIT_FATAL
    if args.schema is None:  # a Prisma URL's ?schema= is where its tables are
        from katarestore_tui.db.target import url_schema

        args.schema = url_schema(args.dsn) or "public"
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
        indexes=args.indexes,
    )
    root = backup_root(args)
    if args.clean and not args.dry_run and not args.resume:
        from katarestore_tui.errors import ConfigError, FatalError

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
    try:  # a second Ctrl-C while the summary prints still leaves with exit 3
        result = run_restore(options, root, reporter, cancel)
        return _report(result, args, reporter)
    finally:
        restore_handlers()


def _report(result, args: argparse.Namespace, reporter: TextReporter) -> int:
    """The plan (dry run), the error, or the summary; the exit code of the run."""
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
    from katarestore_tui.engine import retry_run
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
    dsn = target_dsn(target, reporter)
    if dsn is None:
        return EXIT_FATAL
    batch = getattr(args, "batch_size", None)
    result = retry_run(args.run_id, dsn, args.table, **({"batch_size": batch} if batch else {}))
    if args.json:
        print_json({"run_id": result.run_id, "tables": result.tables, "error": result.error,
                    "recovered": result.recovered})
    else:
        for name, counts in result.recovered.items():
            print(f"{name}: finished an interrupted retry: {counts['loaded']:,} loaded, "
                  f"{counts['duplicates']:,} duplicates, {counts['still_failed']:,} still failing")
        for name, counts in result.tables.items():
            print(f"{name}: retried {counts['retried']:,}: {counts['loaded']:,} loaded, "
                  f"{counts['duplicates']:,} duplicates, {counts['still_failed']:,} still failing")
        if not result.tables:
            print("no quarantined records to retry")
    if result.error:
        reporter.say(f"error: {result.error}")
        return EXIT_FATAL
    return 1 if result.still_failed else 0
