"""One big table on every core: `--jobs 1` (one parser, one COPY connection) against
`--jobs 2` (the file cut into two ranges, each parsed by its own process and loaded by its
own connection), same file, same server, interleaved repeats.

    python benchmarks/bigtable_benchmark.py [--rows 1000000] [--repeat 3] [--jobs 1,2]
                                            [--server postgresql://root@127.0.0.1:5432/postgres]

The table is Prisma-shaped (camelCase keys, 9 columns, a nested jsonb, a text[] and a
non-unique btree index) and has no unique key: a table with one is never cut (which copy of
a repeated key wins depends on file order), so this is the table the split is for. Each run
loads into a freshly created table. While it runs, a sampler reads every 50 ms the wait
events of katarestore's server sessions (pg_stat_activity; "CPU" = active, waiting on
nothing) and the CPU time of those backends (/proc); the client's CPU is this process and
its parser processes (getrusage). WAL is pg_current_wal_lsn() before and after. It prints,
per job count: the median wall time with the spread of the repeats, records/s, the ratio to
the first job count, client and server CPU seconds, WAL MB and the wait-event shares.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from katarestore_tui.engine.options import RestoreOptions
from katarestore_tui.engine.restore import EXIT_OK, run_restore

TABLE = "AuditEvent"
SCHEMA = f"""
DROP TABLE IF EXISTS "{TABLE}";
CREATE TABLE "{TABLE}" (
  id text NOT NULL, "userId" text NOT NULL, action text NOT NULL, "ipAddress" text,
  amount numeric(12,2), success boolean NOT NULL, tags text[], payload jsonb,
  "createdAt" timestamp(3) NOT NULL
);
CREATE INDEX ON "{TABLE}" ("createdAt");
"""
TICK = os.sysconf("SC_CLK_TCK")


def database_dsn(server: str, name: str) -> str:
    return make_conninfo(**{**conninfo_to_dict(server), "dbname": name})


def write_backup(root: Path, rows: int) -> Path:
    """JSON.stringify(rows, null, 2) layout, written a slice at a time (flat memory)."""
    folder = root / "20240101_000000"
    folder.mkdir(parents=True)
    actions = ["login", "logout", "view", "purchase", "refund"]
    with open(folder / f"{TABLE}.json", "w") as out:
        out.write("[")
        for i in range(rows):
            record = {
                "id": f"c{i:024x}", "userId": f"u{i * 7919 % 100003:08d}",
                "action": actions[i % 5], "ipAddress": f"10.{i % 256}.{i // 256 % 256}.1",
                "amount": f"{i % 100000}.{i % 100:02d}", "success": i % 13 != 0,
                "tags": ["a", f"t{i % 17}"],
                "payload": {"ua": "Mozilla/5.0", "n": i % 1000, "geo": {"c": "DE", "z": i % 99}},
                "createdAt": f"2024-0{1 + i % 9}-1{i % 9}T10:{i % 60:02d}:30.{i % 1000:03d}Z",
            }
            text = json.dumps(record, indent=2).replace("\n", "\n  ")
            out.write(("\n  " if i == 0 else ",\n  ") + text)
        out.write("\n]\n")
    return folder


class Sampler:
    """Wait events and backend CPU of katarestore's sessions, every 50 ms, in a thread."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.waits: collections.Counter[str] = collections.Counter()
        self.cpu_ticks: dict[int, int] = {}
        self.sessions = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self._stop.wait(0.05):
                rows = conn.execute(
                    "SELECT pid, state, wait_event_type, wait_event FROM pg_stat_activity"
                    " WHERE application_name = 'katarestore' AND datname = current_database()"
                ).fetchall()
                active = 0
                for pid, state, kind, event in rows:
                    if state == "active":
                        active += 1
                        self.waits["CPU" if kind is None else f"{kind}:{event}"] += 1
                    ticks = _ticks(pid)
                    if ticks is not None:
                        self.cpu_ticks[pid] = max(ticks, self.cpu_ticks.get(pid, 0))
                self.sessions = max(self.sessions, active)

    @property
    def server_cpu(self) -> float:
        return sum(self.cpu_ticks.values()) / TICK


def _ticks(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])  # utime + stime


def _client_cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def one_run(dsn: str, backup: Path, jobs: int) -> dict[str, object]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCHEMA)
        conn.execute("CHECKPOINT")  # every run starts from the same clean WAL state
        wal_before = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
    cpu_before = _client_cpu()
    with Sampler(dsn) as sampler:
        began = time.perf_counter()
        result = run_restore(RestoreOptions(backup=str(backup), dsn=dsn, jobs=jobs), backup.parent)
        seconds = time.perf_counter() - began
    if result.exit_code != EXIT_OK:
        raise SystemExit(f"--jobs {jobs}: restore ended {result.status}: {result.error}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        wal = conn.execute("SELECT pg_current_wal_lsn() - %s::pg_lsn", (wal_before,)).fetchone()[0]  # type: ignore[index]
    return {"seconds": seconds, "records": result.tables[TABLE].records,
            "client_cpu": _client_cpu() - cpu_before, "server_cpu": sampler.server_cpu,
            "wal_mb": float(wal) / 1e6, "waits": sampler.waits, "sessions": sampler.sessions}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per job count")
    parser.add_argument("--jobs", default="1,2", help="job counts to compare (default 1,2)")
    parser.add_argument("--server", default=os.environ.get(
        "KATARESTORE_TEST_DSN", "postgresql://root@127.0.0.1:5432/postgres"),
        help="a DSN allowed to create databases")
    args = parser.parse_args()
    job_counts = [int(j) for j in args.jobs.split(",")]
    scratch = f"kr_bigtable_bench_{uuid.uuid4().hex[:8]}"
    runs: dict[int, list[dict[str, object]]] = {j: [] for j in job_counts}
    with tempfile.TemporaryDirectory(prefix="kr-bigtable-") as folder, \
            psycopg.connect(args.server, autocommit=True) as admin:
        os.environ.setdefault("KATARESTORE_DATA_DIR", str(Path(folder) / "data"))
        backup = write_backup(Path(folder), args.rows)
        size = sum(f.stat().st_size for f in backup.iterdir())
        print(f"{args.rows:,} records, {size / 1e6:.0f} MB; {os.cpu_count()} CPUs; "
              f"repeat {args.repeat}", file=sys.stderr)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
        try:
            dsn = database_dsn(args.server, scratch)
            for round_ in range(args.repeat):
                for jobs in job_counts:  # interleaved: drift in the machine hits all alike
                    run = one_run(dsn, backup, jobs)
                    runs[jobs].append(run)
                    print(f"  round {round_ + 1}: --jobs {jobs}: {run['seconds']:.2f} s"
                          f" (load average {os.getloadavg()[0]:.1f}: other work on the machine)",
                          file=sys.stderr)
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(scratch)))
    print(report(job_counts, runs))
    return 0


def report(job_counts: list[int], runs: dict[int, list[dict[str, object]]]) -> str:
    def median(jobs: int, key: str) -> float:
        return statistics.median(float(r[key]) for r in runs[jobs])  # type: ignore[arg-type]

    base = median(job_counts[0], "seconds")
    records = int(runs[job_counts[0]][0]["records"])  # type: ignore[call-overload]
    lines = [f"{TABLE}: {records:,} records (median of {len(runs[job_counts[0]])}, spread min-max)",
             f"{'jobs':>4} {'seconds':>8} {'spread':>13} {'records/s':>10} {'ratio':>6}"
             f" {'client CPU':>10} {'server CPU':>10} {'WAL MB':>7} {'cores':>5}"
             "  wait events (share of samples)"]
    for jobs in job_counts:
        took = [float(r["seconds"]) for r in runs[jobs]]  # type: ignore[arg-type]
        waits: collections.Counter[str] = collections.Counter()
        for r in runs[jobs]:
            waits.update(r["waits"])  # type: ignore[arg-type]
        total = sum(waits.values()) or 1
        shares = ", ".join(f"{k} {v / total:.0%}" for k, v in waits.most_common(4))
        m = median(jobs, "seconds")
        # cores this load kept busy: client + server CPU over wall time (of os.cpu_count())
        used = (median(jobs, "client_cpu") + median(jobs, "server_cpu")) / m
        lines.append(
            f"{jobs:>4} {m:>8.2f} {min(took):>6.2f}-{max(took):<6.2f} {records / m:>10,.0f}"
            f" {base / m:>5.2f}x {median(jobs, 'client_cpu'):>9.1f}s"
            f" {median(jobs, 'server_cpu'):>9.1f}s {median(jobs, 'wal_mb'):>7.0f}"
            f" {used:>5.2f}  {shares}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
