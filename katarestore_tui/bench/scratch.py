"""A throw-away schema shaped like the target's tables: a benchmark never touches real data.

`CREATE TABLE scratch.t (LIKE target.t INCLUDING ALL)` copies columns, defaults,
identity, generated columns, checks, indexes and keys, but not foreign keys (added
back between the scratch copies) and not serial ownership: a copied `nextval(...)`
default still points at the operator's sequence, so each one gets its own sequence in
the scratch schema. Enum and domain types are shared (same database, read only).
The schema's comment names the host and process, so a later run can drop a schema
left behind by a killed benchmark.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import time

import psycopg
from psycopg import sql

from katarestore_tui.db.schema import Schema

PREFIX = "katarestore_bench_"
LOCK_TIMEOUT = "30s"
_COMMENT = re.compile(r"pid=(\d+) host=(\S+)")


class ScratchError(Exception):
    """The scratch schema could not be created or dropped; the message says what to do."""


def _ident(*names: str) -> sql.Identifier:
    return sql.Identifier(*names)


class ScratchSchema:
    """Create with `create()`, always `drop()` (or use it as a context manager)."""

    def __init__(self, dsn: str, target: Schema, tables: list[str]) -> None:
        self.dsn = dsn
        self.target = target
        self.tables = list(tables)
        self.name = PREFIX + secrets.token_hex(4)
        self.notes: list[str] = []  # what was not copied, for the operator
        self._created = False

    def __enter__(self) -> ScratchSchema:
        self.create()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.drop()

    def create(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True, application_name="katarestore-bench") as conn:
            conn.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
            self._created = True  # from here on, drop() must run even if creation fails
            with conn.transaction():
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(_ident(self.name)))
                comment = (f"katarestore bench scratch: pid={os.getpid()} host={socket.gethostname()}"
                           f" started={time.strftime('%Y-%m-%dT%H:%M:%S%z')}")
                conn.execute(sql.SQL("COMMENT ON SCHEMA {} IS {}").format(
                    _ident(self.name), sql.Literal(comment)))
                for table in self.tables:
                    conn.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(
                        _ident(self.name, table), _ident(self.target.name, table)))
                for table in self.tables:
                    self._own_sequences(conn, table)
                for table in self.tables:
                    self._foreign_keys(conn, table)

    def _own_sequences(self, conn: psycopg.Connection, table: str) -> None:
        """Serial columns: a sequence of the scratch schema instead of the operator's."""
        columns = self.target.tables[table].columns
        for seq in self.target.tables[table].sequences:
            column = columns.get(seq.column)
            if column is None or column.identity:  # LIKE made a new identity sequence already
                continue
            name = f"{table}_{seq.column}_seq"[:63]
            conn.execute(sql.SQL("CREATE SEQUENCE {} OWNED BY {}").format(
                _ident(self.name, name), _ident(self.name, table, seq.column)))
            regclass = _ident(self.name, name).as_string(conn)
            conn.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET DEFAULT nextval({}::regclass)")
                         .format(_ident(self.name, table), _ident(seq.column), sql.Literal(regclass)))

    def _foreign_keys(self, conn: psycopg.Connection, table: str) -> None:
        inside = set(self.tables)
        for fk in self.target.tables[table].foreign_keys:
            if fk.ref_table not in inside:
                self.notes.append(f"{table}: foreign key {fk.name} not copied (its parent "
                                  f"{fk.ref_table} has no file in the backup)")
                continue
            statement = sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})"
                                "{}").format(
                _ident(self.name, table), _ident(fk.name),
                sql.SQL(", ").join(map(sql.Identifier, fk.columns)),
                _ident(self.name, fk.ref_table),
                sql.SQL(", ").join(map(sql.Identifier, fk.ref_columns)),
                sql.SQL(" DEFERRABLE" if fk.deferrable else ""),
            )
            conn.execute(statement)

    def drop(self) -> None:
        """Drop the schema; raises ScratchError (with the SQL to run) if it cannot."""
        if not self._created:
            return
        try:
            drop_schema(self.dsn, self.name)
        except psycopg.Error as exc:
            raise ScratchError(
                f"could not drop the scratch schema {self.name} ({str(exc).strip()}); "
                f"drop it with: DROP SCHEMA {self.name} CASCADE"
            ) from None
        self._created = False


def drop_schema(dsn: str, name: str) -> None:
    if not name.startswith(PREFIX):  # never anything but a scratch schema
        raise ValueError(f"{name} is not a benchmark scratch schema")
    with psycopg.connect(dsn, autocommit=True, application_name="katarestore-bench") as conn:
        conn.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(_ident(name)))


def scratch_schemas(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """(name, comment) of every benchmark scratch schema in the database."""
    rows = conn.execute(
        "SELECT nspname, coalesce(obj_description(oid, 'pg_namespace'), '') FROM pg_namespace"
        " WHERE starts_with(nspname, %s) ORDER BY nspname", (PREFIX,)
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(dsn: str, conn: psycopg.Connection) -> list[str]:
    """Drop scratch schemas left by benchmarks of this host that no longer run."""
    notes: list[str] = []
    host = socket.gethostname()
    for name, comment in scratch_schemas(conn):
        match = _COMMENT.search(comment)
        if not match or match[2] != host or _alive(int(match[1])):
            continue
        with contextlib.suppress(psycopg.Error):
            drop_schema(dsn, name)
            notes.append(f"dropped {name}, left behind by an interrupted benchmark")
    return notes
