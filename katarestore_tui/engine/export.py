"""Export tables into a backup folder in the Node layout, from one consistent snapshot.

Used twice: `katarestore backup` (its own REPEATABLE READ READ ONLY transaction; parallel
workers import its snapshot with `SET TRANSACTION SNAPSHOT`) and the copy `--clean` keeps
of what it removes (inside the clean's own transaction, under its locks, so the copy is
exactly what the TRUNCATE then removes).

Rows come through a server-side cursor a batch at a time (constant memory). It was chosen
over `COPY (SELECT row_to_json(t)) TO STDOUT`: that JSON has dates without `Z`, numerics as
numbers and bytea as hex text, so each record would have to be parsed again and re-typed
by column; the cursor hands over typed values and the text loaders below keep them exact.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import postgres, sql
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.types.string import TextLoader

from katarestore_tui.backup import nodejson
from katarestore_tui.backup.writer import BackupFolderWriter, TableFileWriter
from katarestore_tui.db.schema import Column, Schema, Table, read_schema
from katarestore_tui.engine.connect import connect
from katarestore_tui.errors import Cancelled, ConfigError, FatalError
from katarestore_tui.redact import redact_text

FETCH_ROWS = 2_000  # rows per round trip of the server-side cursor, and per write
BOOKKEEPING_PREFIX = "_katarestore_"  # katarestore's own tables are never backed up


@dataclass(frozen=True)
class ExportProgress:
    """Sent after each batch a table writes (the CLI prints it, the TUI may draw it)."""

    table: str
    records: int
    bytes: int
    estimate: int  # the catalog's row estimate (pg_class.reltuples), 0 when unknown
    done: bool = False


@dataclass
class ExportResult:
    folder: Path
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> file, records, bytes, seconds
    seconds: float = 0.0

    @property
    def records(self) -> int:
        return sum(t["records"] for t in self.tables.values())

    @property
    def bytes(self) -> int:
        return sum(t["bytes"] for t in self.tables.values())

    def to_dict(self) -> dict[str, Any]:
        return {"folder": str(self.folder), "seconds": round(self.seconds, 3),
                "records": self.records, "bytes": self.bytes, "tables": self.tables}


ProgressSink = Callable[[ExportProgress], None]


def _value(conn: psycopg.Connection, query: sql.SQL | sql.Composed) -> Any:
    """The one value a query returns (it always returns a row)."""
    row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


# ---------------------------------------------------------------- values as Node writes them

def _iso(text: str, suffix: str) -> str:
    """'2024-11-03 10:15:30.1[+00]' -> '2024-11-03T10:15:30.100Z' (milliseconds at least).

    Microseconds are kept when there are any (JavaScript's Date has none, but dropping
    them would change the row); infinity and BC dates stay as PostgreSQL writes them.
    """
    if not text[:1].isdigit() or text.endswith("BC"):
        return text
    if text.endswith("+00"):
        text = text[:-3]
    date, _, clock = text.partition(" ")
    if not clock:
        return f"{date}T00:00:00.000{suffix}"
    whole, _, frac = clock.partition(".")
    frac = (frac + "000")[:3] if len(frac) <= 3 else frac
    return f"{date}T{whole}.{frac}{suffix}"


class _NodeDateLoader(Loader):
    def load(self, data: Buffer) -> str:
        return _iso(bytes(data).decode(), "Z")


class _JsonExactLoader(Loader):
    def load(self, data: Buffer) -> object:
        return nodejson.loads_exact(bytes(data))


_TYPED = {"bool", "int2", "int4", "int8", "float4", "float8", "bytea", "json", "jsonb",
          "date", "timestamp", "timestamptz"}


def _node_cursor(conn: psycopg.Connection, name: str) -> psycopg.ServerCursor:
    """A server-side cursor whose values are what the Node script writes.

    Everything not typed above (numeric, uuid, time, interval, ranges, enums...) is loaded
    as PostgreSQL's own text: numerics stay strings digit for digit, and the restore hands
    the text back to the server unchanged.
    """
    cur = conn.cursor(name=name)
    adapters = cur.adapters  # the cursor's own copy: the connection's loaders are untouched
    for info in postgres.types:
        if info.name not in _TYPED:
            adapters.register_loader(info.oid, TextLoader)
    for name_ in ("date", "timestamp", "timestamptz"):
        adapters.register_loader(name_, _NodeDateLoader)
    for name_ in ("json", "jsonb"):
        adapters.register_loader(name_, _JsonExactLoader)
    return cur


def _select(schema: str, table: Table) -> sql.Composed:
    """SELECT every column; arrays of types psycopg does not know (enums) as text[]."""
    known = {info.name for info in postgres.types}
    items: list[sql.Composable] = []
    for col in table.columns.values():
        ident = sql.Identifier(col.name)
        if col.is_array and col.base_type not in known:
            items.append(sql.SQL("{}::text[] AS {}").format(ident, ident))
        else:
            items.append(ident)
    return sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(items) if items else sql.SQL(""), sql.Identifier(schema, table.name))


_INTEGER = {"int2", "int4", "int8", "oid"}
_FLOAT = {"float4", "float8"}
_NO_ESCAPE = {"date", "timestamp", "timestamptz", "uuid", "numeric"}  # their text never needs one


def _formatter(col: Column) -> nodejson.Formatter:
    """How one column's values are written, picked once per table from its real type."""
    if col.is_array or col.base_type in ("json", "jsonb"):
        return _array_or_json(col) if col.base_type == "bytea" else nodejson.value_text
    if col.base_type == "bool":
        return nodejson.bool_text
    if col.base_type in _INTEGER:
        return str
    if col.base_type in _FLOAT:
        return nodejson.js_number
    if col.base_type == "bytea":
        return nodejson.buffer_text
    if col.base_type in _NO_ESCAPE:
        return nodejson.plain_string_text
    return nodejson.string_text


def _array_or_json(col: Column) -> nodejson.Formatter:
    """bytea[]: each element as a Buffer, then the general path."""
    def buffers(value: Any) -> Any:
        if isinstance(value, list):
            return [buffers(v) for v in value]
        return nodejson.buffer(bytes(value)) if value is not None else None

    return lambda value: nodejson.value_text(buffers(value))


# ---------------------------------------------------------------- one table

_SESSION = (("TimeZone", "UTC"), ("DateStyle", "ISO, MDY"), ("IntervalStyle", "postgres"),
            ("extra_float_digits", "1"))


def set_export_settings(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """Transaction-local settings the loaders rely on; returns the ones they replaced."""
    before = []
    for name, value in _SESSION:
        old = _value(conn, sql.SQL("SELECT current_setting({})").format(sql.Literal(name)))
        before.append((name, old))
        conn.execute("SELECT set_config(%s, %s, true)", (name, value))
    return before


def restore_settings(conn: psycopg.Connection, before: list[tuple[str, str]]) -> None:
    for name, value in before:
        conn.execute("SELECT set_config(%s, %s, true)", (name, value))


def export_table(conn: psycopg.Connection, schema: str, table: Table, out: TableFileWriter,
                 progress: ProgressSink | None = None, cancel: threading.Event | None = None,
                 estimate: int = 0) -> int:
    """Stream one table's rows into `out` (not finished here). Needs an open transaction."""
    prefixes = nodejson.record_prefixes(list(table.columns))
    formatters = [_formatter(col) for col in table.columns.values()]
    record = nodejson.record
    with _node_cursor(conn, f"katarestore_export_{abs(hash(table.name))}") as cur:
        cur.itersize = FETCH_ROWS
        cur.execute(_select(schema, table))
        while rows := cur.fetchmany(FETCH_ROWS):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            out.write_records([record(prefixes, formatters, row) for row in rows])
            if progress is not None:
                progress(ExportProgress(table.name, out.records, out.bytes, estimate))
    return out.records


def estimates(conn: psycopg.Connection, schema: str, tables: Iterable[str]) -> dict[str, tuple[int, int]]:
    """table -> (rows, bytes on disk) from the catalog: cheap, shown before a copy is made."""
    rows = conn.execute(
        "SELECT c.relname, greatest(c.reltuples, 0)::bigint, pg_table_size(c.oid)"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = ANY(%s)", (schema, list(tables))).fetchall()
    return {name: (int(count), int(size)) for name, count, size in rows}


def export_tables(conn: psycopg.Connection, schema: Schema, tables: list[str], folder: BackupFolderWriter,
                  progress: ProgressSink | None = None, cancel: threading.Event | None = None
                  ) -> dict[str, dict[str, Any]]:
    """Write `tables` into `folder` on `conn`'s open transaction, one after another."""
    counts = estimates(conn, schema.name, tables)
    before = set_export_settings(conn)
    done: dict[str, dict[str, Any]] = {}
    try:
        for name in tables:
            done[name] = _export_one(conn, schema, name, folder, progress, cancel,
                                     counts.get(name, (0, 0))[0])
    finally:
        if not conn.broken and conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
            restore_settings(conn, before)
    return done


def _export_one(conn: psycopg.Connection, schema: Schema, name: str, folder: BackupFolderWriter,
                progress: ProgressSink | None, cancel: threading.Event | None,
                estimate: int) -> dict[str, Any]:
    began = time.monotonic()
    out = folder.table(name)
    try:
        export_table(conn, schema.name, schema.tables[name], out, progress, cancel, estimate)
        path = out.finish()
    except BaseException:
        out.abort()
        raise
    folder.count(out)
    if progress is not None:
        progress(ExportProgress(name, out.records, out.bytes, estimate, done=True))
    return {"file": path.name, "records": out.records, "bytes": out.bytes,
            "seconds": round(time.monotonic() - began, 3)}


# ---------------------------------------------------------------- `katarestore backup`

def choose_tables(schema: Schema, wanted: list[str], exclude: list[str]) -> list[str]:
    names = sorted(n for n in schema.tables if not n.startswith(BOOKKEEPING_PREFIX))
    if unknown := [t for t in [*wanted, *exclude] if t not in schema.tables]:
        raise ConfigError(f"no table {', '.join(unknown)} in schema {schema.name!r} "
                          f"(it has: {', '.join(names) or 'none'})")
    chosen = [n for n in names if (not wanted or n in wanted) and n not in exclude]
    if not chosen:
        raise ConfigError(f"schema {schema.name!r} has no table to back up")
    return chosen


def _begin_snapshot(conn: psycopg.Connection, snapshot: str | None = None) -> None:
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    if snapshot is not None:  # the first statement of the transaction, as the manual asks
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))


class _StopWatch:
    """Cancels the statement in flight on every connection of the backup once a stop comes,
    so a stop is not kept waiting by a long fetch or a lock (the loop checks between batches)."""

    def __init__(self, cancel: threading.Event | None) -> None:
        self.cancel = cancel
        self.conns: list[psycopg.Connection] = []
        self.finished = threading.Event()
        if cancel is not None:
            threading.Thread(target=self._watch, name="backup-stop", daemon=True).start()

    def _watch(self) -> None:
        while not self.finished.wait(0.1):
            if self.cancel is not None and self.cancel.is_set():
                for conn in list(self.conns):
                    if not conn.closed:
                        conn.cancel_safe()
                return

    def connect(self, dsn: str) -> psycopg.Connection:
        conn = connect(dsn)
        self.conns.append(conn)
        return conn


def run_backup(dsn: str, root: Path, schema_name: str = "public", tables: list[str] | None = None,
               exclude: list[str] | None = None, jobs: int = 1, gzip_level: int | None = None,
               progress: ProgressSink | None = None, cancel: threading.Event | None = None,
               name: str | None = None) -> ExportResult:
    """Back up a schema's tables into `<root>/<YYYYMMDD_HHMMSS>/`; raises on any failure.

    One REPEATABLE READ READ ONLY transaction is the snapshot; with `jobs > 1` its id
    (`pg_export_snapshot()`) is imported by each worker's transaction, so every file shows
    the database at the same instant. The folder gets its name only when all is written.
    A stop (`cancel`) cancels the statement in flight and raises Cancelled.
    """
    began = time.monotonic()
    watch = _StopWatch(cancel)
    conn = watch.connect(dsn)  # autocommit: the transaction is ours to open
    try:
        _begin_snapshot(conn)
        snapshot = str(_value(conn, sql.SQL("SELECT pg_export_snapshot()")))
        schema = read_schema(conn, schema_name)
        chosen = choose_tables(schema, tables or [], exclude or [])
        folder = BackupFolderWriter(root, name, gzip_level)
        try:
            if jobs <= 1 or len(chosen) == 1:
                written = export_tables(conn, schema, chosen, folder, progress, cancel)
            else:
                written = _parallel(watch, dsn, snapshot, schema, chosen, folder, jobs, progress,
                                    cancel)
            path = folder.finish()
        except BaseException:
            folder.abort()
            raise
        conn.execute("COMMIT")
    except psycopg.Error as exc:
        if cancel is not None and cancel.is_set():
            raise Cancelled() from None
        raise FatalError(redact_text(f"database error: {str(exc).strip()}")) from None
    finally:
        watch.finished.set()
        for opened in watch.conns:
            opened.close()
    return ExportResult(path, {n: written[n] for n in chosen}, time.monotonic() - began)


def _parallel(watch: _StopWatch, dsn: str, snapshot: str, schema: Schema, chosen: list[str],
              folder: BackupFolderWriter, jobs: int, progress: ProgressSink | None,
              cancel: threading.Event | None) -> dict[str, dict[str, Any]]:
    """Largest tables first over `jobs` connections, each inside the exported snapshot."""
    pending = list(chosen)
    lock = threading.Lock()
    failed = threading.Event()
    written: dict[str, dict[str, Any]] = {}

    def worker() -> None:
        conn = watch.connect(dsn)
        try:
            _begin_snapshot(conn, snapshot)
            counts = estimates(conn, schema.name, chosen)
            set_export_settings(conn)
            while not failed.is_set():
                with lock:
                    if not pending:
                        break
                    name = max(pending, key=lambda n: counts.get(n, (0, 0))[1])
                    pending.remove(name)
                result = _export_one(conn, schema, name, folder, progress, cancel,
                                     counts.get(name, (0, 0))[0])
                with lock:
                    written[name] = result
            conn.execute("COMMIT")
        except BaseException:
            failed.set()  # the others stop at their next table
            raise
        finally:
            conn.close()

    with ThreadPoolExecutor(max_workers=min(jobs, len(chosen))) as pool:
        futures = [pool.submit(worker) for _ in range(min(jobs, len(chosen)))]
    for future in futures:
        future.result()  # the first error, raised here
    return written
