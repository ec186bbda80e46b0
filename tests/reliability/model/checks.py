"""The end-state checks of a scenario: each broken promise as one line, starting with its category.

Categories: status, balance, summary, rows, quarantine, constraint, sequence, trigger, leftover.
"""

from __future__ import annotations

from collections import Counter

import psycopg
from psycopg import sql

from katarestore_tui.engine.quarantine import read_quarantine
from tests.reliability.model.oracle import Expect, row_order
from tests.reliability.model.scenario import Scenario, TableSpec

AUDIT = "_model_audit"


def _rows(conn: psycopg.Connection, t: TableSpec) -> list[tuple]:
    cols = sql.SQL(", ").join(map(sql.Identifier, t.columns()))
    got = conn.execute(sql.SQL("SELECT {} FROM {}").format(cols, sql.Identifier(t.name))).fetchall()
    return sorted((tuple(r) for r in got), key=row_order)


def compare(s: Scenario, exp: Expect, out, conn: psycopg.Connection) -> list[str]:
    problems: list[str] = []
    summary = out.summary
    if summary.get("status") != exp.status:
        problems.append(f"status: {summary.get('status')!r}, expected {exp.status!r}"
                        f" (error: {summary.get('error')})")
    for t in s.tables:
        e = exp.tables[t.name]
        got = (summary.get("tables") or {}).get(t.name, {})
        counts = tuple(got.get(k) for k in ("records", "loaded", "duplicates", "failed"))
        want = (e.records, e.loaded, e.duplicates, e.failed)
        if None not in counts and counts[0] != sum(counts[1:]):
            problems.append(f"balance: {t.name} records {counts[0]} != loaded+duplicates+failed "
                            f"{sum(counts[1:])} {counts}")
        if counts != want:
            problems.append(f"summary: {t.name} (records, loaded, duplicates, failed) = {counts}, "
                            f"expected {want}")
        rows = _rows(conn, t)
        if rows != e.rows:
            extra = Counter(rows) - Counter(e.rows)
            missing = Counter(e.rows) - Counter(rows)
            problems.append(f"rows: {t.name} has {len(rows)} rows, expected {len(e.rows)}; "
                            f"extra {sorted(extra.elements(), key=str)[:5]}, "
                            f"missing {sorted(missing.elements(), key=str)[:5]}")
        entries = list(read_quarantine(out.run_id, t.name)) if out.run_id else []
        indexes = Counter(x.get("index") for x in entries)
        if indexes != Counter(e.failed_indexes):
            problems.append(f"quarantine: {t.name} indexes {sorted(indexes.elements(), key=str)}, "
                            f"expected {e.failed_indexes}")
        records = s.files[t.name].records
        for x in entries:
            i = x.get("index")
            if isinstance(i, int) and i < len(records) and isinstance(records[i], dict) \
                    and "__badline__" not in records[i] and x.get("record") != records[i]:
                problems.append(f"quarantine: {t.name}[{i}] kept {x.get('record')!r}, "
                                f"the file had {records[i]!r}")
    problems += _constraints(s, conn)
    problems += _audit(s, exp, conn)
    if conn.execute("SELECT to_regclass('_katarestore_progress')").fetchone()[0] is not None \
            and exp.status in ("completed", "partial") and summary.get("status") == exp.status:
        problems.append("leftover: _katarestore_progress still there after the run ended")
    return problems


def _constraints(s: Scenario, conn: psycopg.Connection) -> list[str]:
    """Every FK holds for every row that is not an untouched pre-existing row."""
    problems = []
    for t in s.tables:
        pre = {tuple(r.get(c) for c in t.columns()) for r in s.preexisting.get(t.name, [])}
        for fk in t.fks:
            orphans = conn.execute(sql.SQL(
                "SELECT {cols} FROM {child} c WHERE c.{col} IS NOT NULL AND NOT EXISTS"
                " (SELECT 1 FROM {parent} p WHERE p.id = c.{col})").format(
                cols=sql.SQL(", ").join(sql.SQL("c.") + sql.Identifier(x) for x in t.columns()),
                child=sql.Identifier(t.name), col=sql.Identifier(fk.column),
                parent=sql.Identifier(fk.ref_table))).fetchall()
            bad = [r for r in orphans if tuple(r) not in pre]
            if bad:
                problems.append(f"constraint: {t.name}.{fk.column} -> {fk.ref_table} violated by "
                                f"{bad[:3]}")
        if t.identity:
            top = conn.execute(sql.SQL("SELECT max(id) FROM {}").format(sql.Identifier(t.name))).fetchone()[0]
            nxt = conn.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", (t.name,)).fetchone()[0]
            if top is not None and nxt <= top:
                problems.append(f"sequence: {t.name} identity gives {nxt}, max(id) is {top}")
    return problems


def _audit(s: Scenario, exp: Expect, conn: psycopg.Connection) -> list[str]:
    """A trigger fires for every row the run inserted, once, or (replica mode) for none."""
    if not any(t.trigger for t in s.tables):
        return []
    problems = []
    for t in s.tables:
        if not t.trigger:
            continue
        fired = Counter(i for (i,) in conn.execute(f"SELECT id FROM {AUDIT} WHERE tbl = %s",
                                                   (t.name,)).fetchall())
        want = Counter(exp.tables[t.name].inserted_ids)
        if fired and fired != want:
            problems.append(f"trigger: {t.name} fired for {sorted(fired.elements())}, "
                            f"expected none or {sorted(want.elements())}")
    return problems
