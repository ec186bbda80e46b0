"""Numbers, sizes, durations and JSON as an operator reads them (no Textual here)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import humanize

from katarestore_tui.words import noun, plural

__all__ = ["noun", "plural"]  # re-exported: the screens count through fmt
_plain = json.JSONEncoder(ensure_ascii=False)


def size(num_bytes: int | float) -> str:
    return humanize.naturalsize(num_bytes)


def count(number: int | None) -> str:
    return f"{number or 0:,}"


def duration(seconds: float | None) -> str:
    """`0:01:23`; whole seconds are enough for a restore."""
    if seconds is None or seconds < 0:
        return "–"
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def rate(records: int, seconds: float) -> str:
    if seconds <= 0 or records <= 0:
        return "–"
    per_second = records / seconds
    if per_second >= 10_000:
        return f"{per_second / 1000:,.0f}k rows/s"
    return f"{per_second:,.0f} rows/s"


def eta(done: int, total: int, seconds: float) -> str:
    """Time left at the speed so far, by bytes read."""
    if done <= 0 or seconds <= 0 or total <= done:
        return "–"
    return duration((total - done) * seconds / done)


def age(taken: datetime | None, now: datetime) -> str:
    return humanize.naturaltime(now - taken) if taken else "unknown age"


def short_path(path: str | Path | None) -> str:
    """A path with the home folder written as ~ (shorter on an 80-column screen)."""
    if not path:
        return "–"
    text = str(path)
    home = str(Path.home())
    if home not in ("", "/") and text.startswith(home + "/"):
        return "~" + text[len(home):]
    return text


def pretty_json(value: object, indent: int = 0) -> str:
    """Indented JSON that keeps Decimal numbers digit for digit (json.dumps cannot)."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{_shown(str(k))}: {pretty_json(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        items = [f"{inner}{pretty_json(v, indent + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    if isinstance(value, str):
        return _shown(value)
    try:
        return _plain.encode(value)
    except TypeError:
        return _shown(str(value))


def _shown(text: str) -> str:
    """A JSON string a terminal can print: a lone surrogate stays its \\u escape."""
    encoded = _plain.encode(text)
    try:
        encoded.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(text)
    return encoded
