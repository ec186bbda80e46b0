"""What `--jobs N` buys on a multi-table backup: --jobs 1 vs 2 vs 4, same data, same server.

    python benchmarks/jobs_benchmark.py [--rows 200000] [--repeat 3] [--jobs 1,2,4]
                                        [--shape demo|independent|both]
                                        [--server postgresql://root@127.0.0.1:5432/postgres]

One Katacore-shaped backup (`katarestore_tui.demo`, six tables with foreign keys, no bad
records) is restored into freshly created tables of a scratch database, once per job count
and repeat; the median wall time of each job count is reported with records/s and the
ratio to --jobs 1. Tables start only after the tables they reference have finished, so
the gain is bounded by the FK graph (users -> courses -> lessons/enrollments ->
lesson_progress/quiz_attempts) and by the machine's cores (each job parses in a process of
its own next to the server). The scratch database is dropped at the end.

`--shape independent` loads the same number of records spread evenly over four tables
without foreign keys: what --jobs can give when the FK graph does not serialise the load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from katarestore_tui.demo import create_demo_schema, write_demo_backup
from katarestore_tui.engine.options import RestoreOptions
from katarestore_tui.engine.restore import EXIT_OK, run_restore


def database_dsn(server: str, name: str) -> str:
    return make_conninfo(**{**conninfo_to_dict(server), "dbname": name})


WIDE_TABLES = 4
WIDE_SCHEMA = "".join(
    f"DROP TABLE IF EXISTS wide_{k}; CREATE TABLE wide_{k} (id int PRIMARY KEY, name text NOT NULL,"
    f" amount numeric(10,2), tags jsonb, created_at timestamptz);"
    for k in range(1, WIDE_TABLES + 1)
)


def write_wide_backup(root: Path, records: int) -> Path:
    """`records` spread evenly over WIDE_TABLES tables with no foreign keys between them."""
    folder = root / "20240101_000001"
    folder.mkdir(parents=True)
    per_table = records // WIDE_TABLES
    for k in range(1, WIDE_TABLES + 1):
        rows = [{"id": i, "name": f"name {i}", "amount": f"{i % 10000}.{i % 100:02d}",
                 "tags": {"k": k, "i": i % 7}, "createdAt": f"2024-01-01T00:00:{i % 60:02d}.000Z"}
                for i in range(1, per_table + 1)]
        (folder / f"wide_{k}.json").write_text(json.dumps(rows, indent=2))
    return folder


def fresh_tables(dsn: str, shape: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        if shape == "demo":
            create_demo_schema(conn, drop_existing=True)
        else:
            conn.execute(WIDE_SCHEMA)
        conn.execute("CHECKPOINT")  # every measurement starts from the same clean WAL state


def one_restore(dsn: str, backup: Path, shape: str, jobs: int, batch_size: int | None
                ) -> tuple[float, int]:
    """(seconds, records) of one restore into fresh tables."""
    fresh_tables(dsn, shape)
    options = RestoreOptions(backup=str(backup), dsn=dsn, jobs=jobs)
    if batch_size:
        options.batch_size = batch_size
    began = time.perf_counter()
    result = run_restore(options, backup.parent)
    seconds = time.perf_counter() - began
    if result.exit_code != EXIT_OK:
        raise SystemExit(f"--jobs {jobs}: restore ended {result.status}: {result.error}")
    return seconds, sum(s.records for s in result.tables.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows of the largest table")
    parser.add_argument("--repeat", type=int, default=3, help="runs per job count (median kept)")
    parser.add_argument("--jobs", default="1,2,4", help="job counts to compare (default 1,2,4)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: katarestore's")
    parser.add_argument("--shape", choices=("demo", "independent", "both"), default="demo",
                        help="the demo's FK graph, independent tables, or both (default demo)")
    parser.add_argument("--server", default=os.environ.get(
        "KATARESTORE_TEST_DSN", "postgresql://root@127.0.0.1:5432/postgres"),
        help="a DSN allowed to create databases")
    args = parser.parse_args()
    job_counts = [int(j) for j in args.jobs.split(",")]
    shapes = ("demo", "independent") if args.shape == "both" else (args.shape,)
    scratch = f"kr_jobs_bench_{uuid.uuid4().hex[:8]}"
    tables: list[str] = []
    with tempfile.TemporaryDirectory(prefix="kr-jobs-") as folder, \
            psycopg.connect(args.server, autocommit=True) as admin:
        os.environ.setdefault("KATARESTORE_DATA_DIR", str(Path(folder) / "data"))  # no history noise
        demo = write_demo_backup(Path(folder), rows=args.rows, bad_records=False, name="20240101_000000")
        backups = {"demo": demo.path}
        if "independent" in shapes:
            backups["independent"] = write_wide_backup(Path(folder), sum(demo.rows_per_table.values()))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
        try:
            dsn = database_dsn(args.server, scratch)
            for shape in shapes:
                files = list(backups[shape].iterdir())
                print(f"{shape}: {len(files)} tables, {sum(f.stat().st_size for f in files) / 1e6:.0f} MB;"
                      f" {os.cpu_count()} CPUs; repeat {args.repeat}", file=sys.stderr)
                seconds: dict[int, list[float]] = {j: [] for j in job_counts}
                records = 0
                for round_ in range(args.repeat):
                    for jobs in job_counts:  # interleaved: drift in the machine hits all alike
                        took, records = one_restore(dsn, backups[shape], shape, jobs, args.batch_size)
                        seconds[jobs].append(took)
                        print(f"  round {round_ + 1}: --jobs {jobs}: {took:.2f} s", file=sys.stderr)
                tables.append(table_text(shape, len(files), records, job_counts, seconds))
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(scratch)))
    print("\n\n".join(tables))
    return 0


def table_text(shape: str, n_tables: int, records: int, job_counts: list[int],
               seconds: dict[int, list[float]]) -> str:
    base = statistics.median(seconds[job_counts[0]])
    lines = [f"{shape} backup: {records:,} records in {n_tables} tables (median of "
             f"{len(seconds[job_counts[0]])})",
             f"{'jobs':>4}  {'seconds':>8}  {'records/s':>10}  {'vs --jobs ' + str(job_counts[0]):>12}"]
    for jobs in job_counts:
        median = statistics.median(seconds[jobs])
        lines.append(f"{jobs:>4}  {median:>8.2f}  {records / median:>10,.0f}  {base / median:>11.2f}x")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
