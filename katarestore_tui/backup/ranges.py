"""Cut one large table file at record boundaries, so each part can be parsed on its own core.

Only layouts whose record ends can be found without parsing are cut:
- an array as `JSON.stringify(rows, null, 2)` writes it: a line `  }` ends each record and
  nothing else (a newline inside a string is written `\\n`, deeper braces are indented
  further), and records are separated by `,`;
- JSON Lines: every line is a record (blank lines are not).
A part of an array is read as an array of its own: "[" before it and "\\n]" after it. Each
part knows the file index of its first record (the record ends before it, counted in C),
so record indexes stay the file's own. A gzipped file cannot be entered mid-way: never cut.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from dataclasses import dataclass

from katarestore_tui.backup.catalog import TableFile

STRINGIFY_START = b"[\n  {"
RECORD_END = b"\n  }"
BOUNDARY = b"\n  },\n  {"  # the end of one record, its separator, the start of the next
SCAN_BYTES = 16 * 1024 * 1024  # counted a slice at a time: memory stays flat


@dataclass(frozen=True)
class ByteRange:
    """Bytes [start, end) of a file holding the records first_index .. end_index - 1."""

    start: int
    end: int
    first_index: int
    end_index: int | None  # the next part's first record; None for the last part
    prefix: bytes = b""  # read before the bytes ("[" for a later part of an array)
    suffix: bytes = b""  # read after them ("\n]" for an earlier part of an array)

    def holds(self, index: int) -> bool:
        """Whether record `index` of the file is in this part."""
        return index >= self.first_index and (self.end_index is None or index < self.end_index)


def can_split(table_file: TableFile) -> bool:
    return not table_file.compressed and table_file.format in ("array", "lines")


def split_ranges(table_file: TableFile, parts: int) -> list[ByteRange] | None:
    """`parts` ranges of about equal size, or None when the file cannot be cut (another
    layout, a gzip, too small to give each part a record)."""
    if parts < 2 or not can_split(table_file) or table_file.size < 2 * len(BOUNDARY):
        return None
    with open(table_file.path, "rb") as raw:
        try:
            data = mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # an empty file
            return None
        with data:
            if table_file.format == "array":
                return _split_array(data, parts)
            return _split_lines(data, parts)


def _slices(data: mmap.mmap, start: int, end: int) -> Iterator[bytes]:
    for at in range(start, end, SCAN_BYTES):
        yield data[at:min(at + SCAN_BYTES, end)]


def _split_array(data: mmap.mmap, parts: int) -> list[ByteRange] | None:
    if data[: len(STRINGIFY_START)] != STRINGIFY_START:
        return None  # compact JSON, another indent, a BOM: read as one part
    size = len(data)
    cuts: list[int] = []  # offsets just after a record's "\n  }", before its ","
    for k in range(1, parts):
        found = data.find(BOUNDARY, max(size * k // parts, cuts[-1] + 1 if cuts else 0))
        if found < 0:
            break
        cut = found + len(RECORD_END)
        if not cuts or cut > cuts[-1]:
            cuts.append(cut)
    if not cuts:
        return None
    # records before each cut: every one of them ends with "\n  }", and a match cannot
    # straddle a cut (the cut follows a whole match), so slices count exactly
    firsts, done, at = [], 0, 0
    for cut in cuts:
        done += sum(piece.count(RECORD_END) for piece in _slices(data, at, cut))
        firsts.append(done)
        at = cut
    bounds = [0, *cuts]
    ranges = []
    for i, start in enumerate(bounds):
        last = i == len(bounds) - 1
        ranges.append(ByteRange(
            start=start if i == 0 else start + 1,  # past the ","
            end=size if last else bounds[i + 1],
            first_index=0 if i == 0 else firsts[i - 1],
            end_index=None if last else firsts[i],
            prefix=b"" if i == 0 else b"[",
            suffix=b"" if last else b"\n]",
        ))
    return ranges


def _split_lines(data: mmap.mmap, parts: int) -> list[ByteRange] | None:
    size = len(data)
    cuts: list[int] = []  # offsets just after a "\n"
    for k in range(1, parts):
        found = data.find(b"\n", max(size * k // parts, cuts[-1] if cuts else 0))
        if found < 0 or found + 1 >= size:
            break
        cuts.append(found + 1)
    if not cuts:
        return None
    firsts, done, at = [], 0, 0
    for cut in cuts:
        done += _records_in(data, at, cut)
        firsts.append(done)
        at = cut
    bounds = [0, *cuts, size]
    return [
        ByteRange(bounds[i], bounds[i + 1], 0 if i == 0 else firsts[i - 1],
                  None if i == len(cuts) else firsts[i])
        for i in range(len(cuts) + 1)
    ]


def _records_in(data: mmap.mmap, start: int, end: int) -> int:
    """Lines in [start, end) that hold something (the reader skips blank ones); `end`
    follows a newline, so no line is cut."""
    count, pending = 0, b""
    for piece in _slices(data, start, end):
        lines = (pending + piece).split(b"\n")
        pending = lines.pop()
        count += sum(1 for line in lines if line.strip())
    return count + (1 if pending.strip() else 0)
