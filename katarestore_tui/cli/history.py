"""`katarestore history` and `katarestore failures`."""

from __future__ import annotations

import argparse

from katarestore_tui.cli.output import print_json, summary_text
from katarestore_tui.engine import read_quarantine
from katarestore_tui.errors import EXIT_USAGE
from katarestore_tui.history.index_phase import index_phase_lines
from katarestore_tui.history.runs import RunNotFound, is_resumable, list_runs, read_run


def history_command(args: argparse.Namespace) -> int:
    if args.run_id:
        try:
            run = read_run(args.run_id)
        except RunNotFound as exc:
            print(f"error: {exc}")
            return EXIT_USAGE
        if args.json:
            print_json(run)
            return 0
        summary = dict(run)
        summary.setdefault("seconds", 0.0)
        summary["quarantine"] = run.get("quarantine") if run.get("totals", {}).get("failed") else None
        print(summary_text(summary))
        for line, problem in index_phase_lines(run):
            print(f"indexes: {'error: ' if problem else ''}{line}")
        print(f"backup: {run.get('backup')}\ntarget: {run.get('target')}\n"
              f"started: {run.get('started_at')}  finished: {run.get('finished_at')}")
        if is_resumable(run):
            print(f"resumable: katarestore restore --resume {run['run_id']}")
        return 0
    runs = list_runs()
    if args.json:
        from katarestore_tui.history.benchmarks import read_benchmarks

        print_json({"runs": runs, "benchmarks": read_benchmarks()})
        return 0
    if not runs:
        print("no runs yet")
        return 0
    print(f"{'run id':<22} {'status':<10} {'records':>10} {'failed':>7} {'seconds':>8}  backup")
    for run in runs:
        totals = run.get("totals", {})
        mark = "  (resumable)" if is_resumable(run) else ""
        print(f"{run.get('run_id', '?'):<22} {run.get('status', '?'):<10} "
              f"{totals.get('records', 0):>10,} {totals.get('failed', 0):>7,} "
              f"{run.get('seconds', 0):>8.1f}  {run.get('backup', '')}{mark}")
    return 0


def failures_command(args: argparse.Namespace) -> int:
    try:
        read_run(args.run_id)
    except RunNotFound as exc:
        print(f"error: {exc}")
        return EXIT_USAGE
    entries = list(read_quarantine(args.run_id, args.table))
    if args.json:
        print_json(entries)
        return 0
    if not entries:
        print("no failed records")
        return 0
    for e in entries:
        where = f"record {e['index']:,}" if e.get("index") is not None else "row"
        code = e.get("sqlstate") or "refused"
        print(f"{e['table']} {where} in {e.get('file')}: [{code}] {e.get('message')}")
        if e.get("detail"):
            print(f"    {e['detail']}")
    print(f"\n{len(entries):,} failed records; full records in the run's failed/ folder")
    return 0
