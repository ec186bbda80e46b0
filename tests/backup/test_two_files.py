"""Two files for one table (#9.10): refused, exit 2, both files named, nothing written.

Before, the second file was skipped with a warning and its records counted nowhere,
and an empty `Users.json` won over the exact `users.json` because it sorts first.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from katarestore_tui.history.runs import list_runs
from tests.helpers import write_backup
from tests.reliability.support import run_cli

USERS = [{"id": 1, "name": "Ann"}, {"id": 2, "name": "Bob"}, {"id": 3, "name": "Cy"}]
LINES = "".join(json.dumps({"id": i, "name": f"line {i}"}) + "\n" for i in (4, 5))


@pytest.mark.parametrize("files", [
    {"users.json": USERS, "users.jsonl": LINES},
    {"Users.json": [], "users.json": USERS},
    {"users.json": USERS, "users.json.gz": b""},  # the .gz need not even be readable
])
def test_two_files_for_one_table_are_refused(db: psycopg.Connection, db_dsn: str,
                                             tmp_path: Path, files: dict) -> None:
    db.execute("CREATE TABLE users (id int PRIMARY KEY, name text)")
    db.execute("CREATE TABLE other (id int PRIMARY KEY)")
    backup = write_backup(tmp_path, {**files, "other.json": [{"id": 1}]})
    for extra in ((), ("--dry-run",)):
        done = run_cli("restore", str(backup), "--dsn", db_dsn, "--yes", *extra)
        out = done.stdout + done.stderr
        assert done.returncode == 2, out
        for name in files:
            assert name in out, (name, out)
        assert "nothing was changed" in out
    assert db.execute("SELECT count(*) FROM users").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM other").fetchone() == (0,)
    assert list_runs() == []


def test_exact_names_fill_their_own_tables(db: psycopg.Connection, db_dsn: str,
                                           tmp_path: Path) -> None:
    """`Users` and `users` are two tables: each file fills the one it names exactly."""
    db.execute('CREATE TABLE "Users" (id int PRIMARY KEY, name text)')
    db.execute("CREATE TABLE users (id int PRIMARY KEY, name text)")
    backup = write_backup(tmp_path, {"Users.json": USERS[:1], "users.json": USERS})
    done = run_cli("restore", str(backup), "--dsn", db_dsn, "--yes", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert db.execute('SELECT id FROM "Users"').fetchall() == [(1,)]
    assert db.execute("SELECT id FROM users ORDER BY id").fetchall() == [(1,), (2,), (3,)]
    totals = json.loads(done.stdout)["totals"]
    assert (totals["records"], totals["loaded"]) == (4, 4)


def test_the_plan_names_both_files_exact_first(db: psycopg.Connection, tmp_path: Path) -> None:
    from katarestore_tui.backup.catalog import open_backup
    from katarestore_tui.db.schema import read_schema
    from katarestore_tui.engine.plan import build_plan

    db.execute("CREATE TABLE users (id int PRIMARY KEY, name text)")
    backup = write_backup(tmp_path, {"USERS.jsonl": LINES, "Users.json": [], "users.json": USERS})
    plan = build_plan(open_backup(backup), read_schema(db, "public"))
    assert plan.conflicts == {"users": ["users.json", "USERS.jsonl", "Users.json"]}
    assert plan.table("users").file.path.name == "users.json"  # the exact name wins
