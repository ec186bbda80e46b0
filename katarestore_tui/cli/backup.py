"""`katarestore backup`: the exporter as a command, progress on stderr, summary on stdout."""

from __future__ import annotations

import argparse
import sys
import threading
import time

import humanize

from katarestore_tui.cli.output import TextReporter, print_json
from katarestore_tui.cli.parser import backup_root
from katarestore_tui.cli.signals import install_cancel_handlers
from katarestore_tui.cli.target import target_dsn
from katarestore_tui.errors import EXIT_FATAL, EXIT_OK, EXIT_USAGE, Cancelled, ConfigError, FatalError
from katarestore_tui.words import plural

PROGRESS_EVERY = 5.0  # seconds between progress lines of one table


class BackupProgress:
    """Prints a line when a table starts and ends, and at most every 5 s in between."""

    def __init__(self, reporter: TextReporter) -> None:
        self.reporter = reporter
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, event) -> None:
        now = time.monotonic()
        with self._lock:
            first = event.table not in self._last
            if not (first or event.done or now - self._last[event.table] >= PROGRESS_EVERY):
                return
            self._last[event.table] = now
        of = f" of ~{event.estimate:,}" if event.estimate and not event.done else ""
        verb = "wrote" if event.done else "writing"
        self.reporter.say(f"  {event.table}: {verb} {event.records:,}{of} rows "
                          f"({humanize.naturalsize(event.bytes)})")


def backup_command(args: argparse.Namespace) -> int:
    from katarestore_tui.engine import run_backup

    reporter = TextReporter()
    dsn = target_dsn(args.dsn, reporter)
    if dsn is None:
        return EXIT_FATAL
    if args.schema is None:
        from katarestore_tui.db.target import url_schema

        args.schema = url_schema(args.dsn) or "public"
    root = args.root or backup_root(args)
    cancel = threading.Event()
    restore_handlers = install_cancel_handlers(cancel, reporter.say)
    try:
        result = run_backup(dsn, root, args.schema, args.tables, args.exclude, args.jobs,
                            6 if args.gzip else None, BackupProgress(reporter), cancel)
    except ConfigError as exc:
        reporter.say(f"error: {exc}")
        return EXIT_USAGE
    except Cancelled:
        reporter.say("cancelled: no backup was written (the partial folder was removed)")
        return EXIT_FATAL
    except FatalError as exc:
        reporter.say(f"error: {exc}; no backup was written")
        return EXIT_FATAL
    except OSError as exc:
        reporter.say(f"error: cannot write the backup under {root}: {exc.strerror or exc} "
                     f"({exc.filename or root}); no backup was written")
        return EXIT_FATAL
    finally:
        restore_handlers()
    if args.json:
        print_json(result.to_dict())
    else:
        print(f"backup {result.folder}: {plural(len(result.tables), 'table')}, "
              f"{plural(result.records, 'row')}, "
              f"{humanize.naturalsize(result.bytes)} in {result.seconds:.1f} s", file=sys.stdout)
    return EXIT_OK
