"""Random scenarios for the model-based fault test: schema, pre-existing rows, backup, options, fault.

A scenario is plain data (JSON-serialisable), so a failure prints as a repro that can be
pasted back (`Scenario.from_json`). Every table has the same small column template, so the
oracle can decide each record's fate from a handful of rules:

    id int [PRIMARY KEY] [GENERATED ... AS IDENTITY]   key "id"
    name varchar(8) NOT NULL                          key "name"
    qty int CHECK (qty >= 0)                          key "qty"
    code text [UNIQUE plain | partial WHERE qty > 100 | expression lower(code)]   key "code"
    ref_<t> int REFERENCES <t>(id) [NOT VALID]        key "ref<T>" (camelCase, as Prisma writes)
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field

# Fault families; a scenario draws only from the families it is given.
ALL_FAMILIES = (
    "layouts",  # key order changes inside a file, nulls omitted (JSON Lines exports)
    "bad_values",  # wrong type, too long, CHECK, NOT NULL, NUL, not an object, bad JSON line
    "duplicates",  # the same key twice in the backup
    "formats",  # .jsonl, .json.gz, .jsonl.gz besides .json
    "truncated",  # a .json or .json.gz cut inside a record
    "kill9",  # kill -9 of the CLI at a committed batch, then --resume (maybe twice)
    "backend",  # pg_terminate_backend of the loader's sessions mid-table
    "crash",  # pg_ctl stop -m immediate + start of a private server, synchronous_commit off
    "preexisting",  # rows in the target before the run; duplicates of them; --on-conflict update
    "unique",  # a secondary unique key: plain, partial or expression
    "fk",  # a parent/child foreign key, orphan records
    "self_fk",  # a self-referencing foreign key, children before their parents
    "cycle",  # two tables referencing each other
    "not_valid",  # a NOT VALID foreign key over pre-existing orphan rows
    "identity",  # identity primary keys (ALWAYS / BY DEFAULT)
    "trigger",  # an AFTER INSERT audit trigger
    "row_mode",  # foreign keys checked row by row (fk_mode immediate)
    "jobs",  # --jobs 2
    "keyless",  # a table without any key
    "orphan_chain",  # a record referencing an orphan record: it is an orphan too (cascade)
    "kill_at_end",  # kill -9 once the checkpoint is dropped, before the run log says "completed"
)

BAD_KINDS = ("wrong_type", "too_long", "check", "not_null", "nul", "out_of_range", "not_object")


@dataclass
class FKSpec:
    column: str  # ref_<table>
    ref_table: str
    not_valid: bool = False


@dataclass
class TableSpec:
    name: str
    pk: bool = True
    identity: str | None = None  # "always" | "default"
    unique: str | None = None  # "plain" | "partial" | "expr"
    fks: list[FKSpec] = field(default_factory=list)
    trigger: bool = False

    def fk_columns(self) -> list[str]:
        return [fk.column for fk in self.fks]

    def columns(self) -> list[str]:
        return ["id", "name", "qty", "code", *self.fk_columns()]


@dataclass
class FileSpec:
    fmt: str  # json | jsonl | json.gz | jsonl.gz
    records: list  # items as written (dicts, or other JSON values; {"__badline__": text} in jsonl)
    cut: float | None = None  # cut the file at this fraction (inside a record), None: whole


@dataclass
class Fault:
    kind: str = "none"  # none | kill9 | backend | crash | kill_end
    table: str = ""
    at: int = 0  # strike once this many records of `table` are committed
    times: int = 1  # kill -9: how many times (the resume can be killed too)


@dataclass
class Scenario:
    seed: int
    tables: list[TableSpec]
    preexisting: dict[str, list[dict]]  # column -> value rows, inserted before the run
    files: dict[str, FileSpec]
    batch_size: int = 5
    on_conflict: str = "skip"
    jobs: int = 1
    fk_mode: str = "auto"  # auto (set-based, replica) | immediate (row by row)
    fault: Fault = field(default_factory=Fault)

    def table(self, name: str) -> TableSpec:
        return next(t for t in self.tables if t.name == name)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> Scenario:
        data = json.loads(text)
        tables = [TableSpec(**{**t, "fks": [FKSpec(**f) for f in t["fks"]]}) for t in data["tables"]]
        files = {k: FileSpec(**v) for k, v in data["files"].items()}
        return cls(**{**data, "tables": tables, "files": files, "fault": Fault(**data["fault"])})


def camel(column: str) -> str:
    """ref_t1 -> refT1: the backup's keys are camelCase, the columns snake_case."""
    head, *rest = column.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


class _Gen:
    """Draws one scenario; `fam(x)` says whether family x may be used."""

    def __init__(self, seed: int, families: set[str], size: int):
        self.rng = random.Random(seed)
        self.seed = seed
        self.families = families
        self.size = size

    def fam(self, name: str, p: float = 0.5) -> bool:
        return name in self.families and self.rng.random() < p

    def scenario(self) -> Scenario:
        tables = self.schema()
        pre = {t.name: self.preexisting(t, tables) for t in tables}
        good: dict[str, set[int]] = {t.name: {r["id"] for r in pre[t.name]} for t in tables}
        # draw ids first, so a record may reference a parent listed later (or in a later table)
        plans = {t.name: self.id_plan(t, pre[t.name]) for t in tables}
        for t in tables:
            good[t.name] |= {i for i, kind in plans[t.name] if kind == "good"}
        self.orphans = {t.name: [i for i, kind in plans[t.name] if kind == "orphan"] for t in tables}
        files = {t.name: self.file(t, plans[t.name], pre[t.name], good) for t in tables}
        s = Scenario(self.seed, tables, pre, files,
                     batch_size=self.rng.randint(1, 7),
                     on_conflict="update" if self.fam("preexisting", 0.4) else "skip",
                     jobs=2 if self.fam("jobs", 0.4) and len(tables) > 1 else 1,
                     fk_mode="immediate" if self.fam("row_mode", 0.5) else "auto")
        s.fault = self.fault(s)
        return s

    def schema(self) -> list[TableSpec]:
        rng = self.rng
        tables = [TableSpec("t0")]
        if self.fam("fk", 0.7) or self.fam("cycle", 0.6):
            tables.append(TableSpec("t1"))
        if self.fam("keyless", 0.3):
            tables.append(TableSpec(f"t{len(tables)}", pk=False))
        for t in tables:
            if t.pk and self.fam("identity", 0.3):
                t.identity = rng.choice(["always", "default"])
            if t.pk and self.fam("unique", 0.6):
                t.unique = rng.choice(["plain", "partial", "expr"])
            if self.fam("trigger", 0.3):
                t.trigger = True
        keyed = [t for t in tables if t.pk]
        if len(keyed) > 1 and "fk" in self.families:
            keyed[1].fks.append(FKSpec("ref_t0", "t0"))
            if self.fam("cycle", 0.5):
                keyed[0].fks.append(FKSpec("ref_t1", "t1"))
        for t in keyed:
            if self.fam("self_fk", 0.5):
                t.fks.append(FKSpec("ref_" + t.name, t.name))
        for t in tables:
            for fk in t.fks:
                fk.not_valid = self.fam("not_valid", 0.5)
        return tables

    def preexisting(self, t: TableSpec, tables: list[TableSpec]) -> list[dict]:
        if not self.fam("preexisting", 0.6):
            return []
        rows = []
        for i in range(1, self.rng.randint(1, 6) + 1):
            row = {"id": 1000 + i, "name": f"old{i}", "qty": self.rng.randint(0, 200),
                   "code": f"old{i}" if self.rng.random() < 0.7 else None}
            for fk in t.fks:
                row[fk.column] = None
                if fk.not_valid and self.rng.random() < 0.5:
                    row[fk.column] = 9000 + i  # an orphan the NOT VALID key lets stay
            rows.append(row)
        return rows

    def id_plan(self, t: TableSpec, pre: list[dict]) -> list[tuple[int, str]]:
        """(id, kind) per record in file order: good, a bad kind, dup (of an earlier id)."""
        n = self.rng.randint(max(2, self.size // 4), self.size)
        plan, next_id = [], 1
        for _ in range(n):
            kind = "good"
            if self.fam("bad_values", 0.15):
                kind = self.rng.choice(BAD_KINDS)
            elif self.fam("fk", 0.08) and t.fks:
                kind = "orphan"
            elif self.fam("unique", 0.08) and t.unique:
                kind = "unique_clash"
            elif self.fam("duplicates", 0.08) or (pre and self.fam("preexisting", 0.1)):
                kind = "dup"
            plan.append((next_id, kind))
            next_id += 1
        return plan

    def file(self, t: TableSpec, plan, pre: list[dict], good: dict[str, set[int]]) -> FileSpec:
        rng = self.rng
        records: list = []
        written: dict[int, dict] = {}  # good records by id, for duplicates
        codes = [r["code"] for r in pre if r["code"]]
        layout_every = rng.randint(1, 4)
        order = t.columns()
        omit_nulls = False
        for n, (rid, kind) in enumerate(plan):
            if self.fam("layouts", 0.9 if n % layout_every == 0 else 0.0):
                order = t.columns()
                rng.shuffle(order)
                omit_nulls = rng.random() < 0.5
            row = {"id": rid, "name": f"n{rid}", "qty": rng.choice([None, rng.randint(0, 200)]),
                   "code": rng.choice([None, f"c{rid}", f"C{rid}"])}
            for fk in t.fks:
                targets = sorted(good[fk.ref_table] - ({rid} if fk.ref_table == t.name else set()))
                row[fk.column] = rng.choice(targets) if targets and rng.random() < 0.7 else None
                if kind == "good" and self.orphans[fk.ref_table] and self.fam("orphan_chain", 0.3):
                    row[fk.column] = rng.choice(self.orphans[fk.ref_table])
            if kind == "dup":
                pool = list(written.values()) + pre
                if pool:
                    base = rng.choice(pool)
                    row = {**row, "id": base["id"], "code": base.get("code")}
                    for fk in t.fks:  # an update must keep a valid parent
                        row[fk.column] = base.get(fk.column) if fk.ref_table != t.name else None
                        if row[fk.column] is not None and row[fk.column] >= 9000:
                            row[fk.column] = None
                    if t.fks and self.fam("fk", 0.5):  # an update to a parent that is nowhere
                        row[rng.choice(t.fks).column] = 5000 + rid
            elif kind == "orphan":
                fk = rng.choice(t.fks)
                row[fk.column] = 5000 + rid
                row["code"] = None
            elif kind == "unique_clash":
                others = codes + [r["code"] for r in written.values() if r.get("code")]
                if others:
                    row["code"] = rng.choice(others)
                    row["qty"] = 150  # so a partial key (WHERE qty > 100) applies too
                    if t.unique == "expr":
                        row["code"] = row["code"].swapcase()
            elif kind in BAD_KINDS:
                row["code"] = None
                row = self.bad(row, kind)
            if kind == "good" and row.get("code"):
                codes.append(row["code"])
            if kind == "good":
                written[rid] = row
            if isinstance(row, dict):
                row = {camel(c): row[c] for c in order
                       if not (omit_nulls and row.get(c) is None and c in row and c not in ("name", "id"))}
            records.append(row)
        fmt = "json"
        if self.fam("formats", 0.6):
            fmt = rng.choice(["jsonl", "json.gz", "jsonl.gz"])
        if fmt.startswith("jsonl") and self.fam("bad_values", 0.3):
            records.insert(rng.randrange(len(records) + 1), {"__badline__": '{"id": 77, "name": '})
        cut = None
        if fmt != "jsonl" and self.fam("truncated", 0.25):
            cut = round(rng.uniform(0.2, 0.9), 3)
            fmt = "json.gz" if "formats" in self.families and rng.random() < 0.5 else "json"
        return FileSpec(fmt, records, cut)

    def bad(self, row: dict, kind: str):
        if kind == "not_object":
            return self.rng.choice([[1, 2], 42, "text", None, True])
        row = dict(row)
        if kind == "wrong_type":
            row[self.rng.choice(["qty", "id"])] = self.rng.choice(["abc", {"n": 1}, [1]])
        elif kind == "too_long":
            row["name"] = "x" * self.rng.randint(9, 20)
        elif kind == "check":
            row["qty"] = -self.rng.randint(1, 50)
        elif kind == "not_null":
            row["name"] = None
        elif kind == "nul":
            row["name"] = "a\u0000b"
        elif kind == "out_of_range":
            row["qty"] = 2**40
        return row

    def fault(self, s: Scenario) -> Fault:
        kinds = [k for k in ("kill9", "backend", "crash") if k in self.families]
        kinds += ["kill_end"] if "kill_at_end" in self.families else []
        if not kinds or self.rng.random() < 0.25:
            return Fault()
        kind = self.rng.choice(kinds)
        victim = self.rng.choice(s.tables).name
        n = len(s.files[victim].records)
        return Fault(kind, victim, self.rng.randint(1, max(1, n - 1)),
                     times=self.rng.choice([1, 1, 2]) if kind == "kill9" else 1)


def generate(seed: int, families: set[str] | frozenset[str], size: int = 40) -> Scenario:
    """One scenario from `seed`, using only `families`; `size` bounds the records per table."""
    return _Gen(seed, set(families), size).scenario()
