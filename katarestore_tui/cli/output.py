"""Plain-text rendering for the CLI: one line per event, a summary table at the end."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from typing import TextIO

import humanize

from katarestore_tui.cli.logs import shown
from katarestore_tui.cli.tables import text_table
from katarestore_tui.engine import (
    Event,
    IndexPhase,
    LockWait,
    Phase,
    Plan,
    RunFinished,
    RunStarted,
    TableFinished,
    TableProgress,
    TableStarted,
    TableStats,
    Warning,
)
from katarestore_tui.words import plural

PROGRESS_EVERY = 5.0  # seconds between progress lines for one table (logs stay short)


class TextReporter:
    """An event sink that prints readable lines; safe to call from loader threads."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out
        # re-entrant: the Ctrl-C handler runs on the main thread, possibly inside say()
        self._lock = threading.RLock()
        self._last: dict[str, float] = {}

    @property
    def out(self) -> TextIO:
        return self._out or sys.stderr  # looked up late: tests and redirections swap it

    def say(self, line: str, level: int | None = None) -> None:
        if not shown(line, level):  # -q keeps warnings and errors only
            return
        with self._lock:
            print(line, file=self.out, flush=True)

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.say(f"run {event.run_id}: {plural(len(event.tables), 'table')}, "
                     f"{humanize.naturalsize(event.bytes_total)} from {event.backup}")
            self.say(f"target {event.target}; foreign keys checked "
                     + ("after the load, set-based" if event.fk_mode == "replica" else "row by row"))
        elif isinstance(event, TableStarted):
            self._last[event.table] = time.monotonic()
            self.say(f"  {event.table}: loading {event.file} "
                     f"({humanize.naturalsize(event.bytes_total)})")
        elif isinstance(event, TableProgress):
            now = time.monotonic()
            if now - self._last.get(event.stats.table, 0) >= PROGRESS_EVERY:
                self._last[event.stats.table] = now
                s = event.stats
                pct = 100 * s.bytes_read / s.bytes_total if s.bytes_total else 100
                failed = s.failed + s.failing  # live: the batch in flight's failures too
                failures = f", {failed:,} failed" if failed else ""
                self.say(f"  {s.table}: {pct:5.1f}%  {plural(s.records, 'record')}{failures}, "
                         f"{rate(s)}")
        elif isinstance(event, TableFinished):
            self.say("  " + table_line(event.stats))
        elif isinstance(event, Warning):
            self.say(f"  warning: {event.message}")
        elif isinstance(event, IndexPhase) and event.step != "starting":
            now = time.monotonic()  # a long build: a line every PROGRESS_EVERY, as loads
            if now - self._last.get(f"index {event.index}", 0) >= PROGRESS_EVERY:
                self._last[f"index {event.index}"] = now
                self.say(f"  {event.name}: {event.detail}")
        elif isinstance(event, Phase):
            self.say(f"  {event.name}: {event.detail}")
        elif isinstance(event, LockWait):  # one line per lock_timeout: the wait grows in the log
            self.say(f"  {event.text()}")
        elif isinstance(event, RunFinished) and event.error:
            self.say(f"run {event.run_id} {event.status}: {event.error}", logging.ERROR)


def rate(stats: TableStats) -> str:
    if stats.seconds <= 0:
        return "-"
    return f"{stats.records / stats.seconds:,.0f} records/s"


def table_line(s: TableStats) -> str:
    extra = f" - {s.error}" if s.error else ""
    return (f"{s.table}: {s.state}, {plural(s.records, 'record')} = {s.loaded:,} loaded + "
            f"{plural(s.duplicates, 'duplicate')} + {s.failed:,} failed in {s.seconds:.1f}s{extra}")


def summary_text(summary: dict) -> str:
    headers = ("table", "state", "records", "loaded", "duplicates", "failed", "seconds")
    rows = [(name, t["state"], f"{t['records']:,}", f"{t['loaded']:,}", f"{t['duplicates']:,}",
             f"{t['failed']:,}", f"{t['seconds']:.1f}") for name, t in summary["tables"].items()]
    tot = summary.get("totals") or {}
    totals = ("TOTAL", "", f"{tot['records']:,}", f"{tot['loaded']:,}", f"{tot['duplicates']:,}",
              f"{tot['failed']:,}", f"{summary['seconds']:.1f}") if tot else None
    lines = [text_table(headers, rows, "llrrrrr", totals)]
    status = summary["status"]
    lines.append("")
    lines.append(f"status: {status} (run {summary['run_id']})")
    for name, t in summary["tables"].items():  # a file cut short belongs in the headline
        if t.get("error") and t.get("state") in ("partial", "failed"):
            lines.append(f"  {name}: {t['error']}")
    if summary.get("quarantine"):
        lines.append(f"failed records: {summary['quarantine']}  "
                     f"(katarestore failures {summary['run_id']})")
    if summary.get("error"):
        lines.append(f"error: {summary['error']}")
    return "\n".join(lines)


def plan_text(plan: Plan) -> str:
    lines = [f"plan for {plan.backup.path} -> schema {plan.schema.name}", "", "load order:"]
    for i, t in enumerate(plan.tables, 1):
        source = t.file.path.name
        parents = f"  after {', '.join(t.parents)}" if t.parents else ""
        held = "" if not t.existing_rows else f"; target holds {plural(t.existing_rows, 'row')}"
        lines.append(f"  {i:>2}. {t.table} <- {source} ({humanize.naturalsize(t.file.size)}"
                     f"{held}){parents}")
        for key, column in t.renamed.items():
            lines.append(f"        key {key} -> column {column}")
        if t.ignored_keys:
            lines.append(f"        ignored keys: {', '.join(t.ignored_keys)}")
    if plan.files_without_table:
        lines.append("files with no table (skipped): "
                     + ", ".join(f.path.name for f in plan.files_without_table))
    if plan.tables_without_file:
        lines.append("tables with no file (left as they are): "
                     + ", ".join(plan.tables_without_file))
    if plan.excluded:
        lines.append("excluded: " + ", ".join(plan.excluded))
    if plan.clean_copy is not None:
        lines.append(f"clean: {plan.clean_copy.describe()}")
    if plan.warnings:
        lines.append("warnings:")
        lines += [f"  - {w}" for w in plan.warnings]
    lines.append("")
    lines.append("dry run: nothing was written")
    return "\n".join(lines)


def print_json(data: object) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    sys.stdout.flush()


def usage_error(message: str, as_json: bool) -> int:
    """An error before any output (exit 2): the text on stderr, always; with --json also
    `{"error": ..., "exit_code": 2}` on stdout, as `restore --json` gives its summary with
    the error, so `| jq` reads JSON whatever happened and stdout never holds prose."""
    from katarestore_tui.errors import EXIT_USAGE

    print(f"error: {message}", file=sys.stderr)
    if as_json:
        print_json({"error": message, "exit_code": EXIT_USAGE})
    return EXIT_USAGE
