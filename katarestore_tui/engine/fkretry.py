"""Row-by-row FK mode: records refused for a missing parent get a second, set-based chance.

With FK triggers on, a child whose parent comes in a later batch (a self-reference listed
children first) or in the other table of a cycle is refused with 23503 and quarantined.
Once every table is loaded, those records are staged together in temporary tables; the
ones whose parent is neither in the target nor among the staged rows are pruned until
nothing moves (the same fixpoint the set-based check reaches), and the rest are inserted
in one statement, so the FK triggers, checked at its end, see parents and children (and
both sides of a cycle) at once. What still has no parent stays quarantined as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from katarestore_tui.db.convert import ConversionError
from katarestore_tui.db.schema import ForeignKey, Table
from katarestore_tui.engine import checkpoint
from katarestore_tui.engine.encoder import RecordEncoder
from katarestore_tui.engine.events import DONE, PARTIAL, TableStats
from katarestore_tui.engine.plan import Plan
from katarestore_tui.engine.quarantine import QuarantineWriter, read_entries

POSITION = "_katarestore_position"  # the entry's place in the table's quarantine file


def _waiting(entry: dict[str, Any]) -> bool:
    return entry.get("sqlstate") == "23503" and entry.get("phase", "load") == "load"


def _stage_name(table: str) -> str:
    return f"_katarestore_fk_{abs(hash(table)) % 10**8}"


def _stage(conn: psycopg.Connection, schema: str, table: Table, entries: list[dict[str, Any]]) -> int:
    """Copy the waiting records into a temporary twin of the table; returns how many."""
    stage = sql.Identifier(_stage_name(table.name))
    conn.execute(sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP")
                 .format(stage, sql.Identifier(schema, table.name)))
    conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN {} int").format(stage, sql.Identifier(POSITION)))
    encoder = RecordEncoder(table)
    layouts: dict[tuple[str, ...], list[bytes]] = {}
    for position, entry in enumerate(entries):
        if not _waiting(entry) or not isinstance(entry.get("record"), dict):
            continue
        try:
            layout, line = encoder.encode(entry["record"])
        except ConversionError:
            continue
        if not layout.columns:
            continue
        layouts.setdefault(layout.columns, []).append(line[:-1] + b"\t%d\n" % position)
    with conn.cursor() as cur:
        for columns, lines in layouts.items():
            names = sql.SQL(", ").join(map(sql.Identifier, (*columns, POSITION)))
            with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(stage, names)) as copy:
                copy.write(b"".join(lines))
    return sum(len(lines) for lines in layouts.values())


def _drop_taken_keys(conn: psycopg.Connection, schema: str, table: Table) -> None:
    """A key already in the table, or staged twice: that record stays quarantined as it is."""
    key = table.conflict_key
    if not key:
        return
    same = sql.SQL(" AND ").join(
        sql.SQL("{a}.{c} = s.{c}").format(a=sql.Identifier("o"), c=sql.Identifier(c)) for c in key)
    stage = sql.Identifier(_stage_name(table.name))
    conn.execute(sql.SQL(
        "DELETE FROM {stage} AS s WHERE EXISTS (SELECT 1 FROM {target} AS o WHERE {same})"
        " OR EXISTS (SELECT 1 FROM {stage} AS o WHERE {same} AND o.{pos} < s.{pos})"
    ).format(stage=stage, target=sql.Identifier(schema, table.name), same=same,
             pos=sql.Identifier(POSITION)))


def _prune(conn: psycopg.Connection, schema: str, tables: dict[str, Table]) -> None:
    """Drop staged rows with a parent neither in the target nor staged, until none moves."""
    for table in tables.values():
        _drop_taken_keys(conn, schema, table)
    while True:
        moved = 0
        for table in tables.values():
            for fk in table.foreign_keys:
                moved += _prune_fk(conn, schema, fk, fk.ref_table in tables)
        if not moved:
            return


def _prune_fk(conn: psycopg.Connection, schema: str, fk: ForeignKey, parent_staged: bool) -> int:
    def match(alias: str) -> sql.Composable:
        return sql.SQL(" AND ").join(
            sql.SQL("{}.{} = s.{}").format(sql.Identifier(alias), sql.Identifier(pc),
                                           sql.Identifier(cc))
            for cc, pc in zip(fk.columns, fk.ref_columns, strict=True))

    present = sql.SQL(" AND ").join(
        sql.SQL("s.{} IS NOT NULL").format(sql.Identifier(c)) for c in fk.columns)
    staged: sql.Composable = sql.SQL("")
    if parent_staged:
        staged = sql.SQL(" AND NOT EXISTS (SELECT 1 FROM {} AS q WHERE {})").format(
            sql.Identifier(_stage_name(fk.ref_table)), match("q"))
    statement = sql.SQL(
        "DELETE FROM {stage} AS s WHERE {present}"
        " AND NOT EXISTS (SELECT 1 FROM {parent} AS p WHERE {in_target}){staged}"
    ).format(stage=sql.Identifier(_stage_name(fk.table)), present=present,
             parent=sql.Identifier(schema, fk.ref_table), in_target=match("p"), staged=staged)
    return conn.execute(statement).rowcount


def _insert_all(conn: psycopg.Connection, schema: str, tables: dict[str, Table],
                columns: dict[str, list[str]]) -> None:
    """One statement for every table: FK triggers fire at its end, on all rows at once."""
    parts = []
    for name, table in tables.items():
        cols = sql.SQL(", ").join(map(sql.Identifier, columns[name]))
        overriding = any(table.columns[c].identity == "a" for c in columns[name])
        # in file order, and a row clashing on a unique key (with the table or an earlier
        # staged row) is skipped, not the end of the whole retry: it stays quarantined
        parts.append(sql.SQL("INSERT INTO {} ({}) {}SELECT {} FROM {} ORDER BY {}"
                             " ON CONFLICT DO NOTHING").format(
            sql.Identifier(schema, name), cols,
            sql.SQL("OVERRIDING SYSTEM VALUE " if overriding else ""), cols,
            sql.Identifier(_stage_name(name)), sql.Identifier(POSITION)))
    *first, last = parts
    ctes = sql.SQL(", ").join(
        sql.SQL("{} AS ({})").format(sql.Identifier(f"w{i}"), part) for i, part in enumerate(first))
    conn.execute(sql.SQL("WITH {} {}").format(ctes, last) if first else last)


def _positions(conn: psycopg.Connection, name: str) -> set[int]:
    rows = conn.execute(sql.SQL("SELECT {} FROM {}").format(
        sql.Identifier(POSITION), sql.Identifier(_stage_name(name)))).fetchall()
    return {r[0] for r in rows}


def _received(conn: psycopg.Connection, schema: str, table: Table) -> set[int]:
    """The staged rows the table holds after the insert (a BEFORE trigger may drop some)."""
    same = sql.SQL(" AND ").join(
        sql.SQL("t.{c} = s.{c}").format(c=sql.Identifier(c)) for c in table.conflict_key)
    rows = conn.execute(sql.SQL(
        "SELECT s.{pos} FROM {stage} AS s WHERE EXISTS (SELECT 1 FROM {target} AS t WHERE {same})"
    ).format(pos=sql.Identifier(POSITION), stage=sql.Identifier(_stage_name(table.name)),
             target=sql.Identifier(schema, table.name), same=same)).fetchall()
    return {r[0] for r in rows}


def _retryable(table: Table) -> bool:
    """With triggers that may drop rows, only a keyed table can tell what it received."""
    return bool(table.conflict_key) or not table.has_user_triggers


def retry_missing_parents(
    conn: psycopg.Connection, plan: Plan, stats: dict[str, TableStats],
    quarantine: QuarantineWriter, run_id: str, commit_counts: bool = True,
    warn: Callable[[str], None] = lambda _m: None,
) -> int:
    """Load the quarantined 23503 records that have their parents now; returns how many."""
    tables: dict[str, Table] = {}
    entries: dict[str, list[dict[str, Any]]] = {}
    for table_plan in plan.tables:
        path = quarantine.path(table_plan.table)
        if path.exists():
            found = list(read_entries(path))  # a quarantine is small next to its table
            if _retryable(plan.schema.tables[table_plan.table]) and any(_waiting(e) for e in found):
                tables[table_plan.table] = plan.schema.tables[table_plan.table]
                entries[table_plan.table] = found
    if not tables:
        return 0
    loaded: dict[str, set[int]] = {}
    with conn.transaction():
        conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for name, table in tables.items():
            _stage(conn, plan.schema.name, table, entries[name])
        _prune(conn, plan.schema.name, tables)
        loaded = {name: _positions(conn, name) for name in tables}
        if not any(loaded.values()):
            return 0
        columns = {n: [c.name for c in t.writable_columns] for n, t in tables.items()}
        try:
            with conn.transaction():
                _insert_all(conn, plan.schema.name, tables, columns)
        except psycopg.Error as exc:  # another error than a parent: leave them quarantined
            warn("records refused for a missing parent could not be loaded again "
                 f"({(exc.diag.message_primary or str(exc)).strip()}); they stay quarantined")
            return 0
        for name, table in tables.items():
            if table.conflict_key:  # a trigger, or a unique clash, may have kept a row out
                loaded[name] &= _received(conn, plan.schema.name, table)
        if commit_counts:
            for name, positions in loaded.items():
                checkpoint.record_reloaded(conn, plan.schema.name, run_id, name, len(positions))
    for name, positions in loaded.items():
        _forget_positions(quarantine, name, positions)
        table_stats = stats[name]
        table_stats.loaded += len(positions)
        table_stats.failed -= len(positions)
        if table_stats.failed == 0 and table_stats.state == PARTIAL and not table_stats.error:
            table_stats.state = DONE
    return sum(len(p) for p in loaded.values())


def _forget_positions(quarantine: QuarantineWriter, table: str, positions: set[int]) -> None:
    seen = -1

    def keep(_entry: dict[str, Any]) -> bool:
        nonlocal seen
        seen += 1
        return seen not in positions

    quarantine.forget(table, keep)
