"""Numbers, sizes, durations and JSON as an operator reads them (no Textual here)."""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import humanize
import orjson

from katarestore_tui.jsontext import has_surrogate
from katarestore_tui.words import noun, plural

__all__ = ["noun", "plural"]  # re-exported: the screens count through fmt

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


def pretty_json(value: object) -> str:
    """Indented JSON that keeps Decimal numbers digit for digit (json.dumps cannot).

    orjson writes it (OPT_INDENT_2, a Decimal as a Fragment of its digits); what orjson
    refuses is prepared first: integers past 64 bits, and lone UTF-16 surrogates, which a
    terminal cannot print and so stay their \\u escape (that string alone, not the text).
    """
    try:
        return orjson.dumps(value, default=_shown_default, option=orjson.OPT_INDENT_2).decode()
    except TypeError:  # orjson.JSONEncodeError: a huge int or a lone surrogate somewhere
        pass
    keys: dict[str, str] = {}
    text = orjson.dumps(_printable(value, keys), default=_shown_default,
                        option=orjson.OPT_INDENT_2).decode()
    for token, key in keys.items():  # a surrogate key, written as its escape
        text = text.replace(f'"{token}"', json.dumps(key), 1)
    return text


def _shown_default(value: object) -> object:
    """Decimal as its digits; any other type as its text (a JSON string)."""
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    return _printable(str(value), {})


def _printable(value: object, keys: dict[str, str]) -> object:
    """A copy orjson can write: huge ints and surrogate strings as ready-made Fragments;
    a surrogate dict key as a one-off token, swapped for its escape afterwards."""
    if isinstance(value, str):
        return value if not has_surrogate(value) else orjson.Fragment(json.dumps(value))
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**64 else orjson.Fragment(str(int(value)))
    if isinstance(value, dict):
        copy = {}
        for key, item in value.items():
            key = str(key)
            if has_surrogate(key):
                token = f"katarestore-key-{secrets.token_hex(8)}"
                keys[token] = key
                key = token
            copy[key] = _printable(item, keys)
        return copy
    if isinstance(value, list | tuple):
        return [_printable(v, keys) for v in value]
    return value
