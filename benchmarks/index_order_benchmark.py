"""When should an empty table's indexes be built: before its data, or after it?

    python benchmarks/index_order_benchmark.py --rows 1000000 --repeat 3

Server-side figures for the Katacore backup's largest table (lesson_progress: a uuid
primary key, one secondary btree, a jsonb), its rows as CSV, FK triggers off:

- both-before   COPY into the table with the primary key and the secondary index
- pk-before     COPY with the primary key only, then CREATE INDEX (katarestore's default)
- none-before   COPY into the bare table, then the set-based duplicate search that a
                primary key built after the data would need (GROUP BY key HAVING count > 1),
                then ADD PRIMARY KEY, then CREATE INDEX

Each variant's seconds are the median of --repeat runs (spread min-max). This answers
issue 10's question whether the primary key can go after the data too; it builds nothing
into katarestore.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from restore_benchmark import database_dsn, fresh_tables  # noqa: E402

from katarestore_tui.demo import write_demo_backup  # noqa: E402

TABLE = "lesson_progress"
PK = "ALTER TABLE lp ADD CONSTRAINT lp_pkey PRIMARY KEY (id)"
SECONDARY = "CREATE INDEX lp_lesson_id_idx ON lp (lesson_id)"
DUPLICATES = "SELECT count(*) FROM (SELECT id FROM lp GROUP BY id HAVING count(*) > 1) AS d"
SETTINGS = ("SET maintenance_work_mem = '512MB'",
            "SELECT set_config('max_parallel_maintenance_workers',"
            " current_setting('max_parallel_workers'), false)",
            "SET session_replication_role = replica")


def timed(conn: psycopg.Connection, statement: str) -> float:
    began = time.perf_counter()
    conn.execute(statement)
    return time.perf_counter() - began


def copy_in(dsn: str, csv: Path) -> float:
    """psql \\copy, as the csv contenders of restore_benchmark.py load."""
    env = dict(os.environ, PGOPTIONS="-c session_replication_role=replica")
    began = time.perf_counter()
    subprocess.run(["psql", dsn, "-q", "-v", "ON_ERROR_STOP=1", "-c",
                    f"\\copy lp FROM '{csv}' WITH (FORMAT csv)"], env=env, check=True)
    return time.perf_counter() - began


def variant(conn: psycopg.Connection, dsn: str, csv: Path, name: str) -> dict[str, float]:
    conn.execute("DROP TABLE IF EXISTS lp")
    conn.execute(f"CREATE TABLE lp (LIKE {TABLE} INCLUDING DEFAULTS)")
    conn.execute("CHECKPOINT")
    steps: dict[str, float] = {}
    if name in ("both-before", "pk-before"):
        conn.execute(PK)
    if name == "both-before":
        conn.execute(SECONDARY)
    steps["copy"] = copy_in(dsn, csv)
    if name == "none-before":
        steps["duplicates"] = timed(conn, DUPLICATES)
        steps["primary key"] = timed(conn, PK)
    if name != "both-before":
        steps["secondary"] = timed(conn, SECONDARY)
    steps["total"] = sum(steps.values())
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--server", default=os.environ.get(
        "KATARESTORE_TEST_DSN", "postgresql://root@127.0.0.1:5432/postgres"))
    parser.add_argument("--data", type=Path, default=HERE.parent / "bench-data")
    args = parser.parse_args()
    name = f"katarestore_idx_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = database_dsn(args.server, name)
    try:
        root = args.data / f"rows-{args.rows}"
        found = sorted(root.glob(f"*/{TABLE}.json"))
        backup = found[-1].parent if found else write_demo_backup(
            root, rows=args.rows, bad_records=False).path
        fresh_tables(dsn)
        subprocess.run([sys.executable, "-m", "katarestore_tui", "restore", str(backup),
                        "--dsn", dsn, "--yes", "--json"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        with tempfile.TemporaryDirectory() as scratch, psycopg.connect(
                dsn, autocommit=True) as conn:
            csv = Path(scratch) / f"{TABLE}.csv"
            with open(csv, "wb") as out, conn.cursor().copy(
                    f"COPY {TABLE} TO STDOUT (FORMAT csv)") as copy:
                for chunk in copy:
                    out.write(chunk)
            for statement in SETTINGS:
                conn.execute(statement)
            rows = conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
            print(f"{TABLE}: {rows:,} rows, {csv.stat().st_size / 2**20:,.0f} MB of CSV, "
                  f"{os.cpu_count()} cores, {args.repeat} runs of each\n")
            runs: dict[str, list[dict[str, float]]] = {}
            for _ in range(args.repeat):
                for each in ("both-before", "pk-before", "none-before"):
                    runs.setdefault(each, []).append(variant(conn, dsn, csv, each))
            for each, results in runs.items():
                steps = results[0].keys()
                cells = []
                for step in steps:
                    values = [r[step] for r in results]
                    cells.append(f"{step} {statistics.median(values):.2f}s "
                                 f"({min(values):.2f}-{max(values):.2f})")
                print(f"{each:<12} " + ", ".join(cells))
            conn.execute("DROP TABLE IF EXISTS lp")
    finally:
        with psycopg.connect(args.server, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


if __name__ == "__main__":
    main()
