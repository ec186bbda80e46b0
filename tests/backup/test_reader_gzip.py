"""A damaged `.gz` gives out every record before the damage, and the fault where it is.

The oracle decompresses the cut file with zlib on its own and walks the text with the
standard library's decoder: the records it finds whole are the records to expect, and
the fault lies at the end of the decompressed bytes.
"""

from __future__ import annotations

import gzip
import json
import zlib
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from katarestore_tui.backup.catalog import table_file
from katarestore_tui.backup.reader import BackupFormatError, BadRecord, RecordReader
from katarestore_tui.engine.restore import run_restore
from tests.helpers import assert_balanced, options, write_backup

ROWS = [{"id": i, "name": f"name-{i}", "pad": "x" * (i % 50), "price": f"{i}.50"}
        for i in range(20_000)]
LAYOUTS = {  # file suffix, text
    "stringify": (".json.gz", lambda rows: json.dumps(rows, indent=2)),
    "compact": (".json.gz", lambda rows: json.dumps(rows)),
    "lines": (".jsonl.gz", lambda rows: "".join(json.dumps(r) + "\n" for r in rows)),
}
_decoder = json.JSONDecoder(parse_float=Decimal)


def plain_prefix(compressed: bytes) -> bytes:
    """What zlib decodes of a cut gzip stream."""
    return zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(compressed)


def whole_array_items(text: str) -> list:
    """The items of a JSON array that are complete in `text` (which may be cut)."""
    items, at = [], text.index("[") + 1
    while True:
        while at < len(text) and text[at] in " \t\r\n,":
            at += 1
        try:
            item, at = _decoder.raw_decode(text, at)
        except ValueError:
            return items
        items.append(item)


def whole_lines(text: str) -> list:
    found = []
    for line in text.split("\n"):
        try:
            found.append(_decoder.decode(line))
        except ValueError:
            continue
    return found


def read(path: Path) -> tuple[list, BackupFormatError | None]:
    got = []
    try:
        for _, record in RecordReader(table_file(path)):
            got.append(record)
    except BackupFormatError as exc:
        return got, exc
    return got, None


def cut_file(tmp_path: Path, layout: str, rows: list, fraction: float) -> tuple[Path, bytes]:
    suffix, encode = LAYOUTS[layout]
    compressed = gzip.compress(encode(rows).encode(), mtime=0)
    cut = compressed[: int(len(compressed) * fraction)]
    path = tmp_path / f"t{suffix}"
    path.write_bytes(cut)
    return path, plain_prefix(cut)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.93])
def test_a_cut_gz_gives_every_whole_record_before_the_cut(tmp_path, layout, fraction):
    path, plain = cut_file(tmp_path, layout, ROWS, fraction)
    expected = (whole_lines if layout == "lines" else whole_array_items)(plain.decode("utf-8", "ignore"))
    got, fault = read(path)
    records = [r for r in got if not isinstance(r, BadRecord)]
    assert records == expected
    assert len(got) - len(records) <= (1 if layout == "lines" else 0), "at most the torn line"
    assert fault is not None and fault.byte_offset == len(plain), (fault, len(plain))
    assert fault.record_index == len(got)
    assert "decompressed byte" in str(fault)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_a_small_cut_gz_still_gives_its_whole_records(tmp_path, layout):
    path, plain = cut_file(tmp_path, layout, ROWS[:50], 0.6)
    got, fault = read(path)
    records = [r for r in got if not isinstance(r, BadRecord)]
    assert len(records) > 10
    assert records == _decoder.decode(json.dumps(ROWS[: len(records)]))
    assert fault is not None and fault.byte_offset == len(plain)


def test_members_one_after_another_and_zero_padding_read_as_one_stream(tmp_path):
    text = "".join(json.dumps(r) + "\n" for r in ROWS[:3000]).encode()
    parts = [text[:1000], text[1000:70_000], text[70_000:]]
    path = tmp_path / "t.jsonl.gz"
    path.write_bytes(b"".join(gzip.compress(p, mtime=0) for p in parts) + b"\0" * 512)
    got, fault = read(path)
    assert fault is None
    assert got == _decoder.decode(json.dumps(ROWS[:3000]))


def test_bytes_after_the_last_member_are_a_fault_after_every_record(tmp_path):
    text = json.dumps(ROWS[:2000], indent=2).encode()
    path = tmp_path / "t.json.gz"
    path.write_bytes(gzip.compress(text, mtime=0) + b"garbage")
    got, fault = read(path)
    assert got == _decoder.decode(json.dumps(ROWS[:2000]))
    assert fault is not None and fault.byte_offset == len(text)


def test_a_cut_gz_restore_loads_every_record_before_the_cut(db: psycopg.Connection, db_dsn,
                                                            tmp_path):
    db.execute("CREATE TABLE t (id int PRIMARY KEY, name text, pad text, price numeric)")
    compressed = gzip.compress(json.dumps(ROWS, indent=2).encode(), mtime=0)
    cut = compressed[: len(compressed) // 2]
    expected = whole_array_items(plain_prefix(cut).decode("utf-8", "ignore"))
    backup = write_backup(tmp_path, {"t.json.gz": cut})
    result = run_restore(options(db_dsn, backup), backup.parent)
    assert_balanced(result)
    stats = result.tables["t"]
    assert stats.loaded == stats.records == len(expected)
    assert f"decompressed byte {len(plain_prefix(cut)):,}" in stats.error
    ids = [r[0] for r in db.execute("SELECT id FROM t ORDER BY id")]
    assert ids == [r["id"] for r in expected]
