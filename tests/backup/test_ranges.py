"""Cutting a file into ranges: the ranges' records, read one by one, are the file's records
with the file's own indexes, whatever the values hold (the oracle: the whole file read once)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from katarestore_tui.backup.catalog import table_file
from katarestore_tui.backup.ranges import split_ranges
from katarestore_tui.backup.reader import BackupFormatError, RecordReader

# strings that look like record ends and separators, nested objects at every depth
_text = st.sampled_from(["x", "\n  }", "\n  },\n  {", "  }", "{", "]", "é", "\\", ""])
_value = st.recursive(
    st.none() | st.integers() | st.lists(_text, max_size=3).map("".join),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=6,
)
_records = st.lists(st.dictionaries(st.sampled_from(["id", "a", "b"]), _value, min_size=1),
                    min_size=0, max_size=25)


def _read(tf) -> list[tuple[int, object]]:
    return list(RecordReader(tf))


def _ranged(tf, parts: int) -> list[tuple[int, object]]:
    ranges = split_ranges(tf, parts)
    if ranges is None:
        return _read(tf)
    out: list[tuple[int, object]] = []
    for span in ranges:
        got = _read(replace(tf, span=span))
        assert all(span.holds(i) for i, _ in got), (span, [i for i, _ in got])
        if span.end_index is not None:  # every record of the range is there
            assert [i for i, _ in got] == list(range(span.first_index, span.end_index))
        out += got
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=_records, parts=st.integers(2, 6))
def test_array_ranges_give_the_files_records_with_their_indexes(tmp_path: Path, records, parts):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(records, indent=2, ensure_ascii=False) + "\n")
    tf = table_file(path)
    assert _ranged(tf, parts) == _read(tf) == list(enumerate(records))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=_records, parts=st.integers(2, 6), blank=st.sets(st.integers(0, 30)))
def test_lines_ranges_count_blank_lines_as_the_reader_does(tmp_path: Path, records, parts, blank):
    lines = []
    for i, record in enumerate(records):
        if i in blank:
            lines.append("   ")
        lines.append(json.dumps(record, ensure_ascii=False))
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines) + ("\n" if lines else ""))
    tf = table_file(path)
    assert _ranged(tf, parts) == _read(tf) == list(enumerate(records))


def test_a_cut_file_reports_its_fault_at_the_files_offset_in_the_last_range(tmp_path: Path):
    records = [{"id": i, "name": f"n{i}"} for i in range(200)]
    text = json.dumps(records, indent=2)
    path = tmp_path / "t.json"
    path.write_text(text[: len(text) - 30])  # the last record cut short
    tf = table_file(path)
    before = []
    with pytest.raises(BackupFormatError) as expected:
        before.extend(RecordReader(tf))
    ranges = split_ranges(tf, 3)
    assert ranges is not None and len(ranges) == 3
    got = []
    for span in ranges[:-1]:
        got += _read(replace(tf, span=span))
    last = RecordReader(replace(tf, span=ranges[-1]))
    with pytest.raises(BackupFormatError) as fault:
        got.extend(last)
    assert (fault.value.byte_offset, fault.value.record_index) == (
        expected.value.byte_offset, expected.value.record_index)
    assert got == before and len(got) == 199  # every whole record, with its index


def test_files_that_cannot_be_cut(tmp_path: Path):
    compact = tmp_path / "c.json"
    compact.write_text(json.dumps([{"id": i} for i in range(50)]))
    assert split_ranges(table_file(compact), 2) is None  # no record ends to find
    one = tmp_path / "o.json"
    one.write_text(json.dumps([{"id": 1}], indent=2))
    assert split_ranges(table_file(one), 2) is None  # one record: nothing to share
