"""Plain text for `katarestore bench`: progress lines on stderr, the figures table at the end."""

from __future__ import annotations

from katarestore_tui.bench.events import (
    BenchEvent,
    BenchFinished,
    BenchNote,
    BenchStarted,
    StrategyFinished,
    StrategyProgress,
    StrategyStarted,
)
from katarestore_tui.bench.figures import (
    compare,
    fmt_bytes,
    fmt_failed,
    fmt_loaded,
    fmt_rate,
    fmt_ratio,
    fmt_saved,
    fmt_spread,
)
from katarestore_tui.cli.tables import text_table
from katarestore_tui.words import plural

PROGRESS_EVERY = 5.0  # seconds between progress lines of one attempt


class BenchTextReporter:
    """A bench sink printing readable lines through a `say(line)` callable."""

    def __init__(self, say) -> None:
        self.say = say
        self._last = 0.0

    def __call__(self, event: BenchEvent) -> None:
        if isinstance(event, BenchStarted):
            self.say(f"benchmark {event.bench_id}: {', '.join(event.strategies)} on {event.backup}"
                     + (f", {event.repeat} times each" if event.repeat > 1 else ""))
        elif isinstance(event, StrategyStarted):
            self._last = event.at
            of = f" (run {event.attempt} of {event.repeat})" if event.repeat > 1 else ""
            self.say(f"  {event.strategy}{of}: loading into scratch schema {event.scratch}")
        elif isinstance(event, StrategyProgress):
            if event.at - self._last >= PROGRESS_EVERY:
                self._last = event.at
                self.say(f"  {event.strategy}: {event.fraction:6.1%}  {plural(event.rows, 'row')} "
                         f"({event.table})")
        elif isinstance(event, StrategyFinished):
            if event.status == "ok":
                mark = " (extrapolated)" if event.extrapolated else ""
                self.say(f"  {event.strategy}: {event.seconds:.2f} s, {fmt_rate(event.rows_per_s)}{mark}")
            else:
                self.say(f"  {event.strategy}: {event.status}" + (f": {event.error}" if event.error else ""))
        elif isinstance(event, BenchNote):
            self.say(f"  note: {event.message}")
        elif isinstance(event, BenchFinished) and event.error and event.record is None:
            self.say(f"error: {event.error}")


HEADERS = ("strategy", "time", "rows/s", "vs legacy", "vs batched", "saved", "peak RSS",
           "loaded", "failed")


def figures_rows(record: dict) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [HEADERS]
    for row in compare(record.get("strategies", {})):
        if row.seconds is None:
            rows.append((row.strategy, row.status, "", "", "", "", "", "", ""))
            continue
        star = "*" if row.extrapolated else ""
        rows.append((row.strategy + star, fmt_spread(row), fmt_rate(row.rows_per_s), fmt_ratio(row.vs_legacy),
                     fmt_ratio(row.vs_batched), fmt_saved(row), fmt_bytes(row.peak_rss_bytes),
                     fmt_loaded(row), fmt_failed(row)))
    return rows


def figures_text(record: dict) -> str:
    rows = figures_rows(record)
    lines = [f"benchmark {record['bench_id']} on {record['backup']}: "
             f"{plural(record.get('records'), 'record')}"
             f" in {plural(record.get('table_count'), 'table')}, batch size {record['batch_size']:,}, "
             f"jobs {record['jobs']}, PostgreSQL {record.get('server_version', '?')}", ""]
    lines.append(text_table(rows[0], rows[1:], "l" + "r" * (len(rows[0]) - 1)))
    if any(f.get("extrapolated") for f in record.get("strategies", {}).values()):
        lines.append(f"* extrapolated: loaded the first {plural(record.get('limit_rows'), 'row')} per table, "
                     "insert time scaled to every row (parsing measured in full)")
    if any(f.get("dropped") for f in record.get("strategies", {}).values()):
        lines.append("dropped: rows the old method lost without a trace (batched loses a whole "
                     "batch of 1,000 for one bad row); copy keeps failed rows in its quarantine")
    lines.append(f"status: {record['status']}" + (f" ({record['error']})" if record.get("error") else ""))
    for note in record.get("notes", []):
        lines.append(f"note: {note}")
    return "\n".join(lines)
