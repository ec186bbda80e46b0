"""Writes a scenario's backup files the way the Node apps do, and says which records survive a cut.

What a cut file holds is computed here from the bytes, not by reading them with katarestore:
a record counts as complete when its whole text lies in what the cut file can still give
(for .gz, what zlib can decompress of the cut stream).
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass
from pathlib import Path

from tests.reliability.model.scenario import FileSpec, Scenario

BAD_LINE = "__badline__"


@dataclass
class Written:
    path: Path
    complete: int  # records wholly present, in file order
    fault: bool  # the file stops early (a cut), so the table ends partial
    ambiguous: bool = False  # the cut lands on a record boundary: either count is defensible


def _record_texts(spec: FileSpec) -> tuple[str, list[int]]:
    """(text, end offset of each record) in the file's layout."""
    if spec.fmt.startswith("jsonl"):
        parts = [r[BAD_LINE] if isinstance(r, dict) and BAD_LINE in r else
                 json.dumps(r, ensure_ascii=False) for r in spec.records]
        text, ends = "", []
        for part in parts:
            text += part + "\n"
            ends.append(len(text.encode()))
        return text, ends
    # JSON.stringify(rows, null, 2): each item indented by two spaces, ",\n" between them
    text, ends = "[", []
    for i, record in enumerate(spec.records):
        item = json.dumps(record, indent=2, ensure_ascii=False).replace("\n", "\n  ")
        text += ("\n  " if i == 0 else ",\n  ") + item
        ends.append(len(text.encode()))
    text += "\n]" if spec.records else "]"
    return text, ends


def write_file(folder: Path, table: str, spec: FileSpec) -> Written:
    text, ends = _record_texts(spec)
    data = text.encode()
    path = folder / f"{table}.{spec.fmt}"
    if spec.cut is None:
        path.write_bytes(gzip.compress(data, mtime=0) if spec.fmt.endswith(".gz") else data)
        return Written(path, len(spec.records), False)
    if not spec.fmt.endswith(".gz"):
        at = _inside_a_record(int(len(data) * spec.cut), ends)
        path.write_bytes(data[:at])
        return Written(path, sum(1 for e in ends if e <= at), True)
    packed = gzip.compress(data, mtime=0)
    cut = packed[: max(10, int(len(packed) * spec.cut))]
    try:
        available = len(zlib.decompressobj(31).decompress(cut))
    except zlib.error:
        available = 0
    path.write_bytes(cut)
    complete = sum(1 for e in ends if e <= available)
    near = any(e <= available < e + 4 for e in ends)
    return Written(path, complete, True, ambiguous=near)


def _inside_a_record(at: int, ends: list[int]) -> int:
    """Move a cut position strictly inside the record that holds it."""
    start = 1
    for end in ends:
        if at < end:
            return max(start + 2, min(at, end - 2))
        start = end + 2
    return max(1, ends[-1] - 2) if ends else 1


def write_backup(root: Path, scenario: Scenario) -> tuple[Path, dict[str, Written]]:
    folder = root / "20240101_000000"
    folder.mkdir(parents=True, exist_ok=True)
    written = {name: write_file(folder, name, spec) for name, spec in scenario.files.items()}
    return folder, written
