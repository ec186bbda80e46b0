"""Read the target's catalog: tables, columns with real types, keys, FKs, sequences."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parser process imports these dataclasses; it need not load psycopg
    import psycopg


@dataclass(frozen=True)
class Column:
    name: str
    type_name: str  # format_type(): 'character varying(20)', 'text[]', 'timestamp with time zone'
    base_type: str  # pg_type.typname after domains and arrays: 'varchar', 'timestamptz', 'jsonb'
    category: str  # pg_type.typcategory of base_type: N numeric, S string, D date/time, B bool,
    #                U user (uuid, json, jsonb, bytea), E enum, A array never (arrays unwrapped)
    is_array: bool = False
    not_null: bool = False
    has_default: bool = False
    generated: bool = False  # GENERATED ALWAYS AS (...) STORED: cannot be written
    identity: str = ""  # 'a' always, 'd' by default, '' none
    max_length: int | None = None  # varchar(n)/char(n)
    enum_labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class ForeignKey:
    name: str
    table: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    deferrable: bool = False


@dataclass(frozen=True)
class Sequence:
    """A serial or identity sequence owned by a table column."""

    name: str  # schema-qualified, as pg_get_serial_sequence returns it
    table: str
    column: str


@dataclass
class Table:
    name: str
    columns: dict[str, Column] = field(default_factory=dict)
    primary_key: tuple[str, ...] = ()
    unique_keys: tuple[tuple[str, ...], ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    sequences: tuple[Sequence, ...] = ()
    has_user_triggers: bool = False

    @property
    def conflict_key(self) -> tuple[str, ...]:
        """The key that decides what a duplicate is: the primary key, else the first unique."""
        if self.primary_key:
            return self.primary_key
        return self.unique_keys[0] if self.unique_keys else ()

    @property
    def writable_columns(self) -> list[Column]:
        return [c for c in self.columns.values() if not c.generated]

    def parents(self) -> set[str]:
        return {fk.ref_table for fk in self.foreign_keys if fk.ref_table != self.name}


@dataclass
class Schema:
    name: str
    tables: dict[str, Table]
    server_version: int = 0

    def load_order(self, names: list[str] | None = None) -> tuple[list[str], list[list[str]]]:
        """Tables parents-first by their foreign keys, and the cycles found.

        Kahn's algorithm over the FK graph restricted to `names`; tables caught in a
        cycle are appended (alphabetically) after the rest and reported, so they still load.
        """
        wanted = sorted(names if names is not None else self.tables)
        wanted_set = set(wanted)
        deps = {t: self.tables[t].parents() & wanted_set for t in wanted}
        order: list[str] = []
        ready = sorted(t for t, d in deps.items() if not d)
        remaining = {t: set(d) for t, d in deps.items() if d}
        while ready:
            table = ready.pop(0)
            order.append(table)
            for child in sorted(remaining):
                remaining[child].discard(table)
                if not remaining[child]:
                    del remaining[child]
                    ready.append(child)
            ready.sort()
        cycles = _cycles(remaining) if remaining else []
        order.extend(sorted(remaining))
        return order, cycles


def _cycles(remaining: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups among the tables Kahn's algorithm could not order."""
    groups: list[list[str]] = []
    seen: set[str] = set()
    for start in sorted(remaining):
        if start in seen:
            continue
        group = {start}
        frontier = [start]
        while frontier:
            node = frontier.pop()
            for parent in remaining.get(node, ()):
                if parent in remaining and parent not in group:
                    group.add(parent)
                    frontier.append(parent)
        seen |= group
        groups.append(sorted(group))
    return groups


_COLUMNS_SQL = """
WITH RECURSIVE dom(oid, base, typmod) AS (
    -- every domain, followed down through domains over domains; the outermost typmod wins
    SELECT oid, typbasetype, typtypmod FROM pg_type WHERE typtype = 'd'
    UNION ALL
    SELECT dom.oid, b.typbasetype, CASE WHEN dom.typmod >= 0 THEN dom.typmod ELSE b.typtypmod END
    FROM dom JOIN pg_type b ON b.oid = dom.base AND b.typtype = 'd'
), dom_base AS (
    -- each domain's final non-domain type
    SELECT dom.oid, dom.base, dom.typmod FROM dom
    JOIN pg_type b ON b.oid = dom.base AND b.typtype <> 'd'
)
SELECT c.relname, a.attname,
       format_type(a.atttypid, a.atttypmod),
       a.attnotnull, a.atthasdef, a.attgenerated <> '', a.attidentity,
       bt.typname, bt.typcategory, dt.typcategory = 'A',
       CASE WHEN bt.typname IN ('varchar', 'bpchar') AND
                 COALESCE(NULLIF(a.atttypmod, -1), d1.typmod, d2.typmod, -1) > 4
            THEN COALESCE(NULLIF(a.atttypmod, -1), d1.typmod, d2.typmod) - 4 END,
       CASE WHEN bt.typtype = 'e' THEN
            array(SELECT enumlabel FROM pg_enum e WHERE e.enumtypid = bt.oid
                  ORDER BY enumsortorder) END
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
-- unwrap a domain to its base type, then an array to its element type, then a domain again
-- (arrays of domains exist since PostgreSQL 11)
LEFT JOIN dom_base d1 ON d1.oid = t.oid
JOIN pg_type dt ON dt.oid = COALESCE(d1.base, t.oid)
LEFT JOIN dom_base d2 ON d2.oid = dt.typelem AND dt.typcategory = 'A'
JOIN pg_type bt ON bt.oid = CASE WHEN dt.typcategory = 'A' THEN COALESCE(d2.base, dt.typelem)
                                 ELSE dt.oid END
WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
  AND NOT c.relispartition
ORDER BY c.relname, a.attnum
"""

_KEYS_SQL = """
SELECT c.relname, con.conname, con.contype,
       array(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(attnum, i)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
             ORDER BY k.i),
       rc.relname,
       array(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(attnum, i)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
             ORDER BY k.i),
       con.condeferrable
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class rc ON rc.oid = con.confrelid
WHERE n.nspname = %s AND con.contype IN ('p', 'u', 'f')
UNION ALL
-- unique indexes that are not constraints (what `prisma migrate` creates for @unique);
-- only plain column indexes: a partial or expression index cannot be an ON CONFLICT key
SELECT c.relname, ic.relname, 'u',
       array(SELECT a.attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, o)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             ORDER BY k.o),
       NULL, NULL, false
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND i.indisunique AND NOT i.indisprimary AND i.indpred IS NULL
  AND i.indexprs IS NULL
  AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid)
ORDER BY 1, 3, 2
"""

_SEQUENCES_SQL = """
SELECT c.relname, a.attname, pg_get_serial_sequence(quote_ident(n.nspname) || '.' ||
       quote_ident(c.relname), a.attname)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
  AND pg_get_serial_sequence(quote_ident(n.nspname) || '.' || quote_ident(c.relname),
                             a.attname) IS NOT NULL
"""

_TRIGGERS_SQL = """
SELECT DISTINCT c.relname FROM pg_trigger tg
JOIN pg_class c ON c.oid = tg.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND NOT tg.tgisinternal
"""


def read_schema(conn: psycopg.Connection, schema: str = "public") -> Schema:
    """Introspect every ordinary table of `schema`."""
    tables: dict[str, Table] = {}
    with conn.cursor() as cur:
        cur.execute(_COLUMNS_SQL, (schema,))
        for row in cur.fetchall():
            (tname, cname, type_name, not_null, has_default, generated, identity,
             base_type, category, is_array, max_length, labels) = row
            table = tables.setdefault(tname, Table(tname))
            table.columns[cname] = Column(
                name=cname,
                type_name=type_name,
                base_type=base_type,
                category=category,
                is_array=bool(is_array),
                not_null=not_null,
                has_default=has_default or bool(identity),
                generated=generated,
                identity=identity or "",
                max_length=max_length,
                enum_labels=tuple(labels or ()),
            )
        cur.execute(_KEYS_SQL, (schema, schema))
        uniques: dict[str, list[tuple[str, ...]]] = {}
        fks: dict[str, list[ForeignKey]] = {}
        for tname, conname, contype, cols, ref_table, ref_cols, deferrable in cur.fetchall():
            if tname not in tables:
                continue
            if contype == "p":
                tables[tname].primary_key = tuple(cols)
            elif contype == "u":
                uniques.setdefault(tname, []).append(tuple(cols))
            elif contype == "f":
                fks.setdefault(tname, []).append(
                    ForeignKey(conname, tname, tuple(cols), ref_table, tuple(ref_cols), deferrable)
                )
        for tname, keys in uniques.items():
            tables[tname].unique_keys = tuple(keys)
        for tname, table_fks in fks.items():
            tables[tname].foreign_keys = tuple(table_fks)
        cur.execute(_SEQUENCES_SQL, (schema,))
        seqs: dict[str, list[Sequence]] = {}
        for tname, cname, seqname in cur.fetchall():
            seqs.setdefault(tname, []).append(Sequence(seqname, tname, cname))
        for tname, items in seqs.items():
            if tname in tables:
                tables[tname].sequences = tuple(items)
        cur.execute(_TRIGGERS_SQL, (schema,))
        for (tname,) in cur.fetchall():
            if tname in tables:
                tables[tname].has_user_triggers = True
    return Schema(schema, tables, conn.info.server_version)
