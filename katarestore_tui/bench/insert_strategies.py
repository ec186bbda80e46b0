"""The two "before" strategies, rebuilt faithfully: whole-file parsing, then INSERTs.

`legacy` is the original script: the whole file in memory, one INSERT per row in
autocommit, a failing row skipped. `batched` is the "optimized" one: Prisma
`createMany` of 1,000 rows per statement, a failing batch skipped whole (its good
rows are lost too, as they were; counted here as dropped). Both map keys and convert
values exactly as the engine does (`RecordEncoder.layout`, `converter_for`) and send
values as parameters, so every strategy loads the same rows and only the method differs.
"""

from __future__ import annotations

import gzip
import json
import time
from decimal import Decimal

import psycopg
from psycopg import sql

from katarestore_tui.backup.catalog import TableFile
from katarestore_tui.bench.figures import StrategyRun, TableRun
from katarestore_tui.bench.strategy_context import StrategyContext
from katarestore_tui.db.convert import ConversionError
from katarestore_tui.engine.encoder import RecordEncoder
from katarestore_tui.engine.loader import is_row_error
from katarestore_tui.errors import Cancelled

BATCH_ROWS = 1_000  # Prisma createMany as the old script called it
MAX_PARAMETERS = 65_535  # the protocol's limit per statement
_UNPARSABLE = object()


def read_whole_file(table_file: TableFile) -> list[object]:
    """Every record of the file in one list, as `JSON.parse(fs.readFileSync(...))` did."""
    opener = gzip.open if table_file.compressed else open
    with opener(table_file.path, "rb") as handle:
        if table_file.format == "lines":
            items: list[object] = []
            for line in handle:
                if line.strip():
                    try:
                        items.append(json.loads(line, parse_float=Decimal))
                    except ValueError:
                        items.append(_UNPARSABLE)
            return items
        data = json.load(handle, parse_float=Decimal)
    if not isinstance(data, list):
        raise ValueError(f"{table_file.path.name} is not a JSON array")
    return data


class _Rows:
    """Records -> (columns, parameter values), with the engine's key mapping and converters."""

    def __init__(self, ctx: StrategyContext, table: str, conn: psycopg.Connection) -> None:
        self.encoder = RecordEncoder(ctx.schema.tables[table])
        self.target = sql.Identifier(ctx.scratch, table)
        columns = ctx.schema.tables[table].columns
        # GENERATED ALWAYS AS IDENTITY refuses a given key unless told (COPY takes it as is)
        self.always = frozenset(name for name, c in columns.items() if c.identity == "a")
        self.conn = conn
        self._heads: dict[tuple[str, ...], str] = {}

    def values(self, record: object) -> tuple[tuple[str, ...], list[str | None]] | None:
        """None for a record that cannot be inserted (not an object, no key matches)."""
        if not isinstance(record, dict):
            return None
        layout = self.encoder.layout(tuple(record))
        if not layout.columns:
            return None
        values = list(record.values())
        return layout.columns, [convert(values[position]) for position, _c, convert in layout.picks]

    def head(self, columns: tuple[str, ...]) -> str:
        """`INSERT INTO scratch.t (a, b) VALUES ` for these columns (identifiers quoted).

        With `OVERRIDING SYSTEM VALUE` when a column is an ALWAYS identity: the backup's keys
        are kept, as the old scripts had to be made to do on such a schema (else every row
        fails with "cannot insert a non-DEFAULT value", and no comparison is possible).
        """
        found = self._heads.get(columns)
        if found is None:
            overriding = sql.SQL(" OVERRIDING SYSTEM VALUE" if self.always.intersection(columns) else "")
            found = sql.SQL("INSERT INTO {} ({}){} VALUES ").format(
                self.target, sql.SQL(", ").join(map(sql.Identifier, columns)), overriding
            ).as_string(self.conn)
            self._heads[columns] = found
        return found


def _parse(table_file: TableFile, run: TableRun) -> list[object] | None:
    began = time.monotonic()
    try:
        rows = read_whole_file(table_file)
    except (ValueError, OSError, EOFError) as exc:
        run.error = f"{table_file.path.name}: {exc}"  # the old script stopped here
        return None
    finally:
        run.parse_seconds = time.monotonic() - began
    run.records = len(rows)
    return rows


def _load_tables(ctx: StrategyContext, name: str, insert) -> StrategyRun:
    result = StrategyRun(name)
    with psycopg.connect(ctx.dsn, autocommit=True, application_name=f"katarestore-bench-{name}") as conn:
        for table_plan in ctx.plan.tables:
            began = time.monotonic()
            run = TableRun(table_plan.table)
            result.tables[run.table] = run
            rows = _parse(table_plan.file, run)
            if rows is not None:
                bounded = rows[: ctx.limit_rows] if ctx.limit_rows else rows
                started = time.monotonic()
                insert(ctx, conn, _Rows(ctx, run.table, conn), bounded, run)
                run.insert_seconds = time.monotonic() - started
                del rows, bounded
            run.seconds = time.monotonic() - began
            ctx.progress(run.table, 1.0, run.attempted)
    return result


def _insert_rows(ctx: StrategyContext, conn, rows_of: _Rows, rows: list[object], run: TableRun) -> None:
    queries: dict[tuple[str, ...], str] = {}
    total = len(rows)
    with conn.cursor() as cur:
        for i, record in enumerate(rows):
            if ctx.cancel.is_set():
                raise Cancelled
            run.attempted += 1
            try:
                found = rows_of.values(record)
            except ConversionError:
                found = None
            if found is None:
                run.failed += 1
                continue
            columns, values = found
            query = queries.get(columns)
            if query is None:
                query = queries[columns] = rows_of.head(columns) + "(" + ", ".join(["%s"] * len(values)) + ")"
            try:
                cur.execute(query, values)
                run.loaded += 1
            except psycopg.Error as exc:
                if not is_row_error(exc):
                    raise
                run.failed += 1
            if i % 500 == 0:
                ctx.progress(run.table, (i + 1) / total, i + 1)


def _insert_batches(ctx: StrategyContext, conn, rows_of: _Rows, rows: list[object], run: TableRun) -> None:
    total = len(rows)
    for start in range(0, total, BATCH_ROWS):
        if ctx.cancel.is_set():
            raise Cancelled
        chunk = rows[start:start + BATCH_ROWS]
        run.attempted += len(chunk)
        try:
            statements = _batch_statements(rows_of, chunk)
        except ConversionError:
            statements = None  # createMany validates the whole batch first
        if statements is None:
            run.failed += len(chunk)
            continue
        try:
            with conn.transaction(), conn.cursor() as cur:
                for query, params in statements:
                    cur.execute(query, params)
            run.loaded += len(chunk)
        except psycopg.Error as exc:
            if not is_row_error(exc):
                raise
            run.failed += len(chunk)
        ctx.progress(run.table, (start + len(chunk)) / total, start + len(chunk))


def _batch_statements(rows_of: _Rows, chunk: list[object]) -> list[tuple[str, list]] | None:
    """Multi-row INSERTs for one batch: one per run of records with the same columns."""
    groups: list[tuple[tuple[str, ...], list[list[str | None]]]] = []
    for record in chunk:
        found = rows_of.values(record)
        if found is None:
            return None
        columns, values = found
        if groups and groups[-1][0] == columns:
            groups[-1][1].append(values)
        else:
            groups.append((columns, [values]))
    statements = []
    for columns, value_rows in groups:
        per_statement = max(1, MAX_PARAMETERS // len(columns))
        row_marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
        for i in range(0, len(value_rows), per_statement):
            part = value_rows[i:i + per_statement]
            query = rows_of.head(columns) + ", ".join([row_marks] * len(part))
            statements.append((query, [v for row in part for v in row]))
    return statements


def run_legacy(ctx: StrategyContext) -> StrategyRun:
    return _load_tables(ctx, "legacy", _insert_rows)


def run_batched(ctx: StrategyContext) -> StrategyRun:
    return _load_tables(ctx, "batched", _insert_batches)
