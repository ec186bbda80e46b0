"""katarestore against the database's own ingest limit and the old scripts, in one run.

    python benchmarks/restore_benchmark.py --rows 1000000

On one Katacore-shaped backup (`katarestore_tui.demo`, no bad records), each contender
loads into freshly created tables of a scratch database:

- katarestore       `katarestore restore` (a subprocess; RSS of its whole process tree)
- csv               `psql \\copy` of the same rows pre-converted to CSV (conversion not
                    timed), constraints and FK triggers in place
- csv-no-fk         the same with `session_replication_role=replica`
- csv-postidx       the same with FK triggers off and the secondary indexes (those that back
                    no constraint and are not unique) dropped first and built after the data,
                    the builds timed: the text-COPY limit, as pg_restore orders it
- katarestore-keep  `katarestore restore --indexes keep` (secondary indexes in place)
- batched           the old "optimized" script: whole-file parse, INSERT of 1,000 rows
                    (`katarestore bench --strategies batched`)
- legacy            the old row-by-row INSERT (`katarestore bench --strategies legacy`,
                    bounded by --legacy-rows per table and extrapolated)

It prints rows/s, wall time, peak RSS and each ratio (medians of `--repeat N` runs of each
contender, interleaved, with the spread min-max). `--memory-sizes 100000,1000000`
also runs katarestore alone at several sizes to show that memory stays flat.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from katarestore_tui.bench.memory import tree_rss
from katarestore_tui.demo import TABLES, create_demo_schema, write_demo_backup
from katarestore_tui.engine.indexes import MAINTENANCE_WORK_MEM_MB, secondary_indexes

HERE = Path(__file__).resolve().parent


def database_dsn(server: str, name: str) -> str:
    params = conninfo_to_dict(server)
    params["dbname"] = name
    return make_conninfo(**params)


def fresh_tables(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        create_demo_schema(conn, drop_existing=True)
        conn.execute("CHECKPOINT")  # each contender starts with the same clean WAL state


def watch_rss(process: subprocess.Popen) -> tuple[threading.Thread, list[int]]:
    peak = [0]

    def sample() -> None:
        while process.poll() is None:
            peak[0] = max(peak[0], tree_rss(process.pid))
            time.sleep(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    return thread, peak


def run_katarestore(dsn: str, backup: Path, data_dir: Path, extra: list[str]) -> dict:
    env = dict(os.environ, KATARESTORE_DATA_DIR=str(data_dir))
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "katarestore_tui", "restore", str(backup), "--dsn", dsn,
         "--json", "--yes", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True,
    )
    thread, peak = watch_rss(process)
    out, _ = process.communicate()
    seconds = time.perf_counter() - began
    thread.join()
    summary = json.loads(out)
    if summary["status"] not in ("completed", "partial"):
        raise SystemExit(f"katarestore failed: {summary.get('error')}")
    return {"seconds": seconds, "rows": summary["totals"]["loaded"], "rss": peak[0]}


def export_csv(dsn: str, folder: Path) -> None:
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        for table in TABLES:
            with open(folder / f"{table}.csv", "wb") as out, cur.copy(
                sql.SQL("COPY {} TO STDOUT (FORMAT csv)").format(sql.Identifier(table))
            ) as copy:
                for chunk in copy:
                    out.write(chunk)


def drop_secondary_indexes(dsn: str) -> list[str]:
    """Drop what katarestore's --indexes after drops; returns the CREATE INDEX to run after."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        found = [i for t in TABLES for i in secondary_indexes(conn, "public", t)]
        for index in found:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier("public", index.name)))
    return [index.definition for index in found]


def run_psql_copy(dsn: str, folder: Path, replica: bool, post_data: list[str] | None = None
                  ) -> dict:
    script = folder / "load.sql"
    builds = ""
    if post_data:  # the session settings katarestore uses for its builds
        builds = (f"SET maintenance_work_mem = '{MAINTENANCE_WORK_MEM_MB}MB';\n"
                  "SELECT set_config('max_parallel_maintenance_workers',"
                  " current_setting('max_parallel_workers'), false) \\g /dev/null\n"
                  + "".join(f"{ddl};\n" for ddl in post_data))
    script.write_text("".join(
        f"\\copy {table} FROM '{folder / (table + '.csv')}' WITH (FORMAT csv)\n" for table in TABLES
    ) + builds)
    env = dict(os.environ)
    if replica:
        env["PGOPTIONS"] = "-c session_replication_role=replica"
    began = time.perf_counter()
    process = subprocess.Popen(["psql", dsn, "-q", "-v", "ON_ERROR_STOP=1", "-f", str(script)],
                               env=env, stdout=subprocess.DEVNULL)
    thread, peak = watch_rss(process)
    if process.wait() != 0:
        raise SystemExit("psql \\copy failed")
    seconds = time.perf_counter() - began
    thread.join()
    with psycopg.connect(dsn) as conn:
        rows = sum(conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t)))
                   .fetchone()[0] for t in TABLES)
    return {"seconds": seconds, "rows": rows, "rss": peak[0]}


def run_old_script(dsn: str, backup: Path, data_dir: Path, strategy: str,
                   limit: int | None) -> dict:
    """The old scripts, as `katarestore bench` reimplements them (whole-file parse)."""
    env = dict(os.environ, KATARESTORE_DATA_DIR=str(data_dir))
    command = [sys.executable, "-m", "katarestore_tui", "bench", str(backup), "--dsn", dsn,
               "--strategies", strategy, "--json"]
    if limit:
        command += ["--limit-rows", str(limit)]
    out = subprocess.run(command, env=env, capture_output=True, text=True)
    if out.returncode not in (0, 1):
        raise SystemExit(f"bench {strategy} failed: {out.stderr[-2000:]}")
    figures = json.loads(out.stdout)["strategies"][strategy]
    return {
        "seconds": figures["seconds"],
        "rows": figures["records"],
        "rss": figures.get("peak_rss_bytes", 0),
        "extrapolated": bool(figures.get("extrapolated")),
    }


def median_of(runs: list[dict]) -> dict:
    """The run of median time, with the spread of all runs' rows/s (min-max)."""
    ordered = sorted(runs, key=lambda r: r["seconds"])
    middle = dict(ordered[len(ordered) // 2])
    rates = [r["rows"] / r["seconds"] for r in runs if r["seconds"]]
    middle["repeats"] = len(runs)
    middle["spread"] = (min(rates), max(rates)) if rates else (0.0, 0.0)
    middle["rss"] = max(r["rss"] for r in runs)
    return middle


def table(results: dict[str, dict]) -> str:
    base = results.get("katarestore")
    lines = [f"{'contender':<16} {'rows':>11} {'seconds':>8} {'rows/s':>9} {'spread rows/s':>17} "
             f"{'peak RSS':>8}  katarestore is"]
    for name, r in results.items():
        rate = r["rows"] / r["seconds"] if r["seconds"] else 0
        ratio = ""
        if base and name != "katarestore" and rate:
            ratio = f"{(base['rows'] / base['seconds']) / rate:.2f}x its rows/s"
        note = " (extrapolated)" if r.get("extrapolated") else ""
        low, high = r.get("spread", (rate, rate))
        lines.append(f"{name:<16} {r['rows']:>11,} {r['seconds']:>8.2f} {rate:>9,.0f} "
                     f"{low:>8,.0f}-{high:<8,.0f} {r['rss'] / 2**20:>6.0f}MB  {ratio}{note}")
    return "\n".join(lines)


CONTENDERS = ("katarestore", "katarestore-keep", "csv", "csv-no-fk", "csv-postidx", "duckdb",
              "duckdb-no-fk", "batched", "legacy")


def run_contender(name: str, dsn: str, backup: Path, work: Path, legacy_rows: int) -> dict:
    """One run of one contender into freshly created tables."""
    fresh_tables(dsn)
    if name == "katarestore":
        return run_katarestore(dsn, backup, work / "data", [])
    if name == "katarestore-keep":
        return run_katarestore(dsn, backup, work / "data", ["--indexes", "keep"])
    if name in ("csv", "csv-no-fk"):
        return run_psql_copy(dsn, work, replica=name == "csv-no-fk")
    if name == "csv-postidx":
        return run_psql_copy(dsn, work, replica=True, post_data=drop_secondary_indexes(dsn))
    if name in ("duckdb", "duckdb-no-fk"):
        return run_duckdb(dsn, backup, replica=name == "duckdb-no-fk")
    if name in ("batched", "legacy"):
        return run_old_script(dsn, backup, work / "data", name,
                              legacy_rows if name == "legacy" else None)
    raise SystemExit(f"unknown contender {name!r} (known: {', '.join(CONTENDERS)})")


def run_duckdb(dsn: str, backup: Path, replica: bool) -> dict:
    """DuckDB's read_json into the same tables through its postgres extension (a subprocess,
    benchmarks/duckdb_load.py; needs the optional `bench` extra)."""
    command = [sys.executable, str(HERE / "duckdb_load.py"), str(backup), dsn]
    if replica:
        command.append("--replica")
    began = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    thread, peak = watch_rss(process)
    out, _ = process.communicate()
    seconds = time.perf_counter() - began
    thread.join()
    if process.returncode != 0:
        raise SystemExit("duckdb load failed")
    return {"seconds": seconds, "rows": json.loads(out)["rows"], "rss": peak[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000,
                        help="rows of the largest table (lesson_progress)")
    parser.add_argument("--server", default=os.environ.get(
        "KATARESTORE_TEST_DSN", "postgresql://root@127.0.0.1:5432/postgres"))
    parser.add_argument("--contenders", default="katarestore,csv,csv-no-fk,csv-postidx,"
                        "batched,legacy", help=f"comma-separated, of: {', '.join(CONTENDERS)}")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each contender (interleaved); the median is shown")
    parser.add_argument("--legacy-rows", type=int, default=5_000,
                        help="rows per table for the row-by-row script (then extrapolated)")
    parser.add_argument("--memory-sizes", default="",
                        help="also run katarestore alone at these sizes (comma-separated)")
    parser.add_argument("--data", type=Path, default=HERE.parent / "bench-data")
    args = parser.parse_args()
    contenders = ["katarestore"] + [c for c in args.contenders.split(",") if c != "katarestore"]

    name = f"katarestore_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        version = admin.info.server_version
    dsn = database_dsn(args.server, name)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            work = Path(scratch)
            backup_root = args.data / f"rows-{args.rows}"
            existing = sorted(backup_root.glob("*/lesson_progress.json"))
            if existing:
                backup = existing[-1].parent
            else:
                print(f"writing a Katacore backup with {args.rows:,} lesson_progress rows ...")
                backup = write_demo_backup(backup_root, rows=args.rows, bad_records=False).path
            size = sum(p.stat().st_size for p in backup.glob("*.json"))
            print(f"backup {backup} ({size / 2**20:,.0f} MB), PostgreSQL {version // 10000}, "
                  f"{os.cpu_count()} cores, {args.repeat} run(s) of each\n")
            if {"csv", "csv-no-fk", "csv-postidx"} & set(contenders):
                fresh_tables(dsn)
                run_katarestore(dsn, backup, work / "data", [])  # the rows the CSV is made of
                export_csv(dsn, work)
            runs: dict[str, list[dict]] = {c: [] for c in contenders}
            for repeat in range(args.repeat):
                for contender in contenders:
                    r = run_contender(contender, dsn, backup, work, args.legacy_rows)
                    runs[contender].append(r)
                    print(f"{contender} #{repeat + 1}: {r['seconds']:.1f}s", flush=True)
            print()
            print(table({c: median_of(rs) for c, rs in runs.items()}))
            for size_rows in [int(s) for s in args.memory_sizes.split(",") if s]:
                root = args.data / f"rows-{size_rows}"
                found = sorted(root.glob("*/lesson_progress.json"))
                path = found[-1].parent if found else write_demo_backup(
                    root, rows=size_rows, bad_records=False).path
                fresh_tables(dsn)
                r = run_katarestore(dsn, path, work / "data", [])
                print(f"memory: {r['rows']:>11,} records  peak RSS {r['rss'] / 2**20:6.0f} MB  "
                      f"{r['rows'] / r['seconds']:>9,.0f} rows/s")
    finally:
        with psycopg.connect(args.server, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


if __name__ == "__main__":
    main()
