"""Write a demo backup: one folder named by time, one JSON array file per table, streamed.

Memory does not grow with `rows`: records are formatted one by one and written in chunks.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from katarestore_tui.demo.bad import BadRecord, plan_bad_records, with_bad_records
from katarestore_tui.demo.data import Generator
from katarestore_tui.demo.sizes import TABLES, DemoSizes


@dataclass(frozen=True)
class DemoBackup:
    """A written backup and what a correct restore of it must report, per table."""

    path: Path
    rows_per_table: dict[str, int]  # records in each file, bad ones included
    expected: dict[str, dict[str, int]]  # table -> records, loaded, duplicates, failed
    bad_records: tuple[BadRecord, ...] = ()
    bytes_written: int = 0
    seconds: float = 0.0

    @property
    def total_records(self) -> int:
        return sum(self.rows_per_table.values())

    @property
    def records_per_second(self) -> float:
        return self.total_records / self.seconds if self.seconds else 0.0


def write_demo_backup(
    root: Path,
    rows: int = 2000,
    bad_records: bool = True,
    seed: int = 7,
    name: str | None = None,
) -> DemoBackup:
    """Write `root/<name>/<table>.json` for every table; `name` defaults to now, YYYYMMDD_HHMMSS.

    A default name that is already taken moves on by a second, so two quick calls
    never mix their files.
    """
    started = time.perf_counter()
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if name is None:
        moment = dt.datetime.now().replace(microsecond=0)
        while (root / moment.strftime("%Y%m%d_%H%M%S")).exists():
            moment += dt.timedelta(seconds=1)
        name = moment.strftime("%Y%m%d_%H%M%S")
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)

    sizes = DemoSizes.for_rows(rows)
    gen = Generator(sizes, seed)
    bad = plan_bad_records(gen) if bad_records else {}

    counts: dict[str, int] = {}
    expected: dict[str, dict[str, int]] = {}
    described: list[BadRecord] = []
    written = 0
    for table in TABLES:
        good = sizes.as_dict()[table]
        extra = bad.get(table, [])
        records, placed = with_bad_records(gen.records(table), good, extra)
        n, size = write_json_array(folder / f"{table}.json", records)
        counts[table] = n
        written += size
        duplicates = sum(1 for b in placed if b.outcome == "duplicate")
        failed = sum(1 for b in placed if b.outcome == "failed")
        expected[table] = {
            "records": n,
            "loaded": n - duplicates - failed,
            "duplicates": duplicates,
            "failed": failed,
        }
        described.extend(placed)
    return DemoBackup(
        path=folder,
        rows_per_table=counts,
        expected=expected,
        bad_records=tuple(described),
        bytes_written=written,
        seconds=time.perf_counter() - started,
    )


def write_json_array(path: Path, records: Iterable[str]) -> tuple[int, int]:
    """Stream pre-formatted records into `[\\n rec,\\n rec\\n]`; write-then-rename."""
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    size = 0
    chunk: list[str] = []
    with open(tmp, "w", encoding="utf-8", newline="\n", buffering=1 << 20) as f:
        f.write("[")
        for rec in records:
            chunk.append(rec)
            if len(chunk) == 2000:
                text = ("\n" if n == 0 else ",\n") + ",\n".join(chunk)
                f.write(text)
                n += len(chunk)
                chunk = []
        if chunk:
            f.write(("\n" if n == 0 else ",\n") + ",\n".join(chunk))
            n += len(chunk)
        f.write("\n]" if n else "]")
        size = f.tell()
    os.replace(tmp, path)
    return n, size
