"""`katarestore backup`: Node-layout files that restore to the very same rows, from one snapshot."""

from __future__ import annotations

import gzip
import json
import shutil
import stat
import subprocess
import threading
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from katarestore_tui.backup.catalog import find_backups
from katarestore_tui.cli.main import main
from katarestore_tui.demo import create_demo_schema, write_demo_backup
from katarestore_tui.engine import run_backup
from katarestore_tui.engine.restore import EXIT_OK, EXIT_PARTIAL, run_restore
from katarestore_tui.errors import Cancelled
from tests.helpers import assert_balanced, options
from tests.small_disk import small_disk  # noqa: F401 (a fixture)

# every type of the README's conversion table, and the values that break converters
TYPES_SCHEMA = """
CREATE TYPE mood AS ENUM ('sad', 'happy', 'it''s "ok"');
CREATE TABLE every_type (
    id bigint PRIMARY KEY, ts3 timestamp(3), ts6 timestamp, tstz timestamptz, d date, tm time,
    tmtz timetz, n numeric, n2 numeric(10, 2), i2 smallint, i4 integer, i8 bigint, f8 float8,
    f4 real, j json, jb jsonb, ta text[], ia int[][], na numeric[], tsa timestamptz[], b bytea,
    ba bytea[], bo boolean, e mood, ea mood[], u uuid, v varchar(12), c char(3), tx text,
    iv interval);
"""

TYPES_ROWS = r"""
INSERT INTO every_type VALUES
 (1, '2024-11-03 10:15:30.123', '2024-11-03 10:15:30.123456', '2024-11-03 10:15:30.5+05:30',
  '2024-11-03', '10:15:30.25', '10:15:30+02', '12.50', '0.10', -32768, 2147483647,
  9223372036854775807, 0.1, 0.1, '{"a": 1.10, "b": [1e400, 12345678901234567890], "c": {}}',
  '{"x": 1.10, "y": "z\n", "deep": {"k": [true, null]}}', '{a,"b c",NULL,"q\"d",""}',
  '{{1,2},{3,4}}', '{1.50,NULL,-0.001}', '{"2024-01-01 00:00:00.001+00",NULL}', '\x00ff10',
  ARRAY['\x01'::bytea, NULL], true, 'it''s "ok"', '{sad,happy}',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'héllo 日本', 'ab', E'line1\n"q"\ttab\\ é',
  '1 day 02:00:00.5'),
 (2, '1970-01-01 00:00:00', 'infinity', '-infinity', '0001-01-01', '00:00:00', NULL, 'NaN',
  NULL, 0, 0, 0, 'NaN', '-Infinity', '[null]', '[]', '{}', '{}', '{}', '{}', '', '{}', false,
  'sad', '{}', NULL, '', '', '', '0'),
 (3, '9999-12-31 23:59:59.999', NULL, '2000-02-29 23:59:59.999999+00', '2024-02-29', '23:59:59.999999',
  NULL, '123456789012345678901234567890.000000001', '-99999999.99', NULL, NULL,
  -9223372036854775808, 1e-7, 3.4e38, '"text"', '12345678901234567890.5', NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '-3 mons 2 days'),
 (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1.7976931348623157e308,
  1e-45, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL);
"""


def rows_text(conn: psycopg.Connection, schema: str, table: str, key: str = "id",
              as_jsonb: tuple[str, ...] = ()) -> list[str]:
    """The rows as the server prints them, in key order: the plain oracle.

    `as_jsonb`: json (not jsonb) columns compared by value: any JSON backup (Node's too)
    keeps a json value, not its spacing or the spelling of its numbers (`1e400`).
    """
    conn.execute("SET TimeZone = 'UTC'")
    cols = [r[0] for r in conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
        " AND NOT attisdropped ORDER BY attnum", (f'"{schema}"."{table}"',)).fetchall()]
    items = [sql.SQL("t.{}::jsonb" if c in as_jsonb else "t.{}").format(sql.Identifier(c))
             for c in cols]
    return [r[0] for r in conn.execute(
        sql.SQL("SELECT row({})::text FROM {} AS t ORDER BY t.{}").format(
            sql.SQL(", ").join(items), sql.Identifier(schema, table), sql.Identifier(key)))]


def _copy_schema(db: psycopg.Connection, ddl: str, schema: str = "copy") -> None:
    """The same tables in another schema (types are shared: created once, in public)."""
    db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    db.execute(sql.SQL("SET search_path = {}, public").format(sql.Identifier(schema)))
    db.execute(ddl)
    db.execute("SET search_path = public")


def test_every_type_round_trips(db: psycopg.Connection, db_dsn: str, tmp_path: Path):
    db.execute(TYPES_SCHEMA)
    db.execute(TYPES_ROWS)
    result = run_backup(db_dsn, tmp_path / "kata_json")
    assert result.tables["every_type"]["records"] == 4
    # production data: the folder and its files are the owner's only (the root is left as it was)
    assert stat.S_IMODE(result.folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((result.folder / "every_type.json").stat().st_mode) == 0o600
    text = (result.folder / "every_type.json").read_text()
    first = json.loads(text)[0]
    # what the Node script writes: ISO dates with milliseconds and Z, numerics as strings,
    # bytea as a Buffer, json as nested JSON, arrays as arrays
    assert first["ts3"] == "2024-11-03T10:15:30.123Z"
    assert first["tstz"] == "2024-11-03T04:45:30.500Z"
    assert first["d"] == "2024-11-03T00:00:00.000Z"
    assert first["n2"] == "0.10" and first["na"] == ["1.50", None, "-0.001"]
    assert first["b"] == {"type": "Buffer", "data": [0, 255, 16]}
    assert first["jb"]["deep"] == {"k": [True, None]}
    assert first["ia"] == [[1, 2], [3, 4]] and first["ea"] == ["sad", "happy"]
    assert '"a": 1.10' in text  # json numbers digit for digit
    assert text.startswith("[\n  {\n    \"id\": 1,\n") and text.endswith("\n  }\n]")

    _copy_schema(db, TYPES_SCHEMA.split(";", 1)[1])  # the enum exists already
    restored = run_restore(options(db_dsn, result.folder, schema="copy"), tmp_path / "kata_json")
    assert restored.exit_code == EXIT_OK, (restored.error, restored.tables)
    assert_balanced(restored)
    assert (rows_text(db, "copy", "every_type", as_jsonb=("j",))
            == rows_text(db, "public", "every_type", as_jsonb=("j",)))


def test_demo_schema_round_trips_with_parallel_jobs_and_gzip(db: psycopg.Connection, db_dsn: str,
                                                             tmp_path: Path, capsys):
    create_demo_schema(db)
    demo = write_demo_backup(tmp_path / "demo", rows=1500, bad_records=True)
    assert run_restore(options(db_dsn, demo.path), tmp_path).exit_code == EXIT_PARTIAL
    create_demo_schema(db, schema="copy")
    root = tmp_path / "kata_json"
    code = main(["backup", "--dsn", db_dsn, "--jobs", "3", "--gzip", "--json", str(root)])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    folder = Path(summary["folder"])
    tables = sorted(summary["tables"])
    assert sorted(p.name for p in folder.iterdir()) == [f"{t}.json.gz" for t in tables]
    with gzip.open(folder / "users.json.gz", "rt") as f:
        assert len(json.load(f)) == summary["tables"]["users"]["records"] > 0
    restored = run_restore(options(db_dsn, folder, schema="copy", jobs=2), root)
    assert restored.exit_code == EXIT_OK, restored.error
    for table in tables:
        assert rows_text(db, "copy", table) == rows_text(db, "public", table), table


def test_parallel_workers_share_one_snapshot(db: psycopg.Connection, db_dsn: str, tmp_path: Path,
                                             monkeypatch):
    """Rows committed while the backup runs appear in no file, whichever worker reads them.

    The change commits just before each worker opens its transaction (the race a worker
    without the exported snapshot loses) and again after the first batch is written.
    """
    from katarestore_tui.engine import export
    names = [f"t{i}" for i in range(4)]
    for name in names:
        db.execute(sql.SQL("CREATE TABLE {} (id int PRIMARY KEY, v text)").format(
            sql.Identifier(name)))
        db.execute(sql.SQL("INSERT INTO {} SELECT i, 'v' || i FROM generate_series(1, 5000) i")
                   .format(sql.Identifier(name)))
    before = {n: rows_text(db, "public", n) for n in names}
    changed = threading.Event()

    def meddle(event) -> None:  # after the first batch: change every table, committed
        if changed.is_set():
            return
        changed.set()
        with psycopg.connect(db_dsn, autocommit=True) as other:
            for name in names:
                other.execute(sql.SQL("DELETE FROM {} WHERE id <= 10").format(sql.Identifier(name)))
                other.execute(sql.SQL("UPDATE {} SET v = 'changed'").format(sql.Identifier(name)))
                other.execute(sql.SQL("INSERT INTO {} SELECT min(id) - 1, 'new' FROM {}").format(
                    sql.Identifier(name), sql.Identifier(name)))

    begin = export._begin_snapshot

    def late_worker(conn, snapshot=None):
        if snapshot is not None:
            changed.clear()
            meddle(None)
        begin(conn, snapshot)

    monkeypatch.setattr(export, "_begin_snapshot", late_worker)
    result = run_backup(db_dsn, tmp_path / "kata_json", jobs=2, progress=meddle)
    assert changed.is_set()
    for name in names:
        db.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(name)))
    restored = run_restore(options(db_dsn, result.folder), tmp_path / "kata_json")
    assert restored.exit_code == EXIT_OK, restored.error
    assert {n: rows_text(db, "public", n) for n in names} == before


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_backup_cut_short_never_looks_complete(db: psycopg.Connection, db_dsn: str,
                                                 tmp_path: Path, jobs: int):
    for name in ("a", "b", "c"):
        db.execute(sql.SQL("CREATE TABLE {} (id int PRIMARY KEY)").format(sql.Identifier(name)))
        db.execute(sql.SQL("INSERT INTO {} SELECT generate_series(1, 5000)").format(
            sql.Identifier(name)))
    cancel = threading.Event()
    seen: list[str] = []

    def stop_in_the_second_table(event) -> None:
        if event.done:
            seen.append(event.table)
        elif seen:
            cancel.set()

    root = tmp_path / "kata_json"
    with pytest.raises(Cancelled):
        run_backup(db_dsn, root, jobs=jobs, progress=stop_in_the_second_table, cancel=cancel)
    assert seen  # a table was complete when the stop came
    assert find_backups(root) == []
    assert list(root.iterdir()) == []  # the hidden work folder is gone too


def test_a_full_disk_leaves_no_backup_and_says_so(db: psycopg.Connection, db_dsn: str,
                                                  small_disk: Path, capsys):  # noqa: F811
    db.execute("CREATE TABLE a (id int PRIMARY KEY, t text)")
    db.execute("INSERT INTO a SELECT i, repeat('x', 100) FROM generate_series(1, 5000) i")
    assert main(["backup", "--dsn", db_dsn, str(small_disk)]) == 3
    err = capsys.readouterr().err
    assert "error: cannot write the backup under" in err and "no backup was written" in err
    assert list(small_disk.iterdir()) == []


def test_an_unknown_table_is_a_usage_error(db: psycopg.Connection, db_dsn: str, tmp_path: Path,
                                           capsys):
    db.execute("CREATE TABLE a (id int PRIMARY KEY)")
    assert main(["backup", "--dsn", db_dsn, "--tables", "a,nope", str(tmp_path / "out")]) == 2
    assert "no table nope in schema 'public' (it has: a)" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_a_backup_is_never_written_over(db: psycopg.Connection, db_dsn: str, tmp_path: Path):
    """Two backups in one second (or a resume's clean in the second of its first try)."""
    db.execute("CREATE TABLE a (id int PRIMARY KEY)")
    root = tmp_path / "kata_json"
    first = run_backup(db_dsn, root, name="20240101_000000")
    db.execute("INSERT INTO a VALUES (1)")
    second = run_backup(db_dsn, root, name="20240101_000000")
    assert (first.folder.name, second.folder.name) == ("20240101_000000", "20240101_000000-2")
    assert (first.folder / "a.json").read_text() == "[]"
    assert json.loads((second.folder / "a.json").read_text()) == [{"id": 1}]
    assert len(find_backups(root)) == 2


NODE_CHECK = """
const fs = require("fs");
for (const f of process.argv.slice(1)) {
  const text = fs.readFileSync(f, "utf8");
  if (JSON.stringify(JSON.parse(text), null, 2) !== text) { console.log(f); process.exit(1); }
}
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_files_are_what_json_stringify_writes(db: psycopg.Connection, db_dsn: str, tmp_path: Path):
    """Byte for byte: Node's JSON.stringify(JSON.parse(file), null, 2) gives the file back."""
    create_demo_schema(db)
    demo = write_demo_backup(tmp_path / "demo", rows=600, bad_records=False)
    assert run_restore(options(db_dsn, demo.path), tmp_path).exit_code == EXIT_OK
    result = run_backup(db_dsn, tmp_path / "kata_json")
    files = sorted(str(p) for p in result.folder.iterdir())
    done = subprocess.run(["node", "-e", NODE_CHECK, *files], capture_output=True, text=True)
    assert done.returncode == 0, f"differs from JSON.stringify: {done.stdout}{done.stderr}"
