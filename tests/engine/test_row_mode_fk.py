"""Row-by-row FK mode reaches the same end as the set-based mode (#9.13).

A role that owns its tables but is no superuser gets FK triggers row by row. Children
listed before their parents (a self-reference, across batches) and the rows of a two-table
cycle are valid records: they must load, exactly as for a superuser, and only the real
orphans (and what hangs from them) end in the quarantine.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from katarestore_tui.engine.quarantine import read_quarantine
from katarestore_tui.engine.restore import EXIT_PARTIAL, run_restore
from tests.helpers import assert_balanced, options, write_backup

SCHEMA = """
CREATE TABLE node (id int PRIMARY KEY, parent_id int REFERENCES node, name text);
CREATE TABLE team (id int PRIMARY KEY, owner_id int, name text);
CREATE TABLE member (id int PRIMARY KEY, team_id int REFERENCES team, name text);
ALTER TABLE team ADD FOREIGN KEY (owner_id) REFERENCES member;
INSERT INTO node VALUES (1, NULL, 'root from before');
"""

# children before parents, chains spread over batches; 90 and 91 hang from a missing 999
NODES = [{"id": i, "parentId": i - 1, "name": f"n{i}"} for i in range(12, 1, -1)]
NODES += [{"id": 90, "parentId": 999, "name": "orphan"}, {"id": 91, "parentId": 90, "name": "under"}]
# each team owned by a member of it; team 3's owner is in a team that does not exist
TEAMS = [{"id": t, "ownerId": 10 + t, "name": f"t{t}"} for t in (1, 2, 3)]
MEMBERS = [{"id": 10 + t, "teamId": t, "name": f"m{t}"} for t in (1, 2)]
MEMBERS += [{"id": 13, "teamId": 77, "name": "lost"}, {"id": 14, "teamId": 1, "name": "also in 1"}]

ORACLE = {
    "node": [(1, None, "root from before")] + [(i, i - 1, f"n{i}") for i in range(2, 13)],
    "team": [(1, 11, "t1"), (2, 12, "t2")],
    "member": [(11, 1, "m1"), (12, 2, "m2"), (14, 1, "also in 1")],
}
QUARANTINED = {"node": [11, 12], "team": [2], "member": [2]}  # record indexes in each file


@pytest.fixture
def owner_dsn(db_dsn: str, db: psycopg.Connection) -> Iterator[str]:
    """A login role, no superuser, owning the tables (what most app databases have)."""
    role = f"kr_owner_{uuid.uuid4().hex[:8]}"
    db.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    db.execute(sql.SQL("GRANT ALL ON SCHEMA public TO {}").format(sql.Identifier(role)))
    params = conninfo_to_dict(db_dsn)
    params["user"] = role
    dsn = make_conninfo(**params)
    with psycopg.connect(dsn, autocommit=True) as owner:
        owner.execute(SCHEMA)
    yield dsn
    db.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
    db.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def end_state(db: psycopg.Connection) -> dict[str, list[tuple]]:
    return {t: db.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in ORACLE}


def quarantined(run_id: str) -> dict[str, list[int]]:
    return {t: sorted(e["index"] for e in read_quarantine(run_id, t)) for t in ORACLE}


@pytest.mark.parametrize("batch_size", [1, 3])
@pytest.mark.parametrize("as_owner", [True, False], ids=["owner-row-mode", "superuser-set-based"])
def test_row_mode_loads_what_set_based_loads(db, db_dsn, owner_dsn, tmp_path: Path, as_owner,
                                            batch_size):
    backup = write_backup(tmp_path, {"node.json": NODES, "team.json": TEAMS,
                                     "member.json": MEMBERS})
    dsn = owner_dsn if as_owner else db_dsn
    result = run_restore(options(dsn, backup, batch_size=batch_size), tmp_path)
    assert result.exit_code == EXIT_PARTIAL, result.error
    assert result.fk_mode == ("immediate" if as_owner else "replica")
    assert_balanced(result)
    assert end_state(db) == ORACLE
    assert quarantined(result.run_id) == QUARANTINED
    for name, stats in result.tables.items():
        assert stats.failed == len(QUARANTINED[name]), name
        assert stats.loaded == stats.records - stats.failed, name
    assert all(e["sqlstate"] == "23503" for e in read_quarantine(result.run_id))
