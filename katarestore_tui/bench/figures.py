"""Measurements of one strategy attempt, their aggregate over `--repeat`, and comparisons.

Pure data and arithmetic: the runner fills it, the CLI and the screen read the dicts
it produces (the same dicts the history file keeps), so every consumer shows the same
figures. A figure derived from a bounded load (`--limit-rows`) carries
`extrapolated: true` all the way to the screen.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

OK, FAILED, CANCELLED = "ok", "failed", "cancelled"


@dataclass
class TableRun:
    """One table in one attempt. `attempted` < `records` when `--limit-rows` bounded it."""

    table: str
    records: int = 0  # records in the file
    attempted: int = 0  # records sent to the database
    loaded: int = 0
    duplicates: int = 0
    failed: int = 0  # refused; kept in the quarantine by `copy`, lost by legacy/batched
    parse_seconds: float = 0.0
    insert_seconds: float = 0.0
    seconds: float = 0.0  # measured wall time for this table
    error: str | None = None

    @property
    def extrapolated(self) -> bool:
        return 0 < self.attempted < self.records

    @property
    def estimated_seconds(self) -> float:
        """Parsing happened in full; only the insert time is scaled up to every record."""
        if not self.extrapolated:
            return self.seconds
        return self.seconds + self.insert_seconds * (self.records / self.attempted - 1)

    def to_dict(self) -> dict:
        return {
            "records": self.records,
            "attempted": self.attempted,
            "loaded": self.loaded,
            "duplicates": self.duplicates,
            "failed": self.failed,
            "seconds": round(self.estimated_seconds, 4),
            "measured_seconds": round(self.seconds, 4),
            "extrapolated": self.extrapolated,
            "error": self.error,
        }


@dataclass
class StrategyRun:
    """One attempt of one strategy into a fresh scratch schema."""

    strategy: str
    measured_seconds: float = 0.0
    tables: dict[str, TableRun] = field(default_factory=dict)
    peak_rss_bytes: int = 0
    start_rss_bytes: int = 0
    status: str = OK
    error: str | None = None
    keeps_failed: bool = False  # True when refused rows are quarantined, not lost

    @property
    def extrapolated(self) -> bool:
        return any(t.extrapolated for t in self.tables.values())

    @property
    def seconds(self) -> float:
        """Wall time, with the insert time of bounded tables scaled to every record."""
        extra = sum(t.estimated_seconds - t.seconds for t in self.tables.values())
        return self.measured_seconds + extra

    def total(self, key: str) -> int:
        return sum(getattr(t, key) for t in self.tables.values())

    @property
    def rows_per_s(self) -> float:
        seconds = self.seconds
        return self.total("records") / seconds if seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "seconds": round(self.seconds, 4),
            "measured_seconds": round(self.measured_seconds, 4),
            "rows_per_s": round(self.rows_per_s, 1),
            "peak_rss_bytes": self.peak_rss_bytes,
            "start_rss_bytes": self.start_rss_bytes,
            "extrapolated": self.extrapolated,
            "error": self.error,
        }


def _spread(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def aggregate(strategy: str, runs: list[StrategyRun], limit_rows: int | None) -> dict:
    """The figures of a strategy over its attempts: median and min-max of the good ones."""
    good = [r for r in runs if r.status == OK]
    status = next((r.status for r in runs if r.status != OK), OK) if runs else CANCELLED
    figures: dict = {
        "status": status,
        "attempts": len(runs),
        "completed": len(good),
        "extrapolated": any(r.extrapolated for r in good),
        "limit_rows": limit_rows if any(r.extrapolated for r in good) else None,
        "failed_are_kept": bool(runs and runs[0].keeps_failed),
        "error": next((r.error for r in runs if r.error), None),
        "runs": [r.to_dict() for r in runs],
    }
    if not good:
        return figures
    seconds = _spread([r.seconds for r in good])
    rate = _spread([r.rows_per_s for r in good])
    reference = good[0]
    names = list(reference.tables)
    figures.update({
        "seconds": round(seconds[0], 4),
        "seconds_min": round(seconds[1], 4),
        "seconds_max": round(seconds[2], 4),
        "rows_per_s": round(rate[0], 1),
        "rows_per_s_min": round(rate[1], 1),
        "rows_per_s_max": round(rate[2], 1),
        "peak_rss_bytes": max(r.peak_rss_bytes for r in good),
        "records": reference.total("records"),
        "attempted": reference.total("attempted"),
        "loaded": reference.total("loaded"),
        "duplicates": reference.total("duplicates"),
        "failed": reference.total("failed"),
        "dropped": 0 if reference.keeps_failed else reference.total("failed"),
        "tables": {
            name: {
                **reference.tables[name].to_dict(),
                "seconds": round(statistics.median(
                    r.tables[name].estimated_seconds for r in good if name in r.tables), 4),
            }
            for name in names
        },
    })
    return figures


@dataclass(frozen=True)
class ComparisonRow:
    """One strategy's line in the comparison table; None where a figure has no meaning."""

    strategy: str
    status: str
    seconds: float | None
    seconds_min: float | None
    seconds_max: float | None
    rows_per_s: float | None
    vs_legacy: float | None  # speed-up: legacy's time / this time
    vs_batched: float | None
    saved_seconds: float | None  # vs legacy when it ran, else vs batched
    saved_against: str | None
    peak_rss_bytes: int | None
    extrapolated: bool
    loaded: int | None
    attempted: int | None
    records: int | None
    failed: int | None
    dropped: int | None
    error: str | None


def compare(strategies: dict[str, dict]) -> list[ComparisonRow]:
    """Speed-ups and time saved between the strategies of one benchmark record."""
    def seconds_of(name: str) -> float | None:
        fig = strategies.get(name) or {}
        return fig.get("seconds") if fig.get("completed") else None

    legacy, batched = seconds_of("legacy"), seconds_of("batched")
    baseline_name = "legacy" if legacy else ("batched" if batched else None)
    baseline = legacy or batched
    rows = []
    for name, fig in strategies.items():
        own = seconds_of(name)

        def ratio(base: float | None, own: float | None = own) -> float | None:
            return base / own if base and own else None

        rows.append(ComparisonRow(
            strategy=name,
            status=fig.get("status", "?"),
            seconds=own,
            seconds_min=fig.get("seconds_min") if own else None,
            seconds_max=fig.get("seconds_max") if own else None,
            rows_per_s=fig.get("rows_per_s") if own else None,
            vs_legacy=ratio(legacy),
            vs_batched=ratio(batched),
            saved_seconds=(baseline - own) if baseline and own else None,
            saved_against=baseline_name,
            peak_rss_bytes=fig.get("peak_rss_bytes"),
            extrapolated=bool(fig.get("extrapolated")),
            loaded=fig.get("loaded"),
            attempted=fig.get("attempted"),
            records=fig.get("records"),
            failed=fig.get("failed"),
            dropped=fig.get("dropped"),
            error=fig.get("error"),
        ))
    return rows


# ---------------------------------------------------------------- formatting (CLI, screen)

def _time_unit(value: float) -> tuple[float, str, str]:
    """(divisor, number format, suffix) for a duration, chosen by its size."""
    if value >= 3600:
        return 3600, ".1f", "h"
    if value >= 120:
        return 60, ".1f", "min"
    if value >= 10:
        return 1, ".1f", "s"
    return 1, ".2f", "s"


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "-"
    divisor, spec, suffix = _time_unit(value)
    return f"{value / divisor:{spec}} {suffix}"


def fmt_rate(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 10_000:
        return f"{value / 1000:,.0f}k/s"
    return f"{value:,.0f}/s"


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}x"


def fmt_bytes(value: int | None) -> str:
    if not value:
        return "-"
    return f"{value / 1024 / 1024:,.0f} MB"


def fmt_saved(row: ComparisonRow) -> str:
    if row.saved_seconds is None or row.strategy == row.saved_against:
        return "-"
    sign = "" if row.saved_seconds >= 0 else "-"
    return sign + fmt_seconds(abs(row.saved_seconds))


def fmt_range(low: float | None, high: float | None) -> str:
    """'0.96-2.36 s', '9.0-10.4 min', '2.6-3.0 h': both ends in the unit of the higher one."""
    if low is None or high is None or high <= low:
        return ""
    divisor, spec, suffix = _time_unit(high)
    return f"{low / divisor:{spec}}-{high / divisor:{spec}} {suffix}"


def fmt_spread(row: ComparisonRow) -> str:
    """'12.3 s' or '12.3 s (11.9-12.8 s)' when repeats differ."""
    spread = fmt_range(row.seconds_min, row.seconds_max)
    return fmt_seconds(row.seconds) + (f" ({spread})" if spread else "")


def fmt_loaded(row: ComparisonRow) -> str:
    """'2,855/2,863', or '446/506 sampled' when the load was bounded."""
    if row.loaded is None:
        return "-"
    if row.extrapolated and row.attempted is not None:
        return f"{row.loaded:,}/{row.attempted:,} sampled"
    return f"{row.loaded:,}/{row.records or 0:,}"


def fmt_failed(row: ComparisonRow) -> str:
    if row.failed is None:
        return "-"
    if not row.failed:
        return "0"
    return f"{row.failed:,} " + ("dropped" if row.dropped else "kept")
