"""Make a failing scenario small by hand-written steps (hypothesis would re-run the database
hundreds of times), and print it as a repro a person can read and paste back.

A candidate is kept when it still fails with a problem of the same category (the word
before the first colon) and the oracle is not ambiguous for it.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterator

from tests.reliability.model.scenario import Scenario, camel

Verdict = Callable[[Scenario], "list[str] | None"]  # problems, None when it passes/ambiguous


def categories(problems: list[str]) -> set[str]:
    return {p.split(":", 1)[0] for p in problems}


def _drop_table(s: Scenario, name: str) -> Scenario | None:
    if len(s.tables) == 1:
        return None
    c = copy.deepcopy(s)
    c.tables = [t for t in c.tables if t.name != name]
    c.files.pop(name)
    c.preexisting.pop(name, None)
    for t in c.tables:
        for fk in [f for f in t.fks if f.ref_table == name]:
            _drop_fk(c, t.name, fk.column)
    if c.fault.table == name:
        c.fault.kind, c.fault.table = "none", ""
    return c


def _drop_fk(c: Scenario, table: str, column: str) -> None:
    t = c.table(table)
    t.fks = [f for f in t.fks if f.column != column]
    key = camel(column)
    c.files[table].records = [{k: v for k, v in r.items() if k != key} if isinstance(r, dict) else r
                              for r in c.files[table].records]
    for row in c.preexisting.get(table, []):
        row.pop(column, None)


def _make_valid(c: Scenario, table: str, column: str) -> None:
    """A NOT VALID key made valid: the pre-existing orphans it allowed lose their parent."""
    for f in c.table(table).fks:
        if f.column == column:
            f.not_valid = False
    for row in c.preexisting.get(table, []):
        if (row.get(column) or 0) >= 9000:
            row[column] = None


def _set(s: Scenario, change: Callable[[Scenario], None]) -> Scenario:
    c = copy.deepcopy(s)
    change(c)
    return c


def candidates(s: Scenario) -> Iterator[Scenario]:
    """Smaller or plainer versions of `s`, the biggest cuts first."""
    if s.fault.kind != "none":
        yield _set(s, lambda c: setattr(c.fault, "kind", "none"))
        if s.fault.times > 1:
            yield _set(s, lambda c: setattr(c.fault, "times", 1))
    for t in s.tables:
        if d := _drop_table(s, t.name):
            yield d
    for attr, plain in (("jobs", 1), ("fk_mode", "auto"), ("on_conflict", "skip")):
        if getattr(s, attr) != plain:
            yield _set(s, lambda c, a=attr, v=plain: setattr(c, a, v))
    for name, spec in s.files.items():
        if spec.cut is not None:
            yield _set(s, lambda c, n=name: setattr(c.files[n], "cut", None))
        if spec.fmt != "json" and not any(isinstance(r, dict) and "__badline__" in r
                                          for r in spec.records):
            yield _set(s, lambda c, n=name: setattr(c.files[n], "fmt", "json"))
    for name, rows in s.preexisting.items():
        if rows:
            yield _set(s, lambda c, n=name: c.preexisting.__setitem__(n, []))
            for i in range(len(rows)):
                yield _set(s, lambda c, n=name, i=i: c.preexisting[n].pop(i))
    for t in s.tables:
        for fk in t.fks:
            yield _set(s, lambda c, n=t.name, col=fk.column: _drop_fk(c, n, col))
            if fk.not_valid:
                yield _set(s, lambda c, n=t.name, col=fk.column: _make_valid(c, n, col))
        for attr in ("unique", "identity", "trigger"):
            if getattr(t, attr):
                plain = False if attr == "trigger" else None
                yield _set(s, lambda c, n=t.name, a=attr, v=plain: setattr(c.table(n), a, v))
    for name, spec in s.files.items():
        n = len(spec.records)
        size = n // 2
        while size >= 1:
            for start in range(0, n, size):
                yield _set(s, lambda c, nm=name, a=start, b=start + size: _cut_records(c, nm, a, b))
            size //= 2
    if s.batch_size > 1:
        for b in range(1, s.batch_size):
            yield _set(s, lambda c, b=b: setattr(c, "batch_size", b))


def _cut_records(c: Scenario, name: str, a: int, b: int) -> None:
    del c.files[name].records[a:b]
    if c.fault.table == name:
        c.fault.at = max(1, min(c.fault.at, len(c.files[name].records) - 1))


def shrink(s: Scenario, problems: list[str], verdict: Verdict, seconds: float = 120,
           log: Callable[[str], None] = lambda m: None) -> tuple[Scenario, list[str]]:
    """Greedy: take each candidate that still fails the same way; after a success go on
    from the same place in the new candidate list (earlier steps seldom work twice), and
    sweep again from the top while the last sweep shrank anything."""
    want = categories(problems)
    deadline = time.monotonic() + seconds
    improved = True
    while improved and time.monotonic() < deadline:
        improved = False
        position = 0
        while time.monotonic() < deadline:
            pending = list(candidates(s))[position:]
            if not pending:
                break
            for offset, cand in enumerate(pending):
                if time.monotonic() >= deadline:
                    break
                got = verdict(cand)
                if got and categories(got) & want:
                    s, problems, improved = cand, got, True
                    position += offset
                    log(f"  smaller: {describe_size(s)}")
                    break
            else:
                break
    return s, problems


def describe_size(s: Scenario) -> str:
    return ", ".join(f"{n}: {len(f.records)} records" for n, f in s.files.items())


def repro(s: Scenario, problems: list[str]) -> str:
    """The scenario as a person reads it, then as JSON to replay with --replay."""
    lines = [f"seed {s.seed}: batch_size={s.batch_size} on_conflict={s.on_conflict} jobs={s.jobs}"
             f" fk_mode={s.fk_mode} fault={s.fault.kind}"
             + (f" at {s.fault.at} committed records of {s.fault.table} (x{s.fault.times})"
                if s.fault.kind != "none" else "")]
    for t in s.tables:
        extras = [x for x in (
            "PRIMARY KEY" if t.pk else "no key",
            f"identity {t.identity}" if t.identity else "",
            f"unique {t.unique}" if t.unique else "",
            "audit trigger" if t.trigger else "",
            *(f"{f.column} -> {f.ref_table}" + (" NOT VALID" if f.not_valid else "") for f in t.fks),
        ) if x]
        spec = s.files[t.name]
        lines.append(f"table {t.name} ({', '.join(extras)}); file {t.name}.{spec.fmt}"
                     + (f" cut at {spec.cut:.0%}" if spec.cut else ""))
        for row in s.preexisting.get(t.name, []):
            lines.append(f"  pre-existing {json.dumps(row)}")
        for i, r in enumerate(spec.records):
            lines.append(f"  [{i}] {json.dumps(r, ensure_ascii=True)}")
    lines += [f"PROBLEM {p}" for p in problems]
    lines.append("replay: " + s.to_json())
    return "\n".join(lines)
