"""`katarestore verify` and `restore --verify`: names, exit codes, the text and --json."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from katarestore_tui.cli import main
from katarestore_tui.errors import EXIT_DIFFERENT, EXIT_PARTIAL, EXIT_USAGE
from tests.helpers import write_backup

SCHEMA = """
CREATE TABLE authors (id int PRIMARY KEY, name varchar(10) NOT NULL);
CREATE TABLE tags (label text);
"""
AUTHORS = [{"id": 1, "name": "Ann"}, {"id": 2, "name": "Bob"}, {"id": 3, "name": "far too long"}]
TAGS = [{"label": "a"}, {"label": "a"}, {"label": "b"}]


@pytest.fixture
def setup(db: psycopg.Connection, db_dsn: str, tmp_path: Path) -> tuple[str, Path]:
    db.execute(SCHEMA)
    root = tmp_path / "kata_json"
    write_backup(root, {"authors.json": AUTHORS, "tags.json": TAGS})
    return db_dsn, root


def _args(dsn: str, root: Path, *more: str) -> list[str]:
    return ["--dsn", dsn, "--backup-root", str(root), "--no-parser-process", *more]


def test_restore_verify_accounts_for_the_quarantine_in_one_json(setup, capsys):
    dsn, root = setup
    code = main(["restore", *_args(dsn, root, "--verify", "--json")])
    out = json.loads(capsys.readouterr().out)
    assert code == EXIT_PARTIAL  # one record quarantined, all accounted for
    assert out["totals"]["failed"] == 1
    verify = out["verify"]
    assert verify["run_id"] == out["run_id"]
    assert (verify["totals"]["matched"], verify["totals"]["quarantined"],
            verify["totals"]["unexplained"]) == (5, 1, 0)
    assert verify["status"] == "accounted"


def test_verify_names_a_change_and_exits_4(setup, db: psycopg.Connection, capsys):
    dsn, root = setup
    assert main(["restore", *_args(dsn, root)]) == EXIT_PARTIAL
    capsys.readouterr()
    assert main(["verify", *_args(dsn, root)]) == EXIT_PARTIAL
    text = capsys.readouterr().out
    assert "authors [key (id)]: 3 records: 2 match, 1 in quarantine, 0 unexplained" in text
    assert "tags [multiset]: 3 records: 3 match, 0 unexplained" in text
    db.execute("UPDATE authors SET name = 'Bobby' WHERE id = 2")
    db.execute("INSERT INTO tags VALUES ('a')")
    assert main(["verify", *_args(dsn, root)]) == EXIT_DIFFERENT
    text = capsys.readouterr().out
    assert "    different  id=2 (record 1): name" in text
    assert "    extra      label=a" in text
    assert text.rstrip().splitlines()[-1].startswith(
        "different: 4 match, 1 in quarantine, 2 unexplained")
    code = main(["verify", *_args(dsn, root, "--no-run", "--json")])
    result = json.loads(capsys.readouterr().out)
    assert code == EXIT_DIFFERENT and result["run_id"] is None
    authors = result["tables"]["authors"]
    assert (authors["unloadable"], authors["different"]) == (1, 1)
    assert [d["kind"] for d in authors["differences"]] == ["unloadable", "different"]


def test_verify_refuses_a_run_of_another_backup(setup, capsys):
    dsn, root = setup
    main(["restore", *_args(dsn, root, "--json")])
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    other = write_backup(root, {"authors.json": AUTHORS[:1]}, name="20250101_000000")
    assert main(["verify", str(other), *_args(dsn, root, "--run", run_id)]) == EXIT_USAGE
    assert f"run {run_id} restored" in capsys.readouterr().err
    assert main(["verify", str(other), *_args(dsn, root, "--json")]) == EXIT_DIFFERENT  # no run
    result = json.loads(capsys.readouterr().out)
    assert result["run_id"] is None and result["totals"]["extra"] == 1  # Bob is not in it


def test_run_and_no_run_together_are_a_usage_error(setup, capsys):
    dsn, root = setup
    assert main(["verify", *_args(dsn, root, "--run", "x", "--no-run")]) == EXIT_USAGE
    assert "contradict" in capsys.readouterr().err
