"""What a run wrote, so the set-based FK check touches nothing else.

Each write of a batch (a COPY or a staged INSERT, inside its own savepoint) also inserts one
marker row in `_katarestore_written`, in that same savepoint: the marker's `xmin` is then the
very (sub)transaction id the data rows carry, commits or rolls back with them, and a row of
the target is this run's work exactly when its `xmin` is one of the run's markers. (Reading
`pg_current_xact_id()` would not do: it gives the top transaction, rows carry the savepoint's.)
`xmin` keeps its raw value when a row is frozen, so the test holds through VACUUM.

Rows the run overwrote (`--on-conflict update`) are kept first in `_katarestore_before`
(key and whole row, once per key, only rows from before the run): an update the FK check
cannot validate is undone from there, set-based, instead of deleting a row the run did not
insert. Both tables live beside `_katarestore_progress` and go with the run.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from katarestore_tui.db.schema import Table

WRITTEN = "_katarestore_written"
BEFORE = "_katarestore_before"


def ensure_tables(conn: psycopg.Connection, schema: str) -> None:
    conn.execute(sql.SQL(
        "CREATE TABLE IF NOT EXISTS {} (run_id text NOT NULL, table_name text NOT NULL)"
    ).format(sql.Identifier(schema, WRITTEN)))
    conn.execute(sql.SQL(
        "CREATE TABLE IF NOT EXISTS {} (run_id text, table_name text, key jsonb, row jsonb,"
        " PRIMARY KEY (run_id, table_name, key))"
    ).format(sql.Identifier(schema, BEFORE)))


def mark_written(conn: psycopg.Connection, schema: str, run_id: str, table: str) -> None:
    """Call in the savepoint that wrote the rows, after the write."""
    conn.execute(
        sql.SQL("INSERT INTO {} (run_id, table_name) VALUES (%s, %s)").format(
            sql.Identifier(schema, WRITTEN)),
        (run_id, table),
    )


def written_by_run(schema: str, alias: str = "c") -> sql.Composed:
    """SQL: the row `alias` was written by the run (params: run_id, table_name)."""
    return sql.SQL(
        "{}.xmin IN (SELECT w.xmin FROM {} AS w WHERE w.run_id = %s AND w.table_name = %s)"
    ).format(sql.Identifier(alias), sql.Identifier(schema, WRITTEN))


def key_json(table: Table, alias: str) -> sql.Composed:
    return sql.SQL("jsonb_build_array({})").format(sql.SQL(", ").join(
        sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(c)) for c in table.conflict_key
    ))


def save_before(conn: psycopg.Connection, schema: str, run_id: str, table: Table,
                stage: str) -> None:
    """Keep the rows from before the run that the staged upsert is about to overwrite."""
    joins = sql.SQL(" AND ").join(
        sql.SQL("o.{c} = s.{c}").format(c=sql.Identifier(c)) for c in table.conflict_key)
    # LATERAL ... OFFSET 0: one index probe per staged row, never a scan of the whole table
    conn.execute(
        sql.SQL(
            "INSERT INTO {before} (run_id, table_name, key, row)"
            " SELECT %s, %s, {key}, t._kr_row FROM {stage} AS s CROSS JOIN LATERAL"
            " (SELECT o.*, to_jsonb(o) AS _kr_row FROM {target} AS o WHERE {joins} AND NOT {ours}"
            " OFFSET 0) AS t"
            " ON CONFLICT DO NOTHING"
        ).format(before=sql.Identifier(schema, BEFORE), key=key_json(table, "t"),
                 target=sql.Identifier(schema, table.name), stage=sql.Identifier(stage),
                 joins=joins, ours=written_by_run(schema, "o")),
        (run_id, table.name, run_id, table.name),
    )


def forget_run(conn: psycopg.Connection, schema: str, run_id: str, drop_empty: bool) -> None:
    """Remove the run's markers and kept rows; with `drop_empty` (no other run is on: the
    caller holds that), the tables go once no run is left in them."""
    for name in (WRITTEN, BEFORE):
        target = sql.Identifier(schema, name)
        exists = conn.execute("SELECT to_regclass(%s)", (target.as_string(conn),)).fetchone()
        if not exists or exists[0] is None:
            continue
        conn.execute(sql.SQL("DELETE FROM {} WHERE run_id = %s").format(target), (run_id,))
        left = conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(target)).fetchone()
        if drop_empty and left and not left[0]:
            conn.execute(sql.SQL("DROP TABLE {}").format(target))
