"""One JSON value (as ijson parses it) -> the PostgreSQL text input form of one column.

`converter_for(column)` picks, once per column, a small closure that turns a value
parsed from a backup (str, int, Decimal, bool, None, dict, list) into the text the
server's own input function accepts, or None for SQL NULL. The result is not
COPY-escaped yet: the loader escapes backslash, tab and newline.

The server does the final cast (COPY text format), so strings pass through whenever
PostgreSQL parses them itself: a bad value is rejected by the server with its own
error and the record is quarantined. A converter raises `ConversionError` only for a
value that cannot be the column's type at all, or that could not even be sent
(a NUL character, an unpaired UTF-16 surrogate).

Hot path: about a million rows of several columns each. Every closure tests the
exact class of the common case first (`type(v) is str`, `type(v) is int`: exact, so
`bool` never slips in as an int) and leaves the rare shapes for later.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from json.encoder import c_make_encoder  # type: ignore[attr-defined]
from json.encoder import encode_basestring as _json_str  # the C version when available

import orjson

from katarestore_tui.db.schema import Column
from katarestore_tui.db.utc_offsets import OffsetError, may_have_offset, utc_text

Converter = Callable[[object], str | None]

__all__ = ["ConversionError", "Converter", "converter_for", "json_text", "passes_strings"]


class ConversionError(ValueError):
    """A value that cannot be the column's type; the record goes to the quarantine."""


NUL_MESSAGE = "text contains a NUL character (\\u0000), which PostgreSQL cannot store"
SURROGATE_MESSAGE = (
    "text contains an unpaired UTF-16 surrogate (a lone \\ud800-\\udfff escape), which is not valid UTF-8"
)

_SHOW_LIMIT = 80


def _show(value: object) -> str:
    """The value as JSON text, cut to about 80 characters, for error messages."""
    try:
        text = _dump(value, ascii_only=True)
    except (ConversionError, RecursionError, ValueError, TypeError):
        text = repr(value)
    if len(text) > _SHOW_LIMIT:
        text = text[: _SHOW_LIMIT - 1] + "…"
    return text


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | Decimal | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def _error(expected: str, column: Column, value: object) -> ConversionError:
    return ConversionError(f"expected {expected} for {column.type_name}, got {_kind(value)} {_show(value)}")


def _unencodable(value: str) -> bool:
    """True when `value` holds an unpaired surrogate (ijson decodes a lone "\\udc80")."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _refuse(value: str) -> ConversionError:
    return ConversionError(NUL_MESSAGE if "\x00" in value else SURROGATE_MESSAGE)


def _check(value: str) -> str:
    """`value` itself if it can be sent (no NUL, no lone surrogate), else raise."""
    # `in` is a memchr; isascii() is O(1) on CPython (a flag of the string object)
    if "\x00" in value or (not value.isascii() and _unencodable(value)):
        raise _refuse(value)
    return value


# --------------------------------------------------------------------------- JSON text


def _exact_float(value: object) -> float:
    """A Decimal as the float whose repr is the very same text ('0.1'), else TypeError.

    JSON.stringify writes the shortest text that round-trips a double, as Python's
    repr does, so most JSON fractions take this path and stay in the C encoder;
    '12.50', '1E+3' or 30 digits do not, and go to the exact pure-Python writer.
    """
    if type(value) is Decimal:
        as_float = float(value)
        if float.__repr__(as_float) == str(value):
            return as_float
    raise TypeError


if c_make_encoder is not None:  # CPython: call the C encoder directly, skip its set-up
    _c_encode = c_make_encoder(None, _exact_float, _json_str, None, ":", ",", False, False, False)

    def _fast_dumps(value: object) -> str:
        return "".join(_c_encode(value, 0))

else:  # pragma: no cover - Python without the _json accelerator
    _py_encoder = json.JSONEncoder(
        ensure_ascii=False,
        separators=(",", ":"),
        check_circular=False,
        allow_nan=False,
        default=_exact_float,
    )

    def _fast_dumps(value: object) -> str:
        return _py_encoder.encode(value)


def _dump(value: object, ascii_only: bool = False) -> str:
    """Compact JSON text with every number exact (Decimal written as its own digits)."""
    enc = json.encoder.encode_basestring_ascii if ascii_only else _json_str
    parts: list[str] = []
    _dump_into(value, parts, enc)
    return "".join(parts)


def _dump_into(value: object, out: list[str], enc: Callable[[str], str]) -> None:
    if isinstance(value, str):
        out.append(enc(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ConversionError(f"JSON has no {value} number")
        out.append(str(value))  # '0.1', '12.50', '1E+3': valid JSON, exact
    elif isinstance(value, dict):
        out.append("{")
        first = True
        for key, item in value.items():
            if not first:
                out.append(",")
            first = False
            out.append(enc(key if isinstance(key, str) else str(key)))
            out.append(":")
            _dump_into(item, out, enc)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _dump_into(item, out, enc)
        out.append("]")
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ConversionError(f"JSON has no {value} number")
        out.append(float.__repr__(value))
    else:
        raise ConversionError(f"cannot write a {type(value).__name__} as JSON")


def _decimal_fragment(value: object) -> orjson.Fragment:
    """orjson writes a Decimal as its own digits ('12.50', '1E+3'), never through a float."""
    if type(value) is Decimal and value.is_finite():
        return orjson.Fragment(str(value))
    raise TypeError


def json_text(value: object) -> str:
    """`value` as compact JSON text, numbers exact. Raises ConversionError."""
    try:  # orjson: ~6x faster than the json module; it refuses what the writers below explain
        return orjson.dumps(value, default=_decimal_fragment).decode()
    except (orjson.JSONEncodeError, TypeError):
        pass
    try:
        try:
            text = _fast_dumps(value)  # no Decimal inside: all in C
        except (TypeError, ValueError):
            text = _dump(value)
    except RecursionError:
        raise ConversionError("JSON value nested too deeply") from None
    if not text.isascii() and _unencodable(text):
        raise ConversionError(SURROGATE_MESSAGE)
    return text


# ----------------------------------------------------------------------- scalar types


def _text(column: Column, expected: str = "text") -> Converter:
    """text, varchar, char, citext, name ...: strings as is, anything else as text."""

    def convert(v: object) -> str | None:
        if type(v) is str:
            if "\x00" in v or (not v.isascii() and _unencodable(v)):
                raise _refuse(v)
            return v
        if v is None:
            return None
        if v is True:
            return "true"
        if v is False:
            return "false"
        if isinstance(v, int | Decimal):
            return str(v)
        if isinstance(v, str):
            return _check(str(v))
        if isinstance(v, dict | list):
            return json_text(v)
        raise _error(expected, column, v)

    return convert


# pg numeric: up to 131072 digits before the point, 16383 after
_NUMERIC_MAX_ADJUSTED = 131072
_NUMERIC_MIN_ADJUSTED = -16384


def _rare_number(v: object, column: Column) -> str:
    """The shapes a number column seldom sees: int and str subclasses; bool is refused."""
    if isinstance(v, bool):
        raise _error("a number", column, v)
    if isinstance(v, int):
        return str(int(v))
    if isinstance(v, str):
        return _check(str(v))
    raise _error("a number", column, v)


def _integer(column: Column) -> Converter:
    """int2, int4, int8, oid: exact integers, never through a float."""

    def convert(v: object) -> str | None:
        if type(v) is int:
            return str(v)
        if v is None:
            return None
        if type(v) is str:
            return _check(v)  # "42": the server parses it (and rejects "4x2")
        if isinstance(v, Decimal):
            # 1E+3 or 5.0 in the JSON: the integer input function rejects both forms
            if not v.is_finite() or v.adjusted() > 20:
                raise _error("an integer in range", column, v)
            if v == v.to_integral_value():
                return str(int(v))
            return format(v, "f")  # 1.5: the server says why it is not an integer
        return _rare_number(v, column)

    return convert


def _numeric(column: Column) -> Converter:
    """numeric, money and other numbers: exact decimal text, "12.50" stays 12.50."""

    def convert(v: object) -> str | None:
        if type(v) is str:
            if "\x00" in v or (not v.isascii() and _unencodable(v)):
                raise _refuse(v)
            return v
        if v is None:
            return None
        if type(v) is int:
            return str(v)
        if isinstance(v, Decimal):
            if v.is_finite():
                exp = v.adjusted()
                if exp > _NUMERIC_MAX_ADJUSTED or exp < _NUMERIC_MIN_ADJUSTED:
                    raise _error("a number within numeric's range", column, v)
                return format(v, "f")
            return str(v)  # NaN, Infinity: numeric accepts both
        return _rare_number(v, column)

    return convert


def _float(column: Column) -> Converter:
    """float4, float8: the exact decimal text; the server rounds to binary like JS did."""

    def convert(v: object) -> str | None:
        if type(v) is str:
            return _check(v)
        if v is None:
            return None
        if type(v) is int:
            return str(v)
        if isinstance(v, Decimal):
            return str(v)  # float8in reads exponents: '1E+308', and NaN/Infinity
        if isinstance(v, bool):
            raise _error("a number", column, v)
        if isinstance(v, int | float):
            return repr(v) if isinstance(v, float) else str(int(v))
        if isinstance(v, str):
            return _check(str(v))
        raise _error("a number", column, v)

    return convert


def _boolean(column: Column) -> Converter:
    def convert(v: object) -> str | None:
        if v is True:
            return "t"
        if v is False:
            return "f"
        if v is None:
            return None
        if isinstance(v, str):
            return _check(str(v))  # 'true', 'f', 'yes', '1', 'on' ...: boolin decides
        if isinstance(v, int | Decimal):
            if v == 1:
                return "t"
            if v == 0:
                return "f"
        raise _error("a boolean (true/false, or 0/1)", column, v)

    return convert


# ------------------------------------------------------------------------- date / time

_EPOCH = datetime(1970, 1, 1)  # naive UTC: its isoformat() is twice as fast as an aware one
_MS_THRESHOLD = 100_000_000_000  # 1e11: below it seconds (until year 5138), above it ms
_MAX_EPOCH_MS = 253_402_300_800_000  # 10000-01-01, past what datetime can write


def _epoch_datetime(v: int | Decimal, millis: bool | None = None) -> datetime:
    """Naive UTC datetime of an epoch number, exactly (integer microseconds, no float)."""
    magnitude = -v if v < 0 else v  # abs() of int | Decimal types as object
    if millis is None:
        millis = magnitude >= _MS_THRESHOLD
    if magnitude > _MAX_EPOCH_MS:
        raise OverflowError
    scale = 1000 if millis else 1_000_000
    if isinstance(v, int):  # never a bool: from_epoch refuses those
        return _EPOCH + timedelta(microseconds=v * scale)
    micros = int((v * scale).to_integral_value(rounding=ROUND_HALF_EVEN))  # half-even, as PG
    return _EPOCH + timedelta(microseconds=micros)


def _format_timestamp(dt: datetime) -> str:
    return dt.isoformat() + "+00:00"  # '2024-11-03T10:15:30.123000+00:00'


def _format_date(dt: datetime) -> str:
    return dt.date().isoformat()


def _format_time(dt: datetime) -> str:
    return dt.time().isoformat()


def _format_timetz(dt: datetime) -> str:
    return dt.time().isoformat() + "+00:00"


_DATE_FORMATS: dict[str, Callable[[datetime], str]] = {
    "timestamptz": _format_timestamp,
    "timestamp": _format_timestamp,
    "date": _format_date,
    "time": _format_time,
    "timetz": _format_timetz,
}


# types without a time zone: the server drops a string's offset, so it is applied here
_SHIFTED = frozenset({"timestamp", "date", "time"})


def _shifter(column: Column) -> Callable[[str], str]:
    """`text -> text` for a column's date/time strings: an offset moved to UTC (see
    utc_offsets.py) for timestamp, date and time; the string itself otherwise."""
    base = column.base_type
    if base not in _SHIFTED:
        return _check
    date_part = base != "time"

    def shift(v: str) -> str:
        _check(v)
        if not may_have_offset(v, date_part):
            return v
        try:
            moved = utc_text(v, base)
        except OffsetError as exc:
            raise ConversionError(f"{column.type_name}: {exc}: {_show(v)}") from None
        return v if moved is None else moved

    return shift


def _datetime(column: Column) -> Converter:
    """Dates and times: ISO strings as is (an offset moved to UTC where the type has no
    time zone); epoch numbers (s or ms) and {"$date": ...}."""
    fmt = _DATE_FORMATS.get(column.base_type, _format_timestamp)
    expected = "an ISO date/time string or an epoch number"
    shift = _shifter(column)
    shifts = column.base_type in _SHIFTED

    def from_epoch(v: object, original: object, millis: bool | None = None) -> str:
        if isinstance(v, bool) or not isinstance(v, int | Decimal):
            raise _error(expected, column, original)
        if isinstance(v, Decimal) and not v.is_finite():
            raise _error(expected, column, original)
        try:
            return fmt(_epoch_datetime(v, millis))
        except (OverflowError, ValueError):
            raise _error("an epoch within years 1-9999", column, original) from None

    def convert(v: object) -> str | None:
        if type(v) is str:
            if "\x00" in v or (not v.isascii() and _unencodable(v)):
                raise _refuse(v)
            return shift(v) if shifts else v
        if v is None:
            return None
        if type(v) is int and -_MAX_EPOCH_MS <= v <= _MAX_EPOCH_MS:
            scale = 1000 if (v >= _MS_THRESHOLD or v <= -_MS_THRESHOLD) else 1_000_000
            try:
                return fmt(_EPOCH + timedelta(microseconds=v * scale))
            except OverflowError:
                raise _error("an epoch within years 1-9999", column, v) from None
        if isinstance(v, dict) and "$date" in v:
            # MongoDB extended JSON: {"$date": "2024-..."}, {"$date": 1700000000000},
            # {"$date": {"$numberLong": "1700000000000"}}; numbers there are always ms
            inner = v["$date"]
            if inner is None:
                return None
            if isinstance(inner, str):
                return shift(str(inner))
            if isinstance(inner, dict) and isinstance(inner.get("$numberLong"), str):
                try:
                    inner = int(inner["$numberLong"])
                except ValueError:
                    raise _error(expected, column, v) from None
            return from_epoch(inner, v, millis=True)
        if isinstance(v, str):
            return shift(str(v))
        return from_epoch(v, v)

    return convert


# --------------------------------------------------------------------------- json(b)


def _json(column: Column) -> Converter:
    """json, jsonb: every value becomes JSON text; a JSON string stays a JSON string."""

    def convert(v: object) -> str | None:
        if v is None:
            return None
        if type(v) is str:
            text = _json_str(v)
            if not text.isascii() and _unencodable(text):
                raise ConversionError(SURROGATE_MESSAGE)
            return text
        if v is True:
            return "true"
        if v is False:
            return "false"
        if type(v) is int:
            return str(v)
        return json_text(v)

    return convert


# ----------------------------------------------------------------------------- bytea

_BYTEA_EXPECTED = (
    'bytea as a Buffer object {"type": "Buffer", "data": [...]}, '
    "a list of byte values, a \\x-hex string or base64 text"
)


def _bytea(column: Column) -> Converter:
    def from_list(data: list[object], original: object) -> str:
        try:
            return "\\x" + bytes(data).hex()  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise _error(_BYTEA_EXPECTED, column, original) from None

    def convert(v: object) -> str | None:
        if v is None:
            return None
        if isinstance(v, dict):
            data = v.get("data")
            if v.get("type") == "Buffer" and isinstance(data, list):
                return from_list(data, v)
            raise _error(_BYTEA_EXPECTED, column, v)
        if isinstance(v, str):
            if v.startswith("\\x"):
                return _check(str(v))  # the server checks the hex digits
            try:
                raw = base64.b64decode(v, validate=True)
            except (binascii.Error, ValueError):
                raise _error(_BYTEA_EXPECTED, column, v) from None
            return "\\x" + raw.hex()
        if isinstance(v, list):
            return from_list(v, v)
        raise _error(_BYTEA_EXPECTED, column, v)

    return convert


# ------------------------------------------------------------------------------ enum


def _enum(column: Column) -> Converter:
    labels = frozenset(column.enum_labels)
    shown = ", ".join(repr(label) for label in column.enum_labels[:5])
    if len(column.enum_labels) > 5:
        shown += f", ... ({len(column.enum_labels)} labels)"
    expected = f"one of the labels {shown}" if labels else "an enum label"

    def convert(v: object) -> str | None:
        if type(v) is not str:
            if v is None:
                return None
            if isinstance(v, bool) or not isinstance(v, str | int | Decimal):
                raise _error(expected, column, v)
            v = str(v)
        if labels:
            if v in labels:
                return v
            raise _error(expected, column, v)
        return _check(v)  # labels unknown: the server decides

    return convert


# ----------------------------------------------------------------------------- other


def _other(column: Column) -> Converter:
    """uuid, inet, interval, geometric, ...: strings as is, numbers as text (as for text)."""
    return _text(column, expected="a value")


# ---------------------------------------------------------------------------- arrays


def _array(column: Column, element: Converter) -> Converter:
    """A JSON list -> '{"a","b",NULL}', nested lists -> nested braces (multi-dimensional).

    Every element is double-quoted, with backslash and double quote escaped: valid for
    any element type. For json/jsonb elements a nested list is one JSON value, not
    another dimension.
    """
    nested = column.base_type not in ("json", "jsonb")

    def literal(items: list[object]) -> str:
        parts: list[str] = []
        append = parts.append
        for item in items:
            if item is None:
                append("NULL")
                continue
            if nested and isinstance(item, list):
                append(literal(item))
                continue
            text = element(item)
            if text is None:
                append("NULL")
                continue
            if "\\" in text or '"' in text:
                text = text.replace("\\", "\\\\").replace('"', '\\"')
            append('"' + text + '"')
        return "{" + ",".join(parts) + "}"

    def convert(v: object) -> str | None:
        if type(v) is list:
            try:
                return literal(v)
            except RecursionError:
                raise _error("an array nested less deeply", column, v) from None
        if v is None:
            return None
        if isinstance(v, list | tuple):
            return literal(list(v))
        if isinstance(v, str) and v.startswith("{") and v.endswith("}"):
            return _check(str(v))  # already a PostgreSQL array literal
        raise _error("a JSON array or a PostgreSQL array literal '{...}'", column, v)

    return convert


# --------------------------------------------------------------------------- dispatch

_INTEGERS = frozenset({"int2", "int4", "int8", "oid", "xid", "xid8", "cid"})
_FLOATS = frozenset({"float4", "float8"})


def _scalar_converter(column: Column) -> Converter:
    base = column.base_type
    if base in _INTEGERS:
        return _integer(column)
    if base in _FLOATS:
        return _float(column)
    if base == "bool":
        return _boolean(column)
    if base in _DATE_FORMATS:
        return _datetime(column)
    if base in ("json", "jsonb"):
        return _json(column)
    if base == "bytea":
        return _bytea(column)
    category = column.category
    if category == "E" or column.enum_labels:
        return _enum(column)
    if category == "N":
        return _numeric(column)  # numeric, money, reg* (names pass through as strings)
    if category == "S":
        return _text(column)
    return _other(column)


def passes_strings(column: Column) -> bool:
    """Whether a `str` value converts to itself once it holds no NUL and no lone surrogate.

    True for every scalar type whose converter only checks a string (numbers, text,
    timestamptz, uuid, bool ...), false for json/jsonb, bytea, enums, arrays, and the
    date/time types without a time zone (a string's offset is moved to UTC). The encoder
    then skips the call for strings and checks the finished line once instead.
    """
    if column.is_array or column.base_type in ("json", "jsonb", "bytea") \
            or column.base_type in _SHIFTED:
        return False
    return not (column.category == "E" or column.enum_labels)


def converter_for(column: Column) -> Converter:
    """The function turning a backup's JSON value into `column`'s text input form.

    Choose it once per column, then call it per value. It returns None for SQL NULL and
    raises ConversionError when the value cannot be the column's type.
    """
    if column.is_array:
        element = _scalar_converter(dataclasses.replace(column, is_array=False))
        return _array(column, element)
    return _scalar_converter(column)
