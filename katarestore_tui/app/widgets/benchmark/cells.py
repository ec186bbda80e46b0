"""What the benchmark screen draws, as plain functions of the figures: cells and tables.

Kept apart from the screen (which owns the worker, the keys and the layout) so each can
be read, and changed, without the other.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from katarestore_tui.bench.figures import (
    ComparisonRow,
    fmt_bytes,
    fmt_failed,
    fmt_range,
    fmt_rate,
    fmt_ratio,
    fmt_saved,
    fmt_seconds,
)
from katarestore_tui.bench.runner import ALL_STRATEGIES

COLORS = {"legacy": "red", "batched": "yellow", "copy": "green"}
# what each strategy did to the rows comes before how fast: at 80 columns the last ones are cut
COMPARISON_COLUMNS = ("strategy", "time", "rows/s", "loaded", "failed", "×legacy", "×batched", "saved",
                      "spread", "peak RSS")
HISTORY_COLUMNS = ("when (UTC)", "backup", "records", *ALL_STRATEGIES, "status")


def when(record: dict) -> str:
    """'2026-05-01 10:15' from the record's ISO time."""
    return str(record.get("time", "?"))[:16].replace("T", " ")


def history_cells(record: dict, mark: str) -> list:
    """One history row: its A/B mark, when, backup, records, rows/s per strategy, status."""
    cells: list = [Text(mark, style="bold yellow"), when(record), str(record.get("backup", "?")),
                   f"{record.get('records') or 0:,}"]
    for name in ALL_STRATEGIES:
        fig = (record.get("strategies") or {}).get(name) or {}
        if fig.get("completed"):
            star = "*" if fig.get("extrapolated") else ""
            cells.append(fmt_rate(fig.get("rows_per_s")) + star)
        else:
            cells.append(Text(fig.get("status", "-") if fig else "-", style="dim"))
    cells.append(str(record.get("status", "?")))
    return cells


def comparison_cells(row: ComparisonRow) -> list:
    """One strategy's row of the comparison table."""
    name = Text(row.strategy + ("*" if row.extrapolated else ""),
                style=f"bold {COLORS.get(row.strategy, '')}")
    if row.seconds is None:
        return [name, Text(row.status, style="red"), *[""] * (len(COMPARISON_COLUMNS) - 2)]
    return [name, fmt_seconds(row.seconds), fmt_rate(row.rows_per_s), _loaded(row), fmt_failed(row),
            fmt_ratio(row.vs_legacy), fmt_ratio(row.vs_batched), fmt_saved(row),
            fmt_range(row.seconds_min, row.seconds_max), fmt_bytes(row.peak_rss_bytes)]


def side_by_side(a: dict, b: dict) -> Table:
    """Two history runs, before (A) and after (B): rows/s per strategy and what differs."""
    table = Table(title="before (A) and after (B)", title_justify="left", expand=False,
                  show_edge=False, pad_edge=False)
    table.add_column("")
    table.add_column(f"A {when(a)}", justify="right")
    table.add_column(f"B {when(b)}", justify="right")
    table.add_column("change", justify="right")
    for name in ALL_STRATEGIES:
        fa = (a.get("strategies") or {}).get(name) or {}
        fb = (b.get("strategies") or {}).get(name) or {}
        ra = fa.get("rows_per_s") if fa.get("completed") else None
        rb = fb.get("rows_per_s") if fb.get("completed") else None
        table.add_row(f"{name} rows/s", fmt_rate(ra), fmt_rate(rb), _change(ra, rb))
    for label, key in (("backup", "backup"), ("records", "records"), ("batch size", "batch_size"),
                       ("jobs", "jobs"), ("PostgreSQL", "server_version"), ("host", "host")):
        va, vb = a.get(key), b.get(key)
        if key == "server_version":
            va, vb = str(va).split(" ")[0], str(vb).split(" ")[0]
        show = (lambda v: f"{v:,}") if isinstance(va, int) and isinstance(vb, int) else str
        table.add_row(label, show(va), show(vb), "" if va == vb else "differs")
    for package in ("katarestore", "psycopg", "ijson"):
        va, vb = (a.get("versions") or {}).get(package), (b.get("versions") or {}).get(package)
        table.add_row(package, str(va), str(vb), "" if va == vb else "differs")
    return table


def _loaded(row: ComparisonRow) -> str:
    """Rows loaded; of the sample for a bounded (extrapolated) load."""
    if row.loaded is None:
        return "-"
    if row.extrapolated and row.attempted is not None:
        return f"{row.loaded:,}/{row.attempted:,}*"
    return f"{row.loaded:,}"


def _change(before: float | None, after: float | None) -> Text | str:
    if not before or not after:
        return ""
    change = after / before - 1
    if abs(change) < 0.005:
        return "±0%"
    style = "red bold" if change < -0.10 else ("green" if change > 0.10 else "")
    return Text(f"{change:+.0%}", style=style)
