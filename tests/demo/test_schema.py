"""The demo schema: created marked, twice with drop_existing, in any schema, search_path kept."""

from __future__ import annotations

import psycopg
import pytest

from katarestore_tui.demo import DEMO_SCHEMA_SQL, TABLES, create_demo_schema


def _tables(conn: psycopg.Connection, schema: str) -> set[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
    ).fetchall()
    return {r[0] for r in rows}


def test_create_demo_schema_twice(db: psycopg.Connection) -> None:
    assert "CREATE TABLE" in DEMO_SCHEMA_SQL
    create_demo_schema(db)
    assert _tables(db, "public") == set(TABLES)
    with pytest.raises(psycopg.errors.DuplicateObject):
        create_demo_schema(db)
    create_demo_schema(db, drop_existing=True)
    create_demo_schema(db, drop_existing=True)
    assert _tables(db, "public") == set(TABLES)

    before = db.execute("SHOW search_path").fetchone()
    create_demo_schema(db, schema="Katacore LMS", drop_existing=True)
    create_demo_schema(db, schema="Katacore LMS", drop_existing=True)
    assert _tables(db, "Katacore LMS") == set(TABLES)
    assert db.execute("SHOW search_path").fetchone() == before
    fks = db.execute(
        "SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
        "WHERE n.nspname = 'Katacore LMS' AND c.contype = 'f'"
    ).fetchone()
    assert fks == (8,)
