"""engine.fastpath: the typed chunk decoder gives what the exact path gives, or steps aside.

Every file is encoded twice, once with the fast path and once without it, and both runs
must yield the same batches: the same column lists, record indexes and COPY lines, the
same rejects (index, cause, column), the same checkpoints and the same fault (offset,
index, message). The one thing allowed to differ is the text of a jsonb value (the fast
path sends the file's own JSON, the exact path re-writes it): there the server itself
must store the same value from both (`::jsonb::text`), or refuse both the same way.
"""

from __future__ import annotations

import gzip
import json
import random
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from katarestore_tui.backup import reader
from katarestore_tui.backup.catalog import table_file
from katarestore_tui.db.schema import Table, read_schema
from katarestore_tui.engine import encoder, fastpath
from katarestore_tui.engine.encoder import EncodedBatch, SourceEnd, encoded_batches

SCHEMA = """
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE rows (
    id bigint PRIMARY KEY,
    user_id text,
    title varchar(40),
    amount numeric(12,2),
    ratio float8,
    active boolean,
    meta jsonb,
    doc json,
    tags text[],
    blob bytea,
    mood mood,
    key uuid,
    created_at timestamp(3),
    seen_at timestamptz,
    day date
);
"""
KEYS = {"id": "id", "userId": "user_id", "title": "title", "amount": "amount", "ratio": "ratio",
        "active": "active", "meta": "meta", "doc": "doc", "tags": "tags", "blob": "blob",
        "mood": "mood", "key": "key", "createdAt": "created_at", "seenAt": "seen_at", "day": "day"}


@pytest.fixture
def rows_table(db: psycopg.Connection) -> Table:
    db.execute(SCHEMA)
    return read_schema(db).tables["rows"]


def stringify(records: list) -> bytes:
    """As `JSON.stringify(rows, null, 2)` writes them."""
    return json.dumps(records, indent=2, ensure_ascii=False).encode()


def encode(path: Path, table: Table, fast: bool, monkeypatch: pytest.MonkeyPatch,
           batch_size: int = 7, skip: int = 0) -> list[EncodedBatch | SourceEnd]:
    with monkeypatch.context() as patch:
        patch.setattr(encoder, "FAST_PATH", fast)
        tf = table_file(path)
        assert tf is not None
        return list(encoded_batches(tf, table, batch_size, skip))


def fields(line: bytes) -> list[str]:
    return line.decode().removesuffix("\n").split("\t")


def stored_jsonb(db: psycopg.Connection, text: str) -> str:
    """What the server stores for COPY field `text` of a jsonb column (or its refusal)."""
    if text == "\\N":
        return "NULL"
    value = text.replace("\\\\", "\x00B").replace("\\n", "\n").replace("\\t", "\t") \
        .replace("\\r", "\r").replace("\x00B", "\\")
    try:
        with db.transaction():
            return db.execute("SELECT %s::jsonb::text", (value,)).fetchone()[0]
    except psycopg.Error as exc:
        return f"refused {exc.sqlstate}"


def assert_same(db: psycopg.Connection, table: Table, fast: list, exact: list) -> None:
    assert len(fast) == len(exact)
    types = {name: c.base_type for name, c in table.columns.items()}
    for got, want in zip(fast, exact, strict=True):
        assert type(got) is type(want)
        if isinstance(want, SourceEnd):
            assert got == want  # records read, bytes read and the fault (offset, index, message)
            continue
        assert (got.columns, got.indexes, got.records_read, got.bytes_read, got.new_ignored_keys) \
            == (want.columns, want.indexes, want.records_read, want.bytes_read, want.new_ignored_keys)
        assert [(r.index, r.cause, r.column, r.record) for r in got.rejects] \
            == [(r.index, r.cause, r.column, r.record) for r in want.rejects]
        for line, wanted in zip(got.lines, want.lines, strict=True):
            if line == wanted:
                continue
            for column, a, b in zip(got.columns, fields(line), fields(wanted), strict=True):
                if a != b:
                    assert types[column] == "jsonb", (column, a, b)
                    assert stored_jsonb(db, a) == stored_jsonb(db, b), (column, a, b)


# values of each column's usual kind (no NUL), and the odd ones a backup may hold
texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=6)
odd = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                st.floats(allow_nan=False, allow_infinity=False), texts,
                st.sampled_from(["a\x00b", "2024-11-03T10:15:30.123+02:00", "12.50", "1e3", "t",
                                 "\\x0a0b", "AAE=", "{a,b}", "happy", "x\ty\\z\n"]))
nested = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**66), 2**66),
              st.floats(allow_nan=False, allow_infinity=False), texts),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=6)
usual = {
    "id": st.integers(0, 10**6), "userId": st.text(max_size=10), "title": texts,
    "amount": st.sampled_from(["12.50", "0.01", "-3", "99999.99"]),
    "ratio": st.one_of(st.integers(-(2**70), 2**70), st.sampled_from(["0.5", "1e3"])),
    "active": st.booleans(), "meta": nested, "doc": nested,
    "tags": st.lists(texts, max_size=3), "blob": st.just({"type": "Buffer", "data": [0, 9, 255]}),
    "mood": st.sampled_from(["happy", "sad"]),
    "key": st.uuids().map(str),
    "createdAt": st.sampled_from(["2024-11-03T10:15:30.123Z", "2020-02-29T00:00:00.000Z"] * 4
                                 + ["2024-11-03T10:15:30.123+02:00", "2024-11-03 10:15-05"]),
    "seenAt": st.sampled_from(["2024-11-03T10:15:30.123Z", "2024-11-03T10:15:30+05:30"]),
    "day": st.sampled_from(["2024-11-03T00:00:00.000Z", "2024-11-03"] * 4 + ["2024-11-03T23:00:00-05:00"]),
}


@st.composite
def record(draw: st.DrawFn) -> dict:
    keys = list(KEYS)
    if draw(st.integers(0, 19)) == 7:  # a key missing, or an extra one, or another spelling
        change = draw(st.sampled_from(["drop", "extra", "snake"]))
        if change == "drop":
            keys.remove(draw(st.sampled_from(keys)))
        elif change == "extra":
            keys.append(draw(st.sampled_from(["notAColumn", 'quote"key'])))
        else:
            keys.append("user_id")  # a second key for user_id: the exact path ignores it
    if draw(st.integers(0, 19)) == 7:  # another key order
        random.Random(draw(st.integers(0, 99))).shuffle(keys)
    odd_share = draw(st.sampled_from([0] * 9 + [3]))  # most records hold only usual values
    out = {}
    for key in keys:
        if key in usual and not (odd_share and draw(st.integers(0, odd_share)) == 1):
            out[key] = draw(usual[key])
        else:
            out[key] = draw(odd)
    if "title" in out and draw(st.integers(0, 29)) == 7:
        out["title"] = "a\x00b"  # the exact path refuses it, naming the column
    return out


records = st.lists(record(), min_size=3, max_size=30)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=records, damage=st.data(), read_size=st.sampled_from([64, 700, 2000]),
       batch_size=st.sampled_from([3, 7, 1000]), compressed=st.booleans(), skip=st.integers(0, 5))
def test_both_paths_give_the_same_batches(db, rows_table, tmp_path_factory, monkeypatch, data, damage,
                                          read_size, batch_size, compressed, skip):
    monkeypatch.setattr(reader, "READ_SIZE", read_size)
    text = stringify(data)
    kind = damage.draw(st.sampled_from(["none", "none", "cut", "flip", "append"]))
    if kind == "cut":
        text = text[: damage.draw(st.integers(0, len(text) - 1))]
    elif kind == "flip":
        at = damage.draw(st.integers(0, len(text) - 1))
        text = text[:at] + bytes([damage.draw(st.integers(0, 255))]) + text[at + 1:]
    elif kind == "append":
        text += damage.draw(st.sampled_from([b"\n[]", b",", b"x", b"\n  }"]))
    path = tmp_path_factory.mktemp("fast") / ("t.json.gz" if compressed else "t.json")
    path.write_bytes(gzip.compress(text, mtime=0) if compressed else text)

    with monkeypatch.context() as patch:  # one wrapper per example, not one more each time
        counts = count_taken(patch)
        fast = encode(path, rows_table, True, patch, batch_size, skip)
    event(f"fast path took {'no' if not counts[0] else 'some'} chunks")
    exact = encode(path, rows_table, False, monkeypatch, batch_size, skip)
    assert_same(db, rows_table, fast, exact)


def prisma_rows(n: int) -> list[dict]:
    return [{"id": i, "userId": f"u{i % 7}", "title": f"post {i}\twith a tab" if i % 5 == 0 else f"post {i}",
             "amount": f"{i}.50", "ratio": i, "active": i % 2 == 0,
             "meta": {"tags": ["a", "b\\c"], "score": 1.50, "n": {"deep": [i, None, "é"]}},
             "doc": {"k": [1, 2]}, "tags": ["x", "y"], "blob": None, "mood": "sad",
             "key": "7d444840-9dc0-11d1-b245-5ffdce74fad2",
             "createdAt": "2024-11-03T10:15:30.123Z", "seenAt": "2024-11-03T10:15:30.123Z",
             "day": "2024-11-03T00:00:00.000Z"} for i in range(n)]


def count_taken(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Patch FastPath.chunk to count the chunks it took and refused: [taken, refused]
    (not counted: the chunks before it has learned any key set)."""
    counts = [0, 0]
    original = fastpath.FastPath.chunk

    def chunk(self, array: bytes):
        learned = self.columns != ()
        lines = original(self, array)
        if learned:
            counts[0 if lines is not None else 1] += 1
        return lines

    monkeypatch.setattr(fastpath.FastPath, "chunk", chunk)
    return counts


def test_a_clean_prisma_file_goes_fast_and_loads_what_the_exact_path_loads(
        db, rows_table, tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "READ_SIZE", 4096)
    path = tmp_path / "rows.json"
    path.write_bytes(stringify(prisma_rows(300)))
    counts = count_taken(monkeypatch)
    fast = encode(path, rows_table, True, monkeypatch, batch_size=50)
    assert counts[0] > 10 and counts[1] == 0  # every chunk after the first went fast
    exact = encode(path, rows_table, False, monkeypatch, batch_size=50)
    assert_same(db, rows_table, fast, exact)
    # and the server stores the same rows from both
    for label, out in (("fast", fast), ("exact", exact)):
        db.execute(f"CREATE TABLE rows_{label} (LIKE rows)")
        with db.cursor() as cur, cur.copy(
                f"COPY rows_{label} ({', '.join(out[0].columns)}) FROM STDIN") as copy:
            for batch in out:
                if isinstance(batch, EncodedBatch):
                    for line in batch.lines:
                        copy.write(line)
    differ = db.execute("SELECT count(*) FROM (SELECT t::text FROM rows_fast AS t EXCEPT ALL "
                        "SELECT t::text FROM rows_exact AS t) AS d").fetchone()[0]
    assert differ == 0
    assert db.execute("SELECT count(*) FROM rows_fast").fetchone()[0] == 300


@pytest.mark.parametrize("bad, cause", [
    ({"title": "a\x00b"}, "NUL"),  # a NUL: the exact path names the column
    ({"createdAt": "2024-11-03T10:15:30+02:00"}, None),  # an offset: moved to UTC exactly
    ({"amount": 12.5}, None),  # a JSON number in a numeric column
    ({"mood": "angry"}, "labels"),  # not a label of the enum
    ({"extra": 1}, None),  # a key it has not seen
])
def test_one_odd_record_sends_only_its_chunk_to_the_exact_path(
        db, rows_table, tmp_path, monkeypatch, bad, cause):
    monkeypatch.setattr(reader, "READ_SIZE", 2048)
    rows = prisma_rows(200)
    rows[120].update(bad)
    path = tmp_path / "rows.json"
    path.write_bytes(stringify(rows))
    counts = count_taken(monkeypatch)
    fast = encode(path, rows_table, True, monkeypatch, batch_size=64)
    # its chunk refused (and the next, when the odd keys were the last the exact path
    # learned), the ones after it fast again
    assert 1 <= counts[1] <= 2 and counts[0] > 20
    exact = encode(path, rows_table, False, monkeypatch, batch_size=64)
    assert_same(db, rows_table, fast, exact)
    rejects = [r for b in fast if isinstance(b, EncodedBatch) for r in b.rejects]
    if cause:
        assert [r.index for r in rejects] == [120] and cause in rejects[0].cause
    else:
        assert rejects == []


def test_a_resume_skip_inside_a_fast_chunk_skips_exactly(db, rows_table, tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "READ_SIZE", 4096)
    path = tmp_path / "rows.json"
    path.write_bytes(stringify(prisma_rows(120)))
    fast = encode(path, rows_table, True, monkeypatch, batch_size=10, skip=53)
    exact = encode(path, rows_table, False, monkeypatch, batch_size=10, skip=53)
    assert_same(db, rows_table, fast, exact)
    indexes = [i for b in fast if isinstance(b, EncodedBatch) for i in b.indexes]
    assert indexes == list(range(53, 120))


def test_numbers_stay_exact(db, rows_table, tmp_path, monkeypatch):
    """Big integers, numeric text and jsonb fractions arrive digit for digit."""
    monkeypatch.setattr(reader, "READ_SIZE", 64)
    rows = prisma_rows(5)
    rows[3].update({"id": 2**62 + 1, "amount": "1234567890.12",
                    "meta": {"x": Decimal("0.1000000000000000055511151231257827"), "y": 10**30}})
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows, indent=2, default=str).replace(
        '"0.1000000000000000055511151231257827"', "0.1000000000000000055511151231257827"))
    counts = count_taken(monkeypatch)
    fast = encode(path, rows_table, True, monkeypatch, batch_size=10)
    assert counts == [4, 0]
    line = fast[0].lines[3].decode()
    assert str(2**62 + 1) in line and "1234567890.12" in line
    assert "0.1000000000000000055511151231257827" in line and str(10**30) in line


@pytest.mark.parametrize("where", ["meta", "notAColumn"])
def test_bytes_that_are_not_utf8_in_an_unread_value_send_the_file_to_ijson(
        db, rows_table, tmp_path, monkeypatch, where):
    """A jsonb value is kept as raw text and an ignored key's value is never used; the
    exact path still reports bad UTF-8 there as the file's fault, and so must this one."""
    monkeypatch.setattr(reader, "READ_SIZE", 2048)
    rows = prisma_rows(40)
    for row in rows:
        row["notAColumn"] = "x"
    rows[30][where] = "BAD"
    text = stringify(rows).replace(b'"BAD"', b'"\xff"')
    path = tmp_path / "rows.json"
    path.write_bytes(text)
    counts = count_taken(monkeypatch)
    fast = encode(path, rows_table, True, monkeypatch, batch_size=64)
    assert counts[0] > 3  # the chunks before it went fast
    exact = encode(path, rows_table, False, monkeypatch, batch_size=64)
    assert_same(db, rows_table, fast, exact)
    assert fast[-1].fault is not None and fast[-1].fault.record_index == 30


def test_key_orders_do_not_matter_but_key_sets_do(db, rows_table, tmp_path, monkeypatch):
    """Every record in its own key order: the lines do not depend on it, so the fast path
    takes those chunks; a second key set (one key fewer) gets its own plan once the exact
    path has read a chunk of it."""
    monkeypatch.setattr(reader, "READ_SIZE", 2048)
    rng = random.Random(3)
    rows = []
    for i, row in enumerate(prisma_rows(200)):
        keys = list(row)
        rng.shuffle(keys)
        if i >= 100:
            keys.remove("title")  # the title column then keeps its default
        rows.append({key: row[key] for key in keys})
    path = tmp_path / "rows.json"
    path.write_bytes(stringify(rows))
    counts = count_taken(monkeypatch)
    fast = encode(path, rows_table, True, monkeypatch, batch_size=64)
    assert counts[0] > 40 and counts[1] <= 1  # only the chunk where the key set changes
    exact = encode(path, rows_table, False, monkeypatch, batch_size=64)
    assert_same(db, rows_table, fast, exact)
    assert {b.columns for b in fast if isinstance(b, EncodedBatch)} == {
        tuple(c for c in rows_table.columns if c != "title"), tuple(rows_table.columns)}


def test_a_key_msgspec_cannot_name_leaves_the_file_to_the_exact_path(db, rows_table, tmp_path,
                                                                     monkeypatch):
    """msgspec refuses a backslash, a quote or a control character in a field's name: such
    a key (ignored, or hostile) keeps every chunk on the exact path, nothing breaks."""
    monkeypatch.setattr(reader, "READ_SIZE", 2048)
    for key in ('a") VALUES (1); --', "back\\slash", "tab\there"):
        rows = prisma_rows(30)
        for row in rows:
            row[key] = 1
        path = tmp_path / "rows.json"
        path.write_bytes(stringify(rows))
        counts = count_taken(monkeypatch)
        fast = encode(path, rows_table, True, monkeypatch, batch_size=64)
        assert counts == [0, 0], key  # no plan was made
        assert_same(db, rows_table, fast, encode(path, rows_table, False, monkeypatch, batch_size=64))
        assert fast[0].new_ignored_keys == [key] and len(fast[0].lines) == 30
