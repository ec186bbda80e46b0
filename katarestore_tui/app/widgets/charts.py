"""Terminal charts from unicode blocks: a horizontal bar chart and per-series trend lines.

Drawn as Rich Text at the widget's width (no plotting library): they render the same
in any terminal that shows box characters, over SSH too, and snapshot tests stay exact.
The line builders are plain functions so they are tested without an app.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

EIGHTHS = " ▏▎▍▌▋▊▉"  # partial blocks for a bar's last cell (1/8 steps)
FULL = "█"
SPARKS = "▁▂▃▄▅▆▇█"  # eight heights for one cell of a trend line


@dataclass(frozen=True)
class Bar:
    label: str
    value: float  # length of the bar, relative to the longest
    text: str  # shown after the bar
    style: str = "cyan"


def bar_text(bars: list[Bar], width: int) -> Text:
    """`label ████████▍ text` lines, the longest bar filling the room left by the texts."""
    out = Text(no_wrap=True, overflow="ellipsis")
    if not bars:
        return out
    label_w = max(len(b.label) for b in bars)
    text_w = max(len(b.text) for b in bars)
    room = max(4, width - label_w - text_w - 3)
    top = max((b.value for b in bars), default=0) or 1
    for i, bar in enumerate(bars):
        if i:
            out.append("\n")
        eighths = round(max(bar.value, 0) / top * room * 8)
        if bar.value > 0:
            eighths = max(eighths, 1)  # a tiny figure still shows
        cells = FULL * (eighths // 8) + (EIGHTHS[eighths % 8] if eighths % 8 else "")
        out.append(bar.label.ljust(label_w) + " ", style="bold")
        out.append(cells, style=bar.style)
        out.append(" " * (room - len(cells) + 1))
        out.append(bar.text.rjust(text_w), style="dim" if not bar.value else "")
    return out


@dataclass(frozen=True)
class Point:
    value: float | None  # None: nothing measured in this run
    regression: bool = False
    extrapolated: bool = False


def spark_cell(value: float | None, top: float) -> str:
    if value is None or top <= 0:
        return "·"
    level = math.ceil(max(value, 0) / top * len(SPARKS))
    return SPARKS[min(max(level, 1), len(SPARKS)) - 1]


def trend_text(
    series: dict[str, list[Point]],
    width: int,
    marks: dict[int, str] | None = None,
    value_format=lambda v: f"{v:,.0f}",
    first_label: str = "",
    last_label: str = "",
) -> Text:
    """One line per series, one column per run (the same run in the same column on every line).

    Each line is scaled to its own best figure, so a drop shows whatever the strategy's
    speed; regressions are red, extrapolated figures dim, and `marks` (column -> letter)
    are written under the columns of the runs picked for comparison.
    """
    out = Text(no_wrap=True, overflow="ellipsis")
    names = list(series)
    if not names:
        return out
    runs = max(len(points) for points in series.values())
    label_w = max(len(n) for n in names)
    tail_w = 16
    room = max(4, width - label_w - tail_w - 2)
    shown = min(runs, room)
    start = runs - shown
    cell_w = max(1, min(3, room // max(shown, 1)))
    for i, name in enumerate(names):
        points = series[name][start:]
        values = [p.value for p in points if p.value is not None]
        top = max(values, default=0)
        if i:
            out.append("\n")
        out.append(name.ljust(label_w) + " ", style="bold")
        for point in points:
            style = "red bold" if point.regression else ("dim" if point.extrapolated else "green")
            out.append(spark_cell(point.value, top) * cell_w, style=style)
        out.append(" " * ((shown - len(points)) * cell_w + 1))
        last = next((p for p in reversed(points) if p.value is not None), None)
        if last is None:
            out.append("no runs".rjust(tail_w), style="dim")
        else:
            text = value_format(last.value) + (" ▼" if last.regression else "")
            out.append(text.rjust(tail_w), style="red bold" if last.regression else "")
    span = shown * cell_w
    axis = [" "] * span
    for column, letter in (marks or {}).items():
        at = (column - start) * cell_w
        if 0 <= at < span:
            axis[at] = letter
    if any(c != " " for c in axis):
        out.append("\n" + " " * (label_w + 1))
        out.append("".join(axis), style="bold yellow")
    if first_label and span >= len(first_label) + len(last_label) + 1:
        out.append("\n" + " " * (label_w + 1))
        out.append(first_label + last_label.rjust(span - len(first_label)), style="dim")
    return out


class BarChart(Widget):
    """Horizontal bars; set `bars`."""

    DEFAULT_CSS = "BarChart { height: auto; }"
    bars: reactive[list[Bar]] = reactive(list, layout=True)

    def render(self) -> Text:
        return bar_text(self.bars, self.size.width)


@dataclass(frozen=True)
class Trend:
    series: dict[str, list[Point]]
    marks: dict[int, str]
    first_label: str = ""
    last_label: str = ""


class TrendChart(Widget):
    """Sparkline rows, one per strategy, aligned by run; set `trend`."""

    DEFAULT_CSS = "TrendChart { height: auto; }"
    trend: reactive[Trend | None] = reactive(None, layout=True)

    def render(self) -> Text:
        if self.trend is None:
            return Text("")
        t = self.trend
        return trend_text(t.series, self.size.width, t.marks, _rate, t.first_label, t.last_label)


def _rate(value: float) -> str:
    return f"{value / 1000:,.1f}k rows/s" if value >= 10_000 else f"{value:,.0f} rows/s"
