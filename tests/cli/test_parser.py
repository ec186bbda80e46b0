"""pg_restore's names beside katarestore's, help on every command, completion, -v/-q.

Every check runs the installed command as a script would (a subprocess, no terminal).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

from katarestore_tui.cli.parser import build_parser
from tests.cli.support import run_cli
from tests.helpers import write_backup

SCHEMA = """
CREATE TABLE authors (id int PRIMARY KEY, name text);
CREATE TABLE books (id int PRIMARY KEY, author_id int REFERENCES authors(id), title text);
CREATE TABLE tags (id int PRIMARY KEY, name text);
CREATE TABLE notes (id int PRIMARY KEY, body text);
"""
FILES = {
    "authors.json": [{"id": 1, "name": "Ann"}],
    "books.json": [{"id": 1, "authorId": 1, "title": "A"}],
    "tags.json": [{"id": 1, "name": "t"}],
    "notes.json": [{"id": 1, "body": "n"}],
}


@pytest.fixture
def backup(db: psycopg.Connection, tmp_path: Path) -> Path:
    db.execute(SCHEMA)
    root = tmp_path / "kata_json"
    write_backup(root, FILES)
    return root


def plan_of(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_repeated_tables_and_t_merge(backup: Path, db_dsn: str) -> None:
    """`--tables a --tables b` kept only b; -t/--table (pg_restore) add to the same list."""
    proc = run_cli(["restore", "--dry-run", "--json", "--dsn", db_dsn, "--backup-root", str(backup),
                    "--tables", "authors", "--tables", "books"])
    assert sorted(plan_of(proc)["order"]) == ["authors", "books"]
    proc = run_cli(["restore", "--dry-run", "--json", "-d", db_dsn, "--backup-root", str(backup),
                    "-t", "tags", "--table", "notes", "--tables", "authors,books", "--exclude", "books"])
    assert sorted(plan_of(proc)["order"]) == ["authors", "notes", "tags"]


def test_pg_restore_short_names_reach_the_engine(backup: Path, db_dsn: str, db) -> None:
    """-d/--dbname, -n, -j, -1 do what --dsn, --schema, --jobs, --single-transaction do."""
    proc = run_cli(["restore", "--backup-root", str(backup), "--dbname", db_dsn, "-n", "public",
                    "-1", "-j", "1", "--json", "--no-parser-process"])
    summary = json.loads(proc.stdout)
    assert proc.returncode == 0, proc.stderr
    assert summary["status"] == "completed"
    assert db.execute("SELECT count(*) FROM books").fetchone() == (1,)
    from katarestore_tui.history.runs import read_run

    options = read_run(summary["run_id"])["options"]
    assert options["single_transaction"] is True and options["schema"] == "public"
    # -1 with -j 2 is refused the way --single-transaction --jobs 2 is (one connection)
    proc = run_cli(["restore", "--backup-root", str(backup), "-d", db_dsn, "-1", "-j", "2"])
    assert proc.returncode == 2 and "--single-transaction loads on one connection" in proc.stderr
    # a schema that does not exist, named by -n, is the engine's usage error
    proc = run_cli(["restore", "--backup-root", str(backup), "-d", db_dsn, "-n", "nowhere", "--dry-run"])
    assert proc.returncode != 0 and "nowhere" in proc.stderr


def test_old_names_still_work() -> None:
    parser = build_parser()
    args = parser.parse_args(["restore", "--dsn", "x", "--schema", "s", "--jobs", "2",
                              "--single-transaction", "--tables", "a,b", "--exclude", "c"])
    assert (args.dsn, args.schema, args.jobs, args.single_transaction, args.tables, args.exclude) == \
        ("x", "s", 2, True, ["a", "b"], ["c"])
    assert parser.parse_args(["--dsn", "x"]).dsn == "x"  # the TUI's own --dsn
    assert parser.parse_args(["retry", "r1", "-d", "x"]).dsn == "x"
    assert parser.parse_args(["failures", "r1", "--table", "t"]).table == "t"


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_and_option_has_help() -> None:
    parser = build_parser()
    commands = _subcommands(parser)
    assert {"restore", "bench", "history", "failures", "retry", "demo", "completion"} <= set(commands)
    for name, sub in commands.items():
        for action in sub._actions:
            assert (action.help and action.help != argparse.SUPPRESS) or action.dest == "help", \
                f"katarestore {name} {action.option_strings or action.dest} has no help"


@pytest.mark.parametrize("command", ["", "restore", "bench", "history", "failures", "retry", "demo"])
def test_help_has_the_exit_codes_and_environment(command: str) -> None:
    proc = run_cli([command, "--help"] if command else ["--help"])
    assert proc.returncode == 0
    for needed in ("exit codes:", "  3  fatal", "DATABASE_URL", "PGHOST", "prisma/.env",
                   "KATARESTORE_BACKUP_ROOT"):
        assert needed in proc.stdout, (command, needed)


def test_bash_completion_is_valid_and_knows_the_names() -> None:
    proc = run_cli(["completion", "bash"])
    assert proc.returncode == 0
    script = proc.stdout
    for name in ("restore", "history", "--single-transaction", "--dbname", "--on-conflict"):
        assert name in script
    if shutil.which("bash"):
        check = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
        assert check.returncode == 0, check.stderr
        # source it and ask bash what `katarestore rest<Tab>` completes to
        probe = script + '\nCOMP_WORDS=(katarestore rest); COMP_CWORD=1; COMP_LINE="katarestore rest"; ' \
            'COMP_POINT=${#COMP_LINE}; _shtab_katarestore; printf "%s\\n" "${COMPREPLY[@]}"\n'
        done = subprocess.run(["bash", "-c", probe], text=True, capture_output=True)
        assert "restore" in done.stdout.split(), done.stderr


def test_zsh_completion() -> None:
    proc = run_cli(["completion", "zsh"])
    assert proc.returncode == 0 and proc.stdout.startswith("#compdef katarestore")
    assert run_cli(["completion", "fish"]).returncode == 2  # not offered: usage error


def test_quiet(backup: Path, db_dsn: str) -> None:
    base = ["restore", "--dry-run", "--dsn", db_dsn, "--backup-root", str(backup)]
    normal = run_cli(base)
    assert normal.returncode == 0 and "target: " in normal.stderr
    quiet = run_cli(["-q", *base])
    assert quiet.returncode == 0 and quiet.stderr == ""  # nothing but warnings and errors
    assert quiet.stdout == normal.stdout  # -q quiets the log, never the result
    assert run_cli([*base, "-q"]).stderr == ""  # after the sub-command too
    failing = run_cli(["-q", "restore", "--dsn", "postgresql://nobody@127.0.0.1:1/x",
                       "--backup-root", str(backup)])
    assert failing.returncode == 3 and "error:" in failing.stderr  # errors pass -q


def test_verbose(backup: Path, db_dsn: str) -> None:
    base = ["restore", "--dry-run", "--dsn", db_dsn, "--backup-root", str(backup)]
    verbose = run_cli([*base, "-v"])
    assert verbose.returncode == 0
    assert "DEBUG katarestore_tui.cli.restore: options:" in verbose.stderr
