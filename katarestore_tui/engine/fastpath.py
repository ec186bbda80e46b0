"""A chunk of whole records -> COPY lines at compiled speed, or a refusal.

The exact path (backup/reader.py, engine/encoder.py, db/convert.py) builds a dict per
record and converts value by value in Python. Here msgspec (a C library) decodes a
chunk of the Node layout straight into typed Structs generated from the target's
columns and the key names the exact path has already seen: strings are checked and
copied as they are, numbers stay exact (ints as int, numeric as its own text, never a
float), jsonb is kept as the raw text of the file (`msgspec.Raw`, only its whitespace
removed, in C) and never parsed into Python objects. Columns of any other type are
decoded generically (fractions as exact Decimal) and go through the exact converter.

The fast path only ever says "these are the lines" or "not this chunk". It refuses a
chunk whenever it cannot prove its lines are the exact path's: a key it does not know
or a key missing (another key set), a value of a type it does not handle, a date with
an offset, a NUL, a value a converter refuses, bytes that are not UTF-8, bad JSON. The
exact path then reads that chunk as before (with its rejects and faults); the next
chunk is tried again. A differential test (tests/engine/test_fastpath.py) holds the
two paths to the same lines, rejects and faults.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec

from katarestore_tui.db.convert import ConversionError, converter_for
from katarestore_tui.db.schema import Column, Table
from katarestore_tui.engine.copytext import copy_escape, escape_all

_INTEGERS = frozenset({"int2", "int4", "int8", "oid", "xid", "xid8", "cid"})
_NUMBERS = frozenset({"float4", "float8"})
_SHIFTED = frozenset({"timestamp", "date", "time"})  # an offset is moved to UTC: refused here
_TIME_ZONED = frozenset({"timestamptz", "timetz"})  # strings go as they are
REFUSALS_BEFORE_PAUSE = 4  # refused chunks in a row before it tries only now and then
PAUSE_CHUNKS = 16  # then one chunk in this many is tried
# a key msgspec refuses as a field's name (`rename`): a backslash, a quote, a control character
_UNNAMEABLE = re.compile(r'[\\"\x00-\x1f]')
MAX_PLANS = 32  # key sets a table's file may bring before the fast path stops learning


class _Refuse(Exception):
    """This chunk is not provably the exact path's: let the exact path read it."""


def _refuse() -> str:
    raise _Refuse


def kind_of(column: Column) -> str:
    """How the fast path decodes `column`: text, int, bool, shifted, raw, or any."""
    base = column.base_type
    if column.is_array or column.enum_labels or column.category == "E":
        return "any"
    if base in _INTEGERS or base in _NUMBERS:
        return "int"  # ints as their digits, strings as they are (the server casts)
    if base == "bool":
        return "bool"
    if base in _SHIFTED:
        return "shifted"
    if base in _TIME_ZONED:
        return "text"
    if base == "jsonb":
        return "raw"  # json (not b) keeps its whitespace: the exact converter writes it
    if base in ("json", "bytea"):
        return "any"
    if column.category == "N":
        return "int"  # numeric, money: "12.50" as it is, an int as its digits
    return "text"  # text, varchar, uuid, inet ...: strings as they are


_TYPES: dict[str, Any] = {
    "text": str | None,
    "int": int | str | None,
    "bool": bool | None,
    "shifted": str | None,
    "raw": msgspec.Raw,
    "any": Any,
}


class ChunkPlan:
    """The Struct and the line builder for one key set of one table."""

    def __init__(self, table: Table, key_columns: dict[str, str | None]) -> None:
        """`key_columns`: every key of the records, with the column it fills (None:
        a key the exact path ignores)."""
        writable = {c.name: c for c in table.writable_columns}
        order = {name: i for i, name in enumerate(writable)}
        fields: list[tuple[str, Any]] = []
        rename: dict[str, str] = {}
        picks: list[tuple[str, Column]] = []
        for i, (key, column) in enumerate(key_columns.items()):
            name = f"f{i}"
            rename[name] = key
            if column is None:
                fields.append((name, Any))  # never used; decoded so its UTF-8 is checked
            else:
                fields.append((name, _TYPES[kind_of(writable[column])]))
                picks.append((name, writable[column]))
        picks.sort(key=lambda p: order[p[1].name])
        self.columns = tuple(column.name for _, column in picks)
        struct: Any = msgspec.defstruct(
            # untracked by the GC, which would otherwise scan a chunk's Structs again and
            # again; no cycle can run through one (decoded JSON never refers back to it)
            "Record", fields, forbid_unknown_fields=True, rename=rename, kw_only=True, gc=False
        )
        self._decode = msgspec.json.Decoder(list[struct], float_hook=Decimal).decode
        self._encode_checked = _compile(picks, clean=False)
        self._encode_clean = _compile(picks, clean=True)

    def lines(self, array: bytes) -> list[bytes] | None:
        """COPY lines of the JSON array `array`, one per record, or None: not this chunk."""
        try:
            # the indentation goes, in C, once for the chunk: jsonb values arrive compact
            compact = _format(array, indent=-1)
            records = self._decode(compact)
            # A JSON string can hold a backslash, tab, newline, CR or NUL only as an escape,
            # which is a backslash in the text: without one, no line needs escaping.
            encode = self._encode_checked if b"\\" in compact else self._encode_clean
            return encode(records)
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeError, _Refuse,
                ConversionError, RecursionError):
            return None


_format = msgspec.json.format


def _term(name: str, column: Column, i: int, env: dict[str, Any], clean: bool) -> str:
    """The expression that gives the text (or None) of field `name` of record `r`."""
    kind = kind_of(column)
    x = f"r.{name}"
    if kind == "text":
        return x
    if kind == "int":
        return f"(None if (x{i} := {x}) is None else str(x{i}))"  # str(str) is the str itself
    if kind == "bool":
        return f'(None if (x{i} := {x}) is None else ("t" if x{i} else "f"))'
    if kind == "shifted":
        # the exact path moves an offset to UTC; a string that may hold one is refused
        test = (f'("+" in x{i} or x{i}.rfind("-") > 9)' if column.base_type != "time"
                else f'("+" in x{i} or "-" in x{i})')
        return f"(x{i} if (x{i} := {x}) is None or not {test} else refuse())"
    if kind == "raw":
        # msgspec checks the UTF-8 of what it decodes, not of a Raw: str() checks it here
        return f'(None if (x{i} := str({x}, "utf-8")) == "null" else x{i})'
    env[f"c{i}"] = converter_for(column)
    if clean:  # its converter may write a backslash (bytea's \x, array quoting): escaped here
        return f"(None if (x{i} := c{i}({x})) is None else escape(x{i}))"
    return f"c{i}({x})"


def _compile(picks: list[tuple[str, Column]], clean: bool) -> Callable[[list[Any]], list[bytes]]:
    """`records -> lines` as one generated loop, with no call per value.

    `clean`: for a chunk with no backslash at all, where no value taken from the JSON
    needs COPY escaping and none holds a NUL (the converters of the other columns refuse
    a NUL and are escaped); otherwise the line assembly of the exact encoder (NULL as
    \\N, one scan for what needs escaping), where a NUL refuses the chunk.
    """
    env: dict[str, Any] = {"refuse": _refuse, "escape_all": escape_all, "escape": copy_escape}
    terms = [_term(name, column, i, env, clean) for i, (name, column) in enumerate(picks)]
    tabs = len(picks) - 1
    if clean:
        body = """
        if None in t:
            line = "\\t".join(["\\\\N" if s is None else s for s in t])
        else:
            line = "\\t".join(t)
"""
    else:
        body = f"""
        if None in t:
            present = "\\t".join([s for s in t if s is not None])
            n = len(t) - t.count(None) - 1
            line = "\\t".join(["\\\\N" if s is None else s for s in t])
        else:
            present = line = "\\t".join(t)
            n = {tabs}
        if "\\x00" in present:
            refuse()
        if "\\\\" in present or "\\n" in present or "\\r" in present or present.count("\\t") != n:
            line = escape_all(t)
"""
    source = f"""
def encode_all(records):
    out = []
    append = out.append
    for r in records:
        t = ({', '.join(terms)},){body}
        append((line + "\\n").encode())
    return out
"""
    exec(source, env)  # the source holds only generated names and integers
    encode_all: Callable[[list[Any]], list[bytes]] = env["encode_all"]
    return encode_all


class FastPath:
    """The chunk hook of one table: tries the plan for the key set last seen, per chunk.

    `learn` is told of each key order the exact encoder uses (keys -> column or None);
    the plan follows the latest one, so a file whose keys change goes fast again as soon
    as the exact path has read one chunk of the new keys. Key orders of one key set share
    a plan (a Struct does not care about order, and the lines do not depend on it).
    """

    def __init__(self, table: Table) -> None:
        self.table = table
        self._plans: dict[frozenset[tuple[str, str | None]], ChunkPlan] = {}
        self._by_layout: dict[int, ChunkPlan | None] = {}  # id of the encoder's layout -> plan
        self._plan: ChunkPlan | None = None
        self._refused = 0  # chunks refused in a row
        self._seen = 0

    def learn(self, layout: object, key_columns: Callable[[], dict[str, str | None]]) -> None:
        """The exact encoder used `layout` (it keeps each for as long as this lives);
        `key_columns()` gives its keys, each with the column it fills (None: ignored)."""
        try:
            plan = self._by_layout[id(layout)]
        except KeyError:
            plan = self._by_layout[id(layout)] = self._plan_for(key_columns())
        if plan is not None:
            self._plan = plan

    def _plan_for(self, key_columns: dict[str, str | None]) -> ChunkPlan | None:
        if not any(column is not None for column in key_columns.values()):
            return None  # no key is a column: the exact path refuses those records
        signature = frozenset(key_columns.items())
        plan = self._plans.get(signature)
        if plan is None:
            if len(self._plans) >= MAX_PLANS:
                return None  # a file of ever new key sets: leave it to the exact path
            if any(_UNNAMEABLE.search(key) for key in key_columns):
                return None  # msgspec cannot match such a key: the exact path reads them
            try:
                plan = ChunkPlan(self.table, key_columns)
            except (ValueError, TypeError):  # any other name msgspec will not take
                return None
            self._plans[signature] = plan
        return plan

    @property
    def columns(self) -> tuple[str, ...]:
        """The COPY columns of the lines of the last chunk taken."""
        return self._plan.columns if self._plan is not None else ()

    def chunk(self, array: bytes) -> list[bytes] | None:
        """The hook: COPY lines for the records of `array`, or None (the exact path reads it)."""
        plan = self._plan
        if plan is None:
            return None
        self._seen += 1
        if self._refused >= REFUSALS_BEFORE_PAUSE and self._seen % PAUSE_CHUNKS:
            return None  # many refusals in a row: try one chunk in PAUSE_CHUNKS
        lines = plan.lines(array)
        self._refused = self._refused + 1 if lines is None else 0
        return lines
