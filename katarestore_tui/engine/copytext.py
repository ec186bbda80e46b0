"""COPY text format escaping, shared by the exact encoder and the fast path (one
definition, so both write the same bytes for the same values)."""

from __future__ import annotations


def copy_escape(value: str) -> str:
    """COPY text format escaping; most values need none, so test before replacing.

    Chained replace() stays in C; str.translate with a dict is per character in Python.
    """
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return (value.replace("\\", "\\\\").replace("\t", "\\t")
                .replace("\n", "\\n").replace("\r", "\\r"))
    return value


def escape_all(texts: tuple[str | None, ...]) -> str:
    """One COPY line (without its newline) of `texts`, None as \\N, every value escaped."""
    return "\t".join("\\N" if t is None else copy_escape(t) for t in texts)
