"""Set-based steps around the load: emptying tables, foreign-key checks, sequences."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

from katarestore_tui.db import written
from katarestore_tui.db.schema import ForeignKey, Schema, Table


def try_replica_role(conn: psycopg.Connection) -> str | None:
    """Turn off FK (and user) triggers for this session, as pg_restore --disable-triggers does.

    Returns None on success, else the server's reason (the role lacks the privilege).
    """
    try:
        conn.execute("SET session_replication_role = replica")
        return None
    except psycopg.Error as exc:
        if not conn.autocommit:
            conn.rollback()
        return (exc.diag.message_primary or str(exc)).strip()


def referencing_outsiders(schema: Schema, tables: list[str]) -> dict[str, list[str]]:
    """Tables outside `tables` whose foreign keys point into them: TRUNCATE would fail."""
    inside = set(tables)
    found: dict[str, list[str]] = {}
    for table in schema.tables.values():
        if table.name in inside:
            continue
        for fk in table.foreign_keys:
            if fk.ref_table in inside:
                found.setdefault(fk.ref_table, []).append(table.name)
    return found


def truncate(conn: psycopg.Connection, schema: str, tables: list[str]) -> None:
    if not tables:
        return
    conn.execute(
        sql.SQL("TRUNCATE {}").format(
            sql.SQL(", ").join(sql.Identifier(schema, t) for t in tables)
        )
    )


@dataclass
class Orphan:
    fk: ForeignKey
    row: dict[str, Any]  # the row as stored, column -> value
    undone: bool = False  # an update of a row from before the run, put back as it was


def _orphan_conditions(schema: str, fk: ForeignKey, run_id: str) -> tuple[sql.Composed, tuple[Any, ...]]:
    """SQL for "row c of fk.table breaks fk and this run wrote it", and its parameters."""
    child = sql.Identifier("c")
    present = sql.SQL(" AND ").join(
        sql.SQL("{}.{} IS NOT NULL").format(child, sql.Identifier(col)) for col in fk.columns
    )
    joins = sql.SQL(" AND ").join(
        sql.SQL("p.{} = c.{}").format(sql.Identifier(pc), sql.Identifier(cc))
        for cc, pc in zip(fk.columns, fk.ref_columns, strict=True)
    )
    condition = sql.SQL("{present} AND NOT EXISTS (SELECT 1 FROM {parent} AS p WHERE {joins})"
                        " AND {ours}").format(
        present=present, parent=sql.Identifier(schema, fk.ref_table), joins=joins,
        ours=written.written_by_run(schema, "c"))
    return condition, (run_id, fk.table)


def _kept_before(schema: str, table: Table) -> sql.Composed:
    """SQL: b is the row as it was before the run, for the key of row c."""
    return sql.SQL("b.run_id = %s AND b.table_name = %s AND b.key = {}").format(
        written.key_json(table, "c"))


def delete_orphans(conn: psycopg.Connection, schema: str, fk: ForeignKey, run_id: str,
                   table: Table) -> Iterator[Orphan]:
    """Remove and return the rows this run inserted whose key has no parent (MATCH SIMPLE).

    Rows from before the run are never candidates, orphans or not (a NOT VALID key), nor
    are rows the run updated: `undo_orphan_updates` puts those back instead.
    """
    condition, params = _orphan_conditions(schema, fk, run_id)
    if table.conflict_key:
        condition = condition + sql.SQL(
            " AND NOT EXISTS (SELECT 1 FROM {} AS b WHERE {})").format(
            sql.Identifier(schema, written.BEFORE), _kept_before(schema, table))
        params = (*params, run_id, fk.table)
    statement = sql.SQL("DELETE FROM {child} AS c WHERE {condition}"
                        " RETURNING row_to_json(c)::text").format(
        child=sql.Identifier(schema, fk.table), condition=condition)
    with conn.cursor() as cur:
        cur.execute(statement, params)
        for (text,) in cur:
            yield Orphan(fk, json.loads(text, parse_float=Decimal))


def undo_orphan_updates(conn: psycopg.Connection, schema: str, fk: ForeignKey, run_id: str,
                        table: Table) -> list[Orphan]:
    """Put back, as they were before the run, the rows an update left without a parent.

    Returns them as the update had made them (what is quarantined, with the FK error).
    """
    key = set(table.conflict_key)
    columns = [c.name for c in table.writable_columns if c.name not in key and c.identity != "a"]
    if not key or not columns:
        return []
    condition, params = _orphan_conditions(schema, fk, run_id)
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    statement = sql.SQL(
        "WITH bad AS (SELECT c.ctid AS at, row_to_json(c)::text AS orphan, b.row AS old"
        " FROM {child} AS c JOIN {before} AS b ON {kept} WHERE {condition})"
        " UPDATE {child} AS c SET ({names}) = (SELECT {names} FROM"
        " jsonb_populate_record(NULL::{child}, bad.old)) FROM bad WHERE c.ctid = bad.at"
        " RETURNING bad.orphan"
    ).format(child=sql.Identifier(schema, fk.table), before=sql.Identifier(schema, written.BEFORE),
             kept=_kept_before(schema, table), condition=condition, names=names)
    rows = conn.execute(statement, (run_id, fk.table, *params)).fetchall()
    return [Orphan(fk, json.loads(text, parse_float=Decimal), undone=True) for (text,) in rows]


def orphan_detail(orphan: Orphan) -> tuple[str, str]:
    """The message and detail PostgreSQL itself would have given for this row."""
    fk = orphan.fk
    values = ", ".join(str(orphan.row.get(c)) for c in fk.columns)
    message = (
        f'insert or update on table "{fk.table}" violates foreign key constraint "{fk.name}"'
    )
    detail = f'Key ({", ".join(fk.columns)})=({values}) is not present in table "{fk.ref_table}".'
    return message, detail


def reset_sequences(conn: psycopg.Connection, schema: Schema, tables: list[str]
                    ) -> tuple[list[str], list[str]]:
    """Move every serial/identity sequence of `tables` past the largest value present.

    Never moves a sequence backwards. Returns one line per sequence moved, and one per
    sequence that cannot take the value (an identity's MAXVALUE below a backup id): the
    rows stay, the operator is told which sequence and which value, the run goes on.
    """
    moved, problems = [], []
    for name in tables:
        for seq in schema.tables[name].sequences:
            top = _one(conn.execute(
                sql.SQL("SELECT max({}) FROM {}").format(
                    sql.Identifier(seq.column), sql.Identifier(schema.name, name)
                )
            ).fetchone())
            if top is None:
                continue
            current = _one(conn.execute(
                "SELECT pg_sequence_last_value(%s::regclass)", (seq.name,)
            ).fetchone())
            position = current if current is not None else 0
            if top > position:
                try:
                    with conn.transaction():  # a savepoint inside --single-transaction
                        conn.execute("SELECT setval(%s::regclass, %s, true)", (seq.name, top))
                except psycopg.DataError as exc:  # out of the sequence's bounds
                    reason = (exc.diag.message_primary or str(exc)).strip()
                    problems.append(
                        f"sequence {seq.name} could not be moved to {top} ({name}.{seq.column}'s "
                        f"largest value): {reason}. The rows are loaded; widen the sequence "
                        f"(ALTER SEQUENCE {seq.name} MAXVALUE ...) before the app inserts")
                    continue
                moved.append(f"{seq.name} -> {top}")
    return moved, problems


def _one(row: tuple[Any, ...] | None) -> Any:
    """The single value of an aggregate's row (an aggregate always returns one row)."""
    assert row is not None
    return row[0]
