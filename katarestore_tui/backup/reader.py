"""Stream the records of one table file in constant memory, with the byte position.

`.json` files are one JSON array, parsed item by item with ijson's C backend;
`.jsonl`/`.ndjson` hold one object per line; either may be gzipped. Numbers arrive as
`int` or exact `Decimal`. A damaged or cut `.gz` gives out every record zlib decoded
before the damage; fault offsets of a `.gz` are in the decompressed stream.

An array in the layout `JSON.stringify(rows, null, 2)` writes (what the Node apps'
backup scripts produce) takes a faster road: there every record ends with a line
`  }` and nothing else does, so a chunk of the file cut after its last such line is a
run of whole records, which the standard library's C decoder reads in one call (about
40% less time per record than ijson's item events). Anything unexpected in a chunk
(another layout, a fault, a NaN) sends the file back to ijson from its start, skipping
the records already given out; a file cut short is handed to ijson at its last record
boundary. Either way ijson meets the bytes in the state it would have reached from the
start, so faults are reported exactly as ijson reports them. A `chunk_hook` (the
engine's typed fast path) is offered each such chunk first; what it takes comes out
as one `PreparedRun`, what it refuses is decoded here as before.
"""

from __future__ import annotations

import json
import logging
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from types import ModuleType
from typing import BinaryIO, Protocol

import ijson

from katarestore_tui.backup.catalog import TableFile
from katarestore_tui.backup.nesting import (
    KEPT_BYTES,
    MAX_DEPTH,
    ArraySplitter,
    DepthWatch,
    Span,
    refusal,
    too_deep,
)
from katarestore_tui.backup.ranges import ByteRange
from katarestore_tui.words import plural, was

log = logging.getLogger(__name__)
READ_SIZE = 256 * 1024
BOM = b"\xef\xbb\xbf"
STRINGIFY_START = b"[\n  {"  # JSON.stringify(rows, null, 2) of a non-empty array of objects
STRINGIFY_RECORD_END = b"\n  }"  # deeper closing braces are indented further
MAX_RECORD_BYTES = 64 * 1024 * 1024  # no record end within this: not that layout; use ijson
# JSON.stringify indents a value nested MAX_DEPTH + 1 deep by at least this
_TOO_DEEP_INDENT = b"\n" + b" " * (2 * MAX_DEPTH + 2)
# a damaged .gz raises these while it is read (zlib.error is not an OSError)
_UNREADABLE = (OSError, EOFError, zlib.error)
FAST_BACKEND = "yajl2_c"
# A \uXXXX surrogate escape that is not half of a high+low pair. yajl decodes those
# wrongly ('?', another character, or bytes that are not UTF-8), so a file holding one
# is read by ijson's exact pure-Python backend instead.
_LONE_SURROGATE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def backend_warning() -> str | None:
    """A loud warning when ijson runs on a slow backend (up to ~15x slower)."""
    if ijson.backend_name != FAST_BACKEND:
        return (
            f"ijson is using its {ijson.backend_name!r} backend, not {FAST_BACKEND!r}: "
            "parsing will be up to 15x slower (reinstall ijson from a wheel for your platform)"
        )
    return None


class BackupFormatError(Exception):
    """The file stops being valid JSON; every complete record before it was yielded."""

    def __init__(self, table_file: TableFile, byte_offset: int, record_index: int, cause: str):
        self.table_file = table_file
        self.byte_offset = byte_offset
        self.record_index = record_index
        self.cause = cause
        where = "decompressed byte" if table_file.compressed else "byte"
        before = (f"; the {plural(record_index, 'record')} before it {was(record_index)} read"
                  if record_index else "")
        super().__init__(
            f"{table_file.path.name}: {cause} at {where} {byte_offset:,} "
            f"(record index {record_index:,}){before}"
        )


@dataclass(frozen=True)
class BadRecord:
    """An item that is not a usable record (not an object, or an unparsable line)."""

    index: int
    raw: object  # the item as read (or the line's text)
    cause: str


@dataclass(frozen=True)
class PreparedRun:
    """The records of one chunk as the chunk hook made them (one item per record, in
    order), yielded in their place with the index of the first."""

    items: list[bytes]


# A chunk of whole records as one JSON array -> one item per record, or None: the
# reader decodes that chunk itself, as it would without a hook.
ChunkHook = Callable[[bytes], list[bytes] | None]


class _Readable(Protocol):
    """What the readers below wrap: the file, a gunzip stream or a prefixed stream."""

    def read(self, size: int = -1, /) -> bytes: ...


class _CountingReader:
    """Counts the bytes handed to the parser and keeps the last chunk for error offsets.

    A UTF-8 byte order mark (Windows tools write one) is not JSON: it is stepped over,
    and still counted, so offsets stay those of the file.
    """

    def __init__(self, raw: _Readable, position: int | None = None) -> None:
        self._raw = raw
        self.position = position or 0
        self.chunk_start = self.position
        self.chunk = b""
        self._started = position is not None  # taking over mid-file: no BOM to look for
        self.watch_surrogates = False  # raise _LoneSurrogate before yajl would see one
        self.depth_watch: DepthWatch | None = None  # raise _TooDeep before yajl would see it

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson reads 0 bytes to tell a bytes stream from a text one
            return b""
        data = self._raw.read(size)
        if not self._started:
            self._started = True
            if data.startswith(BOM):
                data = data[len(BOM):] + (self._raw.read(len(BOM)) if size > 0 else b"")
                self.position = len(BOM)
        if self.watch_surrogates:
            window = self.chunk[-11:] + data  # an escape may straddle two reads
            if b"\\u" in window and _LONE_SURROGATE.search(window):
                raise _LoneSurrogate
        if self.depth_watch is not None and self.depth_watch.maybe_too_deep(data):
            raise _TooDeep
        self.chunk_start = self.position
        self.chunk = data
        self.position += len(data)
        return data


class _Gunzip:
    """The decompressed bytes of a .gz file, every byte zlib could decode given out first.

    `gzip.GzipFile.read(n)` drops all it had decoded for that call when the stream turns
    out damaged or cut (a whole 256 KB chunk of records, or a small file entirely). Here
    the bytes before the damage are handed out, and only the read after them raises.
    Members that follow one another are one stream, as for gzip (zero padding between
    them is skipped). Output per step is bounded by READ_SIZE: memory stays flat.
    """

    PIECE = 16 * 1024  # compressed bytes fed at a time

    def __init__(self, raw: _Readable) -> None:
        self._raw = raw
        self._z = zlib.decompressobj(zlib.MAX_WBITS | 16)  # the gzip wrapper, CRC checked
        self._input = b""  # compressed bytes not yet taken by the decompressor
        self._out = b""  # decoded bytes not yet handed out
        self._error: Exception | None = None  # raised once the bytes before it are out
        self._in_member = False  # a member was started and has not ended

    def read(self, size: int = -1) -> bytes:
        while not self._out:
            if self._error is not None:
                raise self._error
            if not self._step():
                return b""
        data = self._out if size < 0 else self._out[:size]
        self._out = self._out[len(data):]
        return data

    def _step(self) -> bool:
        """Decode some more into `_out`; False at the clean end of the last member."""
        if not self._input:
            self._input = self._raw.read(self.PIECE)
        if not self._in_member:
            self._input = self._input.lstrip(b"\0")
            while not self._input:
                chunk = self._raw.read(self.PIECE)
                if not chunk:
                    return False
                self._input = chunk.lstrip(b"\0")
            self._in_member = True
        if not self._input:
            self._error = EOFError(
                "Compressed file ended before the end-of-stream marker was reached")
            return True
        before = self._z.copy()
        try:
            self._out = self._z.decompress(self._input, READ_SIZE)
            self._input = self._z.unconsumed_tail
        except zlib.error as exc:
            self._z = before
            self._out = self._salvage(self._input)
            self._error = exc
            return True
        if self._z.eof:  # this member is whole (its CRC and length checked): another may follow
            self._input = self._z.unused_data
            self._z = zlib.decompressobj(zlib.MAX_WBITS | 16)
            self._in_member = False
        return True

    def _salvage(self, data: bytes) -> bytes:
        """What zlib decodes of `data` before it meets the damage, a byte at a time
        near it; only ever run once, on a damaged file."""
        decoded: list[bytes] = []
        step = 256
        at = 0
        while at < len(data):
            before = self._z.copy()
            try:
                decoded.append(self._z.decompress(data[at:at + step]))
            except zlib.error:
                if step == 1:
                    break
                self._z, step = before, 1
                continue
            at += step
        return b"".join(decoded)


class _LoneSurrogate(Exception):
    """The bytes about to go to yajl hold a lone surrogate escape (see _LONE_SURROGATE)."""


class _TooDeep(Exception):
    """The bytes about to go to ijson may nest deeper than MAX_DEPTH (see nesting.py)."""


class _LeaveFastPath(Exception):
    """This chunk is not what the fast path expects: read the file with ijson instead.

    `unread` holds the tail of the file not given out, when it starts at a record
    boundary (the "," after a record, then the next record): ijson can take over there,
    in the same state it would be in had it read the file from its start.
    """

    def __init__(self, unread: bytes = b"") -> None:
        super().__init__()
        self.unread = unread if unread.startswith(b",\n  {") else b""


class _Prefixed:
    """A stream that gives `head` first, then the rest of `raw`."""

    def __init__(self, head: bytes, raw: _Readable) -> None:
        self._head = head
        self._raw = raw

    def read(self, size: int = -1) -> bytes:
        if not self._head:
            return self._raw.read(size)
        if size < 0:
            data, self._head = self._head + self._raw.read(), b""
        else:
            data, self._head = self._head[:size], self._head[size:]
        return data


class _Span:
    """Bytes [start, end) of the file, with the part's prefix before and suffix after them
    (ranges.ByteRange): one part of a big file read as a file of its own."""

    def __init__(self, disk: BinaryIO, span: ByteRange) -> None:
        disk.seek(span.start)
        self._disk = disk
        self._left = span.end - span.start
        self._tail = span.suffix
        self._head = span.prefix

    def read(self, size: int = -1) -> bytes:
        want = (1 << 62) if size < 0 else size
        out = self._head[:want]
        self._head = self._head[len(out):]
        if len(out) < want and self._left > 0:
            data = self._disk.read(min(want - len(out), self._left))
            self._left -= len(data)
            if not data:
                self._left = 0  # the file shrank under us: the parser reports the cut
            out += data
        if len(out) < want and self._left <= 0 and self._tail:
            more = self._tail[: want - len(out)]
            self._tail = self._tail[len(more):]
            out += more
        return out


class RecordReader:
    """Iterate `(index, record)` pairs of one table file; `progress_bytes` for progress bars."""

    def __init__(self, table_file: TableFile, skip: int = 0,
                 chunk_hook: ChunkHook | None = None) -> None:
        self.table_file = table_file
        self.skip = skip
        self.chunk_hook = chunk_hook  # offered each chunk of the Node layout first
        # a part of the file (ranges.py) starts at its first record's index in the file
        self._base = table_file.span.first_index if table_file.span else 0
        self.records_read = self._base  # index of the next record (yielded or skipped)
        self._disk: BinaryIO | None = None
        self._counting: _CountingReader | None = None

    @property
    def progress_bytes(self) -> int:
        """Bytes of the file on disk consumed so far (compressed bytes for .gz)."""
        return self._disk.tell() if self._disk and not self._disk.closed else self.table_file.size

    def __iter__(self) -> Iterator[tuple[int, object]]:
        self._disk = open(self.table_file.path, "rb")  # noqa: SIM115 - closed in finally
        try:
            self._rewind()
            if self.table_file.format == "lines":
                yield from self._lines()
            else:
                yield from self._array()
        finally:
            self._disk.close()

    def _rewind(self) -> None:
        """(Re)start reading the file from its first byte."""
        assert self._disk is not None
        self._disk.seek(0)
        stream: _Readable = self._disk
        span = self.table_file.span
        if span is not None:  # offsets stay the file's: the prefix stands before `start`
            self._counting = _CountingReader(_Span(self._disk, span),
                                             position=span.start - len(span.prefix)
                                             if span.start else None)
            return
        if self.table_file.compressed:
            stream = _Gunzip(self._disk)
        self._counting = _CountingReader(stream)

    def _fault(self, cause: str, offset: int | None = None) -> BackupFormatError:
        assert self._counting is not None
        return BackupFormatError(
            self.table_file,
            self._counting.position if offset is None else offset,
            self.records_read,
            cause,
        )

    def _array(self) -> Iterator[tuple[int, object]]:
        try:
            first = self._first_byte()
        except _UNREADABLE as exc:
            raise self._fault(f"unreadable data ({exc})", 0) from None
        if first is None:
            raise self._fault("the file is empty (expected a JSON array of records)", 0)
        if first != b"[":
            kind = {b"{": "a JSON object"}.get(first, f"{first.decode(errors='replace')!r}")
            raise self._fault(f"the file is not a JSON array (it starts with {kind})", 0)
        try:
            yield from self._stringify_chunks()
            return
        except _LeaveFastPath as leave:
            if leave.unread:
                self._hand_over(leave.unread)
            else:  # ijson from the start, past what was given out
                self.skip = max(self.skip, self.records_read)
                self.records_read = self._base
                self._rewind()
        # either way ijson meets the same bytes in the same state as from the start, so a
        # fault is reported with ijson's exact cause and offset
        assert self._counting is not None
        self._counting.watch_surrogates = True
        self._counting.depth_watch = DepthWatch()
        try:
            yield from self._ijson_items(ijson)
            return
        except _LoneSurrogate:  # again from the start, past what was given out, exactly
            log.info("%s: a lone surrogate escape; reading it with ijson's Python backend",
                     self.table_file.path.name)
            self._restart()
            self._counting.depth_watch = DepthWatch()
            try:
                yield from self._ijson_items(ijson.get_backend("python"))
                return
            except _TooDeep:
                pass
        except _TooDeep:
            pass
        log.info("%s: deeply nested data; reading it record by record", self.table_file.path.name)
        self._restart()
        yield from self._split_array()

    def _restart(self) -> None:
        """Read the file again from its start, past the records already given out."""
        self.skip = max(self.skip, self.records_read)
        self.records_read = self._base
        self._rewind()

    def _split_array(self) -> Iterator[tuple[int, object]]:
        """Each record's bytes found exactly, decoded by the standard library; one nested
        deeper than MAX_DEPTH is a BadRecord holding (the head of) its text. At bytes that
        are not JSON, ijson takes over from that record's separator to report the fault."""
        counting = self._counting
        assert counting is not None
        splitter = ArraySplitter(lambda: counting.read(READ_SIZE), counting.position)
        first = True
        try:
            for span in splitter:
                text = span.text.strip()
                if not text and first and splitter.ended:
                    return  # []
                first = False
                index = self.records_read
                if span.deep:
                    raw, cause = refusal(text, len(span.text) < KEPT_BYTES)
                    self.records_read += 1
                    if index >= self.skip:
                        yield index, BadRecord(index, raw, cause)
                    continue
                try:
                    record = _decode(text.decode())
                except (ValueError, UnicodeDecodeError, RecursionError):
                    yield from self._ijson_from(span)
                    return
                self.records_read += 1
                if index >= self.skip:
                    yield index, record
            if not splitter.ended:
                raise self._fault("the file ends in the middle of a record (truncated)")
            if splitter.trailing.strip() or counting.read(READ_SIZE).strip():
                raise self._fault("trailing data after the JSON array")
        except _UNREADABLE as exc:
            raise self._fault(f"unreadable data ({exc})") from None

    def _ijson_from(self, span: Span) -> Iterator[tuple[int, object]]:
        """ijson from the separator before `span`, read as "[": it reports the fault."""
        assert self._counting is not None
        stream = _Prefixed(b"[" + span.text + span.rest, self._counting._raw)
        self._counting = _CountingReader(stream, position=span.start)
        yield from self._ijson_items(ijson)

    def _ijson_items(self, backend: ModuleType) -> Iterator[tuple[int, object]]:
        counting = self._counting
        assert counting is not None
        try:
            for item in backend.items(counting, "item", buf_size=READ_SIZE):
                index = self.records_read
                self.records_read += 1
                if index < self.skip:
                    continue
                yield index, item
        except ijson.JSONError as exc:
            raise self._fault(_short_cause(exc), _fault_offset(exc, counting)) from None
        except (*_UNREADABLE, UnicodeDecodeError) as exc:
            raise self._fault(f"unreadable data ({exc})") from None

    def _hand_over(self, unread: bytes) -> None:
        """Let ijson go on from a record boundary: `unread`, its leading "," read as "["."""
        assert self._counting is not None
        boundary = self._counting.position - len(unread)
        stream = _Prefixed(b"[" + unread[1:], self._counting._raw)
        self._counting = _CountingReader(stream, position=boundary)

    def _stringify_chunks(self) -> Iterator[tuple[int, object]]:
        """Whole records, a chunk at a time, from an array in JSON.stringify's 2-space layout."""
        counting = self._counting
        assert counting is not None
        pending = b""
        opening = b"["  # what turns the next run of records into a JSON array
        try:
            while data := counting.read(READ_SIZE):
                if opening == b"[" and not pending and not data.startswith(STRINGIFY_START):
                    raise _LeaveFastPath
                pending += data
                end = pending.rfind(STRINGIFY_RECORD_END)
                if end < 0:
                    if len(pending) > MAX_RECORD_BYTES:
                        raise _LeaveFastPath
                    continue
                end += len(STRINGIFY_RECORD_END)
                run, pending = pending[:end], pending[end:]
                if _TOO_DEEP_INDENT in run:  # a record nested too deeply: ijson's road
                    raise _LeaveFastPath(run + pending if opening == b"," else b"")
                # the first run starts with the array's "[", the next ones with a ","
                if not run.startswith(opening):
                    raise _LeaveFastPath
                if self.chunk_hook is not None:
                    taken = self.chunk_hook(b"[" + run[1:] + b"]")
                    if taken is not None:
                        opening = b","
                        first = self.records_read
                        self.records_read += len(taken)
                        drop = max(self.skip - first, 0)  # a resume's skip inside this run
                        if drop < len(taken):
                            yield first + drop, PreparedRun(taken[drop:] if drop else taken)
                        continue
                records = _decode("[" + run[1:].decode() + "]")
                opening = b","
                for record in records:
                    index = self.records_read
                    self.records_read += 1
                    if index >= self.skip:
                        yield index, record
        except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
            raise _LeaveFastPath from None
        except _UNREADABLE:  # a damaged .gz: ijson reads the records before it, then reports it
            raise _LeaveFastPath(pending) from None
        if opening == b"[" or pending.strip() != b"]":
            # cut short (a backup interrupted while written, the usual broken file) or
            # something after the array: ijson takes the unread tail from its record
            # boundary, not the whole file again; at the end of the file its report
            # does not depend on where reads begin
            raise _LeaveFastPath(pending)

    def _first_byte(self) -> bytes | None:
        """Peek the first meaningful byte (past a BOM and whitespace) and start again."""
        assert self._counting is not None
        head = self._counting.read(4096)
        self._rewind()
        stripped = head.lstrip()
        return stripped[:1] if stripped else None

    def _lines(self) -> Iterator[tuple[int, object]]:
        counting = self._counting
        assert counting is not None
        lines = iter(_LineSplitter(counting))
        while True:
            try:
                offset, line = next(lines)
            except StopIteration:
                return
            except _UNREADABLE as exc:  # a damaged .gz: what came before it was read
                raise self._fault(f"unreadable data ({exc})") from None
            text = line.strip()
            if not text:
                continue
            index = self.records_read
            self.records_read += 1
            if index < self.skip:
                continue
            if too_deep(text):
                raw, cause = refusal(text[:KEPT_BYTES], len(text) <= KEPT_BYTES)
                yield index, BadRecord(index, raw, cause)
                continue
            try:
                yield index, _decode(text.decode())  # strict UTF-8: a bad byte is a bad line
            except (ValueError, UnicodeDecodeError, RecursionError) as exc:
                where = "decompressed byte" if self.table_file.compressed else "byte"
                yield index, BadRecord(index, text.decode("utf-8", "replace"),
                                       f"invalid JSON in the line at {where} {offset:,}: {exc}")


def _not_json(name: str) -> object:
    """NaN and Infinity are not JSON (JSON.stringify writes null): the line is refused."""
    raise ValueError(f"{name} is not a JSON value")


# exact numbers as ijson gives them, NaN/Infinity refused; made once (json.loads with
# options builds a new decoder per call, which doubled the cost of a .jsonl line)
_decode = json.JSONDecoder(parse_float=Decimal, parse_constant=_not_json).decode


class _LineSplitter:
    def __init__(self, counting: _CountingReader) -> None:
        self._counting = counting

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        """(byte offset of the line, line) pairs."""
        pending = b""
        start = -1  # offset of pending's first byte, known after the first read (a BOM)
        while True:
            try:
                chunk = self._counting.read(READ_SIZE)
            except _UNREADABLE:  # a damaged .gz: its torn last line is a record or a bad line
                if pending:
                    yield start, pending
                raise
            if not chunk:
                break
            if start < 0:
                start = self._counting.chunk_start
            pending += chunk
            lines = pending.split(b"\n")
            pending = lines.pop()
            for line in lines:
                yield start, line
                start += len(line) + 1
        if pending:
            yield start, pending


def _yajl_message(exc: Exception) -> bytes:
    """yajl's message as it printed it: bytes when the context it quotes is not UTF-8."""
    arg = exc.args[0] if exc.args else ""
    return arg if isinstance(arg, bytes) else str(arg).encode("utf-8", "surrogateescape")


def _short_cause(exc: Exception) -> str:
    text = _yajl_message(exc).decode("utf-8", "replace").strip()
    first = text.split("\n", 1)[0] if text else type(exc).__name__
    if "premature EOF" in first:
        return "the file ends in the middle of a record (truncated)"
    return first.removeprefix("parse error: ")


_ARROW = b"(right here) ------^"
_ARROW_INDENT = 21  # spaces before the arrow, which put its "^" at column 40
_STOP_COLUMN = 40
_CONTEXT = 30  # bytes of the buffer yajl prints on each side of where it stopped


def _fault_offset(exc: Exception, counting: _CountingReader) -> int:
    """Where yajl stopped, found from the context it prints about the last chunk.

    yajl prints up to 30 bytes of its buffer on each side of where it stopped (newlines
    as spaces), indented so that the stop falls in column 40, under the arrow's "^". The
    position in our last chunk that reproduces that line exactly is the offset; so it
    does not depend on where the chunk began. A NUL ends the printed line early (a C
    string), so only what comes before it is compared.
    """
    message = _yajl_message(exc)
    if b"premature EOF" in message or _ARROW not in message or b"\n" not in message:
        return counting.position
    printed = message[message.index(b"\n") + 1 : message.index(_ARROW) - _ARROW_INDENT]
    printed = printed.removesuffix(b"\n")
    core = printed.lstrip(b" ")
    pad = len(printed) - len(core)
    window = counting.chunk.translate(bytes.maketrans(b"\n\r", b"  "))
    candidates: range | list[int]
    if core:
        candidates = []
        found = window.find(core)
        while found >= 0:
            candidates.append(found + _STOP_COLUMN - pad)
            found = window.find(core, found + 1)
    else:  # only spaces before a NUL were printed: yajl stopped at the first NUL it met
        nul = window.find(b"\0")
        candidates = range(max(nul - _CONTEXT, 0), nul + _CONTEXT + 1) if nul >= 0 else []
    matches = [at for at in candidates
               if 0 <= at <= len(window) and _context_line(window, at) == printed]
    # the last match, if the same context appears twice
    return counting.chunk_start + matches[-1] if matches else counting.position


def _context_line(window: bytes, at: int) -> bytes:
    """The line yajl prints for a stop at `at` in `window`, cut at a NUL as C would."""
    indent = _STOP_COLUMN - at if at < _CONTEXT else _STOP_COLUMN - _CONTEXT
    line = b" " * indent + window[max(at - _CONTEXT, 0) : at + _CONTEXT]
    return line.split(b"\0", 1)[0]
