"""JSON text that keeps numbers exact: ijson hands us `Decimal`, json.dumps refuses it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

_plain = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_ascii = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False)


def dumps_exact(value: object) -> str:
    """Compact JSON; a Decimal is written as its exact digits, never through float.

    Always valid UTF-8 once encoded: a string holding a lone UTF-16 surrogate (what
    JSON's "\\ud83d" escape decodes to) makes the whole text ASCII, with the escape
    written back, so the value is kept as it was and reads back the same.
    """
    text = _dumps(value, _plain)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = _dumps(value, _ascii)
    return text


def _dumps(value: object, encoder: json.JSONEncoder) -> str:
    try:
        return encoder.encode(value)
    except TypeError:
        return "".join(_chunks(value, encoder))


def _chunks(value: object, encoder: json.JSONEncoder) -> Iterator[str]:
    if isinstance(value, Decimal):
        yield str(value)  # '12.50', '1.5E+3': valid JSON numbers, digit for digit
    elif isinstance(value, dict):
        yield "{"
        for i, (key, item) in enumerate(value.items()):
            if i:
                yield ","
            yield encoder.encode(str(key))
            yield ":"
            yield from _chunks(item, encoder)
        yield "}"
    elif isinstance(value, list | tuple):
        yield "["
        for i, item in enumerate(value):
            if i:
                yield ","
            yield from _chunks(item, encoder)
        yield "]"
    else:
        yield encoder.encode(value)
