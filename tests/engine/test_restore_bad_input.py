"""Bad input gets a clear error and loses nothing (real PostgreSQL, per-test database)."""

from __future__ import annotations

import gzip
from pathlib import Path

import psycopg
import pytest

from katarestore_tui.engine.quarantine import read_quarantine
from katarestore_tui.engine.restore import EXIT_FATAL, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, run_restore
from tests.helpers import assert_balanced, options, write_backup

SCHEMA = """
CREATE TABLE authors (id int PRIMARY KEY, name varchar(10) NOT NULL, born date);
CREATE TABLE books (id serial PRIMARY KEY, author_id int REFERENCES authors(id),
                    title text NOT NULL, price numeric(8,2));
CREATE TABLE notes (body text);
"""

AUTHORS = [{"id": i, "name": f"author{i}", "born": f"1970-01-0{i % 9 + 1}"} for i in range(1, 6)]
BOOKS = [{"id": i, "authorId": (i % 5) + 1, "title": f"book {i}", "price": "12.50"}
         for i in range(1, 21)]


@pytest.fixture
def target(db: psycopg.Connection, db_dsn: str) -> str:
    db.execute(SCHEMA)
    return db_dsn


def count(db: psycopg.Connection, table: str) -> int:
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def failures(run_id: str, table: str | None = None) -> list[dict]:
    return list(read_quarantine(run_id, table))


def test_clean_backup_loads_everything(target, db, tmp_path: Path):
    backup = write_backup(tmp_path, {"authors.json": AUTHORS, "books.json": BOOKS,
                                     "notes.json": [{"body": "a"}, {"body": "b\tc\nd\\e"}]})
    result = run_restore(options(target, backup), tmp_path)
    assert result.exit_code == EXIT_OK, result.error
    assert result.status == "completed"
    assert [t.table for t in result.plan.tables][:2] == ["authors", "books"]
    assert count(db, "books") == 20
    assert db.execute("SELECT body FROM notes ORDER BY body").fetchall()[1][0] == "b\tc\nd\\e"
    assert db.execute("SELECT price::text FROM books WHERE id = 1").fetchone()[0] == "12.50"
    # the serial sequence is past the largest id: the app's next insert works
    assert db.execute("SELECT nextval('books_id_seq')").fetchone()[0] == 21
    # the resume bookkeeping is gone once the run completed
    assert db.execute("SELECT to_regclass('_katarestore_progress')").fetchone()[0] is None
    assert_balanced(result)


def test_each_bad_record_is_quarantined_with_its_cause(target, db, tmp_path: Path):
    authors = [*AUTHORS,
               {"id": 6, "name": "x" * 11, "born": None},  # over-long varchar
               {"id": 7, "name": None, "born": None},  # missing NOT NULL
               {"id": 8, "name": "nul\u0000", "born": None},  # NUL in text
               {"id": 9, "name": "wrongdate", "born": "not a date"},  # wrong type
               dict(AUTHORS[0])]  # duplicate key: counted, not failed
    books = [*BOOKS, {"id": 21, "authorId": 999, "title": "orphan", "price": "1"}]
    backup = write_backup(tmp_path, {"authors.json": authors, "books.json": books})
    result = run_restore(options(target, backup), tmp_path)
    assert result.exit_code == EXIT_PARTIAL
    a, b = result.tables["authors"], result.tables["books"]
    assert (a.records, a.loaded, a.duplicates, a.failed) == (10, 5, 1, 4)
    assert (b.records, b.loaded, b.duplicates, b.failed) == (21, 20, 0, 1)
    assert_balanced(result)
    causes = {e["record"]["id"]: e for e in failures(result.run_id, "authors")}
    assert causes[6]["sqlstate"] == "22001" and "too long" in causes[6]["message"]
    assert causes[7]["sqlstate"] == "23502"
    assert causes[8]["sqlstate"] is None and "NUL" in causes[8]["message"]
    assert causes[9]["sqlstate"] == "22007"
    assert causes[9]["index"] == 8 and causes[9]["file"] == "authors.json"
    (orphan,) = failures(result.run_id, "books")
    assert orphan["sqlstate"] == "23503" and "999" in orphan["detail"]
    assert orphan["record"] == {"id": 21, "authorId": 999, "title": "orphan", "price": "1"}
    assert count(db, "authors") == 5 and count(db, "books") == 20


def test_row_by_row_fk_mode_finds_the_same_orphan(target, db, tmp_path: Path):
    books = [*BOOKS[:3], {"id": 21, "authorId": 999, "title": "orphan", "price": "1"}, *BOOKS[3:]]
    backup = write_backup(tmp_path, {"authors.json": AUTHORS, "books.json": books})
    result = run_restore(options(target, backup, fk_mode="immediate"), tmp_path)
    assert result.fk_mode == "immediate"
    b = result.tables["books"]
    assert (b.loaded, b.failed) == (20, 1)
    (orphan,) = failures(result.run_id, "books")
    assert orphan["index"] == 3 and orphan["sqlstate"] == "23503"


def test_truncated_file_loads_what_precedes_the_fault(target, db, tmp_path: Path):
    import json

    text = json.dumps(BOOKS, indent=2)
    cut = text[: text.index('"id": 8')]  # ends inside record index 7
    backup = write_backup(tmp_path, {"authors.json": AUTHORS, "books.json": cut,
                                     "notes.json": [{"body": "still loads"}]})
    result = run_restore(options(target, backup), tmp_path)
    books = result.tables["books"]
    assert books.state == "partial"
    assert books.records == 7 and books.loaded == 7
    assert "record index 7" in books.error and "books.json" in books.error
    assert f"byte {len(cut.encode()):,}" in books.error
    assert result.tables["notes"].loaded == 1  # the other tables still load
    assert result.exit_code == EXIT_PARTIAL
    assert_balanced(result)


def test_not_an_array_and_empty_file_are_reported(target, db, tmp_path: Path):
    backup = write_backup(tmp_path, {"authors.json": '{"id": 1}', "books.json": "",
                                     "notes.json": [{"body": "ok"}]})
    result = run_restore(options(target, backup), tmp_path)
    assert "not a JSON array" in result.tables["authors"].error
    assert "empty" in result.tables["books"].error
    assert result.tables["authors"].state == "failed"
    assert result.tables["notes"].state == "done"
    assert result.exit_code == EXIT_PARTIAL


def test_unknown_table_file_is_skipped_and_reported(target, db, tmp_path: Path):
    backup = write_backup(tmp_path, {"authors.json": AUTHORS, "publishers.json": [{"id": 1}]})
    result = run_restore(options(target, backup), tmp_path)
    assert result.exit_code == EXIT_OK
    assert any("publishers.json" in w and "no table" in w for w in result.warnings)
    assert [f.path.name for f in result.plan.files_without_table] == ["publishers.json"]


def test_backup_root_that_does_not_exist_is_a_usage_error(target, tmp_path: Path):
    result = run_restore(options(target, ""), tmp_path / "nowhere")
    assert result.exit_code == EXIT_USAGE
    assert "does not exist" in result.error and "nowhere" in result.error


def test_unreachable_server_exits_3_without_the_password(tmp_path: Path):
    backup = write_backup(tmp_path, {"authors.json": AUTHORS})
    dsn = "postgresql://someone:S3cretPw@127.0.0.1:1/nope"
    result = run_restore(options(dsn, backup), tmp_path)
    assert result.exit_code == EXIT_FATAL
    assert "S3cretPw" not in result.error and "cannot connect" in result.error


def test_jsonl_and_gzip_and_camel_case_names(db, db_dsn, tmp_path: Path):
    db.execute("CREATE TABLE album (album_id int PRIMARY KEY, title text)")
    db.execute("CREATE TABLE track (track_id int PRIMARY KEY, album_id int REFERENCES album)")
    lines = b'{"AlbumId": 1, "Title": "A"}\n{"AlbumId": 2, "Title": "B"}\n'
    backup = write_backup(tmp_path, {
        "Album.jsonl.gz": gzip.compress(lines),
        "Track.ndjson": '{"TrackId": 1, "AlbumId": 2}\nnot json\n',
    })
    result = run_restore(options(db_dsn, backup), tmp_path)
    assert result.tables["album"].loaded == 2
    track = result.tables["track"]
    assert (track.records, track.loaded, track.failed) == (2, 1, 1)
    (bad,) = failures(result.run_id, "track")
    assert bad["index"] == 1 and "invalid JSON" in bad["message"] and bad["record"] == "not json"


def test_dry_run_writes_nothing(target, db, tmp_path: Path):
    backup = write_backup(tmp_path, {"authors.json": AUTHORS,
                                     "books.json": [{**BOOKS[0], "colour": "red"}]})
    result = run_restore(options(target, backup, dry_run=True), tmp_path)
    assert result.status == "dry-run" and result.run_id is None
    plan = result.plan.to_dict()
    assert plan["order"] == ["authors", "books"]
    assert plan["tables"]["books"]["renamed_keys"] == {"authorId": "author_id"}
    assert plan["tables"]["books"]["ignored_keys"] == ["colour"]
    assert plan["tables_without_file"] == ["notes"]
    assert count(db, "authors") == 0


@pytest.mark.parametrize("mode", ["skip", "update", "error"])
def test_on_conflict_modes(target, db, tmp_path: Path, mode: str):
    db.execute("INSERT INTO authors VALUES (1, 'old', NULL)")
    backup = write_backup(tmp_path, {"authors.json": AUTHORS})
    result = run_restore(options(target, backup, on_conflict=mode), tmp_path)
    a = result.tables["authors"]
    assert_balanced(result)
    name = db.execute("SELECT name FROM authors WHERE id = 1").fetchone()[0]
    if mode == "skip":
        assert (a.loaded, a.duplicates, a.failed) == (4, 1, 0) and name == "old"
    elif mode == "update":
        assert (a.loaded, a.duplicates, a.failed) == (4, 1, 0) and name == "author1"
    else:
        assert (a.loaded, a.duplicates, a.failed) == (4, 0, 1) and name == "old"
        (dup,) = failures(result.run_id, "authors")
        assert dup["sqlstate"] == "23505"


def test_clean_empties_the_tables_first(target, db, tmp_path: Path):
    db.execute("INSERT INTO authors VALUES (42, 'stale', NULL)")
    backup = write_backup(tmp_path, {"authors.json": AUTHORS, "books.json": BOOKS})
    result = run_restore(options(target, backup, clean=True), tmp_path)
    assert result.exit_code == EXIT_OK
    assert db.execute("SELECT count(*) FROM authors WHERE id = 42").fetchone()[0] == 0


def test_clean_refuses_when_outside_tables_reference_the_backup(target, db, tmp_path: Path):
    backup = write_backup(tmp_path, {"authors.json": AUTHORS})
    result = run_restore(options(target, backup, clean=True), tmp_path)
    # refused before a run exists (#9.8): nothing to resume, nothing written
    assert result.exit_code == EXIT_USAGE and result.run_id is None
    assert "books" in result.error and "--clean refused" in result.error
    assert "nothing was changed" in result.error and "resum" not in result.error


def test_single_transaction_and_small_batches(target, db, tmp_path: Path):
    books = [*BOOKS, {"id": 30, "authorId": 1, "title": None, "price": "1"}]
    backup = write_backup(tmp_path, {"authors.json": AUTHORS, "books.json": books})
    result = run_restore(options(target, backup, single_transaction=True, batch_size=3), tmp_path)
    assert result.tables["books"].loaded == 20 and result.tables["books"].failed == 1
    assert count(db, "books") == 20
    assert_balanced(result)


def test_self_reference_and_cycle_still_load(db, db_dsn, tmp_path: Path):
    db.execute("CREATE TABLE node (id int PRIMARY KEY, parent_id int REFERENCES node)")
    rows = [{"id": 2, "parentId": 1}, {"id": 1, "parentId": None}, {"id": 3, "parentId": 77}]
    backup = write_backup(tmp_path, {"node.json": rows})
    result = run_restore(options(db_dsn, backup), tmp_path)
    node = result.tables["node"]
    assert (node.loaded, node.failed) == (2, 1)
    immediate = run_restore(options(db_dsn, backup, fk_mode="immediate", clean=True), tmp_path)
    assert immediate.tables["node"].failed >= 1  # child before parent fails row by row
    assert_balanced(immediate)


def test_identity_always_column_and_existing_rows(db, db_dsn, tmp_path: Path):
    db.execute("CREATE TABLE tag (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, label text)")
    db.execute("INSERT INTO tag (label) VALUES ('existing')")  # id 1
    rows = [{"id": 1, "label": "dup"}, {"id": 2, "label": "new"}, {"id": 3, "label": "newer"}]
    backup = write_backup(tmp_path, {"tag.json": rows})
    result = run_restore(options(db_dsn, backup), tmp_path)
    tag = result.tables["tag"]
    assert (tag.loaded, tag.duplicates, tag.failed) == (2, 1, 0), result.error
    # the identity sequence moved past the loaded ids: the app's next insert gets 4
    assert db.execute("INSERT INTO tag (label) VALUES ('app') RETURNING id").fetchone()[0] == 4


def test_unique_index_without_constraint_counts_duplicates(db, db_dsn, tmp_path: Path):
    """`prisma migrate` makes @unique a unique index, not a constraint: still a duplicate key."""
    db.execute("CREATE TABLE member (email text NOT NULL, name text)")
    db.execute("CREATE UNIQUE INDEX member_email_key ON member (email)")
    db.execute("INSERT INTO member VALUES ('a@x.io', 'old')")
    rows = [{"email": "a@x.io", "name": "new"}, {"email": "b@x.io", "name": "b"}]
    backup = write_backup(tmp_path, {"member.json": rows})
    result = run_restore(options(db_dsn, backup), tmp_path)
    assert result.plan.schema.tables["member"].conflict_key == ("email",)
    m = result.tables["member"]
    assert (m.loaded, m.duplicates, m.failed) == (1, 1, 0)
    updated = run_restore(options(db_dsn, backup, on_conflict="update"), tmp_path)
    assert updated.tables["member"].duplicates == 2
    assert db.execute("SELECT name FROM member WHERE email = 'a@x.io'").fetchone()[0] == "new"


def test_duplicate_and_bad_record_in_the_same_batch(target, db, tmp_path: Path):
    """The staged path's temp table survives a rolled-back attempt (it is made each time)."""
    authors = [AUTHORS[0], {"id": 2, "name": "much too long name", "born": None}, AUTHORS[0],
               *AUTHORS[2:]]
    backup = write_backup(tmp_path, {"authors.json": authors})
    result = run_restore(options(target, backup), tmp_path)
    a = result.tables["authors"]
    assert (a.records, a.loaded, a.duplicates, a.failed) == (6, 4, 1, 1), result.error


def test_errors_on_the_staged_path_name_the_real_table(target, db, tmp_path: Path):
    db.execute("INSERT INTO authors VALUES (1, 'old', NULL)")  # forces the upsert path
    authors = [*AUTHORS, {"id": 7, "name": None, "born": None}]
    backup = write_backup(tmp_path, {"authors.json": authors})
    result = run_restore(options(target, backup), tmp_path)
    (bad,) = failures(result.run_id, "authors")
    assert bad["sqlstate"] == "23502"
    assert "_katarestore_stage" not in bad["message"] and '"authors"' in bad["message"]


def test_retry_of_selected_records_only(target, db, tmp_path: Path):
    from katarestore_tui.engine.retry import retry_run

    authors = [*AUTHORS, {"id": 6, "name": "x" * 11, "born": None},
               {"id": 7, "name": "y" * 12, "born": None}]
    backup = write_backup(tmp_path, {"authors.json": authors})
    result = run_restore(options(target, backup), tmp_path)
    assert result.tables["authors"].failed == 2
    db.execute("ALTER TABLE authors ALTER COLUMN name TYPE varchar(20)")
    retried = retry_run(result.run_id, target, select=lambda e: e["record"]["id"] == 6)
    assert retried.tables["authors"]["loaded"] == 1
    (left,) = failures(result.run_id, "authors")
    assert left["record"]["id"] == 7  # not selected: kept as it was
    from katarestore_tui.history.runs import read_run

    run = read_run(result.run_id)["tables"]["authors"]
    assert (run["loaded"], run["failed"]) == (6, 1)
