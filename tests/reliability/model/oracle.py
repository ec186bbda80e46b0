"""The plain oracle: what the target and the quarantine must hold, computed from the scenario alone.

Rules, per table, in file order (the records a cut file still holds completely):
- not an object, an unparsable line, a value of the wrong type, out of range, too long
  for varchar(8), NUL, NOT NULL or CHECK broken: failed (quarantined);
- a key that is already there (pre-existing or loaded before): a duplicate under
  --on-conflict skip (the row untouched); under update the row takes the record's values
  for the keys it has, unless that breaks a unique key or a foreign key: then failed, old
  row kept;
- a new key whose secondary unique key (plain, partial, lower()) clashes: failed;
- otherwise inserted. Then foreign keys are judged on the final state, to a fixpoint: a
  record whose parent is in no row at the end is failed (an inserted one removed, an
  update reverted). Pre-existing rows are never removed or changed except by an update.
A decision that leaned on a row later removed by the FK fixpoint makes the scenario
`ambiguous` (two answers defensible); the generator avoids those and the shrinker skips them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.reliability.model.files import BAD_LINE
from tests.reliability.model.scenario import Scenario, TableSpec, camel

INT_MIN, INT_MAX = -(2**31), 2**31 - 1


@dataclass
class TableExpect:
    records: int = 0
    loaded: int = 0
    duplicates: int = 0
    failed: int = 0
    failed_indexes: list[int] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)  # in TableSpec.columns() order
    inserted_ids: list[int] = field(default_factory=list)  # rows this run inserted
    fault: bool = False


@dataclass
class Expect:
    tables: dict[str, TableExpect]
    ambiguous: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        bad = any(t.failed or t.fault for t in self.tables.values())
        return "partial" if bad else "completed"


def _is_int(v: object) -> bool:
    return type(v) is int and INT_MIN <= v <= INT_MAX


def invalid(record: object, table: TableSpec) -> str | None:
    """Why this item can never load, from its values alone (None: it may)."""
    if not isinstance(record, dict) or BAD_LINE in record:
        return "not an object"
    keys = {camel(c): c for c in table.columns()}
    row = {keys[k]: v for k, v in record.items() if k in keys}
    if not _is_int(row.get("id")) and (table.pk or row.get("id") is not None):
        return "id"
    name = row.get("name")
    if type(name) is not str or len(name) > 8 or "\x00" in name:
        return "name"
    qty = row.get("qty")
    if qty is not None and (not _is_int(qty) or qty < 0):
        return "qty"
    code = row.get("code")
    if code is not None and (type(code) is not str or "\x00" in code):
        return "code"
    for c in table.fk_columns():
        if row.get(c) is not None and not _is_int(row[c]):
            return c
    return None


def columns_of(record: dict, table: TableSpec) -> dict:
    keys = {camel(c): c for c in table.columns()}
    return {keys[k]: v for k, v in record.items() if k in keys}


def _unique_key(table: TableSpec, row: dict):
    code = row.get("code")
    if table.unique is None or code is None:
        return None
    if table.unique == "partial":
        return code if (row.get("qty") or 0) > 100 else None
    return code.lower() if table.unique == "expr" else code


class _TableState:
    def __init__(self, spec: TableSpec, pre: list[dict]):
        self.spec = spec
        self.rows: dict[object, dict] = {}  # key -> row (keyless: a running number)
        self.origin: dict[object, int | None] = {}  # key -> record index that made it (None: pre)
        self.used: dict[int, list[str]] = {}  # record index -> decisions that leaned on its row
        self.counter = 0
        for r in pre:
            self._put({c: r.get(c) for c in spec.columns()}, None)

    def _put(self, row: dict, origin: int | None) -> object:
        key = row["id"] if self.spec.pk else ("n", self.counter)
        self.counter += 1
        self.rows[key] = row
        self.origin[key] = origin
        return key

    def clash(self, row: dict, skip_key: object = None) -> object | None:
        """The key of another row holding the same secondary unique value."""
        mine = _unique_key(self.spec, row)
        if mine is None:
            return None
        for key, other in self.rows.items():
            if key != skip_key and _unique_key(self.spec, other) == mine:
                return key
        return None

    def lean(self, key: object, why: str) -> None:
        origin = self.origin.get(key)
        if origin is not None:
            self.used.setdefault(origin, []).append(why)


def expect(scenario: Scenario, complete: dict[str, int], faults: dict[str, bool]) -> Expect:
    """`complete[t]`: records of t's file that are whole (all, unless the file is cut)."""
    states = {t.name: _TableState(t, scenario.preexisting.get(t.name, [])) for t in scenario.tables}
    out = Expect({t.name: TableExpect(records=complete[t.name], fault=faults[t.name])
                  for t in scenario.tables})
    fate: dict[tuple[str, int], tuple] = {}  # (table, index) -> ("ins", key) | ("upd", key, old) | ...
    for t in scenario.tables:
        st, exp = states[t.name], out.tables[t.name]
        for index, record in enumerate(scenario.files[t.name].records[: complete[t.name]]):
            if invalid(record, t):
                fate[(t.name, index)] = ("failed",)
                continue
            row = columns_of(record, t)
            if t.pk and row["id"] in st.rows:
                st.lean(row["id"], f"{t.name}[{index}] duplicate")
                if scenario.on_conflict != "update":
                    fate[(t.name, index)] = ("dup",)
                    continue
                old = st.rows[row["id"]]
                new = {**old, **row}
                clash = st.clash(new, skip_key=row["id"])
                if clash is not None:
                    st.lean(clash, f"{t.name}[{index}] unique clash")
                    fate[(t.name, index)] = ("failed",)
                    continue
                st.rows[row["id"]] = new
                fate[(t.name, index)] = ("upd", row["id"], old)
                continue
            full = {c: row.get(c) for c in t.columns()}
            clash = st.clash(full)
            if clash is not None:
                st.lean(clash, f"{t.name}[{index}] unique clash")
                fate[(t.name, index)] = ("failed",)
                continue
            fate[(t.name, index)] = ("ins", st._put(full, index))
    _fk_fixpoint(scenario, states, fate, out)
    _repeated_key_limits(scenario, complete, out)
    for t in scenario.tables:
        st, exp = states[t.name], out.tables[t.name]
        for (name, index), f in sorted(fate.items()):
            if name != t.name:
                continue
            if f[0] == "failed":
                exp.failed += 1
                exp.failed_indexes.append(index)
            elif f[0] == "dup" or f[0] == "upd":
                exp.duplicates += 1
            else:
                exp.loaded += 1
                exp.inserted_ids.append(st.rows[f[1]]["id"])
        exp.rows = sorted((tuple(r[c] for c in t.columns()) for r in st.rows.values()), key=row_order)
    return out


def _fk_fixpoint(scenario: Scenario, states, fate, out: Expect) -> None:
    """Fail every inserted or updated record whose parent is in no row at the end."""
    moved = True
    while moved:
        moved = False
        for (name, index), f in sorted(fate.items()):
            if f[0] not in ("ins", "upd"):
                continue
            st = states[name]
            row = st.rows.get(f[1])
            if row is None:  # an update of a row the fixpoint removed
                out.ambiguous.append(f"{name}[{index}] updates a row that was an orphan")
                fate[(name, index)] = ("failed",)
                moved = True
                break
            for fk in st.spec.fks:
                value = row.get(fk.column)
                if value is None or value in states[fk.ref_table].rows:
                    continue
                if index in st.used:
                    out.ambiguous.append(f"{name}[{index}] is an orphan, but {st.used[index]}")
                if f[0] == "ins":
                    del st.rows[f[1]]
                else:
                    st.rows[f[1]] = f[2]  # the update is refused: the old row stays
                fate[(name, index)] = ("failed",)
                moved = True
                break


def _repeated_key_limits(scenario: Scenario, complete: dict[str, int], out: Expect) -> None:
    """A key given more than once in one backup, a copy of which names a parent: row by row
    (each copy judged when it comes) and with `--on-conflict update` (copies merged, then
    judged) the end differs from one plain answer, and both are defensible: not judged here
    (README, known limits)."""
    if scenario.fk_mode != "immediate" and scenario.on_conflict != "update":
        return
    for t in scenario.tables:
        if not t.pk or not t.fks:
            continue
        copies: dict[object, list[dict]] = {}
        for record in scenario.files[t.name].records[: complete[t.name]]:
            if not invalid(record, t):
                row = columns_of(record, t)
                copies.setdefault(row["id"], []).append(row)
        for key, rows in copies.items():
            if len(rows) > 1 and any(r.get(fk.column) is not None for r in rows for fk in t.fks):
                out.ambiguous.append(f"{t.name}: key {key} is given {len(rows)} times and a copy "
                                     "names a parent (repeated-key known limit)")


def row_order(row: tuple) -> tuple:
    return tuple((v is None, str(type(v)), v if v is not None else 0) for v in row)
