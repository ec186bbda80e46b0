"""engine.loader.TableLoader on a real PostgreSQL: exact counts, the bad records and nothing else
quarantined, rows that were there before left alone, a checkpoint that matches the table.

Each test compares the table, the quarantine and the checkpoint with a plain oracle worked
out from the records themselves.
"""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from katarestore_tui.backup.catalog import open_backup
from katarestore_tui.db import written
from katarestore_tui.db.schema import read_schema
from katarestore_tui.engine import checkpoint
from katarestore_tui.engine.connect import Link, Session
from katarestore_tui.engine.context import RunContext, TableJob
from katarestore_tui.engine.encoder import encoded_batches
from katarestore_tui.engine.events import (
    CANCELLED,
    DONE,
    FAILED,
    PARTIAL,
    Event,
    TableFinished,
    TableStarted,
    Warning,
)
from katarestore_tui.engine.loader import TableLoader
from katarestore_tui.engine.options import RestoreOptions
from katarestore_tui.engine.plan import TablePlan
from katarestore_tui.engine.quarantine import QuarantineWriter, read_quarantine
from katarestore_tui.errors import Cancelled
from tests.helpers import write_backup

RUN_ID = "20241201-103000-loader"
SCHEMA = """
CREATE TABLE people (id int PRIMARY KEY, name varchar(5) NOT NULL, age int CHECK (age >= 0));
INSERT INTO people VALUES (3, 'keep', 99);  -- the operator's row: never changed by skip
"""
RECORDS: list[object] = [
    {"id": 1, "name": "Ann", "age": 30},
    {"id": 2, "name": "far too long", "age": 1},  # 22001: varchar(5)
    {"id": 3, "name": "Dup", "age": 5},  # the key exists: a duplicate
    "not an object",  # refused before the database
    {"id": 4, "name": "Neg", "age": -1},  # 23514: check constraint
    {"id": 5, "name": "Eve", "age": 41},
    {"id": 6, "name": "Fay", "age": None},
]
LOADED = {1: ("Ann", 30), 5: ("Eve", 41), 6: ("Fay", None)}


class Harness:
    """A TableLoader wired as the scheduler wires it, with its events kept."""

    def __init__(self, db: psycopg.Connection, db_dsn: str, folder: Path) -> None:
        self.db = db
        self.dsn = db_dsn
        self.table_file = open_backup(folder).files[0]
        checkpoint.ensure_table(db, "public")
        written.ensure_tables(db, "public")
        self.events: list[Event] = []
        self.cancel = threading.Event()
        self.quarantine = QuarantineWriter(RUN_ID)

    def run(self, on_conflict: str = "skip", batch_size: int = 3,
            start: checkpoint.Checkpoint | None = None):
        schema = read_schema(self.db)
        table = schema.tables["people"]
        options = RestoreOptions(backup="", dsn=self.dsn, on_conflict=on_conflict)
        session = Session(self.dsn, self.cancel)
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            link = Link(conn, session, lambda message: None)
            ctx = RunContext(options, schema, RUN_ID, session, link, self.quarantine,
                             self.events.append, self.cancel, immediate=False)
            job = TableJob(TablePlan("people", self.table_file, {}), start)
            loader = TableLoader(ctx, job, link)
            skip = start.records_done if start else 0
            try:
                return loader.run(encoded_batches(self.table_file, table, batch_size, skip))
            finally:
                self.quarantine.close()

    def rows(self) -> dict[int, tuple]:
        return {r[0]: r[1:] for r in self.db.execute("SELECT id, name, age FROM people")}

    def saved(self) -> checkpoint.Checkpoint | None:
        return checkpoint.load(self.db, "public", RUN_ID).get("people")


@pytest.fixture
def harness(db: psycopg.Connection, db_dsn: str, tmp_path: Path) -> Harness:
    db.execute(SCHEMA)
    return Harness(db, db_dsn, write_backup(tmp_path, {"people.json": RECORDS}))


def test_bad_records_quarantined_duplicates_counted_the_rest_loaded(harness: Harness) -> None:
    stats = harness.run()

    assert (stats.records, stats.loaded, stats.duplicates, stats.failed) == (7, 3, 1, 3)
    assert stats.balanced and stats.state == PARTIAL
    assert harness.rows() == {**LOADED, 3: ("keep", 99)}  # the existing row is untouched
    failed = {e["index"]: e for e in read_quarantine(RUN_ID, "people")}
    assert sorted(failed) == [1, 3, 4]
    assert failed[1]["sqlstate"] == "22001" and failed[1]["record"] == RECORDS[1]
    assert failed[4]["sqlstate"] == "23514" and failed[4]["record"] == RECORDS[4]
    assert failed[3]["sqlstate"] is None and failed[3]["record"] == "not an object"
    saved = harness.saved()
    assert saved is not None and saved.finished
    assert (saved.records_done, saved.loaded, saved.duplicates, saved.failed) == (7, 3, 1, 3)
    assert isinstance(harness.events[0], TableStarted)
    assert isinstance(harness.events[-1], TableFinished)
    assert harness.events[-1].stats.loaded == 3


def test_update_changes_only_keys_in_the_backup_and_error_quarantines_them(
    db: psycopg.Connection, db_dsn: str, tmp_path: Path
) -> None:
    db.execute(SCHEMA + "INSERT INTO people VALUES (100, 'other', 1);")
    h = Harness(db, db_dsn, write_backup(tmp_path / "a", {"people.json": RECORDS}))
    stats = h.run(on_conflict="update")
    assert (stats.loaded, stats.duplicates, stats.failed) == (3, 1, 3)
    assert h.rows() == {**LOADED, 3: ("Dup", 5), 100: ("other", 1)}

    db.execute("DELETE FROM people WHERE id <> 100")
    db.execute("INSERT INTO people VALUES (3, 'keep', 99)")
    checkpoint.forget_run(db, "public", RUN_ID)
    h = Harness(db, db_dsn, write_backup(tmp_path / "b", {"people.json": RECORDS}))
    h.quarantine = QuarantineWriter(RUN_ID + "-error")
    stats = h.run(on_conflict="error")
    assert (stats.loaded, stats.duplicates, stats.failed) == (3, 0, 4)
    assert h.rows() == {**LOADED, 3: ("keep", 99), 100: ("other", 1)}
    states = {e["index"]: e["sqlstate"] for e in read_quarantine(RUN_ID + "-error", "people")}
    assert states[2] == "23505"


def test_a_resume_starts_after_the_committed_records_and_loads_none_twice(harness: Harness) -> None:
    # a first run that committed the first batch (records 0-2: Ann loaded, 1 failed, 1 dup)
    harness.db.execute("INSERT INTO people VALUES (1, 'Ann', 30)")
    start = checkpoint.Checkpoint(records_done=3, loaded=1, duplicates=1, failed=1)

    stats = harness.run(start=start)

    assert (stats.records, stats.loaded, stats.duplicates, stats.failed) == (7, 3, 1, 3)
    assert harness.rows() == {**LOADED, 3: ("keep", 99)}
    # only this run's records went to the quarantine: 3 (not an object) and 4 (check)
    assert sorted(e["index"] for e in read_quarantine(RUN_ID, "people")) == [3, 4]


def test_a_table_error_stops_this_table_at_what_committed(harness: Harness) -> None:
    # an error about the table, not a record (42501): raised from the second batch on
    harness.db.execute(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.id >= 5 THEN RAISE EXCEPTION 'no more' USING ERRCODE = '42501'; END IF; "
        "RETURN NEW; END $$;"
        "CREATE TRIGGER refuse BEFORE INSERT ON people FOR EACH ROW EXECUTE FUNCTION refuse()"
    )

    stats = harness.run(batch_size=3)

    assert stats.state == FAILED and stats.error is not None and "no more" in stats.error
    assert (stats.records, stats.loaded, stats.duplicates, stats.failed) == (3, 1, 1, 1)
    assert harness.rows() == {1: ("Ann", 30), 3: ("keep", 99)}
    # the rolled-back batch's records are not in the quarantine: a resume reads them again
    assert sorted(e["index"] for e in read_quarantine(RUN_ID, "people")) == [1]
    saved = harness.saved()
    assert saved is not None and not saved.finished and saved.records_done == 3
    assert any(isinstance(e, Warning) and "stopped after 3 records" in e.message
               for e in harness.events)


def test_a_stop_before_the_first_batch_commits_nothing(harness: Harness) -> None:
    harness.cancel.set()
    with pytest.raises(Cancelled):
        harness.run()
    assert harness.rows() == {3: ("keep", 99)}
    assert harness.saved() is None
    finished = [e for e in harness.events if isinstance(e, TableFinished)]
    assert [e.stats.state for e in finished] == [CANCELLED]


def test_a_cut_file_loads_what_precedes_the_fault(db: psycopg.Connection, db_dsn: str,
                                                  tmp_path: Path) -> None:
    db.execute(SCHEMA)
    good = '[\n{"id": 1, "name": "Ann", "age": 30},\n{"id": 5, "name": "Eve", "age": 41},\n{"id": 6, "na'
    h = Harness(db, db_dsn, write_backup(tmp_path, {"people.json": good}))

    stats = h.run()

    assert stats.state == PARTIAL and (stats.records, stats.loaded) == (2, 2)
    assert stats.error is not None and "people.json" in stats.error
    assert h.rows() == {1: ("Ann", 30), 5: ("Eve", 41), 3: ("keep", 99)}
    assert stats.state != DONE
