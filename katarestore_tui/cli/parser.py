"""The argument parser of every sub-command: names here are a contract with operators' scripts.

pg_restore's short names sit beside katarestore's long ones (-d, -j, -1, -t, -n, -v, -q):
an operator's fingers and scripts know them. Names are only ever added, never renamed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from katarestore_tui import __version__
from katarestore_tui.locations import default_backup_root

EPILOG = """\
exit codes:
  0  every record loaded or counted as a duplicate
  1  finished; some records are quarantined (katarestore failures RUN_ID)
  2  usage or configuration error: nothing was written
  3  fatal: cannot connect, target unusable, cancelled (the run is resumable)

environment:
  DATABASE_URL             the target when there is no --dsn (also read from ./.env,
                           then ./prisma/.env, as Prisma does)
  PGHOST, PGDATABASE, ...  with no --dsn and no DATABASE_URL, any libpq connection
                           variable (PGSERVICE, PGPORT, PGUSER, PGPASSWORD, ...) means
                           "connect through libpq's defaults"; none: the embedded server
  KATARESTORE_BACKUP_ROOT  folder of backups (default ./kata_json)
  KATARESTORE_PG_BIN       PostgreSQL's bin/ folder for the embedded server
  KATARESTORE_DATA_DIR     run logs and quarantine (default: the user data folder)
"""


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _one(value: str) -> list[str]:
    """One name per -t (as pg_restore), as a list so it merges with --tables a,b."""
    value = value.strip()
    if not value:
        raise argparse.ArgumentTypeError("a table name is needed")
    return [value]


def _positive(value: str) -> int:
    try:
        number = int(value.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {number})")
    return number


def _non_negative(value: str) -> int:
    """0 or more (--max-errors 0: stop a table at its first failed record)."""
    return 0 if value.strip() == "0" else _positive(value)


def _sub(sub, name: str, help: str, description: str | None = None) -> argparse.ArgumentParser:
    """A sub-command with its help, the shared epilog and -v/-q."""
    parser = sub.add_parser(name, help=help, description=description or help[:1].upper() + help[1:] + ".",
                            epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
                            parents=[_verbosity(argparse.SUPPRESS)])
    return parser


def _verbosity(default) -> argparse.ArgumentParser:
    """-v/-q: the level of katarestore's log (progress lines on stderr), as pg_restore's -v.

    Sub-commands take them too (SUPPRESS keeps `katarestore -v restore` from being reset).
    """
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("-v", "--verbose", action="count", default=default,
                        help="more detail on stderr (-vv: the libraries' debug log too)")
    parent.add_argument("-q", "--quiet", action="count", default=default,
                        help="only warnings and errors on stderr")
    return parent


def _dsn_option(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--dsn", "-d", "--dbname", dest="dsn", metavar="DSN", help=help)


def _target_options(parser: argparse.ArgumentParser) -> None:
    _dsn_option(parser, "target database, a URL or conninfo (default $DATABASE_URL or a .env's, "
                "else libpq's PG* variables, else embedded)")
    parser.add_argument("--backup-root", type=Path, default=None,
                        help="folder of backups (default $KATARESTORE_BACKUP_ROOT or ./kata_json)")
    parser.add_argument("--schema", "-n", default=None,
                        help="target schema (default: the URL's ?schema= as Prisma writes it, "
                        "else public)")


def _table_options(parser: argparse.ArgumentParser) -> None:
    """--tables a,b and -t/--table a (repeatable), all merged; --exclude likewise."""
    parser.add_argument("--tables", type=_csv, action="extend", default=[], metavar="A,B",
                        help="only these tables; repeatable, merged with -t")
    parser.add_argument("-t", "--table", dest="tables", type=_one, action="extend", metavar="TABLE",
                        help="only this table (pg_restore's -t); repeatable")
    parser.add_argument("--exclude", type=_csv, action="extend", default=[], metavar="C,D",
                        help="skip these tables; repeatable")


def build_parser() -> argparse.ArgumentParser:
    from katarestore_tui.engine import DEFAULT_BATCH_SIZE

    parser = argparse.ArgumentParser(
        prog="katarestore",
        description="Restore a PostgreSQL database from per-table JSON backups. "
        "Without a sub-command, opens the terminal app (it needs a terminal).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_verbosity(0)],
    )
    parser.add_argument("--version", action="version", version=f"katarestore {__version__}")
    parser.add_argument("--dsn", "-d", "--dbname", dest="dsn", help=argparse.SUPPRESS)
    parser.add_argument("--backup-root", type=Path, default=None, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    restore = _sub(sub, "restore", "restore a backup into the target database")
    restore.add_argument("backup", nargs="?", help="backup folder (default: newest under root)")
    _target_options(restore)
    restore.add_argument("--batch-size", type=_positive, default=DEFAULT_BATCH_SIZE,
                         help=f"records per COPY batch (default {DEFAULT_BATCH_SIZE:,})")
    restore.add_argument("--jobs", "-j", type=_positive, default=1,
                         help="tables loaded in parallel, parents before children (default 1)")
    restore.add_argument("--on-conflict", choices=("skip", "update", "error"), default="skip",
                         help="existing key: skip (count as duplicate, default), update, error")
    restore.add_argument("--clean", action="store_true",
                         help="empty the backup's tables first (asks; --yes to confirm)")
    restore.add_argument("--no-snapshot", action="store_true",
                         help="--clean without first writing a copy of what it removes (asks)")
    restore.add_argument("--snapshot-dir", type=Path, default=None,
                         help="where --clean keeps the copy of what it removes "
                         "(default <data dir>/clean-copies)")
    _table_options(restore)
    restore.add_argument("--single-transaction", "-1", action="store_true",
                         help="all or nothing, one transaction (pg_restore's -1; needs --jobs 1)")
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
    restore.add_argument("--verify", action="store_true",
                         help="at the end, verify the target against the backup (katarestore "
                         "verify --run of this run); exit 4 if it finds unexplained differences")
    # #12.2: a table whose records keep failing stops (the others go on, resumable)
    restore.add_argument("--max-errors", type=_non_negative, default=None, metavar="N",
                         help="stop a table once more than N of its records failed (0: at the "
                         "first); default: only when its first 1,000 records all fail with "
                         "one error")

    _verify_parser(sub)

    bench = _sub(sub, "bench", "compare restore strategies on a backup",
                 "Load a backup with each strategy (legacy = row by row, batched = Prisma-style "
                 "createMany, copy = katarestore) into scratch schemas and compare the figures.")
    bench.add_argument("backup", nargs="?", help="backup folder (default: newest under root)")
    _target_options(bench)
    bench.add_argument("--strategies", type=_csv, default=["legacy", "batched", "copy"],
                       metavar="A,B", help="which strategies, in order (default legacy,batched,copy)")
    bench.add_argument("--repeat", type=_positive, default=1,
                       help="runs of each strategy; the figures show the spread (default 1)")
    bench.add_argument("--batch-size", type=_positive, default=DEFAULT_BATCH_SIZE,
                       help=f"records per COPY batch of the copy strategy (default {DEFAULT_BATCH_SIZE:,})")
    bench.add_argument("--jobs", "-j", type=_positive, default=1,
                       help="tables loaded in parallel by the copy strategy (default 1)")
    bench.add_argument("--limit-rows", type=_positive, default=None,
                       help="bound slow strategies to this many rows per table (extrapolated)")
    bench.add_argument("--json", action="store_true", help="the benchmark record as JSON on stdout")

    history = _sub(sub, "history", "past runs, or one run's summary")
    history.add_argument("run_id", nargs="?", help="one run's summary (default: every run)")
    history.add_argument("--json", action="store_true",
                         help="JSON on stdout (errors too: {\"error\": ...})")

    failures = _sub(sub, "failures", "the quarantined records of a run")
    failures.add_argument("run_id", help="the run (katarestore history lists them)")
    failures.add_argument("--table", help="only this table's failed records")
    failures.add_argument("--json", action="store_true",
                          help="JSON on stdout (errors too: {\"error\": ...})")

    retry = _sub(sub, "retry", "load a run's quarantined records again",
                 "Load a run's quarantined records again, after their cause is fixed.")
    retry.add_argument("run_id", help="the run whose quarantine is retried")
    retry.add_argument("--table", help="only this table's failed records")
    _dsn_option(retry, "target (default: the run's target, else $DATABASE_URL / PG* variables)")
    retry.add_argument("--batch-size", type=_positive, default=None,
                       help="records per committed batch (default 5,000)")
    retry.add_argument("--json", action="store_true", help="JSON result on stdout")

    # ---- `katarestore backup` (issue 14.3): its own block
    backup = _sub(sub, "backup", "write a backup of the database in the Node layout",
                  "Write ROOT/YYYYMMDD_HHMMSS/<table>.json as the Node app's backup script does "
                  "(JSON.stringify(rows, null, 2)), from one consistent snapshot.")
    backup.add_argument("root", nargs="?", type=Path, default=None,
                        help="backup root: the backup goes into ROOT/YYYYMMDD_HHMMSS/ "
                        "(default --backup-root, $KATARESTORE_BACKUP_ROOT or ./kata_json)")
    _target_options(backup)
    _table_options(backup)
    backup.add_argument("--jobs", "-j", type=_positive, default=1,
                        help="tables written in parallel, all from one snapshot (default 1)")
    backup.add_argument("--gzip", action="store_true", help="write <table>.json.gz")
    backup.add_argument("--json", action="store_true", help="JSON summary on stdout at the end")
    # ---- end of `katarestore backup`

    demo = _sub(sub, "demo", "write a sample backup, create its schema, open the TUI")
    demo.add_argument("--rows", type=_positive, default=20_000,
                      help="rows in the largest table (default 20,000)")
    _dsn_option(demo, "target (default $DATABASE_URL, else PG* variables, else embedded)")
    demo.add_argument("--backup-root", type=Path, default=None,
                      help="where the sample backup is written (default ./kata_json)")
    demo.add_argument("--no-tui", action="store_true", help="restore in the CLI and print it")
    demo.add_argument("--into-existing", action="store_true",
                      help="create the sample tables in a database that has other tables "
                      "(tables the demo did not create are never dropped or changed)")
    demo.add_argument("--json", action="store_true", help="with --no-tui: JSON summary on stdout")

    # -- shell completion (shtab: a static script, nothing of katarestore runs at each Tab)
    completion = _sub(sub, "completion", "print a shell completion script",
                      "Print a completion script: eval \"$(katarestore completion bash)\" in "
                      "~/.bashrc, or katarestore completion zsh > ~/.zfunc/_katarestore.")
    completion.add_argument("shell", choices=("bash", "zsh", "tcsh"), help="the shell")
    _embedded_parser(sub)
    return parser


def _embedded_parser(sub: argparse._SubParsersAction) -> None:
    """`katarestore embedded status|stop`: the private server outlives katarestore on purpose."""
    embedded = _sub(
        sub, "embedded", "the embedded PostgreSQL (status, stop)",
        "The private PostgreSQL katarestore starts when no database is named. It "
        "keeps running after katarestore exits, so the next run reuses it; stop it here.",
    )
    actions = embedded.add_subparsers(dest="embedded_action", required=True, help="what to do")
    status = actions.add_parser("status", help="is it running: data folder, port, pid, version")
    status.add_argument("--json", action="store_true", help="one JSON object on stdout")
    stop = actions.add_parser("stop", help="stop it cleanly (fast shutdown; data is kept)")
    stop.add_argument("--json", action="store_true", help="one JSON object on stdout")


def _verify_parser(sub) -> None:
    """`katarestore verify`: its own block (other sub-commands change beside it)."""
    verify = _sub(sub, "verify", "prove the target holds exactly the backup's records",
                  "Read the backup again and prove, per table, that the target holds exactly its "
                  "records: counts, and every record compared as the server stores it.")
    verify.add_argument("backup", nargs="?", help="backup folder (default: newest under root)")
    _target_options(verify)
    verify.add_argument("--run", metavar="RUN_ID",
                        help="the run whose quarantine and duplicates explain what it did not "
                        "load (default: the last run of this backup into this target)")
    verify.add_argument("--no-run", action="store_true",
                        help="judge the target by the backup alone, whatever runs are recorded")
    verify.add_argument("--on-conflict", choices=("skip", "update", "error"), default=None,
                        help="the duplicate rule the restore used: skip/error keep a repeated "
                        "key's first copy, update its last (default: the run's, else skip)")
    _table_options(verify)
    verify.add_argument("--limit", type=_positive, default=20,
                        help="differences listed per kind and table (default 20; counts are "
                        "always whole)")
    verify.add_argument("--no-parser-process", action="store_true",
                        help="parse JSON in this process (slower; for debugging)")
    verify.add_argument("--json", action="store_true", help="JSON result on stdout")


def backup_root(args: argparse.Namespace) -> Path:
    return args.backup_root or default_backup_root()
