"""The CLI contract scripts depend on: names, exit codes, the --json summary."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from katarestore_tui.cli import main
from tests.helpers import write_backup

SCHEMA = """
CREATE TABLE authors (id int PRIMARY KEY, name varchar(10) NOT NULL);
CREATE TABLE books (id serial PRIMARY KEY, author_id int REFERENCES authors(id), title text);
"""
AUTHORS = [{"id": 1, "name": "Ann"}, {"id": 2, "name": "Bob"}, {"id": 3, "name": "far too long"}]
BOOKS = [{"id": 1, "authorId": 1, "title": "A"}, {"id": 2, "authorId": 2, "title": "B"}]


@pytest.fixture
def setup(db: psycopg.Connection, db_dsn: str, tmp_path: Path) -> tuple[str, Path]:
    db.execute(SCHEMA)
    root = tmp_path / "kata_json"
    write_backup(root, {"authors.json": AUTHORS, "books.json": BOOKS})
    return db_dsn, root


def run_json(capsys, argv: list[str]) -> tuple[int, dict]:
    code = main(argv)
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_restore_json_summary_and_exit_code(setup, capsys):
    dsn, root = setup
    code, summary = run_json(capsys, ["restore", "--dsn", dsn, "--backup-root", str(root),
                                      "--json", "--no-parser-process"])
    assert code == 1  # one record quarantined
    assert set(summary) >= {"run_id", "status", "backup", "seconds", "tables", "quarantine"}
    assert summary["status"] == "partial"
    assert summary["tables"]["authors"] == {
        "records": 3, "loaded": 2, "duplicates": 0, "failed": 1,
        "seconds": summary["tables"]["authors"]["seconds"], "state": "partial", "error": None,
    }
    assert summary["backup"].endswith("20241201_103000")

    code, runs = run_json(capsys, ["history", "--json"])
    assert code == 0 and runs["runs"][0]["run_id"] == summary["run_id"]
    code, failed = run_json(capsys, ["failures", summary["run_id"], "--json"])
    assert code == 0 and len(failed) == 1 and failed[0]["sqlstate"] == "22001"
    assert failed[0]["record"] == {"id": 3, "name": "far too long"}
    assert main(["failures", summary["run_id"]]) == 0
    assert "22001" in capsys.readouterr().out


def test_second_restore_counts_duplicates_and_exits_0_for_clean_data(setup, capsys, db):
    dsn, root = setup
    write_backup(root, {"authors.json": AUTHORS[:2]}, name="20250101_000000")
    assert main(["restore", "--dsn", dsn, "--backup-root", str(root), "--json"]) == 0
    capsys.readouterr()
    code, summary = run_json(capsys, ["restore", "--dsn", dsn, "--backup-root", str(root),
                                      "--json"])
    assert code == 0
    assert summary["tables"]["authors"]["duplicates"] == 2


def test_dry_run_prints_the_plan(setup, capsys, db):
    dsn, root = setup
    assert main(["restore", "--dsn", dsn, "--backup-root", str(root), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "1. authors" in out and "2. books" in out and "key authorId -> column author_id" in out
    assert "nothing was written" in out
    assert db.execute("SELECT count(*) FROM authors").fetchone()[0] == 0


def test_usage_errors_exit_2(setup, capsys):
    dsn, root = setup
    with pytest.raises(SystemExit) as bad_batch:
        main(["restore", "--batch-size", "zero"])
    assert bad_batch.value.code == 2
    assert main(["restore", "--dsn", dsn, "--backup-root", str(root / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["history", "no-such-run"]) == 2
    # --clean without --yes and without a terminal to ask on refuses
    assert main(["restore", "--dsn", dsn, "--backup-root", str(root), "--clean"]) == 2


def test_cannot_connect_exits_3_and_hides_the_password(setup, capsys):
    _dsn, root = setup
    code = main(["restore", "--dsn", "postgresql://u:Hunter2Pw@127.0.0.1:1/x",
                 "--backup-root", str(root)])
    captured = capsys.readouterr()
    assert code == 3
    assert "Hunter2Pw" not in captured.out + captured.err
    assert "****" in captured.err


def test_tables_and_exclude_select_a_subset(setup, capsys, db):
    dsn, root = setup
    code, summary = run_json(capsys, ["restore", "--dsn", dsn, "--backup-root", str(root),
                                      "--tables", "authors", "--json"])
    assert list(summary["tables"]) == ["authors"] and code == 1
    code, summary = run_json(capsys, ["restore", "--dsn", dsn, "--backup-root", str(root),
                                      "--exclude", "authors", "--json"])
    assert list(summary["tables"]) == ["books"] and code == 0
