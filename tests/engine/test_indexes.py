"""Secondary indexes after the data (issue 10, item 1), against the real PostgreSQL.

The oracle is the catalog itself: pg_get_indexdef of every index of the schema before the
run equals the same after it, and the rows equal the backup. Which indexes were dropped
during the load is read from the server while it loads (a sink that looks at pg_index).
"""

from __future__ import annotations

import secrets

import psycopg
import pytest

from katarestore_tui.engine import indexes
from katarestore_tui.engine.events import IndexPhase, Phase, TableProgress
from katarestore_tui.engine.quarantine import read_quarantine
from katarestore_tui.engine.restore import EXIT_OK, EXIT_PARTIAL, run_restore
from tests.helpers import assert_balanced, options, write_backup

SCHEMA = """
CREATE TABLE item (id int PRIMARY KEY, code text, n int, tags jsonb, note text,
                   CONSTRAINT item_code_key UNIQUE (code));
CREATE INDEX item_n ON item (n) WITH (fillfactor = 80);
CREATE INDEX item_note_part ON item (lower(note)) WHERE n > 10;
CREATE INDEX item_tags ON item USING gin (tags);
CREATE UNIQUE INDEX item_note_unique ON item (note) WHERE note LIKE 'u%';
COMMENT ON INDEX item_n IS 'for the report';
ALTER TABLE item CLUSTER ON item_n;
"""
SAFE = {"item_n"}  # no constraint, not unique, and no record can make its build fail
SECONDARY = {"item_n", "item_note_part", "item_tags"}  # no constraint, not unique
RECORDS = [{"id": i, "code": f"c{i}", "n": i % 50, "tags": {"k": [i % 3]}, "note": f"note {i}"}
           for i in range(1, 301)]


def index_defs(conn: psycopg.Connection, schema: str = "public") -> dict[str, tuple]:
    """Every index of the schema: its definition, comment, clustered flag, validity."""
    rows = conn.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid), obj_description(i.indexrelid,"
        " 'pg_class'), i.indisclustered, i.indisvalid FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid"
        " WHERE t.relnamespace = %s::regnamespace AND t.relname NOT LIKE '\\_katarestore%%'",
        (schema,)).fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def rows(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute("SELECT id, code, n, tags, note FROM item ORDER BY id").fetchall()


def expected_rows() -> list[tuple]:
    return [(r["id"], r["code"], r["n"], r["tags"], r["note"]) for r in RECORDS]


class IndexesDuringLoad:
    """A sink that, at each batch, reads which indexes of `item` exist (another session)."""

    def __init__(self, dsn: str) -> None:
        self.conn = psycopg.connect(dsn, autocommit=True)
        self.seen: list[set[str]] = []
        self.phases: list[Phase] = []

    def __call__(self, event) -> None:
        if isinstance(event, TableProgress) and event.stats.table == "item":
            self.seen.append(set(index_defs(self.conn)))
        if isinstance(event, Phase) and event.name == "indexes":
            self.phases.append(event)


@pytest.fixture
def backup(tmp_path):
    return write_backup(tmp_path / "b", {"item.json": RECORDS})


@pytest.mark.parametrize(("mode", "away"), [("after", SAFE), ("all", SECONDARY)])
def test_empty_table_loads_without_its_secondary_indexes_and_ends_identical(
        mode, away, db, db_dsn, backup):
    db.execute(SCHEMA)
    before = index_defs(db)
    sink = IndexesDuringLoad(db_dsn)
    result = run_restore(options(db_dsn, backup, batch_size=50, indexes=mode), backup.parent,
                         sink)
    assert result.exit_code == EXIT_OK, result.error
    assert_balanced(result)
    assert index_defs(db) == before, "every index back, exactly as it was"
    assert rows(db) == expected_rows()
    assert sink.seen, "the sink saw the load"
    for present in sink.seen:  # the constraint and unique indexes stay; the others wait
        assert present == set(before) - away
    assert result.tables["item"].indexes["dropped"] == len(away)
    assert result.tables["item"].indexes["built"] == len(away)
    assert [p for p in sink.phases if isinstance(p, IndexPhase)], "the indexes phase is shown"
    assert db.execute("SELECT to_regclass('_katarestore_indexes')").fetchone()[0] is None


def test_a_table_with_rows_keeps_its_indexes(db, db_dsn, backup):
    db.execute(SCHEMA)
    db.execute("INSERT INTO item (id, code, n, note) VALUES (1000, 'old', 1, 'from before')")
    before = index_defs(db)
    sink = IndexesDuringLoad(db_dsn)
    result = run_restore(options(db_dsn, backup, batch_size=50), backup.parent, sink)
    assert result.exit_code == EXIT_OK, result.error
    assert all(present == set(before) for present in sink.seen)
    assert index_defs(db) == before
    assert not result.tables["item"].indexes


def test_indexes_keep_leaves_them_in_place(db, db_dsn, backup):
    db.execute(SCHEMA)
    before = index_defs(db)
    sink = IndexesDuringLoad(db_dsn)
    result = run_restore(options(db_dsn, backup, batch_size=50, indexes="keep"),
                         backup.parent, sink)
    assert result.exit_code == EXIT_OK, result.error
    assert all(present == set(before) for present in sink.seen)
    assert index_defs(db) == before


def test_unique_index_without_constraint_still_finds_duplicates(db, db_dsn, tmp_path):
    """The unique index stays during the load, so a repeated unique value is quarantined at
    once (as with the index in place), not loaded twice to fail the build afterwards."""
    db.execute("CREATE TABLE item (id int PRIMARY KEY, note text);"
               " CREATE UNIQUE INDEX item_note ON item (note); CREATE INDEX item_id2 ON item (id)")
    before = index_defs(db)
    records = [{"id": 1, "note": "a"}, {"id": 2, "note": "b"}, {"id": 3, "note": "a"}]
    backup = write_backup(tmp_path / "b", {"item.json": records})
    result = run_restore(options(db_dsn, backup), backup.parent)
    assert result.exit_code == EXIT_PARTIAL
    stats = result.tables["item"]
    assert (stats.loaded, stats.failed) == (2, 1)
    assert index_defs(db) == before
    assert stats.indexes["dropped"] == 1  # item_id2 only


def test_a_failing_build_is_reported_with_its_ddl_and_the_run_is_not_completed(db, db_dsn, tmp_path):
    db.execute("""
        CREATE TABLE item (id int PRIMARY KEY, n int);
        CREATE FUNCTION small(v int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS
        $$ BEGIN IF v > 100 THEN RAISE EXCEPTION 'too big: %', v; END IF; RETURN v; END $$;
        CREATE INDEX item_small ON item (small(n));
    """)
    definition = index_defs(db)["item_small"][0]
    backup = write_backup(tmp_path / "b", {"item.json": [{"id": i, "n": i} for i in range(1, 201)]})
    result = run_restore(options(db_dsn, backup, indexes="all"), backup.parent)
    assert result.status == "partial" and result.exit_code == EXIT_PARTIAL
    error = result.tables["item"].error or ""
    assert "item_small" in error and definition in error and "too big: 101" in error
    assert definition in result.summary()["tables"]["item"]["error"]
    assert db.execute("SELECT count(*) FROM item").fetchone()[0] == 200  # the data stays
    assert "item_small" not in index_defs(db)
    assert [s.name for s in indexes.left_over(db, "public")] == ["item_small"]

    # the cause fixed, any later run (here one of nothing new) builds it first
    db.execute("CREATE OR REPLACE FUNCTION small(v int) RETURNS int IMMUTABLE LANGUAGE sql"
               " AS 'SELECT least(v, 100)'")
    again = run_restore(options(db_dsn, backup), backup.parent)
    assert "item_small" in index_defs(db), (again.error, again.warnings, again.summary())
    assert index_defs(db)["item_small"][0] == definition
    assert indexes.left_over(db, "public") == []
    assert again.tables["item"].duplicates == 200  # the rows already there


def test_a_later_run_that_also_fails_the_build_is_not_completed(db, db_dsn, tmp_path):
    db.execute("""
        CREATE TABLE item (id int PRIMARY KEY, n int);
        CREATE TABLE other (id int PRIMARY KEY);
        CREATE FUNCTION small(v int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS
        $$ BEGIN IF v > 100 THEN RAISE EXCEPTION 'too big: %', v; END IF; RETURN v; END $$;
        CREATE INDEX item_small ON item (small(n));
    """)
    backup = write_backup(tmp_path / "b", {"item.json": [{"id": i, "n": i} for i in range(1, 201)],
                                           "other.json": [{"id": 1}]})
    first = run_restore(options(db_dsn, backup, tables=["item"], indexes="all"), backup.parent)
    assert first.exit_code == EXIT_PARTIAL
    second = run_restore(options(db_dsn, backup, tables=["other"]), backup.parent)
    assert second.status == "partial", "an index still failing to build is not a completed run"
    assert any("item_small" in w and "too big" in w for w in second.warnings)


def test_a_role_that_may_not_drop_them_loads_with_them(db, db_dsn, backup, server_dsn):
    """A loader role that owns nothing (INSERT granted) cannot drop indexes: it keeps them."""
    import uuid

    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    role = f"kr_ins_{uuid.uuid4().hex[:8]}"
    db.execute(SCHEMA)
    db.execute(f"CREATE ROLE {role} LOGIN; GRANT INSERT, SELECT ON item TO {role};"
               f" GRANT CREATE ON SCHEMA public TO {role}")
    before = index_defs(db)
    params = conninfo_to_dict(db_dsn)
    params["user"] = role
    try:
        result = run_restore(options(make_conninfo(**params), backup), backup.parent)
        assert result.exit_code == EXIT_OK, result.error
        assert index_defs(db) == before
        assert rows(db) == expected_rows()
    finally:
        db.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")


def test_clean_drops_and_rebuilds(db, db_dsn, backup):
    db.execute(SCHEMA)
    db.execute("INSERT INTO item (id, code, n, note) VALUES (1000, 'old', 1, 'from before')")
    before = index_defs(db)
    sink = IndexesDuringLoad(db_dsn)
    result = run_restore(options(db_dsn, backup, batch_size=100, clean=True), backup.parent, sink)
    assert result.exit_code == EXIT_OK, result.error
    assert all(present == set(before) - SAFE for present in sink.seen)
    assert index_defs(db) == before
    assert rows(db) == expected_rows()


@pytest.mark.parametrize("jobs", [2])
def test_jobs_build_each_tables_indexes(db, db_dsn, tmp_path, jobs):
    db.execute(SCHEMA + "CREATE TABLE other (id int, v bigint); CREATE INDEX other_v ON other (v);")
    before = index_defs(db)
    backup = write_backup(tmp_path / "b", {"item.json": RECORDS,
                                           "other.json": [{"id": i, "v": i} for i in range(50)]})
    result = run_restore(options(db_dsn, backup, jobs=jobs, indexes="all"), backup.parent)
    assert result.exit_code == EXIT_OK, result.error
    assert index_defs(db) == before
    assert result.tables["other"].indexes["built"] == 1


def test_cli_history_shows_the_indexes_phase_and_a_failed_build(db, db_dsn, tmp_path):
    from tests.reliability.support import run_cli

    db.execute("""
        CREATE TABLE item (id int PRIMARY KEY, n int);
        CREATE INDEX item_n ON item (n);
        CREATE FUNCTION small(v int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS
        $$ BEGIN IF v > 100 THEN RAISE EXCEPTION 'too big: %', v; END IF; RETURN v; END $$;
        CREATE INDEX item_small ON item (small(n));
    """)
    definition = index_defs(db)["item_small"][0]
    backup = write_backup(tmp_path / "b", {"item.json": [{"id": i, "n": i} for i in range(1, 201)]})
    done = run_cli("restore", str(backup), "--dsn", db_dsn, "--yes", "--json", "--indexes", "all")
    assert done.returncode == EXIT_PARTIAL, done.stderr
    summary = __import__("json").loads(done.stdout)
    assert definition in summary["tables"]["item"]["error"]
    shown = run_cli("history", summary["run_id"])
    assert "indexes: item: 2 secondary dropped before the data, 1 built after it" in shown.stdout
    assert "indexes: error: index item_small of item could not be built" in shown.stdout
    assert definition in shown.stdout
    kept = run_cli("restore", str(backup), "--dsn", db_dsn, "--yes", "--json", "--indexes", "keep")
    assert kept.returncode == EXIT_PARTIAL  # item_small still fails at the start of any run
    assert "item_small" in kept.stderr + kept.stdout


def test_retry_builds_what_a_restore_left_first(db, db_dsn, tmp_path):
    from katarestore_tui.engine.retry import retry_run

    db.execute("""
        CREATE TABLE item (id int PRIMARY KEY, n int);
        CREATE FUNCTION small(v int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS
        $$ BEGIN IF v > 100 THEN RAISE EXCEPTION 'too big: %', v; END IF; RETURN v; END $$;
        CREATE INDEX item_small ON item (small(n));
    """)
    definition = index_defs(db)["item_small"][0]
    backup = write_backup(tmp_path / "b", {"item.json": [{"id": i, "n": i} for i in range(1, 201)]})
    first = run_restore(options(db_dsn, backup, indexes="all"), backup.parent)
    assert first.exit_code == EXIT_PARTIAL
    still = retry_run(first.run_id, db_dsn)
    assert "item_small" in (still.error or "") and "too big" in still.error
    db.execute("CREATE OR REPLACE FUNCTION small(v int) RETURNS int IMMUTABLE LANGUAGE sql"
               " AS 'SELECT least(v, 100)'")
    fixed = retry_run(first.run_id, db_dsn)
    assert fixed.error is None
    assert index_defs(db)["item_small"][0] == definition
    assert indexes.left_over(db, "public") == []


def test_a_table_another_session_reads_keeps_its_indexes_without_waiting(db, db_dsn, backup):
    """An open transaction that read the table holds a lock DROP INDEX would wait for: the
    load does not wait for it (COPY does not conflict with a reader); the indexes stay."""
    db.execute(SCHEMA)
    before = index_defs(db)
    with psycopg.connect(db_dsn) as reader:  # not autocommit: the transaction stays open
        reader.execute("SELECT count(*) FROM item").fetchone()
        sink = IndexesDuringLoad(db_dsn)
        result = run_restore(options(db_dsn, backup, batch_size=50), backup.parent, sink)
        assert result.exit_code == EXIT_OK, result.error
        assert any("another session holds a lock" in p.detail for p in sink.phases)
        assert all(present == set(before) for present in sink.seen)
        reader.rollback()
    assert index_defs(db) == before
    assert rows(db) == expected_rows()


def test_by_default_an_index_a_record_can_break_stays_and_that_record_is_quarantined(
        db, db_dsn, tmp_path):
    """The promise of the load (issue 9.16): a record an index refuses (here an expression
    that raises) is that record's failure, the rest loads, and the index is there."""
    db.execute("""
        CREATE TABLE item (id int PRIMARY KEY, n int, note text);
        CREATE FUNCTION small(v int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS
        $$ BEGIN IF v > 100 THEN RAISE EXCEPTION 'too big: %', v; END IF; RETURN v; END $$;
        CREATE INDEX item_small ON item (small(n));
        CREATE INDEX item_note ON item (note);
        CREATE INDEX item_n ON item (n);
    """)
    before = index_defs(db)
    records = [{"id": i, "n": i, "note": f"note {i}"} for i in range(1, 102)]
    records[6]["note"] = secrets.token_hex(4000)  # incompressible: too large for a btree row
    backup = write_backup(tmp_path / "b", {"item.json": records})
    result = run_restore(options(db_dsn, backup), backup.parent)
    assert result.exit_code == EXIT_PARTIAL
    stats = result.tables["item"]
    assert (stats.loaded, stats.failed) == (99, 2)  # id 7 (row size) and id 101 (raises)
    assert stats.indexes["dropped"] == 1  # item_n only
    assert index_defs(db) == before
    failed = {e["record"]["id"]: e["sqlstate"] for e in read_quarantine(result.run_id, "item")}
    assert failed == {7: "54000", 101: "P0001"}
