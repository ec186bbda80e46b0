"""Where katarestore keeps the secondary indexes it dropped until they are built again.

A table next to the resume checkpoint (see checkpoint.py for where that may be) holds each
dropped index's definition from the transaction that dropped it until the one that built
it again, so a kill at any moment leaves either the index or its record, never neither.
It is dropped once empty, when no other katarestore session is on.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from katarestore_tui.db.rows import first
from katarestore_tui.engine import checkpoint

RECORD = "_katarestore_indexes"

# Indexes of one table that back no constraint (primary, unique, exclusion, and what foreign
# keys elsewhere lean on), enforce nothing, are whole (valid, not a partition's child) and
# belong to no extension: dropping and re-creating such an index changes no answer.
_SECONDARY_WHERE = """
FROM pg_index AS i
JOIN pg_class AS ic ON ic.oid = i.indexrelid
JOIN pg_class AS tc ON tc.oid = i.indrelid
JOIN pg_namespace AS n ON n.oid = tc.relnamespace
LEFT JOIN pg_tablespace AS ts ON ts.oid = ic.reltablespace
WHERE n.nspname = %(schema)s AND tc.relname = %(table)s AND tc.relkind = 'r'
  AND NOT i.indisunique AND NOT i.indisprimary AND NOT i.indisexclusion
  AND i.indisvalid AND i.indisready AND i.indislive
  AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = i.indexrelid)
  AND NOT EXISTS (SELECT 1 FROM pg_inherits AS h WHERE h.inhrelid = i.indexrelid)
  AND NOT EXISTS (SELECT 1 FROM pg_depend AS d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = i.indexrelid AND d.deptype = 'e')
  AND NOT EXISTS (SELECT 1 FROM pg_depend AS d WHERE d.refclassid = 'pg_class'::regclass
                  AND d.refobjid = i.indexrelid AND d.deptype IN ('n', 'a'))
  AND (%(every)s OR (
    -- no record can make its build fail: no expression or predicate that may raise, keys
    -- of fixed length only (no "index row size exceeds the maximum"), a plain method
    i.indexprs IS NULL AND i.indpred IS NULL
    AND ic.relam IN (SELECT oid FROM pg_am WHERE amname IN ('btree', 'hash', 'brin'))
    AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey::int2[]) AS k(attnum)
                    LEFT JOIN pg_attribute AS a ON a.attrelid = i.indrelid
                                               AND a.attnum = k.attnum
                    LEFT JOIN pg_type AS t ON t.oid = a.atttypid
                    WHERE k.attnum = 0 OR t.typlen IS NULL OR t.typlen < 0)))
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

    def statements(self) -> list[sql.SQL | sql.Composed]:
        """What builds it again, in order (each one from the catalog, names quoted)."""
        out: list[sql.SQL | sql.Composed] = []
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


def record_place(conn: psycopg.Connection, schema: str) -> sql.Identifier | None:
    """The record table for runs into `schema`, wherever an earlier run put it."""
    for place in (schema, checkpoint.OWN_SCHEMA):
        name = sql.Identifier(place, RECORD).as_string(conn)
        if first(conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()) is not None:
            return sql.Identifier(place, RECORD)
    return None


def ensure_record(conn: psycopg.Connection, schema: str) -> sql.Identifier:
    """Next to the checkpoint (which the run has already placed where the role may create)."""
    found = record_place(conn, schema)
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


def has_secondary(conn: psycopg.Connection, schema: str, table: str, every: bool = False
                  ) -> bool:
    """From the catalog's columns alone, so it never waits on a lock on the table."""
    params = {"schema": schema, "table": table, "every": every}
    return bool(first(conn.execute(_HAS_SECONDARY.format(_SECONDARY_WHERE), params).fetchone()))


def secondary_indexes(conn: psycopg.Connection, schema: str, table: str, every: bool = False
                      ) -> list[SavedIndex]:
    """The table's indexes that may go until its data is in: those no record can make fail
    (a record that breaks an index is then quarantined alone, with its own error), or with
    `every` all that back no constraint and are not unique."""
    rows = conn.execute(_SECONDARY, {"schema": schema, "table": table, "every": every}
                        ).fetchall()
    return [SavedIndex(schema, table, r[0], r[1], r[2], r[3], r[4]) for r in rows]


def left_over(conn: psycopg.Connection, schema: str, table: str | None = None,
              run_id: str | None = None) -> list[SavedIndex]:
    """Recorded indexes still to build: of one table, of one run, or all of the schema."""
    record = record_place(conn, schema)
    if record is None:
        return []
    where = [sql.SQL("schema_name = %s")]
    params: list[object] = [schema]
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


def run_alive(conn: psycopg.Connection, run_id: str) -> bool:
    """Whether another session holds the run's lock (see checkpoint.lock_run): it is loading
    and builds its indexes itself. Our own hold is re-entrant, so it reads as not alive."""
    key = f"katarestore run {run_id}"
    got = first(conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))",
                       (key,)).fetchone())
    if got:
        conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))
    return not got


def drop_record_when_empty(conn: psycopg.Connection, schema: str) -> None:
    """Leave nothing behind: the record table goes once it is empty and no other katarestore
    session is on (one may be about to write to it)."""
    record = record_place(conn, schema)
    if record is None:
        return
    with checkpoint.sole_session(conn) as alone:
        if alone and not first(conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(
                record)).fetchone()):
            conn.execute(sql.SQL("DROP TABLE {}").format(record))
