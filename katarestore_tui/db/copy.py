"""COPY and staged INSERT of pre-encoded lines; the SQL lives here, composed safely."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import psycopg
from psycopg import sql

from katarestore_tui.db import written
from katarestore_tui.db.schema import Table

_COPY_LINE = re.compile(r"\bCOPY [^,]+, line (\d+)")


def copy_line_number(exc: psycopg.Error) -> int | None:
    """The 1-based line of the COPY data that failed, from the error's CONTEXT."""
    context = exc.diag.context or ""
    match = _COPY_LINE.search(context)
    return int(match[1]) if match else None


_COPY_COLUMN = re.compile(r"\bCOPY [^,]+, line \d+, column (.+)")


def copy_column_name(exc: psycopg.Error, columns: Iterable[str] = ()) -> str | None:
    """The column COPY names in its CONTEXT ("COPY t, line 3, column email: ...") for errors
    that carry no column field (22001, 22P02). A name may hold ", " or ": " itself: the
    longest of `columns` the text starts with wins; without one, the text before ": "."""
    match = _COPY_COLUMN.search(exc.diag.context or "")
    if match is None:
        return None
    rest = match[1]
    known = [name for name in columns if rest.startswith(name + ":") or rest == name]
    if known:
        return max(known, key=len)
    return rest.split(": ", 1)[0].rstrip(":") or None


def copy_lines(
    cur: psycopg.Cursor, schema: str, table: str, columns: Sequence[str], lines: Sequence[bytes]
) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(schema, table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with cur.copy(statement) as copy:
        copy.write(b"".join(lines))


class StagedInsert:
    """COPY into a temporary table, then INSERT ... ON CONFLICT into the target.

    Used for the batches that hit an existing key: COPY itself cannot skip or update.
    """

    def __init__(self, conn: psycopg.Connection, schema: str, table: Table, on_conflict: str):
        self.conn = conn
        self.schema = schema
        self.table = table
        self.on_conflict = on_conflict
        self.stage = f"_katarestore_stage_{abs(hash((schema, table.name))) % 10**8}"
        # set when the FK check runs after the load: rows an update overwrites are kept first
        self.run_id: str | None = None

    def _ensure(self, cur: psycopg.Cursor) -> None:
        # every time: a rolled-back savepoint takes a temp table created inside it along
        cur.execute(
            sql.SQL(
                "CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {target} INCLUDING DEFAULTS);"
                " TRUNCATE {stage}"
            ).format(stage=sql.Identifier(self.stage), target=sql.Identifier(self.schema, self.table.name))
        )

    def write(self, columns: Sequence[str], lines: Sequence[bytes]) -> tuple[int, int]:
        """Returns (inserted, duplicates) for these lines.

        With user triggers, the two may add up to fewer than the lines: a BEFORE trigger
        that returned NULL dropped the rest (the caller finds which).
        """
        with self.conn.cursor() as cur:
            self._ensure(cur)
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(self.stage), sql.SQL(", ").join(map(sql.Identifier, columns))
            )
            with cur.copy(statement) as copy:
                copy.write(b"".join(lines))
            if self.run_id is not None and self.on_conflict == "update" and self.table.conflict_key:
                written.save_before(self.conn, self.schema, self.run_id, self.table, self.stage)
            cur.execute(self._insert_sql(columns))
            if self.on_conflict == "update" and self._update_columns(columns):
                returned = cur.fetchall()
                inserted = sum(1 for (fresh,) in returned if fresh)
                return inserted, len(returned) - inserted
            inserted = cur.rowcount
            if inserted < len(lines) and self.table.has_user_triggers:
                return inserted, self._present(cur) - inserted
        return inserted, len(lines) - inserted

    def _present(self, cur: psycopg.Cursor) -> int:
        """Staged rows whose key is in the table now (inserted or conflicting); a trigger
        dropped the others."""
        key = self.table.conflict_key
        same = sql.SQL(" AND ").join(
            sql.SQL("t.{c} = s.{c}").format(c=sql.Identifier(c)) for c in key)
        cur.execute(sql.SQL(
            "SELECT count(*) FROM {stage} AS s WHERE EXISTS (SELECT 1 FROM {target} AS t WHERE {same})"
        ).format(stage=sql.Identifier(self.stage),
                 target=sql.Identifier(self.schema, self.table.name), same=same))
        row = cur.fetchone()
        return row[0] if row else 0

    def _update_columns(self, columns: Sequence[str]) -> list[str]:
        key = set(self.table.conflict_key)
        return [c for c in columns if c not in key]

    def _insert_sql(self, columns: Sequence[str]) -> sql.Composed:
        cols = sql.SQL(", ").join(map(sql.Identifier, columns))
        # COPY writes GENERATED ALWAYS identity values as given; INSERT must be told to
        overriding = any(
            self.table.columns[c].identity == "a" for c in columns if c in self.table.columns
        )
        base = sql.SQL("INSERT INTO {target} ({cols}) {overriding}SELECT {cols} FROM {stage}").format(
            target=sql.Identifier(self.schema, self.table.name),
            cols=cols,
            overriding=sql.SQL("OVERRIDING SYSTEM VALUE " if overriding else ""),
            stage=sql.Identifier(self.stage),
        )
        key = self.table.conflict_key
        updates = self._update_columns(columns)
        if self.on_conflict == "update" and key and updates:
            assignments = sql.SQL(", ").join(
                sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in updates
            )
            return base + sql.SQL(" ON CONFLICT ({key}) DO UPDATE SET {set} RETURNING (xmax = 0)").format(
                key=sql.SQL(", ").join(map(sql.Identifier, key)), set=assignments
            )
        if not key:
            return base
        # only the conflict key makes a duplicate: another unique index violated is the
        # record's failure (23505 naming that index), never a silent skip
        return base + sql.SQL(" ON CONFLICT ({key}) DO NOTHING").format(
            key=sql.SQL(", ").join(map(sql.Identifier, key)))
