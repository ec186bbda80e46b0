"""Median and spread over repeats, extrapolation, speed-ups, and regressions in the history."""

from __future__ import annotations

import pytest

from katarestore_tui.bench.figures import (
    StrategyRun,
    TableRun,
    aggregate,
    compare,
    fmt_failed,
    fmt_loaded,
    fmt_rate,
    fmt_seconds,
)
from katarestore_tui.history.benchmarks import rate_series


def run(seconds: float, records: int = 1000, status: str = "ok", **table) -> StrategyRun:
    r = StrategyRun("legacy", measured_seconds=seconds, status=status, peak_rss_bytes=int(seconds * 10))
    r.tables["t"] = TableRun("t", records=records, attempted=table.get("attempted", records),
                             loaded=table.get("loaded", records), seconds=seconds,
                             insert_seconds=table.get("insert", seconds))
    return r


def test_aggregate_reports_the_median_and_the_spread():
    figures = aggregate("legacy", [run(3.0), run(1.0), run(2.0)], None)
    assert figures["seconds"] == 2.0
    assert (figures["seconds_min"], figures["seconds_max"]) == (1.0, 3.0)
    assert figures["rows_per_s"] == 500.0
    assert (figures["rows_per_s_min"], figures["rows_per_s_max"]) == (pytest.approx(333.3, 0.01), 1000.0)
    assert figures["peak_rss_bytes"] == 30 and figures["completed"] == 3 and figures["status"] == "ok"


def test_a_failed_attempt_marks_the_strategy_but_keeps_the_good_figures():
    figures = aggregate("legacy", [run(2.0), run(0.0, status="failed")], None)
    assert figures["status"] == "failed" and figures["completed"] == 1 and figures["seconds"] == 2.0
    nothing = aggregate("legacy", [StrategyRun("legacy", status="cancelled")], None)
    assert nothing["status"] == "cancelled" and "seconds" not in nothing


def test_a_bounded_load_scales_only_the_insert_time():
    # 100 of 1,000 rows inserted in 1 s after 0.5 s of parsing: 0.5 + 10 * 1 = 10.5 s
    r = run(1.5, records=1000, attempted=100, loaded=100, insert=1.0)
    assert r.extrapolated and r.seconds == pytest.approx(10.5)
    figures = aggregate("legacy", [r], 100)
    assert figures["extrapolated"] and figures["limit_rows"] == 100
    assert figures["tables"]["t"]["seconds"] == pytest.approx(10.5)
    assert figures["tables"]["t"]["measured_seconds"] == pytest.approx(1.5)
    assert figures["rows_per_s"] == pytest.approx(1000 / 10.5, 0.01)


def test_compare_gives_speed_ups_against_legacy_and_batched_and_time_saved():
    strategies = {
        "legacy": {"status": "ok", "completed": 1, "seconds": 100.0, "rows_per_s": 10.0},
        "batched": {"status": "ok", "completed": 1, "seconds": 10.0, "rows_per_s": 100.0},
        "copy": {"status": "ok", "completed": 1, "seconds": 2.0, "rows_per_s": 500.0},
    }
    rows = {r.strategy: r for r in compare(strategies)}
    assert rows["copy"].vs_legacy == 50.0 and rows["copy"].vs_batched == 5.0
    assert rows["copy"].saved_seconds == 98.0 and rows["copy"].saved_against == "legacy"
    assert rows["legacy"].vs_batched == pytest.approx(0.1)
    only_new = {r.strategy: r for r in compare({"batched": strategies["batched"],
                                                "copy": strategies["copy"]})}
    assert only_new["copy"].vs_legacy is None and only_new["copy"].saved_against == "batched"


def test_a_strategy_that_did_not_finish_has_no_figures():
    rows = compare({"legacy": {"status": "failed", "completed": 0, "error": "boom"}})
    assert rows[0].seconds is None and rows[0].vs_legacy is None and rows[0].error == "boom"


def test_formatting():
    assert fmt_seconds(None) == "-" and fmt_seconds(1.234) == "1.23 s" and fmt_seconds(150) == "2.5 min"
    assert fmt_rate(2098.4) == "2,098/s" and fmt_rate(23456) == "23k/s"
    row = compare({"legacy": {"status": "ok", "completed": 1, "seconds": 1.0, "loaded": 40,
                              "attempted": 50, "records": 500, "extrapolated": True,
                              "failed": 10, "dropped": 10}})[0]
    assert fmt_loaded(row) == "40/50 sampled" and fmt_failed(row) == "10 dropped"


def record(bench_id: str, backup: str = "b", **rates) -> dict:
    return {"bench_id": bench_id, "backup": backup,
            "strategies": {name: {"completed": 1, "rows_per_s": rate} for name, rate in rates.items()}}


def test_rate_series_flags_a_drop_against_the_recent_median_of_the_same_backup():
    records = [record("1", copy=100.0), record("2", copy=104.0), record("3", copy=98.0),
               record("4", copy=80.0),  # 20% below the median: a regression
               record("5", "other", copy=10.0),  # another backup: not comparable
               record("6", copy=95.0, legacy=5.0)]
    series = rate_series(records, ("legacy", "copy"))
    flags = [p.regression for p in series["copy"]]
    assert flags == [False, False, False, True, False, False]
    assert [p.value for p in series["legacy"]] == [None] * 5 + [5.0]
