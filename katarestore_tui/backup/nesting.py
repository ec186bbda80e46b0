"""Records nested deeper than MAX_DEPTH are refused while reading, in bounded memory.

A record 100,000 levels deep stops Python's recursive decoders and encoders, and ijson
(its C backend builds a prefix string per level: quadratic memory, 23 GB for a 200 KB
file). So depth is looked at before a decoder sees the bytes:

- a `.jsonl` line with more than MAX_DEPTH brackets is measured exactly (`too_deep`);
- ijson's input is watched chunk by chunk with an estimate that costs a few C calls
  (`DepthWatch`); when it says "maybe", the file is read again by `ArraySplitter`,
  which finds each record's bytes exactly and keeps only the head of a deep one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

MAX_DEPTH = 512  # arrays and objects inside one another, the record itself counted
KEPT_BYTES = 64 * 1024  # of a refused record's text, kept in the quarantine

_NOT_BRACKETS = bytes(range(256)).translate(None, b"[]{}")
# a whole string, or one structural byte; a lone quote is a string that goes on later
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},"]')
_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")


def too_deep(text: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON `text` nests deeper than `limit` (strings are skipped)."""
    if text.count(b"[") + text.count(b"{") <= limit:
        return False
    depth = 0
    for token in _TOKEN.finditer(text):
        byte = token.group()[0]
        if byte in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif byte in _CLOSE:
            depth -= 1
    return False


def refusal(kept: bytes, whole: bool, limit: int = MAX_DEPTH) -> tuple[str, str]:
    """(raw text to quarantine, cause) for a record nested too deeply."""
    text = kept.decode("utf-8", "replace")
    if whole:
        return text, f"record nested deeper than {limit} levels (kept as its JSON text)"
    return text, (f"record nested deeper than {limit} levels; only the first "
                  f"{len(kept):,} bytes of its text are kept")


class DepthWatch:
    """An estimate of the nesting depth of a byte stream, a chunk at a time, in C calls.

    Brackets inside strings are counted too, so it may be wrong both ways by the
    unbalanced brackets inside strings: "maybe too deep" sends the file to the exact
    ArraySplitter (slower, still right), so only a run of such strings could hide depth.
    """

    def __init__(self) -> None:
        self.depth = 0

    def maybe_too_deep(self, data: bytes) -> bool:
        brackets = data.translate(None, _NOT_BRACKETS)
        if self.depth + brackets.count(b"[") + brackets.count(b"{") <= MAX_DEPTH:
            self.depth = max(0, self.depth + _net(brackets))
            return False
        nested = 0  # how deep the pairs closed within this chunk go
        while b"[]" in brackets or b"{}" in brackets:
            brackets = brackets.replace(b"[]", b"").replace(b"{}", b"")
            nested += 1
            if nested > MAX_DEPTH:
                return True
        closers = len(brackets) - len(brackets.lstrip(b"]}"))
        openers = len(brackets) - closers
        peak = self.depth + nested + openers
        self.depth = max(0, self.depth - closers) + openers
        return peak > MAX_DEPTH


def _net(brackets: bytes) -> int:
    return brackets.count(b"[") + brackets.count(b"{") - brackets.count(b"]") - brackets.count(b"}")


@dataclass
class Span:
    """One element of the top-level array: its bytes (whole, or the head of a deep one)."""

    text: bytes
    deep: bool
    start: int  # offset of the separator before it ("[" or ","), for a hand-over
    rest: bytes  # the bytes read after it (from its own separator on)


class ArraySplitter:
    """The elements of a JSON array, found exactly from a stream, depth-bounded.

    Strings are skipped whole (one regular expression), so only structural bytes are
    looked at in Python. A deep element's bytes are not kept past KEPT_BYTES.
    """

    def __init__(self, read: Callable[[], bytes], position: int) -> None:
        self._read = read
        self._base = position  # stream offset of data[0]
        self.ended = False  # the array's closing "]" was seen
        self.trailing = b""  # what follows it in the last chunk

    def __iter__(self) -> Iterator[Span]:
        data = b""
        depth = 0
        pos = 0
        head = bytearray()
        deep = False
        start = -1  # offset of the current element's separator
        taken = 0  # data[taken:pos] belongs to the current element and is not in head yet
        while True:
            chunk = self._read()
            if not chunk:
                return
            data += chunk
            for token in _TOKEN.finditer(data, pos):
                value = token.group()
                byte = value[0]
                if value == b'"':  # a string that goes on in the next chunk
                    pos = token.start()
                    break
                pos = token.end()
                if depth == 0:
                    if byte == ord("["):
                        depth, start, taken = 1, self._base + token.start(), pos
                    continue
                if byte in _OPEN:
                    depth += 1
                    if depth > MAX_DEPTH + 1:
                        deep = True
                elif byte in _CLOSE:
                    depth -= 1
                if (depth == 1 and byte == ord(",")) or depth == 0:
                    end = token.start()
                    if len(head) < KEPT_BYTES:
                        head += data[taken:end]
                    text = bytes(head[:KEPT_BYTES]) if deep else bytes(head)
                    yield Span(text, deep, start, data[end:])
                    head.clear()
                    deep = False
                    start, taken = self._base + end, pos
                    if depth == 0:
                        self.ended = True
                        self.trailing = data[pos:]
                        return
            else:
                pos = len(data)
            if len(head) < KEPT_BYTES or not deep:
                head += data[taken:pos]
            taken = pos
            data, self._base = data[pos:], self._base + pos
            pos = taken = 0
