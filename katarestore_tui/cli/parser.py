"""The argument parser of every sub-command: names here are a contract with operators' scripts."""

from __future__ import annotations

import argparse
from pathlib import Path

from katarestore_tui import __version__
from katarestore_tui.locations import default_backup_root


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _positive(value: str) -> int:
    try:
        number = int(value.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {number})")
    return number


def _target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dsn", help="target database (default $DATABASE_URL, else embedded)")
    parser.add_argument("--backup-root", type=Path, default=None,
                        help="folder of backups (default $KATARESTORE_BACKUP_ROOT or ./kata_json)")
    parser.add_argument("--schema", default=None,
                        help="target schema (default: the URL's ?schema= as Prisma writes it, "
                        "else public)")


def build_parser() -> argparse.ArgumentParser:
    from katarestore_tui.engine import DEFAULT_BATCH_SIZE

    parser = argparse.ArgumentParser(
        prog="katarestore",
        description="Restore a PostgreSQL database from per-table JSON backups. "
        "Without a sub-command, opens the terminal app.",
    )
    parser.add_argument("--version", action="version", version=f"katarestore {__version__}")
    parser.add_argument("--dsn", help=argparse.SUPPRESS)
    parser.add_argument("--backup-root", type=Path, default=None, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    restore = sub.add_parser("restore", help="restore a backup into the target database")
    restore.add_argument("backup", nargs="?", help="backup folder (default: newest under root)")
    _target_options(restore)
    restore.add_argument("--batch-size", type=_positive, default=DEFAULT_BATCH_SIZE,
                         help=f"records per COPY batch (default {DEFAULT_BATCH_SIZE:,})")
    restore.add_argument("--jobs", type=_positive, default=1,
                         help="tables loaded in parallel, parents before children (default 1)")
    restore.add_argument("--on-conflict", choices=("skip", "update", "error"), default="skip",
                         help="existing key: skip (count as duplicate, default), update, error")
    restore.add_argument("--clean", action="store_true",
                         help="empty the backup's tables first (asks; --yes to confirm)")
    restore.add_argument("--tables", type=_csv, default=[], help="only these tables (a,b)")
    restore.add_argument("--exclude", type=_csv, default=[], help="skip these tables (c,d)")
    restore.add_argument("--single-transaction", action="store_true", help="all or nothing")
    restore.add_argument("--dry-run", action="store_true",
                         help="print the plan (order, name mapping, warnings); write nothing")
    restore.add_argument("--resume", metavar="RUN_ID",
                         help="continue a stopped run (refused if its backup files changed)")
    restore.add_argument("--fk-checks", choices=("auto", "after", "row"), default="auto",
                         help="foreign keys: after the load, set-based (auto when allowed), "
                         "or row by row")
    restore.add_argument("--triggers", choices=("auto", "on", "off"), default="auto",
                         help="the tables' own triggers: auto = silenced when foreign keys are "
                         "checked after the load, run when row by row; on = run them (row by "
                         "row); off = silence them (needs a superuser)")
    restore.add_argument("--indexes", choices=("after", "all", "keep"), default="after",
                         help="after (default): an empty table's secondary indexes that no "
                         "record can make fail (plain keys of fixed-length types) are dropped "
                         "and built again after its data, as pg_restore orders it; all: every "
                         "secondary index (one a record breaks then fails its build, reported "
                         "with its DDL, instead of quarantining that record); keep: none")
    restore.add_argument("--no-parser-process", action="store_true",
                         help="parse JSON in this process (slower; for debugging)")
    restore.add_argument("--yes", action="store_true", help="no questions")
    restore.add_argument("--json", action="store_true", help="JSON summary on stdout at the end")

    bench = sub.add_parser("bench", help="compare restore strategies on a backup")
    bench.add_argument("backup", nargs="?")
    _target_options(bench)
    bench.add_argument("--strategies", type=_csv, default=["legacy", "batched", "copy"])
    bench.add_argument("--repeat", type=_positive, default=1)
    bench.add_argument("--batch-size", type=_positive, default=DEFAULT_BATCH_SIZE)
    bench.add_argument("--jobs", type=_positive, default=1)
    bench.add_argument("--limit-rows", type=_positive, default=None,
                       help="bound slow strategies to this many rows per table (extrapolated)")
    bench.add_argument("--json", action="store_true")

    history = sub.add_parser("history", help="past runs, or one run's summary")
    history.add_argument("run_id", nargs="?")
    history.add_argument("--json", action="store_true")

    failures = sub.add_parser("failures", help="the quarantined records of a run")
    failures.add_argument("run_id")
    failures.add_argument("--table")
    failures.add_argument("--json", action="store_true")

    retry = sub.add_parser("retry", help="load a run's quarantined records again")
    retry.add_argument("run_id")
    retry.add_argument("--table")
    retry.add_argument("--dsn", help="target (default: the run's target from $DATABASE_URL/--dsn)")
    retry.add_argument("--batch-size", type=_positive, default=None,
                       help="records per committed batch (default 5,000)")
    retry.add_argument("--json", action="store_true")

    demo = sub.add_parser("demo", help="write a sample backup, create its schema, open the TUI")
    demo.add_argument("--rows", type=_positive, default=20_000,
                      help="rows in the largest table (default 20,000)")
    demo.add_argument("--dsn", help="target (default $DATABASE_URL, else embedded)")
    demo.add_argument("--backup-root", type=Path, default=None)
    demo.add_argument("--no-tui", action="store_true", help="restore in the CLI and print it")
    demo.add_argument("--into-existing", action="store_true",
                      help="create the sample tables in a database that has other tables "
                      "(tables the demo did not create are never dropped or changed)")
    demo.add_argument("--json", action="store_true")
    return parser


def backup_root(args: argparse.Namespace) -> Path:
    return args.backup_root or default_backup_root()
