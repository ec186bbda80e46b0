"""A refused or failed `--clean` (#9.8): a refusal writes nothing and offers no resume;
a resume of a run whose clean never committed cleans first, it never loads over stale rows."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from katarestore_tui.history.runs import list_runs
from tests.helpers import write_backup
from tests.reliability.support import run_cli

SCHEMA = """
CREATE TABLE authors (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO authors VALUES (1, 'stale one'), (2, 'stale two'), (42, 'stale, not in the backup');
"""
AUTHORS = [{"id": 1, "name": "Ann"}, {"id": 2, "name": "Bob"}, {"id": 3, "name": "Cy"}]


def _authors(db: psycopg.Connection) -> list[tuple]:
    return db.execute("SELECT id, name FROM authors ORDER BY id").fetchall()


def test_clean_refused_for_outside_references_changes_nothing(db, db_dsn, tmp_path) -> None:
    db.execute(SCHEMA)
    db.execute("CREATE TABLE reviews (id int PRIMARY KEY, author_id int REFERENCES authors)")
    db.execute("INSERT INTO reviews VALUES (1, 42)")
    before = _authors(db)
    backup = write_backup(tmp_path, {"authors.json": AUTHORS})
    refused = run_cli("restore", str(backup), "--dsn", db_dsn, "--clean", "--yes")
    out = refused.stdout + refused.stderr
    assert refused.returncode == 2, out
    assert "reviews" in out and "nothing was changed" in out and "resum" not in out, out
    assert _authors(db) == before
    assert db.execute("SELECT * FROM reviews").fetchall() == [(1, 42)]
    assert list_runs() == []  # no run, so nothing to resume
    assert db.execute("SELECT to_regclass('_katarestore_progress')").fetchone() == (None,)


def test_clean_declined_or_unconfirmed_changes_nothing(db, db_dsn, tmp_path) -> None:
    db.execute(SCHEMA)
    before = _authors(db)
    backup = write_backup(tmp_path, {"authors.json": AUTHORS})
    unconfirmed = run_cli("restore", str(backup), "--dsn", db_dsn, "--clean")  # stdin: no tty
    out = unconfirmed.stdout + unconfirmed.stderr
    assert unconfirmed.returncode == 2, out
    assert "nothing was changed" in out and "resum" not in out, out
    assert _authors(db) == before and list_runs() == []


@pytest.fixture
def weak_role(db: psycopg.Connection, db_dsn: str):
    """A role that may insert into authors but not TRUNCATE it: the clean fails in the server."""
    name = f"kr_weak_{uuid.uuid4().hex[:8]}"
    db.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
    try:
        yield name, make_conninfo(**{**conninfo_to_dict(db_dsn), "user": name})
    finally:
        db.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
        db.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_resume_of_a_run_whose_clean_failed_cleans_first(db, weak_role, tmp_path) -> None:
    role, dsn = weak_role
    db.execute(SCHEMA)
    ident = sql.Identifier(role)
    db.execute(sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(ident))
    db.execute(sql.SQL("GRANT SELECT, INSERT, UPDATE ON authors TO {}").format(ident))
    backup = write_backup(tmp_path, {"authors.json": AUTHORS})

    failed = run_cli("restore", str(backup), "--dsn", dsn, "--clean", "--yes", "--json")
    assert failed.returncode == 3, failed.stdout + failed.stderr
    run_id = json.loads(failed.stdout)["run_id"]
    assert _authors(db)[-1] == (42, "stale, not in the backup")  # nothing was emptied

    db.execute(sql.SQL("GRANT TRUNCATE ON authors TO {}").format(ident))  # the operator's fix
    resumed = run_cli("restore", "--resume", run_id, "--dsn", dsn, "--json")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    # the backup exactly: the stale rows went with the clean the run had asked for
    assert _authors(db) == [(1, "Ann"), (2, "Bob"), (3, "Cy")]
    stats = json.loads(resumed.stdout)["tables"]["authors"]
    assert (stats["records"], stats["loaded"], stats["duplicates"], stats["failed"]) == (3, 3, 0, 0)


def test_clean_cannot_be_added_on_a_resume(db, db_dsn, tmp_path) -> None:
    """A resume continues a run: a --clean added then would empty rows the run loaded."""
    import threading

    from katarestore_tui.engine.events import TableProgress
    from katarestore_tui.engine.restore import run_restore
    from tests.helpers import options

    db.execute("CREATE TABLE authors (id int PRIMARY KEY, name text NOT NULL)")
    backup = write_backup(tmp_path, {"authors.json": AUTHORS})
    stop = threading.Event()

    def sink(event) -> None:
        if isinstance(event, TableProgress) and event.stats.loaded:
            stop.set()  # stopped after the first batch: resumable, one row in

    first = run_restore(options(db_dsn, backup, batch_size=1), tmp_path, sink, stop)
    assert first.status == "cancelled"
    loaded = _authors(db)
    assert loaded and len(loaded) < 3
    refused = run_cli("restore", "--resume", first.run_id, "--dsn", db_dsn, "--clean", "--yes")
    out = refused.stdout + refused.stderr
    assert refused.returncode == 2, out
    assert "--clean" in out and "nothing was changed" in out, out
    assert _authors(db) == loaded
    resumed = run_cli("restore", "--resume", first.run_id, "--dsn", db_dsn)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert _authors(db) == [(1, "Ann"), (2, "Bob"), (3, "Cy")]


def test_single_transaction_clean_is_undone_with_the_load(db, db_dsn, tmp_path) -> None:
    """All or nothing includes the clean: a stopped run leaves the stale rows, its resume
    cleans and loads."""
    import threading

    from katarestore_tui.engine.events import TableProgress
    from katarestore_tui.engine.restore import run_restore
    from tests.helpers import options

    db.execute(SCHEMA)
    before = _authors(db)
    backup = write_backup(tmp_path, {"authors.json": AUTHORS})
    stop = threading.Event()

    def sink(event) -> None:
        if isinstance(event, TableProgress) and event.stats.loaded:
            stop.set()

    first = run_restore(options(db_dsn, backup, batch_size=1, clean=True,
                                single_transaction=True), tmp_path, sink, stop)
    assert first.status == "cancelled", first.error
    assert _authors(db) == before  # the TRUNCATE was rolled back with the batches
    resumed = run_cli("restore", "--resume", first.run_id, "--dsn", db_dsn, "--json")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert _authors(db) == [(1, "Ann"), (2, "Bob"), (3, "Cy")]
