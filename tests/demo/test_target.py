"""`katarestore demo` never drops or changes a table it did not create (#9.4)."""

from __future__ import annotations

from pathlib import Path

import psycopg

from katarestore_tui.demo import TABLES
from tests.reliability.support import cli_env, run_cli

OPERATOR_SCHEMA = """
CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL);
INSERT INTO users SELECT i, 'precious-' || i || '@example.com' FROM generate_series(1, 50) i;
CREATE VIEW active_users AS SELECT id, email FROM users WHERE id % 2 = 0;
CREATE TABLE invoices (id int PRIMARY KEY, user_id int NOT NULL REFERENCES users(id));
INSERT INTO invoices SELECT i, i FROM generate_series(1, 20) i;
"""


def _state(conn: psycopg.Connection) -> dict[str, object]:
    """Everything the operator owns, read plainly: rows, view text, FKs, tables, types."""
    return {
        "users": conn.execute("SELECT * FROM users ORDER BY id").fetchall(),
        "invoices": conn.execute("SELECT * FROM invoices ORDER BY id").fetchall(),
        "view": conn.execute("SELECT pg_get_viewdef('active_users'::regclass)").fetchone(),
        "view_rows": conn.execute("SELECT count(*) FROM active_users").fetchone(),
        "fks": conn.execute(
            "SELECT conname, conrelid::regclass::text, confrelid::regclass::text"
            " FROM pg_constraint WHERE contype = 'f' ORDER BY conname"
        ).fetchall(),
        "tables": conn.execute(
            "SELECT table_name, table_type FROM information_schema.tables"
            " WHERE table_schema = 'public' ORDER BY 1"
        ).fetchall(),
        "types": conn.execute(
            "SELECT typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
            " WHERE n.nspname = 'public' AND t.typtype = 'e' ORDER BY 1"
        ).fetchall(),
    }


def _demo(db_dsn: str, root: Path, *extra: str):
    env = cli_env(DATABASE_URL=db_dsn)
    return run_cli("demo", "--no-tui", "--rows", "40", "--backup-root", str(root), *extra,
                   env=env)


def test_demo_refuses_a_database_with_the_operators_users_table(
    db: psycopg.Connection, db_dsn: str, tmp_path: Path
) -> None:
    db.execute(OPERATOR_SCHEMA)
    before = _state(db)
    result = _demo(db_dsn, tmp_path / "root")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "users" in result.stderr and "refus" in result.stderr.lower(), result.stderr
    assert _state(db) == before
    assert len(before["users"]) == 50 and len(before["fks"]) == 1
    assert not (tmp_path / "root").exists() or not any((tmp_path / "root").iterdir())

    # even when told to go into an existing database, a table it did not make stays as it is
    forced = _demo(db_dsn, tmp_path / "root", "--into-existing")
    assert forced.returncode == 2, forced.stdout + forced.stderr
    assert _state(db) == before


def test_demo_into_existing_leaves_other_tables_alone(
    db: psycopg.Connection, db_dsn: str, tmp_path: Path
) -> None:
    db.execute("CREATE TABLE ledger (id int PRIMARY KEY, amount int)")
    db.execute("INSERT INTO ledger SELECT i, i * 10 FROM generate_series(1, 30) i")
    ledger = db.execute("SELECT * FROM ledger ORDER BY id").fetchall()

    refused = _demo(db_dsn, tmp_path / "root")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "--into-existing" in refused.stderr
    assert db.execute("SELECT to_regclass('users')").fetchone() == (None,)

    for _ in range(2):  # a second demo replaces only what the first one made
        ran = _demo(db_dsn, tmp_path / "root", "--into-existing")
        assert ran.returncode == 1, ran.stdout + ran.stderr  # the demo's bad records fail
        assert db.execute("SELECT * FROM ledger ORDER BY id").fetchall() == ledger
        marked = db.execute(
            "SELECT c.relname FROM pg_class c WHERE obj_description(c.oid, 'pg_class') = "
            "'katarestore demo' AND c.relkind = 'r' ORDER BY 1"
        ).fetchall()
        assert [name for (name,) in marked] == sorted(TABLES)


def test_demo_never_drops_what_depends_on_its_tables(
    db: psycopg.Connection, db_dsn: str, tmp_path: Path
) -> None:
    """The operator built a view on a demo table: a new demo refuses instead of CASCADE."""
    first = _demo(db_dsn, tmp_path / "root")
    assert first.returncode == 1, first.stdout + first.stderr  # an empty database: no question
    db.execute("CREATE VIEW my_report AS SELECT count(*) AS n FROM users")
    report = db.execute("SELECT n FROM my_report").fetchone()
    again = _demo(db_dsn, tmp_path / "root", "--into-existing")
    assert again.returncode == 2, again.stdout + again.stderr
    assert "my_report" in again.stderr
    assert db.execute("SELECT n FROM my_report").fetchone() == report
