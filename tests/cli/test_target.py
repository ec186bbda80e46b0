"""Where the target comes from: --dsn, $DATABASE_URL, a Prisma .env, the PG* variables, embedded.

The resolver is one function for both faces; the CLI is checked as a subprocess, with the
variables an operator's shell or a Prisma project would have.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from katarestore_tui.db.target import choose_dsn, libpq_variables, resolve_target, url_schema
from tests.cli.support import run_cli
from tests.helpers import write_backup

SCHEMA = "CREATE TABLE authors (id int PRIMARY KEY, name text);"
AUTHORS = [{"id": 1, "name": "Ann"}, {"id": 2, "name": "Bob"}]


def test_libpq_variables_come_from_libpq() -> None:
    names = libpq_variables()
    # the ones the issue names, and ones a hand list would have forgotten
    assert {"PGHOST", "PGDATABASE", "PGSERVICE", "PGPORT", "PGUSER", "PGPASSWORD",
            "PGSSLMODE", "PGHOSTADDR", "PGPASSFILE"} <= set(names)
    assert all(name.startswith("PG") for name in names)


def test_precedence_dsn_then_env_then_dotenv_then_pg_then_embedded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert choose_dsn(None) == (None, "embedded")
    monkeypatch.setenv("PGSERVICE", "reports")
    monkeypatch.setenv("PGDATABASE", "app")
    assert choose_dsn(None) == (None, "PGDATABASE, PGSERVICE")
    (tmp_path / "prisma").mkdir()
    (tmp_path / "prisma/.env").write_text('DATABASE_URL="postgresql://p@prisma-dir/db"\n')
    assert choose_dsn(None) == ("postgresql://p@prisma-dir/db", "DATABASE_URL in ./prisma/.env")
    (tmp_path / ".env").write_text("OTHER=1\nexport DATABASE_URL='postgresql://r@root-dir/db'\n")
    assert choose_dsn(None) == ("postgresql://r@root-dir/db", "DATABASE_URL in ./.env")
    monkeypatch.setenv("DATABASE_URL", "postgresql://e@env/db")
    assert choose_dsn(None) == ("postgresql://e@env/db", "$DATABASE_URL")
    assert choose_dsn(" postgresql://a@arg/db ") == ("postgresql://a@arg/db", "--dsn")


def test_dotenv_quoting_comments_and_expansion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What Prisma's dotenv accepts: comments, quotes, `${VAR}` expansion; an empty value is unset."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DB_HOST", "db.internal")
    (tmp_path / ".env").write_text(
        "# Katacore\nDATABASE_URL=\"postgresql://u:p%23w@${DB_HOST}:5433/lms?schema=app\"  # main\n")
    raw, _source = choose_dsn(None)
    assert raw == "postgresql://u:p%23w@db.internal:5433/lms?schema=app"
    assert url_schema(None) == "app"  # the .env's ?schema= is the default schema too
    (tmp_path / ".env").write_text("DATABASE_URL=\n")
    assert choose_dsn(None) == (None, "embedded")


def test_target_line_masks_the_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "prisma").mkdir()
    (tmp_path / "prisma/.env").write_text(
        "DATABASE_URL=postgresql://kata:s3cretpw@db.example:6432/lms?schema=app&connection_limit=5\n")
    target = resolve_target(None)
    assert target.line() == "target: kata@db.example:6432/lms (from DATABASE_URL in ./prisma/.env)"
    assert "s3cretpw" not in target.line() and target.schema == "app"
    assert conninfo_to_dict(target.dsn)["options"] == "-c search_path=app"


def test_pg_variables_reach_the_database_through_libpq(db_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    params = conninfo_to_dict(db_dsn)
    monkeypatch.setenv("PGHOST", params["host"])
    monkeypatch.setenv("PGPORT", params["port"])
    monkeypatch.setenv("PGDATABASE", params["dbname"])
    monkeypatch.setenv("PGPASSWORD", "never-copied")
    target = resolve_target(None)
    assert target.source == "PGDATABASE, PGHOST, PGPASSWORD, PGPORT"
    assert target.description == f"{params['user']}@{params['host']}/{params['dbname']}"
    assert "never-copied" not in target.dsn  # libpq reads it from the environment itself
    with psycopg.connect(target.dsn) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (params["dbname"],)


def test_pg_variables_unreachable_still_name_the_target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGHOST", "127.0.0.1")
    monkeypatch.setenv("PGPORT", "1")  # nothing listens there
    monkeypatch.setenv("PGDATABASE", "lms")
    monkeypatch.setenv("PGUSER", "kata")
    target = resolve_target(None)
    assert target.line() == ("target: kata@127.0.0.1:1/lms (not reachable yet) "
                             "(from PGDATABASE, PGHOST, PGPORT, PGUSER)")


@pytest.fixture
def backup(db: psycopg.Connection, tmp_path: Path) -> Path:
    db.execute(SCHEMA)
    root = tmp_path / "kata_json"
    write_backup(root, {"authors.json": AUTHORS})
    return root


def test_cli_restores_through_pg_variables_and_says_so(backup: Path, db_dsn: str, db, tmp_path: Path) -> None:
    params = conninfo_to_dict(db_dsn)
    env = {"PGHOST": params["host"], "PGPORT": params["port"], "PGDATABASE": params["dbname"],
           "PGUSER": params["user"]}
    proc = run_cli(["restore", "--backup-root", str(backup), "--yes", "--no-parser-process"],
                   env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    line = (f"target: {params['user']}@{params['host']}/{params['dbname']} "
            "(from PGDATABASE, PGHOST, PGPORT, PGUSER)")
    assert line in proc.stderr.splitlines()
    assert "embedded" not in proc.stderr
    assert db.execute("SELECT count(*) FROM authors").fetchone() == (2,)


def test_cli_reads_prisma_dotenv_and_masks_the_password(backup: Path, db_dsn: str, db,
                                                        tmp_path: Path) -> None:
    params = conninfo_to_dict(db_dsn)
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute("CREATE ROLE kr_dotenv LOGIN SUPERUSER PASSWORD 'Pa55word-xyz'" )
    try:
        url = (f"postgresql://kr_dotenv:Pa55word-xyz@{params['host']}:{params['port']}/"
               f"{params['dbname']}?schema=public&connection_limit=3")
        (tmp_path / "prisma").mkdir()
        (tmp_path / "prisma/.env").write_text(f'export DATABASE_URL="{url}"\n')
        proc = run_cli(["restore", "--backup-root", str(backup), "--dry-run"], cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert (f"target: kr_dotenv@{params['host']}/{params['dbname']} "
                "(from DATABASE_URL in ./prisma/.env)") in proc.stderr
        assert "Pa55word-xyz" not in proc.stderr + proc.stdout
    finally:
        with psycopg.connect(db_dsn, autocommit=True) as conn:
            conn.execute("DROP OWNED BY kr_dotenv; DROP ROLE kr_dotenv")
