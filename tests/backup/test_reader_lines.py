"""`.jsonl` lines: each decoded on its own, a bad one kept as a BadRecord with its offset."""

from __future__ import annotations

from decimal import Decimal

from katarestore_tui.backup.catalog import table_file
from katarestore_tui.backup.reader import BadRecord, RecordReader


def test_each_line_is_a_record_and_a_bad_line_is_kept_with_its_place(tmp_path):
    lines = [b'\xef\xbb\xbf{"id": 1, "price": 12.50}', b'{"id": 2, "name": "caf\xe9"}', b"",
             b'{"id": 3, "n": NaN}', b'{"id": 4, "big": 123456789012345678901234567890}']
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\r\n".join(lines) + b"\n")
    items = list(RecordReader(table_file(path)))
    assert [i for i, _ in items] == [0, 1, 2, 3], "the blank line is not a record"
    assert items[0][1] == {"id": 1, "price": Decimal("12.50")}, "BOM stepped over, exact number"
    latin1, nan = items[1][1], items[2][1]
    assert isinstance(latin1, BadRecord) and f"byte {len(lines[0]) + 2:,}" in latin1.cause
    assert "utf-8" in latin1.cause, "a byte that is not UTF-8 is named as such"
    assert isinstance(nan, BadRecord) and "NaN is not a JSON value" in nan.cause
    assert items[3][1] == {"id": 4, "big": 123456789012345678901234567890}
