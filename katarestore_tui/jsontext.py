"""JSON text that keeps numbers exact: ijson hands us `Decimal`, json.dumps refuses it."""

from __future__ import annotations

import json
from decimal import Decimal

_plain = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dumps_exact(value: object) -> str:
    """Compact JSON; a Decimal is written as its exact digits, never through float."""
    try:
        return _plain.encode(value)
    except TypeError:
        return "".join(_chunks(value))


def _chunks(value: object):
    if isinstance(value, Decimal):
        yield str(value)  # '12.50', '1.5E+3': valid JSON numbers, digit for digit
    elif isinstance(value, dict):
        yield "{"
        for i, (key, item) in enumerate(value.items()):
            if i:
                yield ","
            yield _plain.encode(str(key))
            yield ":"
            yield from _chunks(item)
        yield "}"
    elif isinstance(value, list | tuple):
        yield "["
        for i, item in enumerate(value):
            if i:
                yield ","
            yield from _chunks(item)
        yield "]"
    else:
        yield _plain.encode(value)
