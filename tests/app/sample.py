"""Fixed sample data for snapshots: a tiny backup, its schema, past runs and failed records.

Everything here is constant (names, times, paths, counts) so screenshots are byte-stable;
the demo backup is used by the behaviour tests instead.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from katarestore_tui.engine.events import (
    RunFinished,
    RunStarted,
    TableFinished,
    TableProgress,
    TableStarted,
    TableStats,
    Warning,
)
from katarestore_tui.engine.quarantine import QuarantineWriter
from katarestore_tui.history.runs import write_run

FAKE_DSN = "postgresql://katacore:s3cret@db.internal:5432/katacore"
FAKE_TARGET = "postgresql://katacore:****@db.internal:5432/katacore"
RUN_ID = "20241201-103512-7f3a"
RUN_DIR = f"/var/lib/katarestore/runs/{RUN_ID}"
BACKUP = "/srv/katacore/kata_json/20241201_103000"

SCHEMA_SQL = """
CREATE TABLE users (id int PRIMARY KEY, email varchar(60) NOT NULL UNIQUE, name text NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE courses (id int PRIMARY KEY, title varchar(40) NOT NULL, price numeric(10,2) NOT NULL,
                      instructor_id int NOT NULL REFERENCES users(id));
CREATE TABLE enrollments (id int PRIMARY KEY, user_id int NOT NULL REFERENCES users(id),
                          course_id int NOT NULL REFERENCES courses(id), progress numeric(5,2));
CREATE TABLE payments (id int PRIMARY KEY, amount numeric(10,2) NOT NULL);
"""


def create_sample_schema(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCHEMA_SQL)


def write_sample_backup(root: Path, name: str, users: int = 40) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    tables = {
        "users": [{"id": i, "email": f"user{i}@katacore.test", "name": f"User {i}",
                   "createdAt": "2024-11-03T10:15:30.123Z", "lastSeenIp": "10.0.0.1"}
                  for i in range(1, users + 1)],
        "courses": [{"id": i, "title": f"Course {i}", "price": "19.9", "instructorId": 1}
                    for i in range(1, 6)],
        "enrollments": [{"id": i, "userId": i, "courseId": 1 + i % 5, "progress": "0.5"}
                        for i in range(1, users + 1)],
        "audit_log": [{"id": 1, "event": "login"}],
    }
    for table, rows in tables.items():
        (folder / f"{table}.json").write_text(json.dumps(rows, indent=2))
    return folder


def stats(table: str, records: int, failed: int = 0, dup: int = 0, state: str = "done",
          seconds: float = 1.0, read: float = 1.0, size: int = 1_000_000) -> TableStats:
    return TableStats(table, f"{table}.json", size, int(size * read), records,
                      records - failed - dup, dup, failed, seconds, state)


FINAL = {
    "users": stats("users", 120_000, failed=1, dup=2, state="partial", seconds=2.4, size=48_000_000),
    "courses": stats("courses", 600, failed=1, state="partial", seconds=0.1, size=210_000),
    "lessons": stats("lessons", 6_000, seconds=0.3, size=2_400_000),
    "enrollments": stats("enrollments", 240_000, failed=1, state="partial", seconds=3.1,
                         size=41_000_000),
    "lesson_progress": stats("lesson_progress", 1_200_000, seconds=14.2, size=350_000_000),
}


def restore_events(finished: bool = True) -> list:
    """A run as the engine reports it, at fixed monotonic times starting at 100.0."""
    names = tuple(FINAL)
    events: list = [RunStarted(RUN_ID, BACKUP, FAKE_TARGET, names,
                               sum(s.bytes_total for s in FINAL.values()), "replica", at=100.0)]
    at = 100.0
    for name, final in FINAL.items():
        events.append(TableStarted(name, final.file, final.bytes_total, at=at))
        if not finished and name == "lesson_progress":
            half = stats(name, 480_000, state="loading", seconds=5.7, read=0.4, size=final.bytes_total)
            events.append(TableProgress(half, at=at + 5.7))
            return events
        at += final.seconds
        events.append(TableFinished(final, at=at))
    events.append(Warning("3 rows referenced missing parents and were quarantined", at=at + 0.4))
    events.append(RunFinished(RUN_ID, "partial", 1, 20.6, dict(FINAL), RUN_DIR, f"{RUN_DIR}/failed",
                              at=at + 0.6))
    return events


QUARANTINED = [
    ("users", 48_211, "22001", "value too long for type character varying(255)", None, None,
     {"id": "3f0c…", "email": "x" * 40 + "@katacore.test", "name": "Very Long Email"}),
    ("courses", 331, "23502", 'null value in column "title" of relation "courses" violates '
     'not-null constraint', "Failing row contains (331, null, 49.00, 12).", "title",
     {"id": 331, "title": None, "price": "49", "instructorId": 12, "tags": ["intro", "sql"]}),
    ("enrollments", 10_000, "23503", 'insert or update on table "enrollments" violates foreign key '
     'constraint "enrollments_user_id_fkey"', 'Key (user_id)=(999999) is not present in table "users".',
     None, {"id": 10001, "userId": 999999, "courseId": 3, "enrolledAt": "2024-02-30T10:00:00.000Z"}),
]


def write_sample_runs() -> None:
    """Three past runs (relative data folder) and the failed records of the partial one."""
    base = {"kind": "restore", "backup": BACKUP, "target": FAKE_TARGET, "fk_mode": "replica",
            "options": {"schema": "public", "batch_size": 10_000, "on_conflict": "skip", "jobs": 2,
                        "clean": False, "dsn": FAKE_TARGET}, "warnings": [], "error": None}
    totals = {k: sum(getattr(s, k) for s in FINAL.values())
              for k in ("records", "loaded", "duplicates", "failed")}
    tables = {n: s.to_dict() for n, s in FINAL.items()}
    runs = [
        ("20241128-221500-0b1c", "completed", 0, 18.2, "2024-11-28T22:15:00+0000",
         {**totals, "loaded": totals["records"], "failed": 0, "duplicates": 0}),
        (RUN_ID, "partial", 1, 20.6, "2024-12-01T10:35:12+0000", totals),
        ("20241201-111002-c4d5", "cancelled", 3, 6.3, "2024-12-01T11:10:02+0000",
         {"records": 365_000, "loaded": 364_997, "duplicates": 0, "failed": 3}),
    ]
    for run_id, status, code, seconds, started, run_totals in runs:
        write_run(run_id, {**base, "run_id": run_id, "status": status, "exit_code": code,
                           "seconds": seconds, "started_at": started, "finished_at": started,
                           "tables": tables, "totals": run_totals,
                           "quarantine": f"data/runs/{run_id}/failed",
                           "error": f"cancelled; continue with: katarestore restore --resume {run_id}"
                           if status == "cancelled" else None})
    writer = QuarantineWriter(RUN_ID)
    for table, index, sqlstate, message, detail, column, record in QUARANTINED:
        writer.replace(table, [{"table": table, "file": f"{table}.json", "index": index,
                                "sqlstate": sqlstate, "message": message, "detail": detail,
                                "column": column, "phase": "load", "at": "2024-12-01T10:35:20+0000",
                                "record": record}])
