"""`katarestore restore` and `retry`: thin wrappers around the engine."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from typing import TYPE_CHECKING

from katarestore_tui.cli.output import TextReporter, plan_text, print_json, summary_text
from katarestore_tui.cli.parser import backup_root
from katarestore_tui.cli.signals import install_cancel_handlers
from katarestore_tui.cli.target import target_dsn
from katarestore_tui.errors import EXIT_FATAL, EXIT_USAGE
from katarestore_tui.words import plural

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from katarestore_tui.engine import Plan, RestoreOptions, RestoreResult


def _confirm_clean(plan: Plan, reporter: TextReporter, assume_yes: bool) -> bool:
    if assume_yes:
        if plan.clean_copy is not None:
            reporter.say(plan.clean_copy.describe())
        return True
    names = ", ".join(t.table for t in plan.tables)
    if not sys.stdin.isatty():
        copy = f" ({plan.clean_copy.describe()})" if plan.clean_copy is not None else ""
        reporter.say(f"error: --clean would empty {names}{copy}; add --yes to confirm when not "
                     "running interactively")
        return False
    dbname = plan.schema.name
    reporter.say(f"--clean will EMPTY these tables of schema {dbname!r}: {names}")
    if plan.clean_copy is not None:
        reporter.say(plan.clean_copy.describe())
    answer = input(f"type the schema name ({dbname}) to confirm: ").strip()
    return answer == dbname


def restore_command(args: argparse.Namespace) -> int:
    from katarestore_tui.engine import (
        RestoreOptions,
        load_run_log,
        prepare,
        resume_options,
        run_restore,
    )
    from katarestore_tui.errors import ConfigError

    reporter = TextReporter()
    previous = None
    if args.resume:
        try:
            previous = load_run_log(args.resume)
        except ConfigError as exc:
            reporter.say(f"error: {exc}")
            return EXIT_USAGE
    dsn = target_dsn(args.dsn, reporter)
    if dsn is None:
        return EXIT_FATAL
    schema = args.schema
    if schema is None and previous is None:  # a Prisma URL's ?schema= is where its tables are
        from katarestore_tui.db.target import url_schema

        schema = url_schema(args.dsn) or "public"
    options = RestoreOptions(
        backup=args.backup or "",
        dsn=dsn,
        schema=schema or "public",
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
        max_errors=args.max_errors,
        # getattr: `demo --no-tui` builds its own namespace without these
        snapshot=not getattr(args, "no_snapshot", False),
        snapshot_dir=str(args.snapshot_dir) if getattr(args, "snapshot_dir", None) else None,
        indexes=args.indexes,
    )
    if previous is not None:  # options left out continue the run as it was started
        options = resume_options(previous, options,
                                 given=("schema",) if args.schema is not None else ())
    log.debug("options: %s", options.redacted())
    root = backup_root(args)
    plan = None
    if args.clean and not args.dry_run and not args.resume:
        from katarestore_tui.errors import FatalError

        try:
            conn, plan = prepare(options, root)  # the plan confirmed is the plan run
            conn.close()
        except ConfigError as exc:
            reporter.say(f"error: {exc}")
            return EXIT_USAGE
        except FatalError as exc:
            reporter.say(f"error: {exc}")
            return EXIT_FATAL
        if not _confirm_clean(plan, reporter, args.yes):
            reporter.say("not confirmed: nothing was changed")
            return EXIT_USAGE
    cancel = threading.Event()
    restore_handlers = install_cancel_handlers(cancel, reporter.say)
    try:  # a second Ctrl-C while the summary prints still leaves with exit 3
        result = run_restore(options, root, reporter, cancel, plan=plan)
        verify = getattr(args, "verify", False) and result.status in ("completed", "partial")
        code = _report(result, args, reporter, json_now=not verify)
    finally:
        restore_handlers()
    if verify:
        code = _verify_after(options, result, args, reporter, code)
    return code


def _verify_after(options: RestoreOptions, result: RestoreResult, args: argparse.Namespace,
                  reporter: TextReporter, code: int) -> int:
    """`restore --verify`: verify this run's tables; unexplained differences make exit 4."""
    from katarestore_tui.cli.verify import run_and_report
    from katarestore_tui.engine import VerifyOptions
    from katarestore_tui.errors import EXIT_DIFFERENT

    reporter.say(f"verifying run {result.run_id} against {result.backup}")
    verify = VerifyOptions(backup=result.backup, dsn=options.dsn, schema=options.schema,
                           run_id=result.run_id, tables=[*result.tables],
                           parser_process=options.parser_process)
    verified = run_and_report(verify, args, reporter, json_with=result.summary())
    return EXIT_DIFFERENT if verified == EXIT_DIFFERENT else max(code, verified)


def _report(result: RestoreResult, args: argparse.Namespace, reporter: TextReporter,
            json_now: bool = True) -> int:
    """The plan (dry run), the error, or the summary; the exit code of the run.

    `json_now` False: a verify follows and prints one JSON document holding both."""
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
        if json_now:
            print_json(result.summary())
    else:
        print(summary_text(result.summary()))
    return result.exit_code


def retry_command(args: argparse.Namespace) -> int:
    from katarestore_tui.engine import retry_run
    from katarestore_tui.history.runlog import RunLog
    from katarestore_tui.history.runs import RunNotFound

    reporter = TextReporter()
    try:
        run = RunLog.load(args.run_id)
    except RunNotFound as exc:
        reporter.say(f"error: {exc}")
        return EXIT_USAGE
    target = args.dsn
    if target is None and "****" not in (run.target or "****"):
        target = run.target  # a target with no password is in the log as it was given
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
                  f"{plural(counts['duplicates'], 'duplicate')}, {counts['still_failed']:,} still failing")
        for name, counts in result.tables.items():
            print(f"{name}: retried {counts['retried']:,}: {counts['loaded']:,} loaded, "
                  f"{plural(counts['duplicates'], 'duplicate')}, {counts['still_failed']:,} still failing")
        if not result.tables:
            print("no quarantined records to retry")
    if result.error:
        reporter.say(f"error: {result.error}")
        return EXIT_FATAL
    return 1 if result.still_failed else 0
