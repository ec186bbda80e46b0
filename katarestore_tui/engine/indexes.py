"""Secondary indexes after the data, as pg_restore's post-data section orders it.

COPY into an empty table costs about twice as much with a secondary btree as without;
building it afterwards is one sort. So when a table is empty as its load starts, its
indexes that back no constraint and enforce nothing are dropped, and re-created after its
data. Unique indexes stay even without a constraint: they make the conflicts that the
loader counts as duplicates (ON CONFLICT) or quarantines, so without them a duplicate
would load twice and the build would then fail.

Crash-safe: each definition is written to a table next to the resume checkpoint in the
same transaction as the drop, and each build commits together with the removal of its
record. Whatever a kill leaves (dropped, not yet built) is rebuilt first by the next
katarestore run against the target (a resume included).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import psycopg
from psycopg import sql

from katarestore_tui.engine import checkpoint
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
from katarestore_tui.engine.locks import SHARE, LockWaiter, cancelled_by_stop
from katarestore_tui.engine.options import RestoreOptions
from katarestore_tui.redact import redact_text

RECORD = "_katarestore_indexes"
# for the session building the indexes only (SET LOCAL); a restore is the one big job then
MAINTENANCE_WORK_MEM_MB = 512
PROGRESS_SECONDS = 0.5  # how often pg_stat_progress_create_index is read during a build
# a killed client: the backend stops its build within this (instead of finishing it, holding
# the run's lock, and then rolling it back)
CONNECTION_CHECK = "SET LOCAL client_connection_check_interval = '1s'"

# Indexes of one table that back no constraint (primary, unique, exclusion, and what foreign
# keys elsewhere lean on), enforce nothing, are whole (valid, not a partition's child) and
# belong to no extension: dropping and re-creating such an index changes no answer.
_SECONDARY_WHERE = """
FROM pg_index AS i
JOIN pg_class AS ic ON ic.oid = i.indexrelid
JOIN pg_class AS tc ON tc.oid = i.indrelid
JOIN pg_namespace AS n ON n.oid = tc.relnamespace
LEFT JOIN pg_tablespace AS ts ON ts.oid = ic.reltablespace
WHERE n.nspname = %s AND tc.relname = %s AND tc.relkind = 'r'
  AND NOT i.indisunique AND NOT i.indisprimary AND NOT i.indisexclusion
  AND i.indisvalid AND i.indisready AND i.indislive
  AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = i.indexrelid)
  AND NOT EXISTS (SELECT 1 FROM pg_inherits AS h WHERE h.inhrelid = i.indexrelid)
  AND NOT EXISTS (SELECT 1 FROM pg_depend AS d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = i.indexrelid AND d.deptype = 'e')
  AND NOT EXISTS (SELECT 1 FROM pg_depend AS d WHERE d.refclassid = 'pg_class'::regclass
                  AND d.refobjid = i.indexrelid AND d.deptype IN ('n', 'a'))
"""
_SECONDARY = ("SELECT ic.relname, pg_get_indexdef(i.indexrelid), ts.spcname,"
              " obj_description(i.indexrelid, 'pg_class'), i.indisclustered"
              + _SECONDARY_WHERE + "ORDER BY ic.relname")
# pg_get_indexdef takes a lock on the table: this asks the catalog alone, never waiting
_HAS_SECONDARY = "SELECT EXISTS (SELECT 1 {})"


@dataclass(frozen=True)
class SavedIndex:
    """One dropped index, as recorded in the target until it is built again."""

    schema: str
    table: str
    name: str
    definition: str  # pg_get_indexdef: the exact CREATE INDEX
    tablespace: str | None = None  # pg_get_indexdef leaves it out (pg_dump sets it apart)
    comment: str | None = None
    clustered: bool = False
    run_id: str = ""

    def statements(self) -> list[sql.Composable]:
        """What builds it again, in order (each one from the catalog, names quoted)."""
        out: list[sql.Composable] = []
        if self.tablespace:
            out.append(sql.SQL("SET LOCAL default_tablespace = {}").format(
                sql.Literal(self.tablespace)))
        out.append(sql.SQL(self.definition))  # the server's own text: identifiers quoted
        index = sql.Identifier(self.schema, self.name)
        if self.comment is not None:
            out.append(sql.SQL("COMMENT ON INDEX {} IS {}").format(index,
                                                                   sql.Literal(self.comment)))
        if self.clustered:
            out.append(sql.SQL("ALTER TABLE {} CLUSTER ON {}").format(
                sql.Identifier(self.schema, self.table), sql.Identifier(self.name)))
        return out


@dataclass
class BuildReport:
    """What the index phase of one table (or of a run's start) did."""

    dropped: int = 0
    built: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)  # one per failed build, with its DDL

    def to_dict(self) -> dict:
        return {"dropped": self.dropped, "built": self.built, "seconds": round(self.seconds, 3),
                "problems": list(self.problems)}


def _record_place(conn: psycopg.Connection, schema: str) -> sql.Identifier | None:
    """The record table for runs into `schema`, wherever an earlier run put it."""
    for place in (schema, checkpoint.OWN_SCHEMA):
        name = sql.Identifier(place, RECORD).as_string(conn)
        if conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0] is not None:
            return sql.Identifier(place, RECORD)
    return None


def _ensure_record(conn: psycopg.Connection, schema: str) -> sql.Identifier:
    """Next to the checkpoint (which the run has already placed where the role may create)."""
    found = _record_place(conn, schema)
    if found is not None:
        return found
    place = checkpoint.location(conn, schema).rsplit(".", 1)[0]
    target = sql.Identifier(place, RECORD)
    with conn.transaction():  # --jobs: two tables' first drops at once, one CREATE
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('katarestore indexes', 0))")
        _create_record(conn, target)
    return target


def _create_record(conn: psycopg.Connection, target: sql.Identifier) -> None:
    conn.execute(sql.SQL(
        "CREATE TABLE IF NOT EXISTS {} (schema_name text, index_name text, table_name text"
        " NOT NULL, definition text NOT NULL, tablespace text, comment text, clustered boolean"
        " NOT NULL DEFAULT false, run_id text, dropped_at timestamptz NOT NULL DEFAULT now(),"
        " PRIMARY KEY (schema_name, index_name))").format(target))


def secondary_indexes(conn: psycopg.Connection, schema: str, table: str) -> list[SavedIndex]:
    rows = conn.execute(_SECONDARY, (schema, table)).fetchall()
    return [SavedIndex(schema, table, r[0], r[1], r[2], r[3], r[4]) for r in rows]


def _is_empty(conn: psycopg.Connection, schema: str, table: str) -> bool:
    query = sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(schema, table))
    return bool(conn.execute(query).fetchone()[0])


def defer(conn: psycopg.Connection, schema: str, table: str, run_id: str,
          waiter: LockWaiter, sink: EventSink) -> BuildReport:
    """Drop the table's secondary indexes if it is empty, recording them in one transaction.

    Never waits: a table another session holds a lock on, or a role that may not drop its
    indexes (not the owner), keeps them, and the load goes on as before (waiting, shown,
    in the loader's bounded way).
    """
    report = BuildReport()
    found: list[SavedIndex] = []
    # the catalog's columns only (pg_get_indexdef locks the table): most tables stop here
    if not conn.execute(_HAS_SECONDARY.format(_SECONDARY_WHERE), (schema, table)).fetchone()[0]:
        return report

    def drop() -> None:
        conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE NOWAIT").format(
            sql.Identifier(schema, table)))
        if not _is_empty(conn, schema, table):
            raise _NotEmpty
        found.extend(secondary_indexes(conn, schema, table))
        record = _ensure_record(conn, schema)
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


def left_over(conn: psycopg.Connection, schema: str, table: str | None = None,
              run_id: str | None = None) -> list[SavedIndex]:
    """Recorded indexes still to build: of one table, of one run, or all of the schema."""
    record = _record_place(conn, schema)
    if record is None:
        return []
    where = [sql.SQL("schema_name = %s")]
    params: list = [schema]
    if table is not None:
        where.append(sql.SQL("table_name = %s"))
        params.append(table)
    if run_id is not None:
        where.append(sql.SQL("run_id = %s"))
        params.append(run_id)
    rows = conn.execute(sql.SQL(
        "SELECT schema_name, table_name, index_name, definition, tablespace, comment, clustered,"
        " run_id FROM {} WHERE {} ORDER BY dropped_at, index_name").format(
        record, sql.SQL(" AND ").join(where)), params).fetchall()
    return [SavedIndex(*r) for r in rows]


def _run_alive(conn: psycopg.Connection, run_id: str) -> bool:
    """Whether another session holds the run's lock (see checkpoint.lock_run): it is loading
    and builds its indexes itself. Our own hold is re-entrant, so it reads as not alive."""
    key = f"katarestore run {run_id}"
    got = conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))",
                       (key,)).fetchone()[0]
    if got:
        conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))
    return not got


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
    record = _record_place(conn, saved[0].schema)
    settings = _build_settings(conn)
    for index in saved:
        def build(index: SavedIndex = index) -> None:
            for statement in settings:
                conn.execute(statement)
            exists, table_exists = conn.execute("SELECT to_regclass(%s), to_regclass(%s)", (
                sql.Identifier(index.schema, index.name).as_string(conn),
                sql.Identifier(index.schema, index.table).as_string(conn))).fetchone()
            # a table dropped since took its indexes with it: nothing to build on
            if exists is None and table_exists is not None:
                for statement in index.statements():
                    conn.execute(statement)
            conn.execute(sql.SQL("DELETE FROM {} WHERE schema_name = %s AND index_name = %s"
                                 ).format(record), (index.schema, index.name))
            conn.execute("SET LOCAL synchronous_commit = on")

        sink(IndexPhase("indexes", f"{index.table}: building {index.name}", table=index.table,
                        index=index.name, step="starting"))
        watcher = _ProgressWatch(dsn, conn.info.backend_pid, index, sink)
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
    saved = [s for s in left_over(conn, schema) if not _run_alive(conn, s.run_id)]
    if not saved:
        return BuildReport()
    sink(Phase("indexes", f"{len(saved)} secondary "
               f"{'index' if len(saved) == 1 else 'indexes'} dropped by an earlier run and "
               "not built yet: building them first"))
    return rebuild(conn, dsn, saved, waiter, sink)


def _build_settings(conn: psycopg.Connection) -> list[str]:
    """SET LOCAL for a build: more sort memory, parallel workers as the server allows."""
    current = conn.execute("SELECT setting::bigint / 1024 FROM pg_settings"
                           " WHERE name = 'maintenance_work_mem'").fetchone()[0]  # kB -> MB
    settings = [CONNECTION_CHECK] if conn.info.server_version >= 140000 else []
    if current < MAINTENANCE_WORK_MEM_MB:
        settings.append(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM_MB}MB'")
    # the pool of parallel workers is the server's limit; the planner sizes by the table
    settings.append("SELECT set_config('max_parallel_maintenance_workers',"
                    " current_setting('max_parallel_workers'), true)")
    return settings


def drop_record_when_empty(conn: psycopg.Connection, schema: str) -> None:
    """Leave nothing behind: the record table goes once it is empty and no other katarestore
    session is on (one may be about to write to it)."""
    record = _record_place(conn, schema)
    if record is None:
        return
    with checkpoint.sole_session(conn) as alone:
        if alone and not conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(
                record)).fetchone()[0]:
            conn.execute(sql.SQL("DROP TABLE {}").format(record))


class _ProgressWatch:
    """Reads pg_stat_progress_create_index for the building backend from a connection of
    its own (the builder's is busy) and sends it as `IndexPhase` events."""

    def __init__(self, dsn: str, pid: int, index: SavedIndex, sink: EventSink) -> None:
        self.dsn, self.pid, self.index, self.sink = dsn, pid, index, sink
        self._over = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="katarestore-index-progress")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._over.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        if self._over.wait(PROGRESS_SECONDS):  # a small index: done before the first look
            return
        try:
            with psycopg.connect(self.dsn, autocommit=True, connect_timeout=5,
                                 application_name="katarestore progress") as conn:
                self._watch(conn.execute)
        except (psycopg.Error, OSError):
            return  # progress is a courtesy: the build goes on without it

    def _watch(self, execute: Callable) -> None:
        while not self._over.is_set():
            row = execute("SELECT phase, blocks_done, blocks_total, tuples_done, tuples_total"
                          " FROM pg_stat_progress_create_index WHERE pid = %s",
                          (self.pid,)).fetchone()
            if row is not None:
                phase, blocks_done, blocks_total, tuples_done, tuples_total = row
                done, total = ((tuples_done, tuples_total) if tuples_total
                               else (blocks_done, blocks_total))
                pct = f" {100 * done / total:.0f}%" if total else ""
                self.sink(IndexPhase("indexes", f"{self.index.table}: {self.index.name} "
                                     f"{phase}{pct}", table=self.index.table,
                                     index=self.index.name, step=phase, done=done or 0,
                                     total=total or 0))
            self._over.wait(PROGRESS_SECONDS)


def before_data(conn: psycopg.Connection, options: RestoreOptions, table: str, run_id: str,
                waiter: LockWaiter, sink: EventSink) -> BuildReport:
    """The loader's hook before a table's first batch: `--indexes after` (the default) on an
    empty table drops its secondary indexes. One transaction keeps them (it keeps no record
    table, and a rollback restores what it dropped anyway)."""
    if options.indexes != "after" or options.single_transaction:
        return BuildReport()
    return defer(conn, options.schema, table, run_id, waiter, sink)


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
