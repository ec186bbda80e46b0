"""A Prisma `DATABASE_URL ...?schema=app` restores into `app` (#9.9): the URL's schema is the
default for --schema (an explicit --schema wins), and libpq never sees `schema=`."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from tests.helpers import write_backup
from tests.reliability.support import cli_env, run_cli

SCHEMA = """
CREATE SCHEMA app;
CREATE TABLE app.users (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE public.users (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO public.users VALUES (1, 'public one, not from the backup'), (100, 'public only');
"""
USERS = [{"id": 1, "name": "Ann"}, {"id": 2, "name": "Bob"}, {"id": 3, "name": "Cy"}]


def prisma_url(db_dsn: str, query: str) -> str:
    """The test database as Katacore's .env writes it: a URL with Prisma's parameters."""
    p = conninfo_to_dict(db_dsn)
    return (f"postgresql://{quote(p.get('user', 'root'))}@{p.get('host', '127.0.0.1')}:"
            f"{p.get('port', 5432)}/{p['dbname']}?{query}")


def rows(db: psycopg.Connection, schema: str) -> list[tuple]:
    return db.execute(f"SELECT id, name FROM {schema}.users ORDER BY id").fetchall()


@pytest.mark.parametrize("query", ["schema=app", "schema=app&connection_limit=5&pgbouncer=true"])
def test_prisma_url_schema_is_the_target_schema(db, db_dsn, tmp_path: Path, query: str) -> None:
    db.execute(SCHEMA)
    public_before = rows(db, "public")
    backup = write_backup(tmp_path, {"users.json": USERS})
    url = prisma_url(db_dsn, query)
    done = run_cli("restore", str(backup), "--yes", "--json", env=cli_env(DATABASE_URL=url))
    assert done.returncode == 0, done.stdout + done.stderr
    assert rows(db, "app") == [(1, "Ann"), (2, "Bob"), (3, "Cy")]
    assert rows(db, "public") == public_before
    summary = json.loads(done.stdout)
    assert summary["tables"]["users"]["loaded"] == 3

    # --dsn with the same URL, and an explicit --schema wins over the URL's
    again = run_cli("restore", str(backup), "--dsn", url, "--schema", "public", "--yes", "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    assert rows(db, "public") == [*public_before[:1], (2, "Bob"), (3, "Cy"), public_before[1]]
    assert rows(db, "app") == [(1, "Ann"), (2, "Bob"), (3, "Cy")]


def test_dry_run_plans_the_urls_schema(db, db_dsn, tmp_path: Path) -> None:
    db.execute(SCHEMA)
    db.execute("CREATE TABLE app.only_in_app (id int PRIMARY KEY)")
    backup = write_backup(tmp_path, {"users.json": USERS, "only_in_app.json": [{"id": 1}]})
    plan = run_cli("restore", str(backup), "--dry-run", "--json",
                   env=cli_env(DATABASE_URL=prisma_url(db_dsn, "schema=app")))
    assert plan.returncode == 0, plan.stdout + plan.stderr
    planned = json.loads(plan.stdout)
    assert planned["schema"] == "app"
    assert rows(db, "app") == []


def test_the_app_plans_into_the_urls_schema(db, db_dsn, tmp_path: Path, monkeypatch) -> None:
    """The TUI resolves the target itself: its plan must name the URL's schema too."""
    from katarestore_tui.app.app import KatarestoreApp
    from tests.app.conftest import run, screen_named, wait_for
    from tests.app.test_restore import open_plan

    db.execute(SCHEMA)
    write_backup(tmp_path / "root", {"users.json": USERS})
    monkeypatch.setenv("DATABASE_URL", prisma_url(db_dsn, "schema=app"))

    async def scenario():
        app = KatarestoreApp(backup_root=tmp_path / "root")
        async with app.run_test(size=(100, 30)) as pilot:
            await open_plan(app, pilot)
            plan = app.screen
            assert plan.options.schema == "app"
            await pilot.press("s")
            await wait_for(pilot, lambda: screen_named(app, "RestoreScreen"))
            await wait_for(pilot, lambda: app.screen.finished is not None, what="the end")
            assert app.screen.finished.status == "completed"

    run(scenario)
    assert rows(db, "app") == [(1, "Ann"), (2, "Bob"), (3, "Cy")]
    assert rows(db, "public") == [(1, "public one, not from the backup"), (100, "public only")]
