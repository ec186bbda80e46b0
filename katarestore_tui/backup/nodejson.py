"""JSON text as the Node apps' backup script writes it: `JSON.stringify(rows, null, 2)`.

The restore reads this layout fastest (every record ends with a line `  }`), and the
operator's own tools read it too, so katarestore's backups (and the copy `--clean` keeps)
are written the same way. Two departures, both so that nothing is lost: numbers inside
json/jsonb and floats keep their exact digits (JavaScript would round them to a double), and
a float NaN/Infinity is written as the string PostgreSQL reads back (JavaScript writes null).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from json.encoder import encode_basestring as _encode_string  # C: JSON.stringify's escapes
from typing import Any


class RawNumber(str):
    """A JSON number kept as its text, digit for digit (json/jsonb values are parsed to these)."""

    __slots__ = ()


def loads_exact(text: str | bytes) -> Any:
    """Parse JSON keeping every number's digits (`1.10` stays `1.10`, 2^64 stays exact)."""
    return json.loads(text, parse_float=RawNumber, parse_int=RawNumber)


_quote = json.JSONEncoder(ensure_ascii=False).encode  # JSON.stringify's string escapes


def quote(text: str) -> str:
    """A JSON string as JSON.stringify writes it (a lone surrogate as its \\u escape)."""
    out = _quote(text)
    try:
        out.encode("utf-8")
    except UnicodeEncodeError:  # well-formed JSON.stringify escapes lone surrogates
        out = json.dumps(text, ensure_ascii=True)
    return out


def js_number(value: float) -> str:
    """A double as JavaScript's Number#toString writes it (shortest digits that read back)."""
    if math.isnan(value) or math.isinf(value):
        return quote("NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity"))
    if value == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    point = len(digits) + int(exponent)  # value = 0.<text> * 10^point
    k = len(text)
    if k <= point <= 21:
        body = text + "0" * (point - k)
    elif 0 < point <= 21:
        body = text[:point] + "." + text[point:]
    elif -6 < point <= 0:
        body = "0." + "0" * -point + text
    else:
        e = point - 1
        body = text[0] + ("." + text[1:] if k > 1 else "") + ("e+" if e >= 0 else "e-") + str(abs(e))
    return ("-" if sign else "") + body


def pretty(value: Any, indent: str) -> str:
    """`JSON.stringify(value, null, 2)` of a value whose line starts at `indent`."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return str(value) if isinstance(value, RawNumber) else quote(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return js_number(value)
    if isinstance(value, Decimal):
        return quote(str(value))
    inner = indent + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        body = ",\n".join(f"{inner}{quote(str(k))}: {pretty(v, inner)}" for k, v in value.items())
        return "{\n" + body + "\n" + indent + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(inner + pretty(v, inner) for v in value) + "\n" + indent + "]"
    raise TypeError(f"not JSON: {type(value).__name__}")


def buffer(data: bytes) -> dict[str, Any]:
    """A bytea as Node's Buffer#toJSON gives it."""
    return {"type": "Buffer", "data": list(data)}


# ---------------------------------------------------------------- one value of a row, fast
# A table's record is formatted by one function per column, picked once from its type, so
# the common values (text, numbers, dates) skip `pretty`'s type tests: the exporter's CPU
# is almost all here.

def value_text(value: Any) -> str:
    """Any value (json trees, arrays): the general path."""
    return pretty(value, "    ")


def string_text(value: str) -> str:
    """Text from a UTF-8 database (it cannot hold a lone surrogate)."""
    return _encode_string(value)


def plain_string_text(value: str) -> str:
    """Text known to need no escape (ISO dates, uuids, numerics)."""
    return '"' + value + '"'


def bool_text(value: bool) -> str:
    return "true" if value else "false"


def buffer_text(value: bytes | memoryview) -> str:
    data = bytes(value)
    if not data:
        return '{\n      "type": "Buffer",\n      "data": []\n    }'
    return ('{\n      "type": "Buffer",\n      "data": [\n        '
            + ",\n        ".join(map(str, data)) + "\n      ]\n    }")


Formatter = Callable[[Any], str]


def record_prefixes(names: list[str]) -> list[str]:
    """The text before each value of a record (key lines), computed once per table."""
    return [f'    {quote(name)}: ' for name in names]


def record(prefixes: list[str], formatters: list[Formatter], values: Sequence[Any]) -> str:
    """One row object as an element of the top-level array (two spaces in, ends `  }`)."""
    if not prefixes:
        return "  {}"
    lines = ",\n".join(p + ("null" if v is None else f(v))
                       for p, f, v in zip(prefixes, formatters, values, strict=True))
    return "  {\n" + lines + "\n  }"
