"""The FK check touches only what this run wrote (#9.3).

Rows that were in the target before the run are never deleted, even when they are orphans
under a NOT VALID foreign key. With --on-conflict update, an update to a missing parent
(or to a parent that is itself an orphan and removed) is quarantined and the old row is
kept, so nothing that referenced it is left dangling. Every table is compared whole with
an oracle, in the set-based mode and in the row-by-row mode (the same end state).
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from katarestore_tui.engine.quarantine import read_quarantine
from katarestore_tui.engine.restore import EXIT_PARTIAL, run_restore
from tests.helpers import assert_balanced, options, write_backup

NOT_VALID_SCHEMA = """
CREATE TABLE parent (id int PRIMARY KEY);
CREATE TABLE child (id int PRIMARY KEY, parent_id int, note text);
INSERT INTO parent VALUES (1);
INSERT INTO child VALUES (100, 999, 'orphan from before'), (101, 1, 'fine');
ALTER TABLE child ADD FOREIGN KEY (parent_id) REFERENCES parent NOT VALID;
"""


def table(db: psycopg.Connection, name: str) -> list[tuple]:
    return db.execute(f"SELECT * FROM {name} ORDER BY 1").fetchall()


def quarantined(run_id: str, name: str) -> dict[int, dict]:
    entries = list(read_quarantine(run_id, name))
    got = {e["index"]: e for e in entries}
    assert len(got) == len(entries), "a record quarantined twice"
    return got


def dangling(db: psycopg.Connection, child: str, column: str, parent: str) -> list[tuple]:
    return db.execute(
        f"SELECT c.* FROM {child} c WHERE c.{column} IS NOT NULL AND NOT EXISTS "
        f"(SELECT 1 FROM {parent} p WHERE p.id = c.{column})"
    ).fetchall()


@pytest.mark.parametrize("fk_mode", ["replica", "immediate"])
def test_rows_from_before_the_run_are_never_deleted(db, db_dsn, tmp_path: Path, fk_mode):
    db.execute(NOT_VALID_SCHEMA)
    before = table(db, "child")
    backup = write_backup(tmp_path, {
        "parent.json": [{"id": 2}],
        "child.json": [{"id": 1, "parentId": 2, "note": "new"},
                       {"id": 2, "parentId": 777, "note": "orphan in the backup"},
                       {"id": 100, "parentId": 1, "note": "same key as the old orphan"}],
    })
    result = run_restore(options(db_dsn, backup, fk_mode=fk_mode), tmp_path)
    assert result.exit_code == EXIT_PARTIAL, result.error
    assert result.fk_mode == fk_mode
    assert_balanced(result)
    assert table(db, "child") == sorted([*before, (1, 2, "new")])
    assert table(db, "parent") == [(1,), (2,)]
    assert sorted(quarantined(result.run_id, "child")) == [1]
    stats = result.tables["child"]
    assert (stats.loaded, stats.duplicates, stats.failed) == (1, 1, 1)


UPDATE_SCHEMA = """
CREATE TABLE grand (id int PRIMARY KEY);
CREATE TABLE parent (id int PRIMARY KEY, grand_id int REFERENCES grand);
CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent, note text);
CREATE TABLE leaf (id int PRIMARY KEY, child_id int REFERENCES child);
INSERT INTO grand VALUES (1);
INSERT INTO parent VALUES (1, 1), (2, 1);
INSERT INTO child VALUES (10, 1, 'old 10'), (11, 2, 'old 11'), (12, 1, 'old 12'),
                         (13, 1, 'untouched');
INSERT INTO leaf VALUES (1, 10), (2, 12);
"""


@pytest.mark.parametrize("batch_size", [1, 100])
@pytest.mark.parametrize("fk_mode", ["replica", "immediate"])
def test_an_update_that_cannot_be_validated_keeps_the_old_row(db, db_dsn, tmp_path: Path,
                                                              fk_mode, batch_size):
    db.execute(UPDATE_SCHEMA)
    backup = write_backup(tmp_path, {
        "parent.json": [{"id": 7, "grandId": 666},   # 0 orphan itself: removed
                        {"id": 8, "grandId": 1}],    # 1 new, fine
        "child.json": [
            {"id": 10, "parentId": 999, "note": "new 10"},  # 0 update to a missing parent
            {"id": 11, "parentId": 1, "note": "new 11"},    # 1 valid update
            {"id": 12, "parentId": 7, "note": "new 12"},    # 2 update to the removed orphan
            {"id": 20, "parentId": 8, "note": "new 20"},    # 3 new, fine
            {"id": 21, "parentId": 7, "note": "new 21"},    # 4 new, parent removed
        ],
    })
    result = run_restore(options(db_dsn, backup, fk_mode=fk_mode, on_conflict="update",
                                 batch_size=batch_size), tmp_path)
    assert result.exit_code == EXIT_PARTIAL, result.error
    assert_balanced(result)
    assert table(db, "parent") == [(1, 1), (2, 1), (8, 1)]
    assert table(db, "child") == [(10, 1, "old 10"), (11, 1, "new 11"), (12, 1, "old 12"),
                                  (13, 1, "untouched"), (20, 8, "new 20")]
    assert table(db, "leaf") == [(1, 10), (2, 12)]
    for child, column, parent in (("parent", "grand_id", "grand"), ("child", "parent_id", "parent"),
                                  ("leaf", "child_id", "child")):
        assert dangling(db, child, column, parent) == []
    assert sorted(quarantined(result.run_id, "parent")) == [0]
    failed = quarantined(result.run_id, "child")
    assert sorted(failed) == [0, 2, 4]
    assert all(e["sqlstate"] == "23503" for e in failed.values())
    parents, children = result.tables["parent"], result.tables["child"]
    assert (parents.loaded, parents.duplicates, parents.failed) == (1, 0, 1)
    # an update is counted with the duplicates (the key existed); failed ones are failed
    assert (children.loaded, children.duplicates, children.failed) == (1, 1, 3)


def test_after_a_stop_and_resume_only_the_runs_rows_are_checked(db, db_dsn, tmp_path: Path):
    """Rows committed before the stop are the run's too; rows from before it still are not."""
    import threading

    from katarestore_tui.engine.events import TableProgress

    db.execute(NOT_VALID_SCHEMA)
    before = table(db, "child")
    records = [{"id": i, "parentId": 777 if i % 100 == 7 else 1, "note": f"c{i}"}
               for i in range(1000, 4000)]
    backup = write_backup(tmp_path, {"parent.json": [{"id": 2}], "child.json": records})
    cancel = threading.Event()

    def stop_in_child(event) -> None:
        if isinstance(event, TableProgress) and event.stats.table == "child":
            cancel.set()

    first = run_restore(options(db_dsn, backup, batch_size=100, fk_mode="replica"), tmp_path,
                        sink=stop_in_child, cancel=cancel)
    assert first.status == "cancelled", first.error
    assert 0 < db.execute("SELECT count(*) FROM child WHERE id >= 1000").fetchone()[0] < 2970
    again = run_restore(options(db_dsn, backup, batch_size=100, fk_mode="replica",
                                resume=first.run_id), tmp_path)
    assert again.exit_code == EXIT_PARTIAL, again.error
    assert_balanced(again)
    orphans = [r["id"] for r in records if r["parentId"] == 777]
    expected = sorted([*before, *((r["id"], 1, r["note"]) for r in records if r["parentId"] == 1)])
    assert table(db, "child") == expected
    assert sorted(quarantined(again.run_id, "child")) == [i - 1000 for i in orphans]
    assert again.tables["child"].failed == len(orphans)
    leftovers = db.execute("SELECT to_regclass('_katarestore_written'),"
                           " to_regclass('_katarestore_before')").fetchone()
    assert leftovers == (None, None)
