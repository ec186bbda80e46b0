"""The "before" strategies behave as the old scripts did, so the comparison is honest."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import psycopg

from katarestore_tui.backup.catalog import table_file
from katarestore_tui.bench.insert_strategies import read_whole_file
from katarestore_tui.bench.runner import BenchConfig, run_benchmark
from katarestore_tui.demo import create_demo_schema, write_demo_backup
from tests.bench.fixtures import scratch_left


def test_whole_file_reading_handles_arrays_lines_and_gzip(tmp_path: Path):
    records = [{"id": 1, "price": 12.5}, {"id": 2, "price": "3.10"}]
    (tmp_path / "a.json").write_text(json.dumps(records))
    (tmp_path / "b.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n{broken\n")
    with gzip.open(tmp_path / "c.json.gz", "wt") as handle:
        json.dump(records, handle)
    for name in ("a.json", "c.json.gz"):
        loaded = read_whole_file(table_file(tmp_path / name))
        assert [r["id"] for r in loaded] == [1, 2]
        assert str(loaded[0]["price"]) == "12.5"  # Decimal, as the engine's ijson reader gives
    lines = read_whole_file(table_file(tmp_path / "b.jsonl"))
    assert len(lines) == 3 and not isinstance(lines[2], dict)


def test_bad_rows_cost_legacy_one_row_batched_a_whole_batch_and_copy_nothing(db_dsn, tmp_path):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        create_demo_schema(conn)
    demo = write_demo_backup(tmp_path / "kata_json", rows=1500, bad_records=True, name="20240101_000000")
    record = run_benchmark(BenchConfig(dsn=db_dsn, backup_root=tmp_path / "kata_json")).record
    legacy, batched, copy = (record["strategies"][n] for n in ("legacy", "batched", "copy"))
    expected = {t: e["loaded"] for t, e in demo.expected.items()}
    assert {t: f["loaded"] for t, f in copy["tables"].items()} == expected
    assert {t: f["loaded"] for t, f in legacy["tables"].items()} == expected
    bad = sum(e["failed"] + e["duplicates"] for e in demo.expected.values())
    assert legacy["dropped"] == bad  # one row per bad record, lost without a trace
    assert copy["dropped"] == 0 and copy["failed"] + copy["duplicates"] == bad  # kept
    # one bad row in a batch of 1,000 lost the whole batch, and then their children
    assert batched["loaded"] < legacy["loaded"] - 900
    assert batched["dropped"] == batched["records"] - batched["loaded"]
    assert scratch_left(db_dsn) == []
