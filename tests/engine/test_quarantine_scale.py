"""#12.7: a quarantine past the old caps (50,000 read, 5,000 listed) is counted, filtered and
exported whole, streamed; the oracle is a plain count over the files."""

from __future__ import annotations

import json
from pathlib import Path

from katarestore_tui.engine import (
    QuarantineFilter,
    count_quarantine,
    export_quarantine,
    quarantine_dir,
    quarantine_page,
)
from katarestore_tui.history.runs import write_run

RUN_ID = "20261201-020000-big0"
FK, LONG = 51_000, 1_000  # 52,000 failures in all: past the 50,000 the screen used to read


def write_big_quarantine(run_id: str = RUN_ID) -> Path:
    """Two tables' quarantine files as the loader writes them (small records: quick)."""
    folder = quarantine_dir(run_id)
    folder.mkdir(parents=True)
    fk = {"table": "enrollments", "file": "enrollments.json", "sqlstate": "23503",
          "message": 'insert or update on table "enrollments" violates foreign key constraint',
          "detail": None, "column": None, "phase": "fk-check"}
    long = {"table": "courses", "file": "courses.json", "sqlstate": "22001",
            "message": "value too long for type character varying(100)", "detail": None,
            "column": "title", "phase": "load"}
    for name, base, count in (("enrollments", fk, FK), ("courses", long, LONG)):
        with open(folder / f"{name}.jsonl", "w", encoding="utf-8") as out:
            out.writelines(json.dumps({**base, "index": i, "record": {"id": i}}) + "\n"
                           for i in range(count))
    write_run(run_id, {"run_id": run_id, "kind": "restore", "status": "partial",
                       "totals": {"records": FK + LONG, "loaded": 0, "duplicates": 0,
                                  "failed": FK + LONG}, "tables": {}})
    return folder


def test_counts_filter_and_export_read_the_whole_quarantine(tmp_path):
    write_big_quarantine()
    counts = count_quarantine(RUN_ID)
    assert counts.total == FK + LONG
    assert counts.errors[("enrollments", "23503")] == FK
    assert counts.errors[("courses", "22001")] == LONG
    assert counts.top_errors(1)[0] == (("enrollments", "23503"), FK)

    page, matched = quarantine_page(RUN_ID, QuarantineFilter(needle="23503"), 45_000, 1_000)
    assert matched == FK and len(page) == 1_000
    # numbered across files in name order: courses first, then enrollments
    assert min(page) == LONG + 45_000 and page[min(page)]["index"] == 45_000

    out = tmp_path / "fk.jsonl"
    assert export_quarantine(RUN_ID, QuarantineFilter("enrollments"), out) == FK
    assert len(out.read_text().splitlines()) == FK
    assert out.stat().st_mode & 0o777 == 0o600
    marked = tmp_path / "two.jsonl"
    assert export_quarantine(RUN_ID, QuarantineFilter(), marked, numbers={0, LONG + 50_999}) == 2
    indexes = [json.loads(line)["index"] for line in marked.read_text().splitlines()]
    assert indexes == [0, 50_999]


def test_the_cli_lists_every_failure_with_counts_by_error_and_table(capsys):
    from katarestore_tui.cli import main

    write_big_quarantine()
    assert main(["failures", RUN_ID]) == 0
    out = capsys.readouterr().out.splitlines()
    assert f"{FK + LONG:,} failed records; full records in the run's failed/ folder" in out
    assert f"  {FK:>10,}  enrollments  [23503]" in out and f"  {LONG:>10,}  courses  [22001]" in out
