"""A type error's column reaches the quarantine (real PostgreSQL, per-test database).

22001 and 22P02 carry no column field; COPY names the column in its CONTEXT
("COPY t, line 3, column email: ..."): the entry says which column it was.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from katarestore_tui.engine.quarantine import read_quarantine
from katarestore_tui.engine.restore import EXIT_PARTIAL, run_restore
from tests.helpers import assert_balanced, options, write_backup

ODD = "the address, now: x"  # a space, a comma and a colon: the CONTEXT's own separators


def test_a_type_error_copy_names_in_its_context_gets_its_column(
        db: psycopg.Connection, db_dsn: str, tmp_path: Path) -> None:
    db.execute(f"""
        CREATE DOMAIN address AS inet;
        CREATE TABLE people (id int PRIMARY KEY, name varchar(5), "{ODD}" address);
    """)
    records = [{"id": 1, "name": "Ann", ODD: "10.0.0.1"},
               {"id": 2, "name": "far too long", ODD: "10.0.0.1"},  # 22001 in name
               {"id": 3, "name": "Bo", ODD: "not an address"},  # 22P02 in the odd column
               {"id": 4, "name": "Cy", ODD: "10.0.0.2"}]
    backup = write_backup(tmp_path, {"people.json": records})
    result = run_restore(options(db_dsn, backup), tmp_path)
    assert result.exit_code == EXIT_PARTIAL, result.error
    assert_balanced(result)
    assert [r[0] for r in db.execute("SELECT id FROM people ORDER BY id")] == [1, 4]
    failed = {e["index"]: e for e in read_quarantine(result.run_id, "people")}
    assert sorted(failed) == [1, 2]
    assert (failed[1]["sqlstate"], failed[1]["column"]) == ("22001", "name")
    assert (failed[2]["sqlstate"], failed[2]["column"]) == ("22P02", ODD)
