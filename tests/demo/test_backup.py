"""The demo backup: Node-identical JSON, consistent keys, bad records that really fail."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from katarestore_tui.demo import (
    TABLES,
    DemoBackup,
    DemoSizes,
    create_demo_schema,
    write_demo_backup,
)

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
DECIMAL = re.compile(r"^\d+(\.\d*[1-9])?$")  # decimal.js: no trailing zeros


def _load(backup: DemoBackup) -> dict[str, list[dict[str, Any]]]:
    return {t: json.loads((backup.path / f"{t}.json").read_text("utf-8")) for t in TABLES}


def _good(backup: DemoBackup, data: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict]]:
    bad = {(b.table, b.index) for b in backup.bad_records}
    return {t: [r for i, r in enumerate(rows) if (t, i) not in bad] for t, rows in data.items()}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> DemoBackup:
    return write_demo_backup(tmp_path_factory.mktemp("demo"), rows=400, name="20241201_103000")


def test_files_are_json_arrays_as_node_writes_them(small: DemoBackup) -> None:
    assert small.path.name == "20241201_103000"
    assert sorted(p.name for p in small.path.iterdir()) == sorted(f"{t}.json" for t in TABLES)
    for table in TABLES:
        path = small.path / f"{table}.json"
        with path.open(encoding="utf-8") as f:
            rows = json.load(f)
        assert isinstance(rows, list)
        assert len(rows) == small.rows_per_table[table] == small.expected[table]["records"]
        # JSON.stringify(rows, null, 2) and json.dumps(indent=2, ensure_ascii=False) agree
        # on every value the demo writes: the file must be exactly that text
        text = path.read_text("utf-8")
        assert text == json.dumps(rows, indent=2, ensure_ascii=False), table
    assert small.bytes_written == sum(p.stat().st_size for p in small.path.iterdir())


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_writes_the_same_bytes(small: DemoBackup) -> None:
    script = (
        "const fs = require('fs');"
        "for (const f of process.argv.slice(1)) {"
        "  const t = fs.readFileSync(f, 'utf8');"
        "  if (JSON.stringify(JSON.parse(t), null, 2) !== t) { console.log(f); process.exit(1); }"
        "}"
    )
    files = [str(small.path / f"{t}.json") for t in TABLES]
    subprocess.run(["node", "-e", script, *files], check=True, timeout=60)


def test_values_look_like_prisma_output(small: DemoBackup) -> None:
    data = _good(small, _load(small))
    user = data["users"][0]
    assert set(user) == {"id", "email", "name", "role", "createdAt", "profile", "tags"}
    assert all(ISO.match(u["createdAt"]) for u in data["users"])
    assert {u["role"] for u in data["users"]} == {"STUDENT", "INSTRUCTOR", "ADMIN"}
    assert any(u["profile"] is None for u in data["users"])
    assert any(isinstance(u["profile"], dict) for u in data["users"])
    assert all(isinstance(u["tags"], list) for u in data["users"])
    assert all(DECIMAL.match(c["price"]) for c in data["courses"])
    assert max(len(c["title"]) for c in data["courses"]) == 200  # the varchar limit, in chars
    assert any(r["durationMinutes"] is None for r in data["lessons"])
    content = "".join(r["content"] for r in data["lessons"])
    for needle in ("\n", "\t", '"', "\\", "é", "🎉"):
        assert needle in content
    assert all(isinstance(e["id"], str) and e["id"].isdigit() for e in data["enrollments"])
    assert all(DECIMAL.match(e["progress"]) for e in data["enrollments"])
    progress = data["lesson_progress"]
    assert {p["completed"] for p in progress} == {True, False}
    assert all((p["completedAt"] is None) == (not p["completed"]) for p in progress)
    assert all(p["score"] is None or DECIMAL.match(p["score"]) for p in progress)
    assert all(isinstance(p["data"], dict) for p in progress)
    quiz = data["quiz_attempts"]
    assert all(isinstance(q["answers"], list) and q["answers"] for q in quiz)
    buffers = [q["attachment"] for q in quiz if q["attachment"] is not None]
    assert buffers, "some attempts carry an attachment"
    for buf in buffers:
        assert buf["type"] == "Buffer"
        assert all(isinstance(b, int) and 0 <= b < 256 for b in buf["data"])


def test_foreign_keys_hold_in_the_good_data(small: DemoBackup) -> None:
    data = _good(small, _load(small))
    sizes = DemoSizes.for_rows(400)
    assert {t: len(rows) for t, rows in data.items()} == sizes.as_dict()
    users = {u["id"]: u for u in data["users"]}
    courses = {c["id"] for c in data["courses"]}
    lessons = {r["id"]: r["courseId"] for r in data["lessons"]}
    enrollments = {e["id"]: e for e in data["enrollments"]}
    assert len(users) == len(data["users"])  # primary keys unique
    assert len({u["email"] for u in data["users"]}) == len(users)
    assert len({c["slug"] for c in data["courses"]}) == len(courses)
    assert len({p["id"] for p in data["lesson_progress"]}) == len(data["lesson_progress"])
    for c in data["courses"]:
        assert users[c["instructorId"]]["role"] == "INSTRUCTOR"
    assert set(lessons.values()) <= courses
    pairs = {(e["userId"], e["courseId"]) for e in data["enrollments"]}
    assert len(pairs) == len(enrollments)  # unique (user_id, course_id)
    for e in data["enrollments"]:
        assert e["userId"] in users and e["courseId"] in courses
    for p in data["lesson_progress"]:
        enrollment = enrollments[p["enrollmentId"]]
        assert lessons[p["lessonId"]] == enrollment["courseId"]  # a lesson of that course
    for q in data["quiz_attempts"]:
        assert q["userId"] in users
        assert q["lessonId"] in lessons


def test_bad_records_are_described_exactly(small: DemoBackup) -> None:
    data = _load(small)
    assert len(small.bad_records) == 8
    assert {b.table for b in small.bad_records} == set(TABLES)
    for table in TABLES:
        e = small.expected[table]
        assert e["loaded"] + e["duplicates"] + e["failed"] == e["records"]
        mine = [b for b in small.bad_records if b.table == table]
        assert e["duplicates"] == sum(b.outcome == "duplicate" for b in mine)
        assert e["failed"] == sum(b.outcome == "failed" for b in mine)
        assert e["loaded"] == DemoSizes.for_rows(400).as_dict()[table]
        for b in mine:
            assert 0 < b.index < len(data[table]) - 1  # mid-file, not at either end
    by_kind = {(b.table, b.kind): data[b.table][b.index] for b in small.bad_records}
    dup = next(b for b in small.bad_records if b.outcome == "duplicate")
    assert data["users"].index(data["users"][dup.index]) < dup.index  # same row earlier
    assert len(by_kind["users", "too long"]["email"]) > 255
    assert len(by_kind["courses", "too long"]["title"]) > 200
    assert by_kind["lessons", "wrong type"]["position"] == "abc"
    assert "\x00" in by_kind["lessons", "NUL in text"]["content"]
    assert by_kind["enrollments", "missing value"]["userId"] is None
    enrollment_ids = {e["id"] for e in data["enrollments"]}
    assert by_kind["lesson_progress", "orphan"]["enrollmentId"] not in enrollment_ids

    clean = write_demo_backup(small.path.parent, rows=400, bad_records=False, name="clean")
    assert clean.bad_records == ()
    assert all(e["loaded"] == e["records"] for e in clean.expected.values())


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    def digest(backup: DemoBackup) -> str:
        h = hashlib.sha256()
        for t in TABLES:
            h.update((backup.path / f"{t}.json").read_bytes())
        return h.hexdigest()

    a = write_demo_backup(tmp_path / "a", rows=300, seed=11, name="x")
    b = write_demo_backup(tmp_path / "b", rows=300, seed=11, name="x")
    c = write_demo_backup(tmp_path / "c", rows=300, seed=12, name="x")
    assert digest(a) == digest(b) != digest(c)


def test_default_names_are_timestamps_that_never_collide(tmp_path: Path) -> None:
    first = write_demo_backup(tmp_path, rows=20)
    second = write_demo_backup(tmp_path, rows=20)
    for backup in (first, second):
        assert re.fullmatch(r"\d{8}_\d{6}", backup.path.name)
        assert not list(backup.path.glob("*.tmp"))
    assert first.path != second.path


def test_tiny_and_odd_sizes(tmp_path: Path) -> None:
    backup = write_demo_backup(tmp_path, rows=1, name="tiny")
    data = _load(backup)
    assert len(data["quiz_attempts"]) == 1  # only its bad record
    assert backup.expected["quiz_attempts"] == {
        "records": 1, "loaded": 0, "duplicates": 0, "failed": 1
    }
    empty = write_demo_backup(tmp_path, rows=3, bad_records=False, name="empty")
    assert (empty.path / "quiz_attempts.json").read_text() == "[]"
    with pytest.raises(ValueError):
        write_demo_backup(tmp_path, rows=0)


# ---------------------------------------------------------------- against PostgreSQL


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _to_sql_json(row: dict[str, Any]) -> dict[str, Any]:
    """The smallest restore there is: snake_case keys, Buffer objects to bytea hex."""
    out = {}
    for key, value in row.items():
        if isinstance(value, dict) and value.get("type") == "Buffer":
            value = "\\x" + bytes(value["data"]).hex()
        out[_snake(key)] = value
    return out


def _insert(conn: psycopg.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    conn.execute(
        sql.SQL("INSERT INTO {t} SELECT * FROM json_populate_recordset(NULL::{t}, %s::json)")
        .format(t=sql.Identifier(table)),
        (json.dumps([_to_sql_json(r) for r in rows]),),
    )


@pytest.fixture
def loaded_demo(db: psycopg.Connection, tmp_path: Path) -> tuple[psycopg.Connection, DemoBackup]:
    backup = write_demo_backup(tmp_path, rows=400, name="20241201_103000")
    create_demo_schema(db)
    data = _load(backup)
    good = _good(backup, data)
    for table in TABLES:
        _insert(db, table, good[table])
    return db, backup


def test_demo_data_fits_the_schema(loaded_demo: tuple[psycopg.Connection, DemoBackup]) -> None:
    db, backup = loaded_demo
    for table in TABLES:
        count = db.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        assert count.fetchone() == (backup.expected[table]["loaded"],)
    # values survive exactly: array elements that look special, digits beyond float
    tags = {t for (arr,) in db.execute("SELECT tags FROM users").fetchall() for t in arr}
    assert {"NULL", "", 'say "hi"', "data, science", "{braces}"} & tags
    long_scores = db.execute(
        "SELECT count(*) FROM lesson_progress WHERE score = '66.66666666666666666667'"
    ).fetchone()
    in_file = sum(
        p["score"] == "66.66666666666666666667" for p in _load(backup)["lesson_progress"]
    )
    assert in_file > 0
    assert long_scores == (in_file,)


def test_each_bad_record_is_refused_by_postgresql(
    loaded_demo: tuple[psycopg.Connection, DemoBackup],
) -> None:
    db, backup = loaded_demo
    data = _load(backup)
    for bad in backup.bad_records:
        with pytest.raises(psycopg.Error) as caught:
            _insert(db, bad.table, [data[bad.table][bad.index]])
        state = caught.value.sqlstate or ""
        print(f"\n{bad.table}[{bad.index}] {bad.kind}: {state} {caught.value}".rstrip())
        if bad.outcome == "duplicate":
            assert state == "23505", bad  # unique_violation: a duplicate, not a failure
        else:
            assert state != "23505", bad


def test_generation_rate(tmp_path: Path) -> None:
    backup = write_demo_backup(tmp_path, rows=100_000, bad_records=False)
    print(
        f"\nrows=100000: {backup.total_records:,} records, {backup.bytes_written / 1e6:.0f} MB "
        f"in {backup.seconds:.2f} s = {backup.records_per_second:,.0f} records/s"
    )
    assert backup.rows_per_table["lesson_progress"] == 100_000
    assert backup.total_records == sum(DemoSizes.for_rows(100_000).as_dict().values())
