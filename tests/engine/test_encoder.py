"""engine.encoder: records -> COPY text lines that a real PostgreSQL reads back unchanged."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from katarestore_tui.backup.catalog import open_backup
from katarestore_tui.db.convert import ConversionError
from katarestore_tui.db.copy import copy_lines
from katarestore_tui.db.schema import read_schema
from katarestore_tui.engine.encoder import (
    EncodedBatch,
    RecordEncoder,
    SourceEnd,
    copy_escape,
    encoded_batches,
)
from tests.helpers import write_backup

SCHEMA = """
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE notes (
    id bigint PRIMARY KEY,
    body text,
    tags text[],
    meta jsonb,
    price numeric(10,2),
    seen_at timestamp(3),
    blob bytea,
    mood mood,
    total int GENERATED ALWAYS AS (id * 2) STORED
);
"""

TRICKY = [
    {"id": 1, "body": "tab\there\nnew line\\back slash\r", "tags": ["a,b", '"q"', "NULL", ""],
     "meta": {"nested": [1, 2.5, None], "text": "é\t\n"}, "price": "12.5",
     "seenAt": "2024-03-01T10:00:00.000+02:00", "blob": {"type": "Buffer", "data": [0, 9, 255]},
     "mood": "sad"},
    {"id": 2, "body": None, "tags": [], "meta": None, "price": Decimal("0.01"), "seenAt": None,
     "blob": None, "mood": None},
    {"id": 3, "body": "plain 日本語 🐘", "tags": None, "meta": [], "price": 7, "seenAt": None,
     "blob": None, "mood": "happy"},
]


@pytest.fixture
def notes(db: psycopg.Connection):
    db.execute(SCHEMA)
    return read_schema(db).tables["notes"]


def _copy(db: psycopg.Connection, columns: tuple[str, ...], lines: list[bytes]) -> None:
    with db.transaction(), db.cursor() as cur:
        copy_lines(cur, "public", "notes", columns, lines)


def test_lines_round_trip_through_copy_exactly(db: psycopg.Connection, notes) -> None:
    encoder = RecordEncoder(notes)
    encoded = [encoder.encode(r) for r in TRICKY]
    columns = encoded[0][0].columns
    assert "total" not in columns  # generated: never written
    assert all(layout.columns == columns for layout, _ in encoded)
    assert all(line.endswith(b"\n") and line.count(b"\n") == 1 for _, line in encoded)

    _copy(db, columns, [line for _, line in encoded])

    rows = db.execute(
        "SELECT id, body, tags, meta, price, seen_at::text, blob, mood::text, total "
        "FROM notes ORDER BY id"
    ).fetchall()
    assert rows[0] == (1, "tab\there\nnew line\\back slash\r", ["a,b", '"q"', "NULL", ""],
                       {"nested": [1, 2.5, None], "text": "é\t\n"}, Decimal("12.50"),
                       "2024-03-01 08:00:00", b"\x00\x09\xff", "sad", 2)
    assert rows[1] == (2, None, [], None, Decimal("0.01"), None, None, None, 4)
    assert rows[2] == (3, "plain 日本語 🐘", None, [], Decimal("7.00"), None, None, "happy", 6)


def test_a_key_order_is_learned_once_and_columns_keep_table_order(notes) -> None:
    encoder = RecordEncoder(notes)
    a, _ = encoder.encode({"id": 1, "body": "x"})
    b, line = encoder.encode({"body": "y", "id": 2})
    assert a.columns == b.columns == ("id", "body")
    assert line == b"2\ty\n"
    assert encoder.layout(("id", "body")) is a  # compiled once per key order

    layout = encoder.layout(("ID", "Body", "body", "extra"))
    assert layout.columns == ("id", "body")
    assert layout.ignored == ["body", "extra"]  # a second key for one column is ignored


def test_a_bad_value_names_its_column(notes) -> None:
    encoder = RecordEncoder(notes)
    cases = {
        "body": {"id": 1, "body": "NUL \u0000 inside"},
        "price": {"id": 1, "price": {"not": "a number"}},
        "mood": {"id": 1, "mood": "angry"},
        "tags": {"id": 1, "tags": "not an array"},
    }
    for column, record in cases.items():
        with pytest.raises(ConversionError) as caught:
            encoder.encode(record)
        assert getattr(caught.value, "column", None) == column, record
        assert str(caught.value).startswith(f"column {column}: "), caught.value
    lone = json.loads('{"id": 1, "body": "half \\ud800 a pair"}')
    with pytest.raises(ConversionError, match=r"column body: .*surrogate"):
        encoder.encode(lone)


def test_copy_escape_leaves_plain_text_alone() -> None:
    plain = "nothing to do here"
    assert copy_escape(plain) is plain
    assert copy_escape("a\\b\tc\nd\re") == "a\\\\b\\tc\\nd\\re"


def test_encoded_batches_split_on_size_and_on_a_new_column_set(
    db: psycopg.Connection, notes, tmp_path: Path
) -> None:
    records: list[object] = [{"id": i, "body": f"r{i}"} for i in range(5)]
    records += ["a string, not an object", {"nothing": "matches"}, {"id": 5, "body": "\u0000"}]
    records += [{"id": i, "price": "1"} for i in range(6, 9)]  # another column set
    folder = write_backup(tmp_path, {"notes.json": records})
    table_file = open_backup(folder).files[0]

    out = list(encoded_batches(table_file, notes, batch_size=3))

    batches = [b for b in out if isinstance(b, EncodedBatch)]
    end = out[-1]
    assert isinstance(end, SourceEnd) and end.fault is None and end.records_read == 11
    assert [b.indexes for b in batches] == [[0, 1, 2], [3, 4], [8, 9, 10]]
    assert [b.columns for b in batches] == [("id", "body"), ("id", "body"), ("id", "price")]
    # rejects count toward the batch size, in the batch they were read in
    assert [[(r.index, r.column) for r in b.rejects] for b in batches] == [
        [], [(5, None), (6, None), (7, "body")], []
    ]
    assert [b.records_read for b in batches] == [3, 8, 11]
    assert [b.new_ignored_keys for b in batches] == [[], ["nothing"], []]
    for batch in batches:
        if batch.lines:
            _copy(db, batch.columns, batch.lines)
    assert db.execute("SELECT count(*), sum(id) FROM notes").fetchone() == (8, 0 + 1 + 2 + 3 + 4 + 6 + 7 + 8)


def test_a_cut_file_ends_with_the_fault_after_every_whole_record(notes, tmp_path: Path) -> None:
    text = json.dumps([{"id": i, "body": "x"} for i in range(4)], indent=2)
    folder = write_backup(tmp_path, {"notes.json": text[: text.index('"id": 3')]})
    table_file = open_backup(folder).files[0]

    out = list(encoded_batches(table_file, notes, batch_size=100))

    assert [b.indexes for b in out if isinstance(b, EncodedBatch)] == [[0, 1, 2]]
    end = out[-1]
    assert isinstance(end, SourceEnd) and end.fault is not None
    assert end.fault.record_index == 3
    assert 0 < end.fault.byte_offset <= table_file.size

    resumed = list(encoded_batches(table_file, notes, batch_size=100, skip=2))
    assert [b.indexes for b in resumed if isinstance(b, EncodedBatch)] == [[2]]
