"""Secondary indexes after the data, as pg_restore's post-data section orders it.

COPY into an empty table costs about twice as much with a secondary btree as without;
building it afterwards is one sort. So when a table is empty as its load starts, its
indexes that back no constraint and enforce nothing are dropped, and re-created after its
data. Unique indexes stay even without a constraint: they make the conflicts that the
loader counts as duplicates (ON CONFLICT) or quarantines, so without them a duplicate
would load twice and the build would then fail. By default only indexes no record can make
fail go (plain keys of fixed-length types): one that a record can break (an expression that
raises, a text key too large for a btree row) stays, so that record is quarantined alone
with its own error, as the load promises; `--indexes all` moves those too, and a record
that breaks one then fails the build (reported with its DDL, the run not completed).

Crash-safe: each definition is written to a table next to the resume checkpoint in the
same transaction as the drop, and each build commits together with the removal of its
record. Whatever a kill leaves (dropped, not yet built) is rebuilt first by the next
katarestore run against the target (a resume included).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg
from psycopg import sql

from katarestore_tui.db.rows import first
from katarestore_tui.engine.connect import connection_lost
from katarestore_tui.engine.events import (
    DONE,
    PARTIAL,
    EventSink,
    IndexPhase,
    Phase,
    TableFinished,
    TableStats,
    Warning,
)
from katarestore_tui.engine.index_progress import ProgressWatch
from katarestore_tui.engine.index_record import (  # the record's names, for callers too
    RECORD,
    SavedIndex,
    drop_record_when_empty,
    ensure_record,
    has_secondary,
    left_over,
    record_place,
    run_alive,
    secondary_indexes,
)
from katarestore_tui.engine.locks import SHARE, LockWaiter, cancelled_by_stop
from katarestore_tui.engine.options import RestoreOptions
from katarestore_tui.redact import redact_text

# for the session building the indexes only (SET LOCAL); a restore is the one big job then
MAINTENANCE_WORK_MEM_MB = 512
# a killed client: the backend stops its build within this (instead of finishing it, holding
# the run's lock, and then rolling it back)
CONNECTION_CHECK = "SET LOCAL client_connection_check_interval = '1s'"


@dataclass
class BuildReport:
    """What the index phase of one table (or of a run's start) did."""

    dropped: int = 0
    built: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)  # one per failed build, with its DDL

    def to_dict(self) -> dict[str, Any]:
        return {"dropped": self.dropped, "built": self.built, "seconds": round(self.seconds, 3),
                "problems": list(self.problems)}


def _is_empty(conn: psycopg.Connection, schema: str, table: str) -> bool:
    query = sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(schema, table))
    return bool(first(conn.execute(query).fetchone()))


def defer(conn: psycopg.Connection, schema: str, table: str, run_id: str,
          waiter: LockWaiter, sink: EventSink, every: bool = False) -> BuildReport:
    """Drop the table's secondary indexes if it is empty, recording them in one transaction.

    Never waits: a table another session holds a lock on, or a role that may not drop its
    indexes (not the owner), keeps them, and the load goes on as before (waiting, shown,
    in the loader's bounded way).
    """
    report = BuildReport()
    found: list[SavedIndex] = []
    # the catalog's columns only (pg_get_indexdef locks the table): most tables stop here
    if not has_secondary(conn, schema, table, every):
        return report

    def drop() -> None:
        conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE NOWAIT").format(
            sql.Identifier(schema, table)))
        if not _is_empty(conn, schema, table):
            raise _NotEmpty
        found.extend(secondary_indexes(conn, schema, table, every))
        record = ensure_record(conn, schema)
        for index in found:
            conn.execute(sql.SQL(
                "INSERT INTO {} (schema_name, index_name, table_name, definition, tablespace,"
                " comment, clustered, run_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)").format(
                record), (index.schema, index.name, index.table, index.definition,
                          index.tablespace, index.comment, index.clustered, run_id))
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(schema, index.name)))
        # on the server's disk before any batch: a crash cannot lose the record of a drop
        conn.execute("SET LOCAL synchronous_commit = on")
        waiter.check()  # a stop: nothing dropped

    try:
        with conn.transaction():
            drop()
    except _NotEmpty:
        return report
    except psycopg.errors.LockNotAvailable:
        sink(Phase("indexes", f"{table}: indexes kept during the load (another session holds "
                   "a lock on the table)"))
        return report
    except psycopg.Error as exc:
        if connection_lost(exc, conn) or cancelled_by_stop(exc, waiter.cancel):
            raise
        sink(Phase("indexes", f"{table}: indexes kept during the load ({_reason(exc)})"))
        return report
    report.dropped = len(found)
    names = ", ".join(i.name for i in found)
    sink(Phase("indexes", f"{table}: {len(found)} secondary "
               f"{'index' if len(found) == 1 else 'indexes'} ({names}) dropped until its data "
               "is in"))
    return report


class _NotEmpty(Exception):
    pass


def _reason(exc: psycopg.Error) -> str:
    return redact_text(" ".join(str(exc).split()))


def rebuild(conn: psycopg.Connection, dsn: str, saved: list[SavedIndex], waiter: LockWaiter,
            sink: EventSink, report: BuildReport | None = None) -> BuildReport:
    """Build each saved index that is missing; each build commits with its record's removal.

    A build that fails (an expression raising on the loaded data, a full disk) leaves its
    record: the problem names the index and its DDL, and every later run tries again.
    """
    report = report or BuildReport()
    began = time.monotonic()
    if not saved:
        return report
    record = record_place(conn, saved[0].schema)
    if record is None:  # saved indexes come from the record table: it is there
        raise LookupError("the index record table is gone")
    settings = _build_settings(conn)
    for index in saved:
        def build(index: SavedIndex = index) -> None:
            for setting in settings:
                conn.execute(setting)
            row = conn.execute("SELECT to_regclass(%s), to_regclass(%s)", (
                sql.Identifier(index.schema, index.name).as_string(conn),
                sql.Identifier(index.schema, index.table).as_string(conn))).fetchone()
            exists, table_exists = row if row is not None else (None, None)
            # a table dropped since took its indexes with it: nothing to build on
            if exists is None and table_exists is not None:
                for step in index.statements():
                    conn.execute(step)
            conn.execute(sql.SQL("DELETE FROM {} WHERE schema_name = %s AND index_name = %s"
                                 ).format(record), (index.schema, index.name))
            conn.execute("SET LOCAL synchronous_commit = on")

        sink(IndexPhase("indexes", f"{index.table}: building {index.name}", table=index.table,
                        index=index.name, step="starting"))
        watcher = ProgressWatch(dsn, conn.info.backend_pid, index, sink)
        try:
            watcher.start()
            waiter.run(conn, index.schema, [index.table], SHARE, build)
            report.built += 1
        except psycopg.Error as exc:
            if connection_lost(exc, conn) or cancelled_by_stop(exc, waiter.cancel):
                raise
            problem = (f"index {index.name} of {index.table} could not be built: "
                       f"{exc.sqlstate or ''} {_reason(exc)}; its definition stays in "
                       f"{record.as_string(conn)} and the next katarestore run against this "
                       f"database builds it again once the cause is fixed. "
                       f"DDL: {index.definition}")
            report.problems.append(problem)
        finally:
            watcher.stop()
    report.seconds += time.monotonic() - began
    sink(Phase("indexes", f"{saved[0].table if len({s.table for s in saved}) == 1 else 'run'}: "
               f"{report.built} of {len(saved)} built in {report.seconds:.1f}s"))
    drop_record_when_empty(conn, saved[0].schema)
    return report


def rebuild_left_over(conn: psycopg.Connection, dsn: str, schema: str, waiter: LockWaiter,
                      sink: EventSink) -> BuildReport:
    """At a run's start: build what earlier runs dropped and did not build (killed, failed),
    except what a run still loading will build itself."""
    saved = [s for s in left_over(conn, schema) if not run_alive(conn, s.run_id)]
    if not saved:
        return BuildReport()
    sink(Phase("indexes", f"{len(saved)} secondary "
               f"{'index' if len(saved) == 1 else 'indexes'} dropped by an earlier run and "
               "not built yet: building them first"))
    return rebuild(conn, dsn, saved, waiter, sink)


def _build_settings(conn: psycopg.Connection) -> list[str]:
    """SET LOCAL for a build: more sort memory, parallel workers as the server allows."""
    current = first(conn.execute("SELECT setting::bigint / 1024 FROM pg_settings"
                           " WHERE name = 'maintenance_work_mem'").fetchone())  # kB -> MB
    settings = [CONNECTION_CHECK] if conn.info.server_version >= 140000 else []
    if current < MAINTENANCE_WORK_MEM_MB:
        settings.append(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM_MB}MB'")
    # the pool of parallel workers is the server's limit; the planner sizes by the table
    settings.append("SELECT set_config('max_parallel_maintenance_workers',"
                    " current_setting('max_parallel_workers'), true)")
    return settings


def before_data(conn: psycopg.Connection, options: RestoreOptions, table: str, run_id: str,
                waiter: LockWaiter, sink: EventSink) -> BuildReport:
    """The loader's hook before a table's first batch: `--indexes after` (the default) on an
    empty table drops its secondary indexes. One transaction keeps them (it keeps no record
    table, and a rollback restores what it dropped anyway)."""
    if options.indexes not in ("after", "all") or options.single_transaction:
        return BuildReport()
    return defer(conn, options.schema, table, run_id, waiter, sink,
                 every=options.indexes == "all")


def after_data(conn: psycopg.Connection, options: RestoreOptions, stats: TableStats,
               run_id: str, waiter: LockWaiter, sink: EventSink,
               report: BuildReport) -> None:
    """The loader's hook after a table's data: build what this run dropped of it, and put
    the phase in the table's stats. A failed build leaves the table partial, with its DDL."""
    if options.single_transaction:
        return
    saved = left_over(conn, options.schema, stats.table, run_id)
    if not saved and not report.dropped:
        return
    rebuild(conn, options.dsn, saved, waiter, sink, report)
    stats.indexes = report.to_dict()
    if report.problems:
        if stats.state == DONE:
            stats.state = PARTIAL
        stats.error = "; ".join([*([stats.error] if stats.error else []), *report.problems])
        for problem in report.problems:
            sink(Warning(f"{stats.table}: {problem}", stats.table))
        sink(TableFinished(replace(stats)))  # its final state: partial


__all__ = ["MAINTENANCE_WORK_MEM_MB", "RECORD", "BuildReport", "SavedIndex", "after_data",
           "before_data", "defer", "drop_record_when_empty", "left_over", "rebuild",
           "rebuild_left_over", "secondary_indexes"]
