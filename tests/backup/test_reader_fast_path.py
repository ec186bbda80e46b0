"""The chunked reading of JSON.stringify's layout gives what ijson gives, record for record.

Every case is read twice, once as usual and once with the fast path switched off, and
both readings must agree: the same records with the same indexes, and the same fault
(cause, byte offset, record index) when the file is broken. Small read sizes make the
chunk boundaries fall everywhere, inside records and between them.
"""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from katarestore_tui.backup import reader
from katarestore_tui.backup.catalog import table_file
from katarestore_tui.backup.reader import BackupFormatError, RecordReader

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
)
nested = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=6)
rows = st.lists(st.dictionaries(st.text(max_size=6), nested, max_size=5), min_size=1, max_size=30)


def stringify(records: list) -> bytes:
    """As `JSON.stringify(rows, null, 2)` writes them."""
    return json.dumps(records, indent=2, ensure_ascii=False).encode()


def read(path: Path, fast: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[list, tuple | None]:
    with monkeypatch.context() as patch:
        if not fast:
            def refuse(self):
                raise reader._LeaveFastPath
                yield  # a generator, as the method it replaces

            patch.setattr(RecordReader, "_stringify_chunks", refuse)
        items = []
        try:
            for item in RecordReader(table_file(path)):
                items.append(item)
        except BackupFormatError as exc:
            return items, (exc.cause, exc.byte_offset, exc.record_index)
    return items, None


def both_readings(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list, tuple | None]:
    fast = read(path, True, monkeypatch)
    assert fast == read(path, False, monkeypatch)
    return fast


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=rows, data=st.data(), read_size=st.sampled_from([7, 64, 1000]),
       compressed=st.booleans())
def test_fast_path_reads_what_ijson_reads(tmp_path_factory, monkeypatch, records, data, read_size,
                                          compressed):
    monkeypatch.setattr(reader, "READ_SIZE", read_size)
    text = stringify(records)
    damage = data.draw(st.sampled_from(["none", "cut", "flip", "append"]))
    if damage == "cut":
        text = text[: data.draw(st.integers(0, len(text) - 1))]
    elif damage == "flip":
        at = data.draw(st.integers(0, len(text) - 1))
        text = text[:at] + bytes([data.draw(st.integers(0, 255))]) + text[at + 1:]
    elif damage == "append":
        text += data.draw(st.sampled_from([b"\n[]", b",", b"x", b"\n  }"]))
    name = "t.json.gz" if compressed else "t.json"
    path = tmp_path_factory.mktemp("fast") / name
    path.write_bytes(gzip.compress(text, mtime=0) if compressed else text)

    items, fault = both_readings(path, monkeypatch)
    if damage == "none":
        assert fault is None
        assert [record for _, record in items] == json.loads(text, parse_float=Decimal)


def test_resume_skips_the_same_records_on_both_roads(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "READ_SIZE", 50)
    path = tmp_path / "t.json"
    path.write_bytes(stringify([{"id": i, "v": f"{i}.50"} for i in range(40)]))
    fast = list(RecordReader(table_file(path), skip=17))
    assert [i for i, _ in fast] == list(range(17, 40))
    assert fast[0][1] == {"id": 17, "v": "17.50"}


def test_a_fault_late_in_the_file_is_reported_as_ijson_reports_it(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "READ_SIZE", 64)
    text = stringify([{"id": i, "price": 12.5} for i in range(100)])
    broken = text.replace(b'"id": 90,', b'"id": 90 oops', 1)
    path = tmp_path / "t.json"
    path.write_bytes(broken)
    items, fault = both_readings(path, monkeypatch)
    assert len(items) == 90 and items[-1][1] == {"id": 89, "price": Decimal("12.5")}
    assert fault is not None and fault[2] == 90
    assert abs(fault[1] - broken.index(b"oops")) <= 1  # yajl points at or just after it


def test_other_layouts_are_read_by_ijson(tmp_path, monkeypatch):
    for text in (b'[{"id":1},{"id":2}]', b'\xef\xbb\xbf[\n  {"id": 1}\n]', b"[\n    {\"id\": 1}\n]",
                 b'[\n  {"id": 1}\n  ,\n  {"id": 2}\n]', b"[]"):
        path = tmp_path / "t.json"
        path.write_bytes(text)
        items, fault = both_readings(path, monkeypatch)
        assert fault is None, text
        assert [r for _, r in items] == json.loads(text.removeprefix(b"\xef\xbb\xbf")), text


def test_a_lone_surrogate_is_kept_as_it_is_not_turned_into_a_question_mark(tmp_path):
    """ijson's C backend quietly writes '?' for an unpaired \\ud800; the fast path keeps it,
    so the encoder refuses the record with its cause, as for a .jsonl line."""
    path = tmp_path / "t.json"
    path.write_bytes(b'[\n  {\n    "name": "a\\ud800b"\n  }\n]')
    ((_index, record),) = list(RecordReader(table_file(path)))
    assert record == {"name": "a\ud800b"}


@pytest.mark.parametrize("read_size", [7, 64, 4096, 256 * 1024])
def test_a_stray_byte_is_located_wherever_the_reads_begin(tmp_path, monkeypatch, read_size):
    """yajl quotes its context only from the chunk it was given, and a NUL ends that quote:
    the offset still points at the byte, not at the end of the chunk."""
    monkeypatch.setattr(reader, "READ_SIZE", read_size)
    text = stringify([{"id": i, "note": "é" * 3} for i in range(100)])
    for stray in (b"\x00", b"\x01", b"\xff"):
        at = text.index(b'"id": 57')
        path = tmp_path / "t.json"
        path.write_bytes(text[:at] + stray + text[at + 1:])
        items, fault = both_readings(path, monkeypatch)
        assert len(items) == 57 and fault is not None
        cause, offset, index = fault
        assert (offset, index) == (at + 1, 57), (stray, cause)  # yajl stops just past it
        assert "\n" not in cause and "right here" not in cause
