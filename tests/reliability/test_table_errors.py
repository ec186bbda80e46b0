"""Errors outside SQLSTATE classes 22/23 (#9.16): a record's error is that record's, a
table's error stops that table alone, and the other tables finish."""

from __future__ import annotations

import random
import string
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from katarestore_tui.engine.events import DONE, FAILED
from katarestore_tui.engine.quarantine import read_quarantine
from katarestore_tui.engine.restore import EXIT_OK, EXIT_PARTIAL, run_restore
from tests.helpers import assert_balanced, options, write_backup

SCHEMA = """
CREATE TABLE docs (id int PRIMARY KEY, body text);
CREATE INDEX docs_body ON docs (body);
CREATE TABLE grids (id int PRIMARY KEY, cells int[]);
CREATE TABLE checked (id int PRIMARY KEY, v int);
CREATE FUNCTION reject_13() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.v = 13 THEN RAISE EXCEPTION 'v may not be 13 (id %)', NEW.id; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER checked_v BEFORE INSERT ON checked FOR EACH ROW EXECUTE FUNCTION reject_13();
ALTER TABLE checked ENABLE ALWAYS TRIGGER checked_v;
CREATE TABLE others (id int PRIMARY KEY);
"""

N = 30


def random_text(n: int, seed: int) -> str:
    rng = random.Random(seed)  # incompressible: TOAST cannot shrink it under the index limit
    return "".join(rng.choice(string.ascii_letters) for _ in range(n))


def deep(depth: int) -> str:
    return "{" * depth + "1" + "}" * depth


def backup_with_bad_records(tmp_path: Path) -> Path:
    docs = [{"id": i, "body": random_text(10_000, i) if i == 7 else f"doc {i}"}
            for i in range(1, N + 1)]
    grids = [{"id": i, "cells": deep(7) if i == 11 else "{1,2}"} for i in range(1, N + 1)]
    checked = [{"id": i, "v": i} for i in range(1, N + 1)]
    others = [{"id": i} for i in range(1, N + 1)]
    return write_backup(tmp_path, {"docs.json": docs, "grids.json": grids,
                                   "checked.json": checked, "others.json": others})


@pytest.mark.parametrize("batch_size", [1000, 1])
def test_errors_outside_22_23_are_the_records_own(db, db_dsn, tmp_path: Path, batch_size):
    db.execute(SCHEMA)
    backup = backup_with_bad_records(tmp_path)
    result = run_restore(options(db_dsn, backup, batch_size=batch_size), tmp_path)
    assert result.exit_code == EXIT_PARTIAL, result.error
    assert result.error is None
    assert_balanced(result)
    ids = {t: [r[0] for r in db.execute(f"SELECT id FROM {t} ORDER BY id")]
           for t in ("docs", "grids", "checked", "others")}
    everyone = list(range(1, N + 1))
    assert ids["docs"] == [i for i in everyone if i != 7]
    assert ids["grids"] == [i for i in everyone if i != 11]
    assert ids["checked"] == [i for i in everyone if i != 13]
    assert ids["others"] == everyone
    found = {(e["table"], e["record"]["id"]): e["sqlstate"]
             for e in read_quarantine(result.run_id)}
    assert found == {("docs", 7): "54000", ("grids", 11): "54000", ("checked", 13): "P0001"}
    for name in ("docs", "grids", "checked"):
        assert result.tables[name].failed == 1 and result.tables[name].loaded == N - 1


def role_dsn(dsn: str, user: str) -> str:
    params = conninfo_to_dict(dsn)
    params["user"] = user
    params.pop("password", None)
    return make_conninfo(**params)


@pytest.fixture
def limited_role(db):
    name = "kr_limited_" + db.info.dbname[-8:]
    db.execute(f"CREATE ROLE {name} LOGIN")
    yield name
    db.execute(f"DROP OWNED BY {name}")
    db.execute(f"DROP ROLE {name}")


@pytest.mark.parametrize(("refusal", "jobs"), [("privilege", 1), ("rls", 1), ("privilege", 2)])
def test_a_table_the_role_cannot_load_stops_alone(db, db_dsn, tmp_path: Path, limited_role,
                                                    refusal, jobs):
    db.execute("CREATE TABLE a_first (id int PRIMARY KEY); CREATE TABLE b_locked (id int);"
               " CREATE TABLE c_last (id int PRIMARY KEY)")
    db.execute(f"GRANT CREATE, USAGE ON SCHEMA public TO {limited_role}")
    db.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON a_first, c_last TO {limited_role}")
    db.execute(f"GRANT SELECT ON b_locked TO {limited_role}")
    if refusal == "rls":  # COPY FROM is refused on a table with row security for a non-owner
        db.execute(f"GRANT INSERT ON b_locked TO {limited_role};"
                   " ALTER TABLE b_locked ENABLE ROW LEVEL SECURITY")
    rows = [{"id": i} for i in range(1, 11)]
    backup = write_backup(tmp_path, {"a_first.json": rows, "b_locked.json": rows,
                                     "c_last.json": rows})
    dsn = role_dsn(db_dsn, limited_role)
    result = run_restore(options(dsn, backup, fk_mode="immediate", jobs=jobs), tmp_path)
    assert result.exit_code == EXIT_PARTIAL, result.error
    assert result.status == "partial"
    assert db.execute("SELECT count(*) FROM a_first").fetchone()[0] == 10
    assert db.execute("SELECT count(*) FROM c_last").fetchone()[0] == 10
    assert db.execute("SELECT count(*) FROM b_locked").fetchone()[0] == 0
    locked = result.tables["b_locked"]
    assert locked.state == FAILED
    assert (locked.records, locked.loaded, locked.failed) == (0, 0, 0)  # none read, none counted
    expected = "permission denied" if refusal == "privilege" else "row-level security"
    assert expected in (locked.error or "")
    assert result.tables["a_first"].state == DONE and result.tables["c_last"].state == DONE
    assert list(read_quarantine(result.run_id)) == []  # nothing is blamed on a record
    assert_balanced(result)
    # the operator fixes the grant; a resume loads the stopped table and nothing twice
    db.execute(f"GRANT INSERT ON b_locked TO {limited_role};"
               " ALTER TABLE b_locked DISABLE ROW LEVEL SECURITY")
    again = run_restore(options(dsn, backup, fk_mode="immediate", resume=result.run_id), tmp_path)
    assert again.exit_code == EXIT_OK, again.error
    for name in ("a_first", "b_locked", "c_last"):
        assert db.execute(f"SELECT count(*) FROM {name}").fetchone()[0] == 10
