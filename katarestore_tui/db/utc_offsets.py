"""ISO date/time strings with a UTC offset, moved to UTC for columns without a time zone.

PostgreSQL drops the offset when it reads such a string as `timestamp`, `date` or
`time` ('2024-11-03 23:30-05:00'::timestamp is 23:30), while an epoch number for the
same instant is stored in UTC (04:30 the next day). katarestore reads every backup
value as UTC, so the offset is applied here, exactly: the fraction of a second is
rounded to microseconds half-even, as PostgreSQL rounds its input.

Only numeric offsets in the ISO forms are recognised (`-05:00`, `+0530`, `+02`); a
string without one (or with `Z`) goes to the server as it is, and so does anything
this module does not parse, for the server to read or refuse with its own message.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

_TIME = r"(?P<h>\d{1,2}):(?P<mi>\d\d)(?::(?P<s>\d\d)(?P<f>[.,]\d+)?)?"
_OFFSET = r"\s*(?P<sign>[+-])(?P<oh>\d{1,2})(?::?(?P<om>\d\d)(?::?(?P<os>\d\d))?)?\s*"
_DATE_TIME = re.compile(r"\s*(?P<y>\d{4})-(?P<mo>\d\d)-(?P<d>\d\d)(?:T|\s+)" + _TIME + _OFFSET)
_TIME_ONLY = re.compile(r"\s*" + _TIME + _OFFSET)
_MICRO = Decimal("0.000001")
_MAX_OFFSET = 15 * 3600 + 59 * 60 + 59  # PostgreSQL's widest offset, in seconds
_DAY = datetime(2000, 1, 1)  # any day: a time alone only moves around the clock


class OffsetError(ValueError):
    """The instant in UTC is outside what the column's type can hold (years 1-9999)."""


def may_have_offset(text: str, date_part: bool = True) -> bool:
    """A cheap test before the regular expression: a '+', or a '-' past the date."""
    return "+" in text or text.rfind("-") > (9 if date_part else -1)


def utc_text(text: str, base_type: str) -> str | None:
    """`text` as the same instant in UTC, written for `base_type` (timestamp, date or
    time); None when it carries no numeric offset this module reads."""
    found = (_TIME_ONLY if base_type == "time" else _DATE_TIME).fullmatch(text)
    if found is None:
        return None
    instant = _utc(found, base_type == "time")
    if instant is None:
        return None
    if base_type == "date":
        return instant.date().isoformat()
    if base_type == "time":
        return instant.time().isoformat()
    return instant.isoformat()


def _utc(found: re.Match[str], time_only: bool) -> datetime | None:
    """The instant as a naive UTC datetime; None for fields the server must judge."""
    hour, minute, second = int(found["h"]), int(found["mi"]), int(found["s"] or 0)
    micros = _micros(found["f"])
    # PostgreSQL's limits: 24:00:00 exactly is the next midnight, :60 the next minute
    if minute > 59 or second > 60 or hour > 24 or (hour == 24 and (minute or second or micros)):
        return None
    offset = int(found["oh"]) * 3600 + int(found["om"] or 0) * 60 + int(found["os"] or 0)
    if offset > _MAX_OFFSET:
        return None
    if found["sign"] == "-":
        offset = -offset
    try:
        day = _DAY if time_only else datetime(int(found["y"]), int(found["mo"]), int(found["d"]))
    except ValueError:  # month 13, February 30th: the server says so in its own words
        return None
    try:
        return day + timedelta(seconds=hour * 3600 + minute * 60 + second - offset,
                               microseconds=micros)
    except OverflowError:
        raise OffsetError("with its offset applied, the instant falls outside years 1-9999") \
            from None


def _micros(fraction: str | None) -> int:
    """A fraction of a second ('.5', ',123456789') in microseconds, rounded half-even."""
    if not fraction:
        return 0
    digits = fraction[1:]
    if len(digits) <= 6:
        return int(digits.ljust(6, "0"))
    return int(Decimal("0." + digits).quantize(_MICRO, ROUND_HALF_EVEN) * 1_000_000)
