"""A benchmark against the real PostgreSQL: the record, the scratch schemas, cancel, failure."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading

import psycopg
import pytest
from psycopg import sql

from katarestore_tui.bench import strategies
from katarestore_tui.bench.events import BenchNote, StrategyDone, StrategyProgress, StrategyStarted
from katarestore_tui.bench.runner import BenchConfig, run_benchmark
from katarestore_tui.bench.scratch import PREFIX
from katarestore_tui.demo import TABLES
from katarestore_tui.history.benchmarks import read_benchmarks
from katarestore_tui.history.runs import list_runs
from tests.bench.fixtures import BACKUP_NAME, demo_target, scratch_left, target_row_counts

__all__ = ["demo_target"]  # the fixture, imported for pytest


def config(target, **overrides) -> BenchConfig:
    base = dict(dsn=target.dsn, backup_root=target.root, backup=None)
    base.update(overrides)
    return BenchConfig(**base)


STRATEGY_FIELDS = {"status", "attempts", "completed", "extrapolated", "seconds", "seconds_min",
                   "seconds_max", "rows_per_s", "rows_per_s_min", "rows_per_s_max", "peak_rss_bytes",
                   "records", "loaded", "duplicates", "failed", "dropped", "tables", "runs", "error"}


def test_a_run_writes_one_record_with_every_field_and_leaves_no_scratch(demo_target):
    events = []
    result = run_benchmark(config(demo_target, repeat=2), events.append)

    assert result.status == "completed" and result.exit_code == 0, result.error
    assert read_benchmarks() == [result.record]
    record = result.record
    for key in ("time", "backup", "backup_bytes", "records", "strategies", "batch_size", "jobs",
                "host", "server_version", "versions", "repeat", "limit_rows", "bench_id"):
        assert key in record, key
    assert record["backup"] == BACKUP_NAME
    assert record["backup_bytes"] == demo_target.demo.bytes_written
    assert record["records"] == demo_target.demo.total_records
    assert record["host"] == socket.gethostname()
    assert record["server_version"].split(".")[0].isdigit()
    assert set(record["versions"]) >= {"katarestore", "psycopg", "ijson", "textual", "python"}
    assert all(record["versions"][k] for k in ("katarestore", "psycopg", "ijson", "python"))
    assert list(record["strategies"]) == ["legacy", "batched", "copy"]
    for name, figures in record["strategies"].items():
        assert set(figures) >= STRATEGY_FIELDS, name
        assert figures["status"] == "ok" and figures["completed"] == 2
        assert figures["seconds_min"] <= figures["seconds"] <= figures["seconds_max"]
        assert figures["rows_per_s"] > 0 and figures["peak_rss_bytes"] > 0
        assert set(figures["tables"]) == set(TABLES)
        assert not figures["extrapolated"]
    # every attempt went into its own scratch schema, and each was dropped
    started = [e for e in events if isinstance(e, StrategyStarted)]
    assert len(started) == 6 and len({e.scratch for e in started}) == 6
    assert all(e.scratch.startswith(PREFIX) for e in started)
    assert scratch_left(demo_target.dsn) == []
    # the operator's tables were never written
    assert set(target_row_counts(demo_target.dsn, list(TABLES)).values()) == {0}
    # the copy strategy's restore logs are marked as benchmark runs
    runs = list_runs()
    assert len(runs) == 2 and {r["kind"] for r in runs} == {"bench"}
    assert {r["bench_id"] for r in runs} == {record["bench_id"]}


def test_every_strategy_loads_the_same_rows(demo_target):
    record = run_benchmark(config(demo_target)).record
    figures = record["strategies"]
    expected = {t: demo_target.demo.expected[t]["loaded"] for t in TABLES}
    for name in ("legacy", "batched", "copy"):
        loaded = {t: f["loaded"] for t, f in figures[name]["tables"].items()}
        assert loaded == expected, name
        assert figures[name]["failed"] == 0 and figures[name]["dropped"] == 0
    assert figures["copy"]["loaded"] == figures["legacy"]["loaded"] == figures["batched"]["loaded"]


def test_cancel_during_a_strategy_drops_its_schema_and_records_the_run(demo_target):
    cancel = threading.Event()
    seen: list[str] = []

    def sink(event):
        if isinstance(event, StrategyStarted):
            seen.append(event.scratch)
        if isinstance(event, StrategyProgress) and event.strategy == "batched":
            cancel.set()

    result = run_benchmark(config(demo_target), sink, cancel)

    assert result.status == "cancelled" and result.exit_code == 3
    record = read_benchmarks()[-1]
    assert record["status"] == "cancelled"
    assert record["strategies"]["legacy"]["status"] == "ok"
    assert record["strategies"]["batched"]["status"] == "cancelled"
    assert "copy" not in record["strategies"]
    assert len(seen) == 2
    assert scratch_left(demo_target.dsn) == []


def test_cancel_inside_the_engine_drops_the_schema(demo_target):
    cancel = threading.Event()

    def sink(event):
        if isinstance(event, StrategyStarted) and event.strategy == "copy":
            cancel.set()

    result = run_benchmark(config(demo_target, strategies=("copy",)), sink, cancel)
    assert result.status == "cancelled"
    assert result.record["strategies"]["copy"]["status"] == "cancelled"
    assert scratch_left(demo_target.dsn) == []


def test_a_failing_strategy_is_recorded_and_the_others_still_run(demo_target, monkeypatch):
    def half_then_crash(ctx):
        with psycopg.connect(ctx.dsn, autocommit=True) as conn:  # leave rows in the scratch
            conn.execute(sql.SQL("CREATE TABLE {} (x int)").format(sql.Identifier(ctx.scratch, "junk")))
        raise RuntimeError("the strategy broke halfway")

    monkeypatch.setitem(strategies.STRATEGIES, "batched", half_then_crash)
    result = run_benchmark(config(demo_target))

    assert result.status == "partial" and result.exit_code == 1
    figures = result.record["strategies"]
    assert figures["batched"]["status"] == "failed"
    assert "the strategy broke halfway" in figures["batched"]["error"]
    assert "batched" in result.record["error"]
    assert figures["legacy"]["status"] == figures["copy"]["status"] == "ok"
    assert scratch_left(demo_target.dsn) == []
    assert read_benchmarks() == [result.record]


def test_limit_rows_bounds_the_old_strategies_and_labels_them_extrapolated(demo_target):
    record = run_benchmark(config(demo_target, limit_rows=40)).record
    figures = record["strategies"]
    assert record["limit_rows"] == 40
    for name in ("legacy", "batched"):
        assert figures[name]["extrapolated"] is True and figures[name]["limit_rows"] == 40
        lessons = figures[name]["tables"]["lesson_progress"]
        assert lessons["attempted"] == 40 and lessons["records"] == 300 and lessons["extrapolated"]
        assert lessons["seconds"] > lessons["measured_seconds"]
        assert figures[name]["records"] == demo_target.demo.total_records
    assert figures["copy"]["extrapolated"] is False
    assert figures["copy"]["loaded"] == demo_target.demo.total_records


def test_usage_and_connection_errors_write_nothing(demo_target, tmp_path):
    bad = run_benchmark(config(demo_target, strategies=("legacy", "fast")))
    assert bad.exit_code == 2 and "fast" in bad.error
    missing = run_benchmark(config(demo_target, backup=str(tmp_path / "nowhere")))
    assert missing.exit_code == 2
    down = run_benchmark(config(demo_target, dsn="postgresql://root@127.0.0.1:1/none"))
    assert down.exit_code == 3 and "cannot connect" in down.error
    assert read_benchmarks() == []


def test_a_schema_left_by_a_killed_benchmark_is_dropped(demo_target):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    stale, alive = PREFIX + "deadbeef", PREFIX + "0a11e0a1"
    with psycopg.connect(demo_target.dsn, autocommit=True) as conn:
        for name, pid in ((stale, int(dead.stdout)), (alive, os.getpid())):
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("COMMENT ON SCHEMA {} IS {}").format(
                sql.Identifier(name),
                sql.Literal(f"katarestore bench scratch: pid={pid} host={socket.gethostname()}")))
    notes = []
    run_benchmark(config(demo_target, strategies=("copy",)),
                  lambda e: notes.append(e.message) if isinstance(e, BenchNote) else None)
    assert scratch_left(demo_target.dsn) == [alive]  # a running benchmark's schema is kept
    assert any(stale in note for note in notes)


def test_strategy_done_carries_the_aggregated_figures(demo_target):
    done = []
    result = run_benchmark(config(demo_target, strategies=("copy", "legacy")),
                           lambda e: done.append(e) if isinstance(e, StrategyDone) else None)
    assert [e.strategy for e in done] == ["copy", "legacy"]
    assert {e.strategy: e.figures for e in done} == result.record["strategies"]


@pytest.mark.parametrize("jobs", [2])
def test_copy_honours_jobs_and_batch_size(demo_target, jobs):
    record = run_benchmark(config(demo_target, strategies=("copy",), jobs=jobs, batch_size=50)).record
    assert record["jobs"] == jobs and record["batch_size"] == 50
    assert record["strategies"]["copy"]["loaded"] == demo_target.demo.total_records
    (run,) = list_runs()
    assert run["options"]["jobs"] == jobs and run["options"]["batch_size"] == 50
