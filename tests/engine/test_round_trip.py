"""A backup written as the Node app writes it restores to identical rows (checksums)."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from katarestore_tui.engine.restore import EXIT_OK, run_restore
from tests.helpers import assert_balanced, options
from tests.node_export import checksum, export_table

SCHEMA = """
CREATE TYPE role AS ENUM ('STUDENT', 'INSTRUCTOR', 'ADMIN');
CREATE TABLE app_user (
    id uuid PRIMARY KEY, email varchar(255) UNIQUE NOT NULL, display_name text, role role NOT NULL,
    created_at timestamptz NOT NULL, birthday date, tags text[], profile jsonb, avatar bytea,
    balance numeric(12, 2), big bigint, active boolean);
CREATE TABLE course (
    id serial PRIMARY KEY, owner_id uuid REFERENCES app_user(id), title varchar(200) NOT NULL,
    price numeric(10, 2), published_at timestamp(3), scores int[]);
"""

POPULATE = """
INSERT INTO app_user
SELECT md5('u' || i)::uuid, 'user' || i || '@example.com',
       CASE WHEN i % 7 = 0 THEN NULL ELSE E'Name \\t' || i || E' "q" \\\\ é\\n日本' END,
       (ARRAY['STUDENT', 'INSTRUCTOR', 'ADMIN'])[1 + i % 3]::role,
       date_trunc('milliseconds', timestamptz '2024-01-01 00:00:00+00' + i * interval '1 h 1.234 s'),
       CASE WHEN i % 5 = 0 THEN NULL ELSE date '1990-01-01' + i END,
       ARRAY['tag' || i % 4, 'x,y', 'quote"d'],
       jsonb_build_object('n', i, 'nested', jsonb_build_array(1, 'two', NULL, true), 'f', 0.5),
       CASE WHEN i % 3 = 0 THEN NULL ELSE decode(md5(i::text), 'hex') END,
       (i * 1.25)::numeric(12, 2), 9007199254740993 + i, i % 2 = 0
FROM generate_series(1, 400) AS i;
INSERT INTO course (owner_id, title, price, published_at, scores)
SELECT md5('u' || (1 + i % 400))::uuid, 'Course ' || i, (i % 100) + 0.5,
       date_trunc('milliseconds', timestamp '2024-02-01 08:00' + i * interval '37 min 0.5 s'),
       ARRAY[i, i * 2, NULL]
FROM generate_series(1, 300) AS i;
"""


def _database(server_dsn: str, name: str) -> str:
    params = conninfo_to_dict(server_dsn)
    params["dbname"] = name
    return make_conninfo(**params)


def test_node_backup_round_trips_exactly(db: psycopg.Connection, db_dsn: str, server_dsn: str,
                                         tmp_path: Path):
    db.execute(SCHEMA)
    db.execute(POPULATE)
    backup = tmp_path / "kata_json" / "20241201_103000"
    backup.mkdir(parents=True)
    export_table(db, "app_user", backup / "app_user.json")
    export_table(db, "course", backup / "course.json")

    target_name = f"kr_rt_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target_name)))
    target = _database(server_dsn, target_name)
    try:
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute(SCHEMA)
        result = run_restore(options(target, backup), tmp_path / "kata_json")
        assert result.exit_code == EXIT_OK, result.error
        assert_balanced(result)
        assert result.tables["app_user"].loaded == 400
        assert result.tables["course"].loaded == 300
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute("SET TimeZone = 'UTC'")
            db.execute("SET TimeZone = 'UTC'")
            for table in ("app_user", "course"):
                assert checksum(conn, table) == checksum(db, table), table
            # the sequence is past the largest id: the app's next insert does not collide
            assert conn.execute("SELECT nextval('course_id_seq')").fetchone()[0] == 301
    finally:
        with psycopg.connect(server_dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(target_name)))


def test_parser_process_gives_the_same_rows(db: psycopg.Connection, db_dsn: str, tmp_path: Path,
                                            monkeypatch):
    """The parser subprocess (used for big files) loads exactly what the inline path loads."""
    from katarestore_tui.engine import scheduler

    monkeypatch.setattr(scheduler, "PARSER_PROCESS_MIN_BYTES", 0)
    db.execute(SCHEMA)
    db.execute(POPULATE)
    backup = tmp_path / "kata_json" / "20241201_103000"
    backup.mkdir(parents=True)
    export_table(db, "app_user", backup / "app_user.json")
    before = checksum(db, "app_user")
    db.execute("TRUNCATE app_user CASCADE")
    result = run_restore(options(db_dsn, backup, parser_process=True, batch_size=37),
                         tmp_path / "kata_json")
    assert result.exit_code == EXIT_OK, result.error
    db.execute("SET TimeZone = 'UTC'")
    assert checksum(db, "app_user") == before
