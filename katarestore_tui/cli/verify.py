"""`katarestore verify` (and `restore --verify`): the engine's verdict, as text or JSON."""

from __future__ import annotations

import argparse
import threading

from katarestore_tui.cli.output import TextReporter, print_json
from katarestore_tui.cli.parser import backup_root
from katarestore_tui.cli.signals import install_cancel_handlers
from katarestore_tui.cli.target import target_dsn
from katarestore_tui.errors import EXIT_FATAL, EXIT_USAGE
from katarestore_tui.words import plural


def verdict_lines(verdict) -> list[str]:
    """One line per table, then its listed differences and notes, indented."""
    lines = [f"  {verdict.table} [{verdict.method}]: {plural(verdict.records, 'record')}: "
             f"{verdict.line()}"]
    for difference in verdict.differences:
        lines.append(f"    {difference.kind:<10} {difference.text()}")
    shown = len(verdict.differences)
    total = verdict.unexplained + verdict.kept
    if shown < total:
        lines.append(f"    ... {total - shown:,} more not listed (--limit)")
    if verdict.fault:
        lines.append(f"    file cut short: {verdict.fault}")
    lines.extend(f"    note: {note}" for note in verdict.notes)
    return lines


def result_text(result) -> str:
    head = f"verify {result.backup}\n  target {result.target}"
    head += (f"; run {result.run_id} (its quarantine and duplicates explain what it did not "
             "load)" if result.run_id else "; no run: judged by the backup alone")
    head += f"; duplicate rule: {result.on_conflict}"
    lines = [head]
    for verdict in result.tables.values():
        lines.extend(verdict_lines(verdict))
    lines.extend(f"  warning: {w}" for w in result.warnings)
    lines.append(f"{result.status}: {result.line()} ({result.seconds:.1f} s)")
    return "\n".join(lines)


def run_and_report(options, args: argparse.Namespace, reporter: TextReporter,
                   json_with: dict | None = None) -> int:
    """Run verify with Ctrl-C as a cancel, print the result; the exit code of the verdict.

    `json_with`: a restore's summary; the JSON printed is it, with the result as "verify"."""
    from katarestore_tui.engine import run_verify

    cancel = threading.Event()
    restore_handlers = install_cancel_handlers(cancel, reporter.say)
    try:
        def progress(verdict) -> None:
            if not args.json:
                reporter.say(f"verified {verdict.table}: {verdict.line()}")

        result = run_verify(options, backup_root(args), progress, cancel)
    finally:
        restore_handlers()
    if result.error:
        reporter.say(f"error: {result.error}")
    if args.json:
        print_json(result.summary() if json_with is None
                   else {**json_with, "verify": result.summary()})
    elif not result.error:
        print(result_text(result))
    return result.exit_code


def verify_command(args: argparse.Namespace) -> int:
    from katarestore_tui.engine import VerifyOptions

    reporter = TextReporter()
    if args.run and args.no_run:
        reporter.say("error: --run and --no-run contradict each other: give one")
        return EXIT_USAGE
    dsn = target_dsn(args.dsn, reporter)
    if dsn is None:
        return EXIT_FATAL
    if args.schema is None:
        from katarestore_tui.db.target import url_schema

        args.schema = url_schema(args.dsn) or "public"
    options = VerifyOptions(
        backup=args.backup or "", dsn=dsn, schema=args.schema, run_id=args.run,
        use_run=not args.no_run, on_conflict=args.on_conflict, tables=args.tables,
        exclude=args.exclude, limit=args.limit, parser_process=not args.no_parser_process,
    )
    return run_and_report(options, args, reporter)
