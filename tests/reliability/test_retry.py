"""`katarestore retry RUN_ID` after the operator fixed the cause: what loads now leaves the
quarantine, what still fails stays (with its new error), and the run's counts stay exact."""

from __future__ import annotations

import json

import psycopg
import pytest

from katarestore_tui.engine.quarantine import read_quarantine
from katarestore_tui.engine.restore import EXIT_OK, EXIT_PARTIAL
from katarestore_tui.engine.retry import retry_run
from katarestore_tui.history.runs import read_run
from tests.helpers import write_backup
from tests.reliability.support import run_cli

# the child sorts before its parent: a retry must still go parents first
SCHEMA = """
CREATE TABLE writers (id int PRIMARY KEY, name varchar(5) NOT NULL);
CREATE TABLE books (id int PRIMARY KEY, writer_id int REFERENCES writers, title text NOT NULL);
"""
WRITERS = [*({"id": i, "name": f"w{i}"} for i in range(1, 6)),
           {"id": 6, "name": "longname"},  # 8 > 5: loads once the column is widened to 10
           {"id": 7, "name": "muchtoolongname"},  # 15: still too long after that
           {"id": 8, "name": None}]  # NOT NULL: fixed only when the operator drops it
BOOKS = [*({"id": i, "writerId": i % 5 + 1, "title": f"b{i}"} for i in range(1, 11)),
         {"id": 11, "writerId": 6, "title": "parent failed"},  # loads once writer 6 does
         {"id": 12, "writerId": 99, "title": "parent missing"},  # the operator adds writer 99
         {"id": 13, "writerId": 7, "title": "parent still failing"}]


@pytest.fixture
def first_run(db: psycopg.Connection, db_dsn: str, tmp_path) -> str:
    db.execute(SCHEMA)
    backup = write_backup(tmp_path, {"writers.json": WRITERS, "books.json": BOOKS})
    done = run_cli("restore", str(backup), "--dsn", db_dsn, "--yes", "--json")
    assert done.returncode == EXIT_PARTIAL, done.stderr
    summary = json.loads(done.stdout)
    assert summary["tables"]["writers"]["failed"] == 3 and summary["tables"]["books"]["failed"] == 3
    return summary["run_id"]


def quarantined_ids(run_id: str, table: str) -> list[int]:
    return sorted(e["record"]["id"] for e in read_quarantine(run_id, table))


def assert_accounting(db: psycopg.Connection, run_id: str, extra_rows: dict[str, int]) -> dict:
    """Per table: balanced, failed == quarantine entries, loaded == rows katarestore put in."""
    run = read_run(run_id)
    for name, t in run["tables"].items():
        assert t["loaded"] + t["duplicates"] + t["failed"] == t["records"], (name, t)
        assert t["failed"] == len(quarantined_ids(run_id, name)), name
        in_table = db.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        assert in_table == t["loaded"] + extra_rows.get(name, 0), (name, t, in_table)
    totals = run["totals"]
    assert totals["records"] == sum(t["records"] for t in run["tables"].values())
    assert totals["failed"] == sum(t["failed"] for t in run["tables"].values())
    return run


def test_retry_moves_what_loads_now_and_keeps_the_rest(first_run, db, db_dsn):
    run_id = first_run
    db.execute("ALTER TABLE writers ALTER COLUMN name TYPE varchar(10)")  # the operator's fix
    done = run_cli("retry", run_id, "--dsn", db_dsn, "--json")
    assert done.returncode == 1, done.stderr  # some records still fail
    counts = json.loads(done.stdout)["tables"]
    assert counts["writers"] == {"retried": 3, "loaded": 1, "duplicates": 0, "still_failed": 2}
    # parents first: book 11 loads in the same retry, now that writer 6 is in
    assert counts["books"] == {"retried": 3, "loaded": 1, "duplicates": 0, "still_failed": 2}
    assert quarantined_ids(run_id, "writers") == [7, 8]
    assert quarantined_ids(run_id, "books") == [12, 13]
    run = assert_accounting(db, run_id, {})
    assert run["status"] == "partial"
    assert (run["tables"]["writers"]["loaded"], run["tables"]["writers"]["failed"]) == (6, 2)
    (still,) = [e for e in read_quarantine(run_id, "writers") if e["record"]["id"] == 7]
    assert still["sqlstate"] == "22001" and "(10)" in still["message"]  # this attempt's error

    # the operator fixes the rest: longer names, NULL allowed, the missing parent added,
    # and one book entered by hand meanwhile (its record is now a duplicate)
    db.execute("ALTER TABLE writers ALTER COLUMN name TYPE varchar(20)")
    db.execute("ALTER TABLE writers ALTER COLUMN name DROP NOT NULL")
    db.execute("INSERT INTO writers VALUES (99, 'added')")
    db.execute("INSERT INTO books VALUES (12, 99, 'by hand')")
    done = run_cli("retry", run_id, "--dsn", db_dsn, "--json")
    assert done.returncode == EXIT_OK, done.stderr
    counts = json.loads(done.stdout)["tables"]
    assert counts["writers"] == {"retried": 2, "loaded": 2, "duplicates": 0, "still_failed": 0}
    assert counts["books"] == {"retried": 2, "loaded": 1, "duplicates": 1, "still_failed": 0}
    run = assert_accounting(db, run_id, {"writers": 1, "books": 1})
    assert run["status"] == "completed" and run["exit_code"] == 0
    assert run["totals"]["failed"] == 0 and len(run["retries"]) == 2
    assert run["tables"]["books"]["duplicates"] == 1

    # nothing left: a retry changes nothing
    again = retry_run(run_id, db_dsn)
    assert again.tables == {} and again.error is None
    assert read_run(run_id)["totals"] == run["totals"]
    history = run_cli("history", run_id, "--json")
    assert json.loads(history.stdout)["status"] == "completed"


def test_retry_of_one_table_leaves_the_others_alone(first_run, db, db_dsn):
    run_id = first_run
    db.execute("ALTER TABLE writers ALTER COLUMN name TYPE varchar(10)")
    done = run_cli("retry", run_id, "--table", "writers", "--dsn", db_dsn, "--json")
    assert done.returncode == 1
    assert set(json.loads(done.stdout)["tables"]) == {"writers"}
    assert quarantined_ids(run_id, "writers") == [7, 8]
    assert quarantined_ids(run_id, "books") == [11, 12, 13]
    assert_accounting(db, run_id, {})
