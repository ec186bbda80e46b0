"""`katarestore backup` beside the restore of the same data: rows/s and peak memory.

    python benchmarks/backup_benchmark.py --rows 200000 [--sizes 50000,200000] [--jobs 1,2]

Creates a scratch database with the demo schema, restores the demo backup into it
(`katarestore restore`, timed: the figure to compare with), then runs `katarestore backup`
of it (a subprocess; RSS of its process tree sampled every 20 ms) for each --jobs, and,
with --sizes, at several sizes to show that memory stays flat. The scratch database is
dropped at the end.
"""

from __future__ import annotations

import argparse
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
from katarestore_tui.demo import create_demo_schema, write_demo_backup


def _dsn(server: str, name: str) -> str:
    params = conninfo_to_dict(server)
    params["dbname"] = name
    return make_conninfo(**params)


def timed(args: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes, process tree) of a katarestore command."""
    began = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "katarestore_tui", *args], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0]

    def sample() -> None:
        while process.poll() is None:
            peak[0] = max(peak[0], tree_rss(process.pid))
            time.sleep(0.02)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    _out, err = process.communicate()
    watcher.join()
    seconds = time.monotonic() - began
    if process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args[:1])} failed ({process.returncode}): {err.decode()[-800:]}")
    return seconds, peak[0]


def one_size(server: str, rows: int, jobs: list[int], work: Path, env: dict[str, str]) -> None:
    name = f"kr_backup_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = _dsn(server, name)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            create_demo_schema(conn)
        demo = write_demo_backup(work / f"demo-{rows}", rows=rows, bad_records=False)
        total = demo.total_records
        seconds, rss = timed(["restore", str(demo.path), "--dsn", dsn, "--yes"], env)
        print(f"{rows:>9,} | restore        | {total:>9,} rows | {seconds:6.2f} s | "
              f"{total / seconds:>9,.0f} rows/s | {rss / 2**20:6.0f} MB")
        for n in jobs:
            seconds, rss = timed(["backup", str(work / "out"), "--dsn", dsn, "--jobs", str(n)], env)
            print(f"{rows:>9,} | backup jobs={n:<2} | {total:>9,} rows | {seconds:6.2f} s | "
                  f"{total / seconds:>9,.0f} rows/s | {rss / 2**20:6.0f} MB")
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", default=os.environ.get(
        "KATARESTORE_TEST_DSN", "postgresql://root@127.0.0.1:5432/postgres"))
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--sizes", default="", help="several --rows, comma-separated")
    parser.add_argument("--jobs", default="1,2")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s] or [args.rows]
    jobs = [int(j) for j in args.jobs.split(",") if j]
    with tempfile.TemporaryDirectory(prefix="kr-backup-bench-") as tmp:
        env = {**os.environ, "KATARESTORE_DATA_DIR": str(Path(tmp) / "data")}
        print("demo rows | what           |   records      | wall     | throughput      | peak RSS")
        for rows in sizes:
            one_size(args.server, rows, jobs, Path(tmp), env)


if __name__ == "__main__":
    main()
