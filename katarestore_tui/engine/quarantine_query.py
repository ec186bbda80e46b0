"""Reading a whole quarantine, streamed: counts by table and error, one filtered page, an export.

A quarantine can hold more records than a screen should keep (110,000 failures of one
foreign key): every question here reads the files once, line by line, and keeps only
the counts, the page asked for, or nothing (an export writes as it reads). Entries are
numbered by their place in the quarantine (files in name order, lines in file order),
so a page, a mark and an export agree on which record is which.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from katarestore_tui.engine.quarantine import quarantine_dir

SEARCHED = ("message", "detail", "column", "sqlstate")


@dataclass(frozen=True)
class QuarantineFilter:
    """Entries of one table (None: every table) whose error text holds `needle`."""

    table: str | None = None
    needle: str = ""

    def matches(self, entry: dict[str, Any]) -> bool:
        if self.table is not None and entry.get("table") != self.table:
            return False
        needle = self.needle.strip().lower()
        return not needle or any(needle in str(entry.get(f) or "").lower() for f in SEARCHED)


@dataclass
class QuarantineCounts:
    """The whole quarantine in numbers: per table, and per (table, SQLSTATE) with the first
    message of each (a message may hold the value, so it does not split a group)."""

    total: int = 0
    tables: Counter[str] = field(default_factory=Counter)
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)  # (table, sqlstate) -> count
    messages: dict[tuple[str, str], str] = field(default_factory=dict)

    def top_errors(self, limit: int | None = None) -> list[tuple[tuple[str, str], int]]:
        return self.errors.most_common(limit)


def _lines(run_id: str) -> Iterator[str]:
    """The quarantine's lines, as `read_quarantine` reads them (a torn last line skipped)."""
    folder = quarantine_dir(run_id)
    if not folder.exists():
        return
    for path in sorted(folder.glob("*.jsonl")):
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            for line in handle:
                if not line.endswith("\n"):
                    break
                if line.strip():
                    yield line


def _quick(line: str) -> dict[str, Any]:
    """Parsed fast (orjson) for matching and counting: its floats may be inexact, so an
    entry shown or exported is the exact parse (`_exact`) or the line itself."""
    try:
        entry: dict[str, Any] = orjson.loads(line)
        return entry
    except orjson.JSONDecodeError:  # lone surrogates, huge integers: the exact parser
        return _exact(line)


def _exact(line: str) -> dict[str, Any]:
    entry: dict[str, Any] = json.loads(line, parse_float=Decimal)
    return entry


def numbered(run_id: str) -> Iterator[tuple[int, str]]:
    """Every entry's line with its number in the quarantine."""
    yield from enumerate(_lines(run_id))


def count_quarantine(run_id: str) -> QuarantineCounts:
    counts = QuarantineCounts()
    for line in _lines(run_id):
        entry = _quick(line)
        table = str(entry.get("table") or "")
        counts.total += 1
        counts.tables[table] += 1
        key = (table, entry.get("sqlstate") or "–")
        counts.errors[key] += 1
        counts.messages.setdefault(key, str(entry.get("message") or ""))
    return counts


def quarantine_page(run_id: str, where: QuarantineFilter, start: int, limit: int,
                    stop: Callable[[], bool] | None = None
                    ) -> tuple[dict[int, dict[str, Any]], int]:
    """The matching entries `start` .. `start + limit` (by number), and how many match in
    all. `stop()` true: give up early (a newer filter was typed); the count is then short."""
    page: dict[int, dict[str, Any]] = {}
    matched = 0
    for number, line in numbered(run_id):
        if stop is not None and number % 4096 == 0 and stop():
            break
        if not where.matches(_quick(line)):
            continue
        if start <= matched < start + limit:
            page[number] = _exact(line)
        matched += 1
    return page, matched


def export_quarantine(run_id: str, where: QuarantineFilter, path: Path,
                      numbers: set[int] | None = None) -> int:
    """Write the matching entries (or only those `numbers`) as JSON lines, owner-only,
    as they are read (each line as the quarantine holds it); returns how many."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    written = 0
    with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as out:
        for number, line in numbered(run_id):
            chosen = number in numbers if numbers is not None else where.matches(_quick(line))
            if chosen:
                out.write(line)
                written += 1
    return written
