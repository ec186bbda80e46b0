"""engine.plan.build_plan against a real catalog: which file fills which table, in what order."""

from __future__ import annotations

from pathlib import Path

import psycopg

from katarestore_tui.backup.catalog import open_backup
from katarestore_tui.db.schema import read_schema
from katarestore_tui.engine.plan import build_plan, trigger_warning
from tests.helpers import write_backup

SCHEMA = """
CREATE TABLE authors (id int PRIMARY KEY, full_name text NOT NULL, created_at timestamptz);
CREATE TABLE books (
    id int PRIMARY KEY,
    author_id int NOT NULL REFERENCES authors(id),
    title text NOT NULL,
    isbn text NOT NULL,                         -- no default, no key in the file
    slug text GENERATED ALWAYS AS (lower(title)) STORED
);
CREATE TABLE reviews (id int PRIMARY KEY, book_id int REFERENCES books(id), body text);
CREATE TABLE a_cycle (id int PRIMARY KEY, b_id int);
CREATE TABLE b_cycle (id int PRIMARY KEY, a_id int REFERENCES a_cycle(id));
ALTER TABLE a_cycle ADD FOREIGN KEY (b_id) REFERENCES b_cycle(id);
CREATE TABLE not_in_backup (id int PRIMARY KEY);
CREATE TABLE "_katarestore_progress" (id int);  -- the run's own bookkeeping is never listed
"""

FILES = {
    # sorted by name the children come first: the plan must put parents first anyway
    "reviews.json": [{"id": 1, "bookId": 1, "body": "good", "stars": 5}],
    "Books.json": [{"id": 1, "authorId": 1, "title": "T", "slug": "ignored: generated"}],
    "authors.json": [{"id": 1, "fullName": "Ann", "createdAt": "2024-01-01T00:00:00.000Z"}],
    "a_cycle.json": [{"id": 1, "bId": None}],
    "b_cycle.json": [{"id": 1, "aId": 1}],
    "orphans.json": [{"id": 1}],
    "empty.jsonl": "",  # no such table either
}


def _plan(db: psycopg.Connection, tmp_path: Path, files: dict = FILES, **kw):
    db.execute(SCHEMA)
    backup = open_backup(write_backup(tmp_path, files))
    return build_plan(backup, read_schema(db), **kw)


def test_parents_first_keys_mapped_and_every_gap_named(db: psycopg.Connection, tmp_path: Path) -> None:
    plan = _plan(db, tmp_path)

    order = [t.table for t in plan.tables]
    assert order.index("authors") < order.index("books") < order.index("reviews")
    assert set(order) == {"authors", "books", "reviews", "a_cycle", "b_cycle"}
    assert plan.cycles == [["a_cycle", "b_cycle"]]
    assert any("cycle between a_cycle, b_cycle" in w for w in plan.warnings)

    books = plan.table("books")
    assert books is not None and books.file.path.name == "Books.json"
    assert books.key_map == {"id": "id", "authorId": "author_id", "title": "title"}
    assert books.renamed == {"authorId": "author_id"}
    assert books.ignored_keys == ["slug"]  # a generated column cannot be written
    assert books.unfilled_columns == ["isbn"]
    assert books.parents == ["authors"]
    assert any("books: NOT NULL columns" in w and "isbn" in w for w in plan.warnings)

    reviews = plan.table("reviews")
    assert reviews is not None and reviews.ignored_keys == ["stars"]
    assert any(w == "reviews: keys with no column, ignored: stars" for w in plan.warnings)

    assert [f.path.name for f in plan.files_without_table] == ["empty.jsonl", "orphans.json"]
    assert any("orphans.json: no table 'orphans'" in w for w in plan.warnings)
    assert plan.tables_without_file == ["not_in_backup"]  # not _katarestore_progress
    assert plan.conflict_message() is None

    as_dict = plan.to_dict()
    assert as_dict["order"] == order
    assert as_dict["tables"]["books"]["renamed_keys"] == {"authorId": "author_id"}


def test_tables_and_exclude_name_tables_or_files(db: psycopg.Connection, tmp_path: Path) -> None:
    plan = _plan(db, tmp_path, only=["Books", "authors", "nope"])
    assert [t.table for t in plan.tables] == ["authors", "books"]
    assert plan.excluded == ["a_cycle", "b_cycle", "reviews"]
    # a name that is neither a table nor a file is a refusal (ops #12.5), not a warning
    assert list(plan.unknown_tables) == ["nope"]
    message = plan.unknown_message()
    assert message is not None and "'nope' is not a table of this backup" in message

    other = tmp_path / "other"
    plan = build_plan(open_backup(write_backup(other, FILES)), read_schema(db), exclude=["REVIEWS"])
    assert "reviews" not in [t.table for t in plan.tables]
    assert plan.excluded == ["reviews"]
    assert "reviews" not in plan.tables_without_file


def test_two_files_for_one_table_are_a_conflict_the_exact_name_first(
    db: psycopg.Connection, tmp_path: Path
) -> None:
    files = {"authors.json": [{"id": 1, "fullName": "A"}], "Authors.jsonl": '{"id": 2}\n'}
    plan = _plan(db, tmp_path, files)
    assert plan.conflicts == {"authors": ["authors.json", "Authors.jsonl"]}
    assert plan.table("authors").file.path.name == "authors.json"
    message = plan.conflict_message()
    assert message is not None and "authors.json, Authors.jsonl" in message
    assert "nothing was changed" in message


def test_a_first_record_with_no_matching_key_is_warned(db: psycopg.Connection, tmp_path: Path) -> None:
    plan = _plan(db, tmp_path, {"authors.json": [{"who": "Ann"}], "books.json": "[1, 2]"})
    assert plan.table("authors").key_map == {}
    assert "authors: no key of the first record matches a column" in plan.warnings
    # a first record that is not an object: no keys known, so nothing is claimed unfilled
    assert not any(w.startswith("books:") for w in plan.warnings)


def test_trigger_warning_says_whether_the_tables_triggers_run(
    db: psycopg.Connection, tmp_path: Path
) -> None:
    db.execute(SCHEMA)
    db.execute("CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS "
               "$$ BEGIN RETURN NEW; END $$")
    db.execute("CREATE TRIGGER stamp BEFORE INSERT ON books FOR EACH ROW EXECUTE FUNCTION stamp()")
    plan = build_plan(open_backup(write_backup(tmp_path, FILES)), read_schema(db))
    assert "books have triggers of their own" in (trigger_warning(plan, None) or "")
    assert "run for every row" in (trigger_warning(plan, True) or "")
    assert "do not run" in (trigger_warning(plan, False) or "")
    only_authors = build_plan(plan.backup, plan.schema, only=["authors"])
    assert trigger_warning(only_authors, True) is None
