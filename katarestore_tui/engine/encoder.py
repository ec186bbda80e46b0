"""Records -> COPY text lines, in batches, with everything a batch needs to fail well.

This is the hot path (one call per record): converters are chosen once per column,
the key layout once per distinct key order, and the common case is a tight loop.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from katarestore_tui.backup.catalog import TableFile
from katarestore_tui.backup.reader import BackupFormatError, BadRecord, PreparedRun, RecordReader
from katarestore_tui.db.convert import ConversionError, converter_for, passes_strings
from katarestore_tui.db.schema import Table
from katarestore_tui.engine.copytext import copy_escape, escape_all
from katarestore_tui.engine.fastpath import FastPath
from katarestore_tui.engine.naming import match_name


@dataclass
class Rejected:
    """A record refused before it reached the database (not an object, bad value)."""

    index: int
    record: object
    cause: str
    column: str | None = None


@dataclass
class EncodedBatch:
    columns: tuple[str, ...]  # the COPY column list for every line of this batch
    indexes: list[int]  # record index of each line
    lines: list[bytes]  # COPY text lines, each ending in b"\n"
    rejects: list[Rejected] = field(default_factory=list)
    records_read: int = 0  # records consumed from the file once this batch is done
    bytes_read: int = 0  # bytes of the file consumed (for progress)
    new_ignored_keys: list[str] = field(default_factory=list)


@dataclass
class SourceEnd:
    """The file is finished; `fault` is set when it stopped early on bad JSON."""

    records_read: int
    bytes_read: int
    fault: FaultInfo | None = None


@dataclass
class FaultInfo:
    byte_offset: int
    record_index: int
    cause: str
    message: str

    @classmethod
    def of(cls, exc: BackupFormatError) -> FaultInfo:
        return cls(exc.byte_offset, exc.record_index, exc.cause, str(exc))

__all__ = ["EncodedBatch", "FaultInfo", "RecordEncoder", "Rejected", "SourceEnd", "copy_escape",
           "encoded_batches"]


class _Layout:
    """How to pick and convert values for one key order, compiled to one small function."""

    __slots__ = ("columns", "convert", "ignored", "picks", "tabs")

    def __init__(
        self,
        columns: tuple[str, ...],
        picks: list[tuple[int, str, Callable[..., Any]]],
        ignored: list[str],
        string_columns: set[str],
    ):
        self.columns = columns
        self.picks = picks  # (position in record.values(), column, converter), in column order
        self.ignored = ignored
        self.tabs = len(picks) - 1
        self.convert = _compile(picks, string_columns)


def _compile(
    picks: list[tuple[int, str, Callable[..., Any]]], string_columns: set[str]
) -> Callable[[list[Any]], tuple[str | None, ...]]:
    """`values -> (text or None, ...)` as one generated function: no loop, no per-value dispatch.

    This is the innermost loop of a restore. A straight-line function is about twice as
    fast as iterating over the converters, and a string bound for a column that takes
    strings as they are (`passes_strings`) skips its converter: the caller checks the
    whole line for NUL and unencodable characters once.
    """
    names = {f"c{i}": convert for i, (_, _, convert) in enumerate(picks)}
    terms = []
    for i, (position, column, _) in enumerate(picks):
        if column in string_columns:
            terms.append(f"(x{i} if type(x{i} := v[{position}]) is str else c{i}(x{i}))")
        else:
            terms.append(f"c{i}(v[{position}])")
    # a record none of whose keys is a column has no terms: `return ()` (it is refused later)
    body = f"({', '.join(terms)},)" if terms else "()"
    source = f"def convert(v):\n    return {body}\n"
    namespace: dict[str, Any] = dict(names)
    exec(source, namespace)  # the source holds only generated names and integers
    convert: Callable[[list[Any]], tuple[str | None, ...]] = namespace["convert"]
    return convert


class RecordEncoder:
    """Encodes the records of one table; learns each new key order once."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._writable = {c.name: c for c in table.writable_columns}
        self._order = {name: i for i, name in enumerate(self._writable)}
        self._converters = {name: converter_for(c) for name, c in self._writable.items()}
        self._string_columns = {n for n, c in self._writable.items() if passes_strings(c)}
        self._layouts: dict[tuple[str, ...], _Layout] = {}
        self.ignored_keys: set[str] = set()

    @staticmethod
    def key_columns(keys: tuple[str, ...], layout: _Layout) -> dict[str, str | None]:
        """Each key of `keys` with the column `layout` fills from it (None: ignored)."""
        found: dict[str, str | None] = dict.fromkeys(keys)
        for position, column, _ in layout.picks:
            found[keys[position]] = column
        return found

    def layout(self, keys: tuple[str, ...]) -> _Layout:
        found = self._layouts.get(keys)
        if found is None:
            mapped: list[tuple[int, str]] = []
            ignored: list[str] = []
            used: set[str] = set()
            for position, key in enumerate(keys):
                column = match_name(key, self._writable)
                if column is None or column in used:
                    ignored.append(key)
                else:
                    used.add(column)
                    mapped.append((position, column))
            mapped.sort(key=lambda pc: self._order[pc[1]])
            picks = [(pos, col, self._converters[col]) for pos, col in mapped]
            found = _Layout(tuple(col for _, col in mapped), picks, ignored, self._string_columns)
            self._layouts[keys] = found
        return found

    def encode(self, record: dict[str, Any]) -> tuple[_Layout, bytes]:
        """One COPY line; raises ConversionError naming the column."""
        layout = self.layout(tuple(record))
        values = list(record.values())
        try:
            texts = layout.convert(values)
        except ConversionError:
            raise self._which(layout, values) from None
        if None in texts:
            present = "\t".join([t for t in texts if t is not None])
            tabs = len(texts) - texts.count(None) - 1
            line = "\t".join(["\\N" if t is None else t for t in texts])
        else:
            # no None in texts (checked above); a cast would cost a call per record here
            present = line = "\t".join(texts)  # type: ignore[arg-type]
            tabs = layout.tabs
        if "\x00" in present:  # a NUL the skipped converters would have refused: find it
            raise self._which(layout, values)
        # one scan of the whole line instead of one per value; escape only when needed
        if "\\" in present or "\n" in present or "\r" in present or present.count("\t") != tabs:
            line = escape_all(texts)
        try:
            return layout, (line + "\n").encode()
        except UnicodeEncodeError:  # a lone surrogate: the converters name the column
            raise self._which(layout, values) from None

    @staticmethod
    def _which(layout: _Layout, values: list[Any]) -> ConversionError:
        """Name the column whose value failed (the fast path does not know)."""
        for position, column, convert in layout.picks:
            try:
                convert(values[position])
            except ConversionError as exc:
                named = ConversionError(f"column {column}: {exc}")
                named.column = column  # type: ignore[attr-defined]
                return named
        return ConversionError("a value could not be converted")


# the typed chunk decoder (fastpath.py) first; KATARESTORE_FAST_PATH=0 (inherited by the
# parser process) reads every record the exact way, for comparison or as a way out
FAST_PATH = os.environ.get("KATARESTORE_FAST_PATH", "1") != "0"


def encoded_batches(
    table_file: TableFile, table: Table, batch_size: int, skip: int = 0
) -> Iterator[EncodedBatch | SourceEnd]:
    """Stream a table file as COPY-ready batches, then one SourceEnd.

    The hook where chunks are encoded: each chunk of whole records is offered to the
    fast path first (`FastPath.chunk`); a chunk it refuses is read record by record here.
    """
    encoder = RecordEncoder(table)
    fast = FastPath(table) if FAST_PATH else None
    reader = RecordReader(table_file, skip=skip, chunk_hook=fast.chunk if fast else None)
    batch: EncodedBatch | None = None
    reported: set[str] = set()
    learned: _Layout | None = None

    def finish(current: EncodedBatch, records_read: int | None = None) -> EncodedBatch:
        """Close a batch; `records_read` counts its records and those before it (the
        checkpoint a resume skips to), never a record already read for the next batch."""
        current.records_read = reader.records_read if records_read is None else records_read
        current.bytes_read = reader.progress_bytes
        new = sorted(encoder.ignored_keys - reported)
        reported.update(new)
        current.new_ignored_keys = new
        return current

    try:
        for index, record in reader:
            if batch is None:
                batch = EncodedBatch((), [], [])
            if type(record) is PreparedRun:
                assert fast is not None
                batch = yield from _add_run(batch, index, record.items, fast.columns,
                                            batch_size, finish)
                continue
            if not isinstance(record, dict):
                cause = record.cause if isinstance(record, BadRecord) else (
                    f"record is a JSON {type(record).__name__}, not an object"
                )
                raw = record.raw if isinstance(record, BadRecord) else record
                batch.rejects.append(Rejected(index, raw, cause))
                continue
            try:
                layout, line = encoder.encode(record)
            except ConversionError as exc:
                batch.rejects.append(Rejected(index, record, str(exc), getattr(exc, "column", None)))
                continue
            if layout is not learned and fast is not None:
                learned = layout
                fast.learn(layout, partial(encoder.key_columns, tuple(record), layout))
            if layout.ignored:
                encoder.ignored_keys.update(layout.ignored)
            if not layout.columns:
                batch.rejects.append(
                    Rejected(index, record, f"no key matches a column of table {table.name}")
                )
                continue
            if batch.lines and layout.columns != batch.columns:
                yield finish(batch, index)  # this record opens the next batch
                batch = EncodedBatch((), [], [])
            if not batch.lines:
                batch.columns = layout.columns
            batch.indexes.append(index)
            batch.lines.append(line)
            if len(batch.lines) + len(batch.rejects) >= batch_size:
                yield finish(batch)
                batch = None
    except BackupFormatError as exc:
        if batch is not None:
            yield finish(batch)
        yield SourceEnd(reader.records_read, reader.progress_bytes, FaultInfo.of(exc))
        return
    if batch is not None and (batch.lines or batch.rejects):
        yield finish(batch)
    yield SourceEnd(reader.records_read, table_file.size)


_Finish = Callable[[EncodedBatch, int], EncodedBatch]


def _add_run(
    batch: EncodedBatch, first: int, lines: list[bytes], columns: tuple[str, ...],
    batch_size: int, finish: _Finish,
) -> Generator[EncodedBatch, None, EncodedBatch | None]:
    """Lines the fast path made for records `first`, `first + 1` ...: into `batch`, then
    more batches, cut exactly where the exact path cuts them (a new column list, or
    `batch_size` records and rejects); returns the batch still open, or None when the
    last line filled one (as the loop above leaves it)."""
    open_batch: EncodedBatch | None = batch
    at = 0
    while at < len(lines):
        if open_batch is None:
            open_batch = EncodedBatch((), [], [])
        elif open_batch.lines and open_batch.columns != columns:
            yield finish(open_batch, first + at)
            open_batch = EncodedBatch((), [], [])
        if not open_batch.lines:
            open_batch.columns = columns
        # as above, a batch is closed only once a line is added: rejects alone never close it
        room = max(batch_size - len(open_batch.lines) - len(open_batch.rejects), 1)
        taken = lines[at:at + room]
        open_batch.indexes.extend(range(first + at, first + at + len(taken)))
        open_batch.lines.extend(taken)
        at += len(taken)
        if len(open_batch.lines) + len(open_batch.rejects) >= batch_size:
            yield finish(open_batch, first + at)
            open_batch = None
    return open_batch
