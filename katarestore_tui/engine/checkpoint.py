"""Resume bookkeeping that commits with the rows it describes.

A small table in the target holds, per run and table, how many records of the file
are done. It is updated inside each batch's transaction, so after any crash
(kill -9 included) it says exactly which records are in the database. It is
dropped when no run needs it any more: every katarestore session holds a shared
advisory lock, and the table is dropped only under the exclusive one, so a run that
finishes never drops the table under a run that is still loading.

It lives next to the tables when the role may create there, else in a schema
`katarestore` of its own (PostgreSQL 15 gives a table owner who is not the database
owner no CREATE on public); with neither right the run is refused before it starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql

TABLE = "_katarestore_progress"
OWN_SCHEMA = "katarestore"  # where the checkpoint goes when the tables' schema is closed
MADE_BY_US = "katarestore's resume checkpoints; dropped by katarestore once empty"
# held shared by every katarestore session for its lifetime (released when it ends, kill -9
# included); taken exclusive, briefly, only to drop the table. A constant: no value in SQL.
HOLD_SHARED = "SELECT pg_advisory_lock_shared(hashtextextended('katarestore progress', 0))"
_TRY_EXCLUSIVE = "SELECT pg_try_advisory_lock(hashtextextended('katarestore progress', 0))"
_RELEASE_EXCLUSIVE = "SELECT pg_advisory_unlock(hashtextextended('katarestore progress', 0))"
RUN_ROW = ""  # the run's own row (no table is named ''): there from the run's start to its end


@dataclass
class Checkpoint:
    records_done: int = 0
    loaded: int = 0
    duplicates: int = 0
    failed: int = 0
    finished: bool = False
    error: str | None = None  # the file's fault (truncated, not JSON), kept for the summary
    fk_moved: int = 0  # rows the set-based FK check moved to quarantine (committed)


class NoCheckpointPlace(Exception):
    """The role may create the checkpoint table nowhere; the message says which right."""


# (server, database, tables' schema) -> the schema holding the checkpoint, once known
_places: dict[tuple[str, int, str, str], str] = {}


def _key(conn: psycopg.Connection, schema: str) -> tuple[str, int, str, str]:
    return (conn.info.host, conn.info.port, conn.info.dbname, schema)


def _exists(conn: psycopg.Connection, place: str) -> bool:
    name = sql.Identifier(place, TABLE).as_string(conn)
    row = conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()
    return bool(row and row[0] is not None)


def _place(conn: psycopg.Connection, schema: str) -> str:
    """The schema of the checkpoint for runs into `schema`: where ensure_table put it, else
    where one exists (a resume in a new process), else next to the tables."""
    key = _key(conn, schema)
    if key not in _places:
        _places[key] = next((p for p in (schema, OWN_SCHEMA) if _exists(conn, p)), schema)
    return _places[key]


def location(conn: psycopg.Connection, schema: str) -> str:
    """`schema.table` of the checkpoint for runs into `schema`, for messages."""
    return f"{_place(conn, schema)}.{TABLE}"


def _target(conn: psycopg.Connection, schema: str) -> sql.Identifier:
    return sql.Identifier(_place(conn, schema), TABLE)


def _may_create_in(conn: psycopg.Connection, schema: str) -> bool:
    row = conn.execute("SELECT has_schema_privilege(%s, 'CREATE')", (schema,)).fetchone()
    return bool(row and row[0])


def _choose_place(conn: psycopg.Connection, schema: str) -> str:
    """Next to the tables if it is there or may be created there, else schema katarestore."""
    if _exists(conn, schema):
        return schema
    may = conn.execute(
        "SELECT has_schema_privilege(%s, 'CREATE'), to_regnamespace(%s) IS NOT NULL,"
        " has_database_privilege(current_database(), 'CREATE'), current_user",
        (schema, OWN_SCHEMA),
    ).fetchone()
    assert may is not None  # a SELECT without FROM returns one row
    in_schema, own_exists, in_database, user = may
    if in_schema:
        return schema
    if own_exists and (_exists(conn, OWN_SCHEMA) or _may_create_in(conn, OWN_SCHEMA)):
        return OWN_SCHEMA
    if in_database:
        with conn.transaction():
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(OWN_SCHEMA)))
            conn.execute(sql.SQL("COMMENT ON SCHEMA {} IS {}").format(
                sql.Identifier(OWN_SCHEMA), sql.Literal(MADE_BY_US)))
        return OWN_SCHEMA
    raise NoCheckpointPlace(
        f"role {user} may not create katarestore's resume checkpoint (a small table, {TABLE}, "
        "that commits with each batch so that a stopped run resumes exactly): grant it CREATE "
        f"on schema {schema} (GRANT CREATE ON SCHEMA {schema} TO {user}), or CREATE on the "
        f"database so it can make a schema {OWN_SCHEMA} of its own, or create that schema for "
        f"it (CREATE SCHEMA {OWN_SCHEMA} AUTHORIZATION {user})"
    )


def ensure_table(conn: psycopg.Connection, schema: str) -> None:
    """Create the checkpoint table where the role may; raises NoCheckpointPlace."""
    place = _choose_place(conn, schema)
    _places[_key(conn, schema)] = place
    target = sql.Identifier(place, TABLE)
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (run_id text, table_name text, records_done bigint,"
            " loaded bigint, duplicates bigint, failed bigint, finished boolean DEFAULT false,"
            " PRIMARY KEY (run_id, table_name))"
        ).format(target)
    )
    conn.execute(
        sql.SQL(
            "ALTER TABLE {} ADD COLUMN IF NOT EXISTS error text,"
            " ADD COLUMN IF NOT EXISTS fk_moved bigint NOT NULL DEFAULT 0"
        ).format(target)
    )


def save(conn: psycopg.Connection, schema: str, run_id: str, table: str, state: Checkpoint) -> None:
    """Call inside the batch's transaction."""
    conn.execute(
        sql.SQL(
            "INSERT INTO {} (run_id, table_name, records_done, loaded, duplicates, failed,"
            " finished, error) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (run_id, table_name)"
            " DO UPDATE SET records_done = EXCLUDED.records_done, loaded = EXCLUDED.loaded,"
            " duplicates = EXCLUDED.duplicates, failed = EXCLUDED.failed,"
            " finished = EXCLUDED.finished, error = EXCLUDED.error"
        ).format(_target(conn, schema)),
        (run_id, table, state.records_done, state.loaded, state.duplicates, state.failed,
         state.finished, state.error),
    )


def mark_run(conn: psycopg.Connection, schema: str, run_id: str) -> None:
    """Write the run's own row, committed synchronously, so it is on the server's disk.

    From then on a resume can tell a checkpoint removed by hand (no run row) from one that
    has nothing committed yet. The synchronous commit also flushes everything committed
    before it (the checkpoint table, a --clean's TRUNCATE) whatever `synchronous_commit` is.
    """
    with conn.transaction():
        conn.execute("SET LOCAL synchronous_commit = on")
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (run_id, table_name, records_done, loaded, duplicates, failed)"
                " VALUES (%s, %s, 0, 0, 0, 0) ON CONFLICT (run_id, table_name) DO NOTHING"
            ).format(_target(conn, schema)),
            (run_id, RUN_ROW),
        )


def table_exists(conn: psycopg.Connection, schema: str) -> bool:
    """Whether the checkpoint table for runs into `schema` exists, wherever it was put."""
    _places.pop(_key(conn, schema), None)  # another process may have made or dropped it
    return _exists(conn, _place(conn, schema))


def run_marked(conn: psycopg.Connection, schema: str, run_id: str) -> bool:
    """Whether the run's own row (see mark_run) is in the target."""
    if not table_exists(conn, schema):
        return False
    row = conn.execute(
        sql.SQL("SELECT 1 FROM {} WHERE run_id = %s AND table_name = %s").format(
            _target(conn, schema)),
        (run_id, RUN_ROW),
    ).fetchone()
    return row is not None


def record_orphans(conn: psycopg.Connection, schema: str, run_id: str, table: str, moved: int,
                   undone: int = 0) -> None:
    """Call in the transaction that removes a table's orphans: they go from loaded to failed.

    `undone` of them were updates put back (counted with the duplicates until then).
    """
    conn.execute(
        sql.SQL(
            "UPDATE {} SET loaded = loaded - %s, duplicates = duplicates - %s,"
            " failed = failed + %s, fk_moved = fk_moved + %s"
            " WHERE run_id = %s AND table_name = %s"
        ).format(_target(conn, schema)),
        (moved - undone, undone, moved, moved, run_id, table),
    )


def record_reloaded(conn: psycopg.Connection, schema: str, run_id: str, table: str, count: int) -> None:
    """Call in the transaction that loads quarantined records again: failed become loaded."""
    conn.execute(
        sql.SQL(
            "UPDATE {} SET loaded = loaded + %s, failed = failed - %s"
            " WHERE run_id = %s AND table_name = %s"
        ).format(_target(conn, schema)),
        (count, count, run_id, table),
    )


def lock_run(conn: psycopg.Connection, run_id: str) -> bool:
    """Hold a session lock on the run id: a second process may not load the same run.

    Released when the connection ends, so a killed run can be resumed at once.
    """
    row = conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))",
                       (f"katarestore run {run_id}",)).fetchone()
    if not (row and row[0]):
        return False
    conn.execute(HOLD_SHARED)  # before the table is created: no other run drops it now
    return True


def load(conn: psycopg.Connection, schema: str, run_id: str) -> dict[str, Checkpoint]:
    """Each table's checkpoint of the run (the run's own row left out)."""
    _places.pop(_key(conn, schema), None)  # another process may have moved it since
    place = _place(conn, schema)
    if not _exists(conn, place):
        return {}
    target = sql.Identifier(place, TABLE)
    rows = conn.execute(
        sql.SQL(
            "SELECT table_name, records_done, loaded, duplicates, failed, finished, error,"
            " fk_moved FROM {}"
            " WHERE run_id = %s AND table_name <> %s AND strpos(table_name, %s) = 0"
        ).format(target),
        (run_id, RUN_ROW, PART_MARK),
    ).fetchall()
    return {r[0]: Checkpoint(*r[1:]) for r in rows}


# A big table loaded in ranges (engine/split_load.py) has one row per range besides its own,
# named `<table><PART_MARK><range>`: a control character no table name holds. `load` leaves
# them out; they are read, written and folded into the table's row here.
PART_MARK = "\x1f"


def part_name(table: str, part: str) -> str:
    return f"{table}{PART_MARK}{part}"


def load_parts(conn: psycopg.Connection, schema: str, run_id: str,
               table: str) -> dict[str, Checkpoint]:
    """The range rows of `table` in the run: {range (as part_name was given it): state}."""
    if not table_exists(conn, schema):
        return {}
    prefix = part_name(table, "")
    rows = conn.execute(
        sql.SQL(
            "SELECT substr(table_name, %s), records_done, loaded, duplicates, failed, finished,"
            " error, fk_moved FROM {} WHERE run_id = %s AND left(table_name, %s) = %s"
        ).format(_target(conn, schema)),
        (len(prefix) + 1, run_id, len(prefix), prefix),
    ).fetchall()
    return {r[0]: Checkpoint(*r[1:]) for r in rows}


def load_one(conn: psycopg.Connection, schema: str, run_id: str, name: str) -> Checkpoint | None:
    """One row (a table's or a range's) of the run, None when it has none."""
    if not table_exists(conn, schema):
        return None
    row = conn.execute(
        sql.SQL("SELECT records_done, loaded, duplicates, failed, finished, error, fk_moved"
                " FROM {} WHERE run_id = %s AND table_name = %s").format(_target(conn, schema)),
        (run_id, name),
    ).fetchone()
    return None if row is None else Checkpoint(*row)


def start_parts(conn: psycopg.Connection, schema: str, run_id: str, table: str,
                firsts: dict[str, int]) -> None:
    """Write every range's row (at its first record) and the table's, synchronously, before
    any range loads: a resume then finds every range, even one that never committed."""
    with conn.transaction():
        conn.execute("SET LOCAL synchronous_commit = on")
        save(conn, schema, run_id, table, Checkpoint())
        for part, first in firsts.items():
            save(conn, schema, run_id, part_name(table, part), Checkpoint(records_done=first))


def finish_parts(conn: psycopg.Connection, schema: str, run_id: str, table: str,
                 done: Checkpoint) -> None:
    """The table's row finished with the ranges' sums, and the range rows gone: one
    synchronous commit, so a crash leaves either the ranges or the finished table."""
    prefix = part_name(table, "")
    with conn.transaction():
        conn.execute("SET LOCAL synchronous_commit = on")
        save(conn, schema, run_id, table, done)
        conn.execute(
            sql.SQL("DELETE FROM {} WHERE run_id = %s AND left(table_name, %s) = %s").format(
                _target(conn, schema)),
            (run_id, len(prefix), prefix),
        )


def forget_run(conn: psycopg.Connection, schema: str, run_id: str) -> None:
    """Remove the run's rows, and the table once no run is left in it and no other
    katarestore session is connected (one may have created it and not written yet)."""
    target = sql.Identifier(_place(conn, schema), TABLE)
    conn.execute(sql.SQL("DELETE FROM {} WHERE run_id = %s").format(target), (run_id,))
    _drop_when_unused(conn, schema)


def forget_table(conn: psycopg.Connection, schema: str, run_id: str, table: str) -> None:
    """Remove one table's row of a run (a retry closes its tables one by one), then as
    `forget_run` the table itself once nothing and nobody needs it."""
    target = sql.Identifier(_place(conn, schema), TABLE)
    conn.execute(sql.SQL("DELETE FROM {} WHERE run_id = %s AND table_name = %s").format(target),
                 (run_id, table))
    _drop_when_unused(conn, schema)


def _drop_when_unused(conn: psycopg.Connection, schema: str) -> None:
    place = _place(conn, schema)
    target = sql.Identifier(place, TABLE)
    with sole_session(conn) as alone:
        if not alone:
            return  # another run is on: the last one to finish drops the table
        left = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(target)).fetchone()
        if left and left[0] == 0:
            conn.execute(sql.SQL("DROP TABLE {}").format(target))
            _places.pop(_key(conn, schema), None)
            if place == OWN_SCHEMA:  # the schema goes too, if katarestore made it
                _drop_own_schema(conn)


@contextmanager
def sole_session(conn: psycopg.Connection) -> Iterator[bool]:
    """Whether this is the only katarestore session on the database (every one holds
    HOLD_SHARED), held as such for the block: the moment to drop shared tables."""
    got = conn.execute(_TRY_EXCLUSIVE).fetchone()  # our own shared hold does not block it
    alone = bool(got and got[0])
    try:
        yield alone
    finally:
        if alone:
            conn.execute(_RELEASE_EXCLUSIVE)


def _drop_own_schema(conn: psycopg.Connection) -> None:
    """Drop schema katarestore if katarestore made it and nothing else is in it; a schema
    an administrator made for it stays, so the right to create one is not needed again."""
    comment = conn.execute("SELECT obj_description(to_regnamespace(%s), 'pg_namespace')",
                           (OWN_SCHEMA,)).fetchone()
    if not comment or comment[0] != MADE_BY_US:
        return
    try:
        with conn.transaction():
            conn.execute(sql.SQL("DROP SCHEMA {}").format(sql.Identifier(OWN_SCHEMA)))
    except psycopg.Error:
        pass  # something else was put there since: leave it
