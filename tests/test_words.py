"""Counts read right at 1 and at 2 in every message that prints one ("1 duplicate", "was").

The CLI's own lines are run as a subprocess; a source check keeps new messages honest.
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from katarestore_tui.backup.catalog import TableFile
from katarestore_tui.backup.reader import BackupFormatError
from katarestore_tui.cli.bench_output import figures_text
from katarestore_tui.cli.output import TextReporter, table_line
from katarestore_tui.engine import RunStarted, TableStats
from katarestore_tui.words import noun, plural, was
from tests.cli.support import run_cli
from tests.helpers import write_backup

PACKAGE = Path(__file__).resolve().parents[1] / "katarestore_tui"


def test_plural_noun_was() -> None:
    assert [plural(n, "duplicate") for n in (0, 1, 2, 1000)] == \
        ["0 duplicates", "1 duplicate", "2 duplicates", "1,000 duplicates"]
    assert plural(None, "row") == "0 rows" and plural(1, "batch") == "1 batch"
    assert plural(2, "batch") == "2 batches" and plural(3, "strategy") == "3 strategies"
    assert (noun(1, "record"), noun(2, "record"), was(1), was(0), was(2)) == \
        ("record", "records", "was", "were", "were")


def test_table_line_at_one_and_two() -> None:
    one = TableStats("authors", records=1, loaded=0, duplicates=1, state="done")
    assert "1 record = 0 loaded + 1 duplicate + 0 failed" in table_line(one)
    two = TableStats("authors", records=2, loaded=0, duplicates=2, state="done")
    assert "2 records = 0 loaded + 2 duplicates + 0 failed" in table_line(two)


def test_run_started_line_counts_tables(capsys) -> None:
    reporter = TextReporter()
    reporter(RunStarted(run_id="r", backup="b", target="t", tables=("authors",), bytes_total=10,
                        fk_mode="replica"))
    assert "run r: 1 table, " in capsys.readouterr().err


def test_reader_fault_counts_the_records_before_it(tmp_path: Path) -> None:
    file = TableFile("authors", tmp_path / "authors.json", 10, "array", False)
    assert "the 1 record before it was read" in str(BackupFormatError(file, 20, 1, "bad"))
    assert "the 2 records before it were read" in str(BackupFormatError(file, 20, 2, "bad"))


def test_bench_figures_head_counts() -> None:
    record = {"bench_id": "b", "backup": "x", "records": 1, "table_count": 1, "batch_size": 1000,
              "jobs": 1, "strategies": {}, "status": "ok"}
    assert ": 1 record in 1 table, batch size" in figures_text(record)


SCHEMA = """
CREATE TABLE authors (id int PRIMARY KEY, name varchar(10) NOT NULL);
CREATE TABLE books (id int PRIMARY KEY, author_id int REFERENCES authors(id));
"""


@pytest.fixture
def backup(db: psycopg.Connection, tmp_path: Path) -> Path:
    db.execute(SCHEMA)
    root = tmp_path / "kata_json"
    write_backup(root, {"authors.json": [{"id": 1, "name": "Ann"}],
                        "books.json": [{"id": 1, "authorId": 1}, {"id": 2, "authorId": 99}]})
    return root


def test_cli_lines_at_one(backup: Path, db_dsn: str) -> None:
    """A second restore of one author: "1 duplicate"; one orphan book: "1 row ... was"."""
    args = ["restore", "--dsn", db_dsn, "--backup-root", str(backup), "--no-parser-process"]
    first = run_cli(args)
    assert first.returncode == 1, first.stderr
    assert "1 row referenced missing parents and was quarantined" in first.stderr
    run_id = next(line.split()[1].rstrip(":") for line in first.stderr.splitlines()
                  if line.startswith("run "))
    failures = run_cli(["failures", run_id])
    assert "\n1 failed record; " in failures.stdout
    second = run_cli(args)
    assert "authors: done, 1 record = 0 loaded + 1 duplicate + 0 failed" in second.stderr


# a count printed straight before a plural noun, not through words.plural
RAW_COUNT = re.compile(r"\{[^{}]*:,\}\s+(records|rows|duplicates|tables|files|batches)\b")


def test_no_count_bypasses_plural() -> None:
    found = [f"{path.relative_to(PACKAGE)}:{n}: {line.strip()}"
             for path in PACKAGE.rglob("*.py")
             for n, line in enumerate(path.read_text().splitlines(), 1)
             if RAW_COUNT.search(line)]
    assert found == []
