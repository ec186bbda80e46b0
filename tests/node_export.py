"""Write a backup the way the Katacore app's Node script does: JSON.stringify(rows, null, 2).

Used to prove a round trip: source database -> this exporter -> katarestore -> an
empty copy of the schema, then compare every row by checksum.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg
from psycopg import sql


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def node_value(value: object) -> object:
    """What Prisma hands JSON.stringify, and what JSON.stringify makes of it."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # Prisma reads timestamp(3) as UTC
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return f"{value.isoformat()}T00:00:00.000Z"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return {"type": "Buffer", "data": list(bytes(value))}
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list):
        return [node_value(v) for v in value]
    return value


def export_table(conn: psycopg.Connection, table: str, path: Path) -> int:
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT * FROM {} ").format(sql.Identifier(table)))
        names = [camel(c.name) for c in cur.description]
        rows = [
            {name: node_value(value) for name, value in zip(names, row, strict=True)}
            for row in cur.fetchall()
        ]
    path.write_text(json.dumps(rows, indent=2, ensure_ascii=False), encoding="utf-8")
    return len(rows)


def checksum(conn: psycopg.Connection, table: str) -> tuple[int, str]:
    return conn.execute(
        sql.SQL("SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))"
                " FROM {} AS t").format(sql.Identifier(table))
    ).fetchone()
