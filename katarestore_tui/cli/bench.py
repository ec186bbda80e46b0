"""`katarestore bench`: compare the strategies on a backup, print the figures, keep a record."""

from __future__ import annotations

import argparse
import os
import threading

from katarestore_tui.cli.output import TextReporter, print_json
from katarestore_tui.cli.parser import backup_root
from katarestore_tui.cli.signals import install_cancel_handlers
from katarestore_tui.cli.target import target_dsn
from katarestore_tui.errors import EXIT_FATAL


def bench_command(args: argparse.Namespace) -> int:
    from katarestore_tui.bench.runner import BenchConfig, run_benchmark
    from katarestore_tui.cli.bench_output import BenchTextReporter, figures_text
    from katarestore_tui.db.target import url_schema

    reporter = TextReporter()
    dsn = target_dsn(args.dsn, reporter)
    if dsn is None:
        return EXIT_FATAL
    config = BenchConfig(
        dsn=dsn,
        backup_root=backup_root(args),
        backup=args.backup or None,
        schema=args.schema or url_schema(args.dsn) or "public",
        strategies=tuple(args.strategies),
        repeat=args.repeat,
        batch_size=args.batch_size,
        jobs=args.jobs,
        limit_rows=args.limit_rows,
    )
    cancel = threading.Event()
    install_cancel_handlers(cancel, _say_from_signal_handler)
    result = run_benchmark(config, BenchTextReporter(reporter.say), cancel)
    if args.json:
        print_json(result.record if result.record is not None
                   else {"status": result.status, "error": result.error})
    elif result.record is not None:
        print(figures_text(result.record))
    return result.exit_code


def _say_from_signal_handler(line: str) -> None:
    """No lock: the handler may interrupt the main thread inside `TextReporter.say`,
    whose non-reentrant lock would then deadlock the process."""
    os.write(2, (line + "\n").encode(errors="replace"))
