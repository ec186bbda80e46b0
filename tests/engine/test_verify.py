"""`verify` against the real PostgreSQL: a faithful restore matches, and every kind of
difference a person can make afterwards (a changed value, a deleted row, an extra row) is
found and named by key and column; a run's quarantine and the duplicate rule explain the
rest, and nothing else does."""

from __future__ import annotations

from pathlib import Path

import psycopg

from katarestore_tui.engine import VerifyOptions, run_verify
from katarestore_tui.engine.restore import run_restore
from katarestore_tui.errors import EXIT_DIFFERENT, EXIT_OK, EXIT_PARTIAL
from tests.helpers import options, write_backup

SCHEMA = """
CREATE TABLE author (id int PRIMARY KEY, name text NOT NULL, email varchar(40) UNIQUE);
CREATE TABLE post (id int PRIMARY KEY, author_id int REFERENCES author(id), title text,
                   score numeric(6, 2));
CREATE TABLE event_log (kind text, payload jsonb, at timestamptz);
"""

AUTHORS = [{"id": i, "name": f"author {i}", "email": f"a{i}@example.com"} for i in range(1, 31)]
POSTS = [{"id": i, "author_id": 1 + i % 30, "title": f"post {i}", "score": f"{i}.50"}
         for i in range(1, 61)]
EVENTS = [{"kind": "login", "payload": {"n": i % 3}, "at": "2024-11-03T10:15:30.123Z"}
          for i in range(12)]  # rows repeated: a multiset, not a set


def _backup(tmp_path: Path, **files) -> Path:
    default = {"author.json": AUTHORS, "post.json": POSTS, "event_log.json": EVENTS}
    default.update(files)
    return write_backup(tmp_path / "kata_json", default)


def _verify(dsn: str, backup: Path, **overrides):
    base = dict(backup=str(backup), dsn=dsn, parser_process=False)
    base.update(overrides)
    return run_verify(VerifyOptions(**base), backup.parent)


def _restore(dsn: str, backup: Path, **overrides):
    result = run_restore(options(dsn, backup, **overrides), backup.parent)
    assert result.run_id, result.error
    return result


def test_a_faithful_restore_matches_every_record(db: psycopg.Connection, db_dsn: str,
                                                 tmp_path: Path):
    db.execute(SCHEMA)
    backup = _backup(tmp_path)
    restored = _restore(db_dsn, backup)
    result = _verify(db_dsn, backup)
    assert result.error is None
    assert result.run_id == restored.run_id  # the latest run of this backup and target
    assert result.exit_code == EXIT_OK, result.summary()
    assert {n: (v.records, v.matched, v.unexplained) for n, v in result.tables.items()} == {
        "author": (30, 30, 0), "post": (60, 60, 0), "event_log": (12, 12, 0)}
    assert result.tables["event_log"].method == "multiset"
    assert result.tables["post"].method == "key (id)"


def test_a_changed_value_a_deleted_row_and_an_extra_row_are_each_named(
        db: psycopg.Connection, db_dsn: str, tmp_path: Path):
    db.execute(SCHEMA)
    backup = _backup(tmp_path)
    _restore(db_dsn, backup)
    db.execute("UPDATE post SET title = 'edited', score = 7.5 WHERE id = 7")  # score stays 7.50
    db.execute("UPDATE post SET score = 9.5 WHERE id = 9")  # the same value: numeric(6, 2) stores 9.50
    db.execute("DELETE FROM post WHERE id = 12")
    db.execute("INSERT INTO post VALUES (999, 1, 'not in the backup', 1)")
    db.execute("DELETE FROM event_log WHERE ctid = (SELECT min(ctid) FROM event_log)")
    db.execute("""INSERT INTO event_log VALUES ('logout', '{"n": 1}', now())""")
    result = _verify(db_dsn, backup)
    assert result.exit_code == EXIT_DIFFERENT
    post = result.tables["post"]
    assert (post.matched, post.different, post.missing, post.extra) == (58, 1, 1, 1)
    named = {(d.kind, tuple(d.key.items()), d.columns) for d in post.differences}
    assert named == {("different", (("id", "7"),), ("title",)),
                     ("missing", (("id", "12"),), ()),
                     ("extra", (("id", "999"),), ())}
    assert post.matched + post.different + post.missing == post.records
    events = result.tables["event_log"]
    assert (events.matched, events.missing, events.extra) == (11, 1, 1)
    assert [d.key["kind"] for d in events.differences if d.kind == "extra"] == ["logout"]
    assert result.tables["author"].unexplained == 0


def test_a_partial_run_is_accounted_for_by_its_quarantine(db: psycopg.Connection, db_dsn: str,
                                                           tmp_path: Path):
    db.execute(SCHEMA)
    posts = [dict(p) for p in POSTS]
    posts[3]["author_id"] = 404  # no such author: quarantined by the FK check
    posts[10]["score"] = "not a number"  # refused before the server
    posts[20]["score"] = "99999.99"  # too large for numeric(6, 2): refused by the server
    backup = _backup(tmp_path, **{"post.json": posts})
    restored = _restore(db_dsn, backup)
    assert restored.tables["post"].failed == 3
    result = _verify(db_dsn, backup)
    post = result.tables["post"]
    assert (post.matched, post.quarantined, post.unexplained) == (57, 3, 0), post.differences
    assert result.exit_code == EXIT_PARTIAL
    assert result.line() == "99 match, 3 in quarantine, 0 unexplained"
    # the same target judged by the backup alone: the orphan is missing, the two values no
    # column of that type can hold (refused by katarestore, by the server) are unloadable
    alone = _verify(db_dsn, backup, use_run=False)
    post = alone.tables["post"]
    assert (post.missing, post.unloadable, post.quarantined) == (1, 2, 0)
    assert {d.index for d in post.differences} == {3, 10, 20}
    assert alone.exit_code == EXIT_DIFFERENT
    # a record the quarantine explains is still found when it is loaded by hand, wrongly
    db.execute("INSERT INTO author VALUES (404, 'late', NULL)")
    db.execute("INSERT INTO post VALUES (4, 404, 'post 4', 4.51)")
    again = _verify(db_dsn, backup, run_id=restored.run_id).tables["post"]
    assert (again.quarantined, again.extra) == (3, 1)


def test_a_key_repeated_in_the_backup_follows_the_engines_rule(db: psycopg.Connection,
                                                               db_dsn: str, tmp_path: Path):
    """skip (and error) keep the first copy; update keeps the last: verify agrees."""
    db.execute(SCHEMA)
    authors = [*AUTHORS, {"id": 5, "name": "second copy", "email": "a5@example.com"},
               {"id": 6, "name": "second copy", "email": "x6@example.com"}]
    backup = _backup(tmp_path, **{"author.json": authors})
    _restore(db_dsn, backup)
    author = _verify(db_dsn, backup).tables["author"]
    assert (author.matched, author.repeated, author.unexplained) == (30, 2, 0)
    assert db.execute("SELECT name FROM author WHERE id = 5").fetchone() == ("author 5",)
    # judged with the update rule instead, the kept first copies are the wrong ones
    wrong = _verify(db_dsn, backup, use_run=False, on_conflict="update").tables["author"]
    assert (wrong.repeated, wrong.different) == (2, 2)
    assert {d.key["id"]: d.columns for d in wrong.differences} == {"5": ("name",),
                                                                   "6": ("name", "email")}


def test_update_keeps_the_last_copy_and_verify_knows(db: psycopg.Connection, db_dsn: str,
                                                      tmp_path: Path):
    db.execute(SCHEMA)
    authors = [*AUTHORS, {"id": 5, "name": "second copy", "email": "a5@example.com"}]
    backup = _backup(tmp_path, **{"author.json": authors})
    _restore(db_dsn, backup, on_conflict="update")
    result = _verify(db_dsn, backup)
    assert result.on_conflict == "update"  # from the run
    assert (result.tables["author"].repeated, result.tables["author"].unexplained) == (1, 0)
    assert result.exit_code == EXIT_OK


def test_rows_already_there_are_kept_only_as_far_as_the_run_counted_them(
        db: psycopg.Connection, db_dsn: str, tmp_path: Path):
    db.execute(SCHEMA)
    db.execute("INSERT INTO author VALUES (1, 'before the run', 'a1@example.com')")
    backup = _backup(tmp_path)
    restored = _restore(db_dsn, backup)
    assert restored.tables["author"].duplicates == 1
    author = _verify(db_dsn, backup).tables["author"]
    assert (author.kept, author.different, author.unexplained) == (1, 0, 0)
    assert [(d.kind, d.key, d.columns) for d in author.differences] == [
        ("kept", {"id": "1"}, ("name",))]
    db.execute("UPDATE author SET name = 'changed after' WHERE id = 2")
    author = _verify(db_dsn, backup).tables["author"]
    assert (author.kept, author.different) == (1, 1)  # one more than the run explains
    assert _verify(db_dsn, backup, use_run=False).tables["author"].different == 2


def test_parser_processes_give_the_same_verdict_as_inline(db: psycopg.Connection, db_dsn: str,
                                                          tmp_path: Path, monkeypatch):
    from katarestore_tui.engine import verify_source as verify_module

    monkeypatch.setattr(verify_module, "PARSER_PROCESS_MIN_BYTES", 0)  # every file in one
    db.execute(SCHEMA)
    backup = _backup(tmp_path)
    _restore(db_dsn, backup)
    db.execute("DELETE FROM post WHERE id = 3")
    inline = _verify(db_dsn, backup).summary()["tables"]
    process = _verify(db_dsn, backup, parser_process=True).summary()["tables"]
    for table in process.values():
        table["seconds"] = 0
    for table in inline.values():
        table["seconds"] = 0
    assert process == inline
    assert process["post"]["missing"] == 1


def test_verify_writes_nothing_to_the_target(db: psycopg.Connection, db_dsn: str,
                                             tmp_path: Path):
    """No table, row or sequence of the target changes: the stage has no defaults (a
    nextval() there would move the target's sequence) and lives in verify's session."""
    db.execute(SCHEMA.replace("post (id int PRIMARY KEY", "post (id serial PRIMARY KEY"))
    backup = _backup(tmp_path, **{"post.json": [{k: v for k, v in p.items() if k != "id"}
                                                for p in POSTS[:5]]})
    _restore(db_dsn, backup)

    def state() -> tuple:
        tables = db.execute("SELECT relname, relkind FROM pg_class WHERE relnamespace = "
                            "'public'::regnamespace ORDER BY 1").fetchall()
        sequence = db.execute("SELECT last_value, is_called FROM post_id_seq").fetchone()
        rows = db.execute("SELECT * FROM post ORDER BY id").fetchall()
        return tables, sequence, rows

    before = state()
    result = _verify(db_dsn, backup)
    assert result.tables["post"].method == "multiset"  # the file gives no id
    assert result.tables["post"].matched == 5
    assert state() == before


def test_columns_a_record_leaves_out_are_not_judged(db: psycopg.Connection, db_dsn: str,
                                                     tmp_path: Path):
    """The target got its default (or NULL) where a record gave no value: not a difference."""
    db.execute(SCHEMA)
    posts = [dict(p) for p in POSTS]
    del posts[5]["title"]  # this record has no title: the target's is NULL
    events = [dict(e) for e in EVENTS]
    del events[0]["payload"]
    backup = _backup(tmp_path, **{"post.json": posts, "event_log.json": events})
    _restore(db_dsn, backup)
    result = _verify(db_dsn, backup)
    assert result.exit_code == EXIT_OK, result.summary()
    db.execute("UPDATE post SET title = 'set later' WHERE id = 6")
    db.execute("UPDATE post SET title = 'changed' WHERE id = 7")
    post = _verify(db_dsn, backup).tables["post"]
    assert [(d.key, d.columns) for d in post.differences] == [({"id": "7"}, ("title",))]
    assert "payload" in " ".join(_verify(db_dsn, backup).tables["event_log"].notes)


def test_a_file_cut_short_is_reported_as_the_restore_saw_it(db: psycopg.Connection,
                                                            db_dsn: str, tmp_path: Path):
    import json

    db.execute(SCHEMA)
    text = json.dumps(POSTS, indent=2)
    backup = _backup(tmp_path, **{"post.json": text[: text.index('"id": 41')]})
    _restore(db_dsn, backup)
    result = _verify(db_dsn, backup)
    post = result.tables["post"]
    assert (post.records, post.matched, post.unexplained) == (40, 40, 0)
    assert post.fault and "record index 40" in post.fault
    assert post.verdict == "accounted" and result.exit_code == EXIT_PARTIAL


def test_records_a_retry_loaded_leave_the_quarantine_and_match(db: psycopg.Connection,
                                                               db_dsn: str, tmp_path: Path):
    from katarestore_tui.engine import retry_run

    db.execute(SCHEMA)
    posts = [dict(p) for p in POSTS]
    posts[3]["author_id"] = 404
    posts[20]["score"] = "99999.99"
    backup = _backup(tmp_path, **{"post.json": posts})
    restored = _restore(db_dsn, backup)
    db.execute("INSERT INTO author VALUES (404, 'came later', NULL)")  # the cause, fixed
    retried = retry_run(restored.run_id, db_dsn)
    assert retried.tables["post"]["loaded"] == 1
    post = _verify(db_dsn, backup).tables["post"]
    assert (post.matched, post.quarantined, post.unexplained) == (59, 1, 0)
    assert _verify(db_dsn, backup).tables["author"].extra == 1  # 404 is not in the backup
