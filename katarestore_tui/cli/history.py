"""`katarestore history` and `katarestore failures`."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable
from typing import Any

from katarestore_tui.cli.output import print_json, summary_text, usage_error
from katarestore_tui.cli.tables import text_table
from katarestore_tui.engine import read_quarantine
from katarestore_tui.history.index_phase import index_phase_lines
from katarestore_tui.history.live import with_live
from katarestore_tui.history.runlog import RunLog, list_run_logs
from katarestore_tui.history.runs import RunNotFound
from katarestore_tui.words import noun


def history_command(args: argparse.Namespace) -> int:
    if args.run_id:
        try:
            run = with_live(RunLog.load(args.run_id))  # loading now: not offered for resume
        except RunNotFound as exc:
            return usage_error(str(exc), args.json)
        if args.json:
            print_json({**run.to_dict(), **run.live_fields()})
            return 0
        summary = run.to_dict()
        summary["quarantine"] = run.quarantine if run.failed else None
        print(summary_text(summary))
        for line, problem in index_phase_lines(run.to_dict()):
            print(f"indexes: {'error: ' if problem else ''}{line}")
        print(f"backup: {run.backup or None}\ntarget: {run.target or None}\n"
              f"started: {run.started_at}  finished: {run.finished_at}")
        if run.clean_copy:  # what --clean removed, kept before it removed it
            print(f"clean copy: {run.clean_copy} (undo: katarestore restore "
                  f"{run.clean_copy} --clean)")
        if run.is_resumable():
            print(f"resumable: katarestore restore --resume {run.run_id}")
        return 0
    runs = [with_live(run) for run in list_run_logs()]  # a run loading now: its live counts
    if args.json:
        from katarestore_tui.history.benchmarks import read_benchmarks

        print_json({"runs": [{**run.to_dict(), **run.live_fields()} for run in runs],
                    "benchmarks": read_benchmarks()})
        return 0
    if not runs:
        print("no runs yet")
        return 0
    rows = []
    for run in runs:
        mark = "  (resumable)" if run.is_resumable() else ""
        mark += f"  (loading now, pid {run.pid})" if run.live else ""
        rows.append((run.run_id, run.shown_status, f"{run.totals.get('records', 0):,}", f"{run.failed:,}",
                     f"{run.seconds:.1f}", f"{run.backup}{mark}"))
    table = text_table(("run id", "status", "records", "failed", "seconds", "backup"), rows, "llrrrl")
    lines = table.splitlines()
    for line in lines:  # line by line: a reader that leaves (`| head`) stops it early
        print(line)
    return 0


def failures_command(args: argparse.Namespace) -> int:
    try:
        RunLog.load(args.run_id)
    except RunNotFound as exc:
        return usage_error(str(exc), args.json)
    entries = read_quarantine(args.run_id, args.table)  # streamed: a quarantine may be huge
    if args.json:
        _print_json_lines(entries)
        return 0
    shown: Counter[tuple[str, str]] = Counter()
    for e in entries:
        where = f"record {e['index']:,}" if e.get("index") is not None else "row"
        code = e.get("sqlstate") or "refused"
        print(f"{e['table']} {where} in {e.get('file')}: [{code}] {e.get('message')}")
        if e.get("detail"):
            print(f"    {e['detail']}")
        shown[(e.get("table") or "", code)] += 1
    if not shown:
        print("no failed records")
        return 0
    total = sum(shown.values())
    print(f"\n{total:,} failed {noun(total, 'record')}; full records in the run's failed/ folder")
    for (table, code), count in shown.most_common():  # by error and table, over all of them
        print(f"  {count:>10,}  {table}  [{code}]")
    return 0


def _print_json_lines(entries: Iterable[dict[str, Any]]) -> None:
    """A JSON array written entry by entry (as print_json writes one whole list)."""
    out = sys.stdout
    first = True
    out.write("[")
    for entry in entries:
        out.write(("\n" if first else ",\n") + json.dumps(entry, indent=2, default=str))
        first = False
    out.write("\n]\n" if not first else "]\n")
    out.flush()
