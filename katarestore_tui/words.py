"""Counts in sentences: "1 duplicate", "2 duplicates", "1 row was", for every layer.

One place so no message says "1 duplicates" or "1 row ... were" again (tests/test_words.py
drives every message that prints a count with 1 and with 2).
"""

from __future__ import annotations

IRREGULAR = {"batch": "batches", "entry": "entries", "strategy": "strategies", "child": "children"}


def plural(number: int | None, word: str, many: str | None = None) -> str:
    """`1 record`, `0 records`, `2,000 records`; `many` for a plural that is not word + s."""
    number = number or 0
    if number == 1:
        return f"1 {word}"
    return f"{number:,} {many or IRREGULAR.get(word) or word + 's'}"


def noun(number: int | None, word: str, many: str | None = None) -> str:
    """The word alone, in the number's form (for "N failed records" with N printed apart)."""
    return word if number == 1 else (many or IRREGULAR.get(word) or word + "s")


def was(number: int | None) -> str:
    return "was" if number == 1 else "were"
