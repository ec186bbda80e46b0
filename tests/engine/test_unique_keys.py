"""A duplicate is an existing conflict key; any other unique violation is a failure (#9.6).

The table has a primary key plus a plain, a partial and an expression unique index, and
rows before the run. Backup records that repeat a primary key are duplicates (skip); a
record with a new primary key that collides on another unique index is quarantined with
23505 and the index name, in every --on-conflict mode, whatever the batch size.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from katarestore_tui.engine.quarantine import read_quarantine
from katarestore_tui.engine.restore import EXIT_PARTIAL, run_restore
from tests.helpers import assert_balanced, options, write_backup

SCHEMA = """
CREATE TABLE member (id int PRIMARY KEY, email text, code text, slug text, active boolean);
CREATE UNIQUE INDEX member_code_plain ON member (code);
CREATE UNIQUE INDEX member_slug_partial ON member (slug) WHERE active;
CREATE UNIQUE INDEX member_email_lower ON member (lower(email));
INSERT INTO member VALUES (1, 'old@x', 'c1', 's1', true), (2, 'keep@x', 'c2', 's2', true);
"""
BEFORE = [(1, "old@x", "c1", "s1", True), (2, "keep@x", "c2", "s2", True)]


def rec(id_: int, email: str, code: str, slug: str, active: bool = True) -> dict:
    return {"id": id_, "email": email, "code": code, "slug": slug, "active": active}


RECORDS = [
    rec(1, "new1@x", "n1", "n1"),          # 0 existing PK: duplicate (update: changes row 1)
    rec(10, "OLD@X", "c10", "s10"),        # 1 new PK, lower(email) taken: failed
    rec(11, "e11@x", "c2", "s11"),         # 2 new PK, plain unique code taken: failed
    rec(12, "e12@x", "c12", "s2"),         # 3 new PK, partial unique slug taken: failed
    rec(13, "e13@x", "c13", "s2", False),  # 4 partial index does not apply: loads
    rec(14, "e14@x", "c14", "s14"),        # 5 good
    rec(14, "e14@x", "c14", "s14"),        # 6 repeat inside the backup: duplicate
    rec(15, "e15@x", "c15", "s15"),        # 7 good
    rec(16, "E15@x", "c16", "s16"),        # 8 collides with record 7 (inside the backup): failed
]
FAILED = {1: "member_email_lower", 2: "member_code_plain", 3: "member_slug_partial",
          8: "member_email_lower"}
LOADED = [(13, "e13@x", "c13", "s2", False), (14, "e14@x", "c14", "s14", True),
          (15, "e15@x", "c15", "s15", True)]


def rows(db: psycopg.Connection) -> list[tuple]:
    return db.execute("SELECT id, email, code, slug, active FROM member ORDER BY id").fetchall()


@pytest.mark.parametrize("batch_size", [1, 3, 100])
@pytest.mark.parametrize("fk_mode", ["replica", "immediate"])
@pytest.mark.parametrize("on_conflict", ["skip", "update", "error"])
def test_only_the_conflict_key_makes_a_duplicate(db, db_dsn, tmp_path: Path, batch_size, fk_mode,
                                                 on_conflict):
    db.execute(SCHEMA)
    backup = write_backup(tmp_path, {"member.json": RECORDS})
    result = run_restore(options(db_dsn, backup, batch_size=batch_size, fk_mode=fk_mode,
                                 on_conflict=on_conflict), tmp_path)
    assert result.exit_code == EXIT_PARTIAL, result.error
    assert_balanced(result)
    stats = result.tables["member"]
    failed = dict(FAILED)
    first, loaded = BEFORE[0], list(LOADED)
    if on_conflict == "update":  # row 1 gives up old@x first: record 1 may take it
        first = (1, "new1@x", "n1", "n1", True)
        del failed[1]
        loaded.append((10, "OLD@X", "c10", "s10", True))
    if on_conflict == "error":  # an existing key is a failure too, named by the primary key
        failed[0] = "member_pkey"
        failed[6] = "member_pkey"
    entries = list(read_quarantine(result.run_id, "member"))
    got = {e["index"]: e for e in entries}
    assert len(entries) == len(got), "a record quarantined twice"
    assert sorted(got) == sorted(failed)
    for index, index_name in failed.items():
        assert got[index]["sqlstate"] == "23505", got[index]
        assert index_name in got[index]["message"], got[index]
        assert got[index]["record"] == RECORDS[index]
    assert rows(db) == sorted([first, BEFORE[1], *loaded])
    assert (stats.loaded, stats.failed) == (len(loaded), len(failed))
    assert stats.duplicates == len(RECORDS) - len(loaded) - len(failed)
