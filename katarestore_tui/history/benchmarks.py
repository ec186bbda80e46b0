"""Benchmark history: one JSON line per benchmark run in `benchmarks.jsonl`."""

from __future__ import annotations

import json
import os

from katarestore_tui.locations import benchmarks_file, make_private_dir


def append_benchmark(record: dict) -> None:
    path = benchmarks_file()
    make_private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, default=str) + "\n")


def read_benchmarks() -> list[dict]:
    """Every benchmark record, oldest first; a damaged line is skipped."""
    path = benchmarks_file()
    if not path.exists():
        return []
    records = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    return records
