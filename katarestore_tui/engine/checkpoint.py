"""Resume bookkeeping that commits with the rows it describes.

A small table in the target holds, per run and table, how many records of the file
are done. It is updated inside each batch's transaction, so after any crash
(kill -9 included) it says exactly which records are in the database. It is
dropped when no run needs it any more.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

TABLE = "_katarestore_progress"


@dataclass
class Checkpoint:
    records_done: int = 0
    loaded: int = 0
    duplicates: int = 0
    failed: int = 0
    finished: bool = False
    error: str | None = None  # the file's fault (truncated, not JSON), kept for the summary
    fk_moved: int = 0  # rows the set-based FK check moved to quarantine (committed)


def ensure_table(conn: psycopg.Connection, schema: str) -> None:
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (run_id text, table_name text, records_done bigint,"
            " loaded bigint, duplicates bigint, failed bigint, finished boolean DEFAULT false,"
            " PRIMARY KEY (run_id, table_name))"
        ).format(sql.Identifier(schema, TABLE))
    )
    conn.execute(
        sql.SQL(
            "ALTER TABLE {} ADD COLUMN IF NOT EXISTS error text,"
            " ADD COLUMN IF NOT EXISTS fk_moved bigint NOT NULL DEFAULT 0"
        ).format(sql.Identifier(schema, TABLE))
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
        ).format(sql.Identifier(schema, TABLE)),
        (run_id, table, state.records_done, state.loaded, state.duplicates, state.failed,
         state.finished, state.error),
    )


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
        ).format(sql.Identifier(schema, TABLE)),
        (moved - undone, undone, moved, moved, run_id, table),
    )


def record_reloaded(conn: psycopg.Connection, schema: str, run_id: str, table: str, count: int) -> None:
    """Call in the transaction that loads quarantined records again: failed become loaded."""
    conn.execute(
        sql.SQL(
            "UPDATE {} SET loaded = loaded + %s, failed = failed - %s"
            " WHERE run_id = %s AND table_name = %s"
        ).format(sql.Identifier(schema, TABLE)),
        (count, count, run_id, table),
    )


def lock_run(conn: psycopg.Connection, run_id: str) -> bool:
    """Hold a session lock on the run id: a second process may not load the same run.

    Released when the connection ends, so a killed run can be resumed at once.
    """
    row = conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))",
                       (f"katarestore run {run_id}",)).fetchone()
    return bool(row and row[0])


def load(conn: psycopg.Connection, schema: str, run_id: str) -> dict[str, Checkpoint]:
    name = sql.Identifier(schema, TABLE).as_string(conn)
    exists = conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()
    if not exists or exists[0] is None:
        return {}
    rows = conn.execute(
        sql.SQL(
            "SELECT table_name, records_done, loaded, duplicates, failed, finished, error,"
            " fk_moved FROM {}"
            " WHERE run_id = %s"
        ).format(sql.Identifier(schema, TABLE)),
        (run_id,),
    ).fetchall()
    return {r[0]: Checkpoint(*r[1:]) for r in rows}


def forget_run(conn: psycopg.Connection, schema: str, run_id: str) -> None:
    """Remove the run's rows, and the table once no run is left in it."""
    target = sql.Identifier(schema, TABLE)
    conn.execute(sql.SQL("DELETE FROM {} WHERE run_id = %s").format(target), (run_id,))
    left = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(target)).fetchone()
    if left and left[0] == 0:
        conn.execute(sql.SQL("DROP TABLE {}").format(target))
