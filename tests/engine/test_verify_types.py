"""Every type of the README's conversion table compares exactly: a Node-written backup
restored verifies as a match, and a change the type's own `=` would not see (12.50 vs 12.5,
jsonb 0.5 vs 0.50, one millisecond, one byte, one array element) is found and named."""

from __future__ import annotations

from pathlib import Path

import psycopg

from katarestore_tui.engine import VerifyOptions, run_verify
from katarestore_tui.engine.restore import run_restore
from katarestore_tui.errors import EXIT_DIFFERENT, EXIT_OK
from tests.helpers import options
from tests.node_export import export_table

SCHEMA = """
CREATE TYPE role AS ENUM ('STUDENT', 'ADMIN');
CREATE TABLE item (
    id uuid PRIMARY KEY, created_at timestamptz NOT NULL, local_at timestamp(3), day date,
    price numeric, fixed numeric(12, 2), ratio double precision, big bigint,
    profile jsonb, raw json, avatar bytea, tags text[], grid int[], role role, active boolean,
    note varchar(50));
"""

POPULATE = """
INSERT INTO item
SELECT md5('i' || i)::uuid,
       date_trunc('milliseconds', timestamptz '2024-01-01 00:00:00+00' + i * interval '1 h 1.234 s'),
       date_trunc('milliseconds', timestamp '2024-02-01 08:00' + i * interval '37 min 0.5 s'),
       date '1990-01-01' + i,
       (i || '.50')::numeric, i * 1.25, i / 3.0, 9007199254740993 + i,
       jsonb_build_object('n', i, 'f', 0.5, 'nested', jsonb_build_array(1, 'two', NULL)),
       json_build_object('b', i, 'a', 'x'), decode(md5(i::text), 'hex'),
       ARRAY['t' || i % 4, 'x,y', 'quote"d'], ARRAY[[i, 2], [3, NULL]],
       (ARRAY['STUDENT', 'ADMIN'])[1 + i % 2]::role, i % 2 = 0, E'tab\\t' || i
FROM generate_series(1, 40) AS i;
"""

CHANGES = {  # column -> an UPDATE of row 1 whose new value `=` calls equal, or nearly
    "price": "price = 1.5",  # was 1.50: equal as numbers, stored differently
    "profile": """profile = '{"n": 1, "f": 0.50, "nested": [1, "two", null]}'""",
    "raw": """raw = '{"a": "x", "b": 1}'""",  # the same keys, another order
    "created_at": "created_at = created_at + interval '1 ms'",
    "avatar": "avatar = overlay(avatar placing '\\x00'::bytea from 1)",
    "grid": "grid = ARRAY[[1, 2], [3, 4]]",
    "ratio": "ratio = ratio + 1e-15",
}


def test_every_converted_type_compares_exactly(db: psycopg.Connection, db_dsn: str,
                                               tmp_path: Path):
    db.execute(SCHEMA)
    db.execute(POPULATE)
    backup = tmp_path / "kata_json" / "20241201_103000"
    backup.mkdir(parents=True)
    export_table(db, "item", backup / "item.json")
    db.execute("TRUNCATE item")
    assert run_restore(options(db_dsn, backup), backup.parent).exit_code == EXIT_OK
    verify = VerifyOptions(str(backup), db_dsn, parser_process=False)
    result = run_verify(verify, backup.parent)
    assert result.exit_code == EXIT_OK, result.summary()
    assert result.tables["item"].matched == 40

    first = "md5('i1')::uuid"
    for change in CHANGES.values():
        db.execute(f"UPDATE item SET {change} WHERE id = {first}")
    item = run_verify(verify, backup.parent).tables["item"]
    assert (item.different, item.matched) == (1, 39)
    (difference,) = item.differences
    assert set(difference.columns) == set(CHANGES)
    assert run_verify(verify, backup.parent).exit_code == EXIT_DIFFERENT
