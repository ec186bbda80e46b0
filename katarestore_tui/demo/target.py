"""What a target already holds, seen from the demo: only objects the demo made may be dropped.

Every table and type the demo creates carries a COMMENT (DEMO_MARK); `katarestore demo`
and `--into-existing` rely on it to never drop, empty or change the operator's objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from katarestore_tui.demo.sizes import TABLES

DEMO_MARK = "katarestore demo"  # COMMENT ON every table and type the demo creates
DEMO_TYPES: tuple[str, ...] = ("user_role",)


class DemoRefused(Exception):
    """The target holds something the demo did not make where the demo would write."""


@dataclass(frozen=True)
class DemoTarget:
    """What a schema already holds, seen from the demo: only its own objects may go."""

    foreign: tuple[str, ...]  # demo names taken by tables/types the demo did not create
    demo_made: tuple[str, ...]  # tables and types marked with DEMO_MARK
    other_tables: tuple[str, ...]  # the operator's tables with other names

    @property
    def is_empty(self) -> bool:
        return not (self.foreign or self.demo_made or self.other_tables)


def inspect_demo_target(conn: psycopg.Connection[Any], schema: str = "public") -> DemoTarget:
    """Sort the schema's relations and types into the demo's own, taken names and the rest."""
    from katarestore_tui.engine.checkpoint import TABLE as CHECKPOINT_TABLE
    from katarestore_tui.engine.index_record import RECORD as INDEX_RECORD

    rows = conn.execute(
        "SELECT c.relname, obj_description(c.oid, 'pg_class'), c.relkind::text"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
        " UNION ALL"
        " SELECT t.typname, obj_description(t.oid, 'pg_type'), 'type'"
        " FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
        " WHERE n.nspname = %s AND t.typname = ANY(%s)",
        (schema, schema, list(DEMO_TYPES)),
    ).fetchall()
    names = set(TABLES) | set(DEMO_TYPES)
    foreign, mine, other = [], [], []
    for name, comment, kind in rows:
        if comment == DEMO_MARK and ((name in TABLES and kind == "r") or kind == "type"):
            mine.append(name)
        elif name in names:
            foreign.append(name)
        elif name not in (CHECKPOINT_TABLE, INDEX_RECORD):
            other.append(name)
    return DemoTarget(tuple(sorted(foreign)), tuple(sorted(mine)), tuple(sorted(other)))


def drop_demo_objects(conn: psycopg.Connection[Any], schema: str) -> None:
    """Drop the demo's own tables and type, in one statement each, never with CASCADE."""
    target = inspect_demo_target(conn, schema)
    if target.foreign:
        raise DemoRefused(
            f"schema {schema!r} already has {', '.join(target.foreign)}, not created by "
            "katarestore demo: refusing to drop or change them"
        )
    tables = [sql.Identifier(schema, t) for t in TABLES if t in target.demo_made]
    types = [sql.Identifier(schema, t) for t in DEMO_TYPES if t in target.demo_made]
    try:
        with conn.transaction():  # a savepoint: the refusal leaves the caller's state alone
            if tables:
                conn.execute(sql.SQL("DROP TABLE {}").format(sql.SQL(", ").join(tables)))
            if types:
                conn.execute(sql.SQL("DROP TYPE {}").format(sql.SQL(", ").join(types)))
    except psycopg.errors.DependentObjectsStillExist as exc:
        detail = (exc.diag.message_detail or "").replace("\n", "; ")
        raise DemoRefused(
            f"objects not created by katarestore demo depend on its tables ({detail}): "
            "refusing to drop them; drop or move those objects first"
        ) from None
