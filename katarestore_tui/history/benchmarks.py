"""Benchmark history: one JSON line per benchmark run in `benchmarks.jsonl`."""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import dataclass

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


REGRESSION_DROP = 0.10  # slower than the recent median by more than this: a regression
REGRESSION_WINDOW = 5  # how many earlier runs (same strategy, same backup) make the median


@dataclass(frozen=True)
class RatePoint:
    """One strategy's rows/s in one benchmark record (None: not run, or did not finish)."""

    bench_id: str
    value: float | None
    extrapolated: bool = False
    regression: bool = False


def rate_series(records: list[dict], strategies: tuple[str, ...]) -> dict[str, list[RatePoint]]:
    """rows/s over time per strategy, oldest first, each point flagged when it regressed.

    A point regresses when it is more than REGRESSION_DROP below the median of the
    REGRESSION_WINDOW earlier runs of the same strategy on the same backup (the figures
    of different backups are not comparable).
    """
    series: dict[str, list[RatePoint]] = {name: [] for name in strategies}
    earlier: dict[tuple[str, str], list[float]] = {}
    for record in records:
        for name in strategies:
            figures = (record.get("strategies") or {}).get(name) or {}
            value = figures.get("rows_per_s") if figures.get("completed") else None
            key = (name, str(record.get("backup")))
            before = earlier.setdefault(key, [])
            regression = bool(
                value is not None and before
                and value < (1 - REGRESSION_DROP) * statistics.median(before[-REGRESSION_WINDOW:])
            )
            series[name].append(RatePoint(str(record.get("bench_id", "")), value,
                                          bool(figures.get("extrapolated")), regression))
            if value is not None:
                before.append(value)
    return series
