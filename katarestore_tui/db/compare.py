"""Set-based comparison of a backup's rows (staged in a temporary table) with the target.

`katarestore verify` streams the backup through the restore's own reader and encoder into
a temporary table of the target's column types, so both sides hold values as the server
stores them; the comparison is then a few statements, never a row at a time in Python:
a full join on the table's conflict key, or `EXCEPT ALL` both ways for a table without one.
Values are compared by their stored text where the type's `=` is looser than identity
(numeric 12.50 = 12.5, jsonb 1.0 = 1.00, float -0 = 0) or missing (json, xml, geometry).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql

from katarestore_tui.db.schema import Column, Table

STAGE = "_katarestore_verify"
QUARANTINED = "_katarestore_verify_q"
REPEATS = "_katarestore_verify_rep"
INDEX_COLUMN = "_katarestore_idx"  # the record's index in the file
GIVEN_COLUMN = "_katarestore_given"  # '1'/'0' per compared column: did the record give it

# base types whose `=` holds exactly when the stored values are the same
EXACT_EQUALITY = frozenset({"int2", "int4", "int8", "bool", "uuid", "bytea", "date", "time",
                            "timestamp", "timestamptz", "text", "varchar", "bpchar", "oid"})


def value_expr(alias: str, column: Column) -> sql.Composable:
    """The column as compared: itself where `=` is exact, else its stored text."""
    ref = sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(column.name))
    if column.base_type in EXACT_EQUALITY and not column.is_array:
        return ref
    return sql.SQL('({}::text COLLATE "C")').format(ref)


def create_stage(conn: psycopg.Connection, schema: str, table: Table,
                 columns: Sequence[str]) -> None:
    """A temporary table of the target's column types (domains and typmods kept), without
    its constraints or defaults: a default's nextval() would move the target's sequence."""
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(STAGE)))
    conn.execute(sql.SQL("CREATE TEMP TABLE {stage} AS SELECT {cols} FROM {target} WITH NO DATA")
                 .format(stage=sql.Identifier(STAGE), cols=cols,
                         target=sql.Identifier(schema, table.name)))
    conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN {} bigint, ADD COLUMN {} text").format(
        sql.Identifier(STAGE), sql.Identifier(INDEX_COLUMN), sql.Identifier(GIVEN_COLUMN)))


def copy_stage(cur: psycopg.Cursor, columns: Sequence[str], data: bytes) -> None:
    """COPY encoded lines (each already ending in index and mask) into the stage."""
    names = [*columns, INDEX_COLUMN, GIVEN_COLUMN]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(STAGE), sql.SQL(", ").join(map(sql.Identifier, names)))
    with cur.copy(statement) as copy:
        copy.write(data)


def stage_quarantine(conn: psycopg.Connection, indexes: Sequence[int]) -> None:
    """The record indexes a run quarantined: they are accounted for, not expected."""
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(QUARANTINED)))
    conn.execute(sql.SQL("CREATE TEMP TABLE {} (idx bigint PRIMARY KEY)")
                 .format(sql.Identifier(QUARANTINED)))
    if indexes:
        with conn.cursor() as cur, cur.copy(
                sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(QUARANTINED))) as copy:
            for index in sorted(set(indexes)):
                copy.write_row((index,))
    conn.execute(sql.SQL("ANALYZE {}, {}").format(sql.Identifier(STAGE),
                                                 sql.Identifier(QUARANTINED)))


def drop_stage(conn: psycopg.Connection) -> None:
    for name in (STAGE, QUARANTINED, REPEATS):
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))


def quarantined_staged(conn: psycopg.Connection) -> set[int]:
    """Which quarantined indexes verify could stage (the others it could not read either)."""
    rows = conn.execute(sql.SQL("SELECT s.{i} FROM {s} s JOIN {q} q ON q.idx = s.{i}").format(
        i=sql.Identifier(INDEX_COLUMN), s=sql.Identifier(STAGE),
        q=sql.Identifier(QUARANTINED))).fetchall()
    return {r[0] for r in rows}


@dataclass
class Counts:
    matched: int = 0
    different: int = 0
    missing: int = 0
    extra: int = 0
    repeated: int = 0  # later copies of a key the restore counts as duplicates
    expected: int = 0  # staged records the target should hold


@dataclass
class Sample:
    kind: str  # missing | extra | different
    values: dict[str, str | None]  # the key (keyed) or the whole row (multiset), as text
    index: int | None = None  # the record's index in the file (missing, different)
    columns: tuple[str, ...] = ()  # the differing columns


def _not_quarantined(alias: str) -> sql.Composable:
    return sql.SQL("NOT EXISTS (SELECT 1 FROM {q} WHERE {q}.idx = {a}.{i})").format(
        q=sql.Identifier(QUARANTINED), a=sql.Identifier(alias), i=sql.Identifier(INDEX_COLUMN))


class KeyedComparison:
    """A table with a key: the expected row per key is the first copy in the file that the
    run did not quarantine (the last with `--on-conflict update`), as the restore keeps it."""

    def __init__(self, conn: psycopg.Connection, schema: str, table: Table,
                 columns: Sequence[str], masked: bool, keep_last: bool) -> None:
        self.conn = conn
        self.table = table
        self.target = sql.Identifier(schema, table.name)
        self.key = list(table.conflict_key)
        self.others = [c for c in columns if c not in self.key]
        self.positions = {c: i + 1 for i, c in enumerate(columns)}  # in the given mask
        self.masked = masked
        self.keep_last = keep_last

    def _key_join(self, left: str, right: str) -> sql.Composable:
        return sql.SQL(" AND ").join(
            sql.SQL("{l}.{c} = {r}.{c}").format(l=sql.Identifier(left), r=sql.Identifier(right),
                                                c=sql.Identifier(c)) for c in self.key)

    def _differs(self, name: str) -> sql.Composable:
        column = self.table.columns[name]
        test = sql.SQL("{} IS DISTINCT FROM {}").format(value_expr("e", column),
                                                         value_expr("t", column))
        if not self.masked:
            return test
        given = sql.SQL("substr(e.{g}, {p}, 1) = '1'").format(
            g=sql.Identifier(GIVEN_COLUMN), p=sql.Literal(self.positions[name]))
        return sql.SQL("({} AND {})").format(given, test)

    def _any_difference(self) -> sql.Composable:
        if not self.others:
            return sql.SQL("false")
        return sql.SQL(" OR ").join(self._differs(c) for c in self.others)

    def find_repeats(self) -> int:
        """Keys given more than once: keep which copy counts, return how many do not."""
        keys = sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(c)) for c in self.key)
        pick = sql.SQL("max" if self.keep_last else "min")
        self.conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(REPEATS)))
        self.conn.execute(sql.SQL(
            "CREATE TEMP TABLE {rep} AS SELECT {keys}, {pick}(s.{i}) AS keep, count(*) AS n "
            "FROM {stage} s WHERE {live} GROUP BY {keys} HAVING count(*) > 1").format(
            rep=sql.Identifier(REPEATS), keys=keys, pick=pick, i=sql.Identifier(INDEX_COLUMN),
            stage=sql.Identifier(STAGE), live=_not_quarantined("s")))
        self.conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(REPEATS)))
        row = self.conn.execute(sql.SQL("SELECT coalesce(sum(n - 1), 0) FROM {}").format(
            sql.Identifier(REPEATS))).fetchone()
        return int(row[0]) if row else 0

    def _joined(self) -> sql.Composable:
        """The expected rows (alias e) fully joined with the target's (alias t)."""
        target_cols = sql.SQL(", ").join(
            sql.Identifier(c) for c in [*self.key, *self.others])
        expected = sql.SQL(
            "SELECT true AS present, s.* FROM {stage} s LEFT JOIN {rep} r ON {on} "
            "WHERE {live} AND (r.keep IS NULL OR r.keep = s.{i})").format(
            stage=sql.Identifier(STAGE), rep=sql.Identifier(REPEATS),
            on=self._key_join("s", "r"), live=_not_quarantined("s"),
            i=sql.Identifier(INDEX_COLUMN))
        return sql.SQL("({expected}) e FULL JOIN (SELECT true AS present, {cols} FROM {target}) t"
                       " ON {on}").format(expected=expected, cols=target_cols,
                                          target=self.target, on=self._key_join("e", "t"))

    def counts(self) -> Counts:
        repeated = self.find_repeats()
        diff = self._any_difference()
        row = self.conn.execute(sql.SQL(
            "SELECT count(*) FILTER (WHERE e.present AND t.present AND NOT ({diff})), "
            "count(*) FILTER (WHERE e.present AND t.present AND ({diff})), "
            "count(*) FILTER (WHERE t.present IS NULL), "
            "count(*) FILTER (WHERE e.present IS NULL), "
            "count(*) FILTER (WHERE e.present) FROM {joined}").format(
            diff=diff, joined=self._joined())).fetchone()
        assert row is not None
        return Counts(row[0], row[1], row[2], row[3], repeated, row[4])

    def samples(self, kind: str, limit: int) -> list[Sample]:
        side = "t" if kind == "extra" else "e"
        where = {"missing": sql.SQL("t.present IS NULL"),
                 "extra": sql.SQL("e.present IS NULL"),
                 "different": sql.SQL("e.present AND t.present AND ({})").format(
                     self._any_difference())}[kind]
        keys = [sql.SQL("{}.{}::text").format(sql.Identifier(side), sql.Identifier(c))
                for c in self.key]
        differing: sql.Composable = sql.SQL("ARRAY[]::text[]")
        if kind == "different" and self.others:
            differing = sql.SQL("array_remove(ARRAY[{}], NULL)").format(sql.SQL(", ").join(
                sql.SQL("CASE WHEN {} THEN {} END").format(self._differs(c), sql.Literal(c))
                for c in self.others))
        order = sql.SQL(", ").join(sql.SQL("{}.{}").format(sql.Identifier(side),
                                                            sql.Identifier(c)) for c in self.key)
        rows = self.conn.execute(sql.SQL(
            "SELECT e.{i}, {differing}, {keys} FROM {joined} WHERE {where} "
            "ORDER BY {order} LIMIT {limit}").format(
            i=sql.Identifier(INDEX_COLUMN), differing=differing, keys=sql.SQL(", ").join(keys),
            joined=self._joined(), where=where, order=order,
            limit=sql.Literal(limit))).fetchall()
        return [Sample(kind, dict(zip(self.key, row[2:], strict=True)), row[0], tuple(row[1]))
                for row in rows]


class MultisetComparison:
    """A table without a key: the target must hold each staged row as often as the backup."""

    def __init__(self, conn: psycopg.Connection, schema: str, table: Table,
                 columns: Sequence[str]) -> None:
        self.conn = conn
        self.table = table
        self.target = sql.Identifier(schema, table.name)
        self.columns = list(columns)

    def _projection(self, alias: str) -> sql.Composable:
        return sql.SQL(", ").join(
            sql.SQL("{} AS {}").format(value_expr(alias, self.table.columns[c]),
                                       sql.Identifier(c)) for c in self.columns)

    def _expected(self) -> sql.Composable:
        return sql.SQL("SELECT {cols} FROM {stage} e WHERE {live}").format(
            cols=self._projection("e"), stage=sql.Identifier(STAGE), live=_not_quarantined("e"))

    def _actual(self) -> sql.Composable:
        return sql.SQL("SELECT {cols} FROM {target} t").format(
            cols=self._projection("t"), target=self.target)

    def _only(self, kind: str) -> sql.Composable:
        first, second = ((self._expected(), self._actual()) if kind == "missing"
                         else (self._actual(), self._expected()))
        return sql.SQL("({}) EXCEPT ALL ({})").format(first, second)

    def counts(self) -> Counts:
        def count(query: sql.Composable) -> int:
            row = self.conn.execute(sql.SQL("SELECT count(*) FROM ({}) x").format(query)).fetchone()
            return int(row[0]) if row else 0

        expected = count(self._expected())
        missing = count(self._only("missing"))
        extra = count(self._only("extra"))
        return Counts(expected - missing, 0, missing, extra, 0, expected)

    def samples(self, kind: str, limit: int) -> list[Sample]:
        text = sql.SQL(", ").join(sql.SQL("x.{}::text").format(sql.Identifier(c))
                                  for c in self.columns)
        rows = self.conn.execute(sql.SQL("SELECT {text} FROM ({only}) x LIMIT {limit}").format(
            text=text, only=self._only(kind), limit=sql.Literal(limit))).fetchall()
        return [Sample(kind, dict(zip(self.columns, row, strict=True))) for row in rows]
