"""`katarestore verify` beside the restore of the same backup: seconds, rows/s, peak RSS.

    python benchmarks/verify_benchmark.py --rows 200000 --repeat 3

On the demo's Katacore-shaped backup (no bad records), each repeat restores into freshly
created tables, then verifies that run (both as subprocesses, RSS of the whole process
tree, the parser process included). Prints each repeat, the median with min-max spread,
and verify's time as a multiple of the restore's (the issue's bar: within 1.5x).
"""

from __future__ import annotations

import argparse
import json
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from restore_benchmark import database_dsn, fresh_tables, run_katarestore, watch_rss

from katarestore_tui.demo import write_demo_backup

HERE = Path(__file__).resolve().parent


def run_verify(dsn: str, backup: Path, data_dir: Path) -> dict:
    env = dict(os.environ, KATARESTORE_DATA_DIR=str(data_dir))
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "katarestore_tui", "verify", str(backup), "--dsn", dsn, "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True,
    )
    thread, peak = watch_rss(process)
    out, _ = process.communicate()
    seconds = time.perf_counter() - began
    thread.join()
    result = json.loads(out)
    if result["status"] != "match":
        raise SystemExit(f"verify did not match: {result['totals']} {result.get('error')}")
    return {"seconds": seconds, "rows": result["totals"]["matched"], "rss": peak[0]}


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000,
                        help="rows of the largest table (lesson_progress)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--server", default=os.environ.get(
        "KATARESTORE_TEST_DSN", "postgresql://root@127.0.0.1:5432/postgres"))
    parser.add_argument("--data", type=Path, default=HERE.parent / "bench-data")
    args = parser.parse_args()

    name = f"katarestore_vbench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        version = admin.info.server_version
    dsn = database_dsn(args.server, name)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            backup_root = args.data / f"rows-{args.rows}"
            existing = sorted(backup_root.glob("*/lesson_progress.json"))
            backup = (existing[-1].parent if existing else
                      write_demo_backup(backup_root, rows=args.rows, bad_records=False).path)
            size = sum(p.stat().st_size for p in backup.glob("*.json"))
            print(f"backup {backup} ({size / 2**20:,.0f} MB), PostgreSQL {version // 10000}, "
                  f"{os.cpu_count()} cores, {args.repeat} repeats\n")
            restores, verifies = [], []
            for repeat in range(1, args.repeat + 1):
                data = Path(scratch) / f"data-{repeat}"  # one run log per repeat: verify's run
                fresh_tables(dsn)
                restores.append(run_katarestore(dsn, backup, data, []))
                verifies.append(run_verify(dsn, backup, data))
                r, v = restores[-1], verifies[-1]
                print(f"repeat {repeat}: restore {r['seconds']:.2f} s ({r['rss'] / 2**20:.0f} MB), "
                      f"verify {v['seconds']:.2f} s ({v['rss'] / 2**20:.0f} MB), "
                      f"ratio {v['seconds'] / r['seconds']:.2f}x", flush=True)
            rows = restores[0]["rows"]
            for label, runs in (("restore", restores), ("verify", verifies)):
                seconds = [x["seconds"] for x in runs]
                print(f"{label:<8} {rows:>10,} rows  {spread(seconds)}  "
                      f"{rows / statistics.median(seconds):>9,.0f} rows/s  "
                      f"peak RSS {max(x['rss'] for x in runs) / 2**20:.0f} MB")
            ratios = [v["seconds"] / r["seconds"] for r, v in zip(restores, verifies, strict=True)]
            print(f"verify / restore: median {statistics.median(ratios):.2f}x "
                  f"(min {min(ratios):.2f}, max {max(ratios):.2f})")
    finally:
        with psycopg.connect(args.server, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                          .format(sql.Identifier(name)))


if __name__ == "__main__":
    main()
