"""orjson writes katarestore's exact JSON byte for byte as the hand-written encoders did.

The old `jsontext.dumps_exact` and `app/format.pretty_json` are kept here, as they were,
as the oracle: hypothesis draws the values a backup reader yields (Decimal numbers, huge
integers, any text including lone surrogates, nesting) and both must give the same text.
"""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from katarestore_tui.app.format import pretty_json
from katarestore_tui.jsontext import dumps_exact

# ------------------------------------------------------------ the old encoders, verbatim

_plain = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_ascii = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False)


def old_dumps_exact(value: object) -> str:
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


def _chunks(value: object, encoder: json.JSONEncoder):
    if isinstance(value, Decimal):
        yield str(value)
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


_pretty_plain = json.JSONEncoder(ensure_ascii=False)


def old_pretty_json(value: object, indent: int = 0) -> str:
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{_shown(str(k))}: {old_pretty_json(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        items = [f"{inner}{old_pretty_json(v, indent + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    if isinstance(value, str):
        return _shown(value)
    try:
        return _pretty_plain.encode(value)
    except TypeError:
        return _shown(str(value))


def _shown(text: str) -> str:
    encoded = _pretty_plain.encode(text)
    try:
        encoded.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(text)
    return encoded


# ------------------------------------------------------------ what a backup holds

TRICKY = st.sampled_from(["\ud83d", "\udc00", "a", "é", "😀", "\x00", "\x1f", "\x7f", '"', "\\",
                          "\u2028", "\n", "/", "\ufeff"])
TEXT = st.text() | st.text(alphabet=TRICKY)
SCALARS = (st.none() | st.booleans()
           | st.integers(min_value=-(2**63), max_value=2**64 - 1)
           | st.integers(min_value=-(10**80), max_value=10**80)
           | st.decimals(allow_nan=False, allow_infinity=False)
           | TEXT)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(TEXT, inner, max_size=4), max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(VALUES)
def test_dumps_exact_is_byte_identical(value: object) -> None:
    assert dumps_exact(value) == old_dumps_exact(value)


@settings(max_examples=200, deadline=None)
@given(VALUES)
def test_pretty_json_is_byte_identical(value: object) -> None:
    assert pretty_json(value) == old_pretty_json(value)


def test_known_cases() -> None:
    """The cases the reader tests met: exact digits, huge keys, a lone surrogate anywhere."""
    for value in ({"price": Decimal("12.50"), "big": 10**40, "e": Decimal("1.5E+3")},
                  {"\ud83d": ["\udc00", 2**64]}, ["é", "\ud83d"], [], {}, {"a": {}}):
        assert dumps_exact(value) == old_dumps_exact(value)
        assert pretty_json(value) == old_pretty_json(value)
    assert dumps_exact({"a": "\ud83d", "b": "é"}) == '{"a":"\\ud83d","b":"\\u00e9"}'
    assert json.loads(dumps_exact({"n": Decimal("0.1")}), parse_float=Decimal) == {"n": Decimal("0.1")}
