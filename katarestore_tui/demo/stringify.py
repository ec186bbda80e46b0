"""Values formatted as Node's `JSON.stringify(rows, null, 2)` prints them, fast and by hand.

json.dumps with indent is pure Python and ~10x slower; these helpers give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import random
from json.encoder import encode_basestring as _q  # C-accelerated; like JSON.stringify
from typing import Any


def pretty(value: Any, indent: str) -> str:
    """`JSON.stringify(value, null, 2)` for a value whose line starts at `indent`."""
    if isinstance(value, str):
        return _q(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    inner = indent + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        body = ",\n".join(f"{inner}{_q(k)}: {pretty(v, inner)}" for k, v in value.items())
        return "{\n" + body + "\n" + indent + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(inner + pretty(v, inner) for v in value) + "\n" + indent + "]"
    raise TypeError(f"not JSON: {type(value).__name__}")


def record(obj: dict[str, Any]) -> str:
    """A whole record as an element of the top-level array (2 spaces in)."""
    return "  " + pretty(obj, "  ")


def dec(hundredths: int) -> str:
    """A Decimal as decimal.js prints it: 1250 -> "12.5", 4900 -> "49", 1999 -> "19.99"."""
    units, rest = divmod(hundredths, 100)
    if rest == 0:
        return f'"{units}"'
    if rest % 10 == 0:
        return f'"{units}.{rest // 10}"'
    return f'"{units}.{rest:02d}"'


_EPOCH = dt.datetime(2022, 1, 1, tzinfo=dt.UTC)
_DAYS = [(_EPOCH + dt.timedelta(days=d)).strftime("%Y-%m-%d") for d in range(3 * 366)]
DAY_MS = 86_400_000


def iso(ms: int) -> str:
    """Milliseconds after 2022-01-01 as JSON "YYYY-MM-DDTHH:MM:SS.mmmZ" (Date.toJSON)."""
    day, rest = divmod(ms, DAY_MS)
    hour, rest = divmod(rest, 3_600_000)
    minute, rest = divmod(rest, 60_000)
    sec, milli = divmod(rest, 1000)
    return f'"{_DAYS[day]}T{hour:02d}:{minute:02d}:{sec:02d}.{milli:03d}Z"'


_M48 = (1 << 48) - 1


class Ids:
    """Version-4-looking UUIDs derived from an index: unique per index, no table kept."""

    def __init__(self, rng: random.Random) -> None:
        self.prefix = [
            f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-"
            f"{8 + rng.getrandbits(2):x}{rng.getrandbits(12):03x}-"
            for _ in range(4096)
        ]

    def __call__(self, i: int) -> str:
        # odd multipliers and an xor-shift are bijections on 48 bits: no two indexes collide
        x = (i * 0x9E3779B97F4B) & _M48
        x ^= x >> 24
        return self.prefix[i & 4095] + "%012x" % ((x * 0xD6E8FEB86659) & _M48)
