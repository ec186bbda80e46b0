"""A record none of whose keys is a column is refused alone; the run goes on (found by the model test)."""

from __future__ import annotations

from katarestore_tui.engine.quarantine import read_quarantine
from katarestore_tui.engine.restore import run_restore
from tests.helpers import assert_balanced, options, write_backup


def test_a_record_with_no_known_key_is_quarantined_and_the_rest_loads(db, db_dsn, tmp_path):
    db.execute("CREATE TABLE t1 (id int PRIMARY KEY, name text)")
    records = [{"id": 1, "name": "a"}, {"__badline__": "x"}, {"nothing": 1, "here": 2}, {"id": 2}]
    backup = write_backup(tmp_path, {"t1.json": records})
    result = run_restore(options(db_dsn, backup, batch_size=2), tmp_path)
    assert result.error is None, result.error
    assert_balanced(result)
    stats = result.tables["t1"]
    assert (stats.records, stats.loaded, stats.duplicates, stats.failed) == (4, 2, 0, 2)
    assert db.execute("SELECT id, name FROM t1 ORDER BY id").fetchall() == [(1, "a"), (2, None)]
    entries = list(read_quarantine(result.run_id, "t1"))
    assert sorted(e["index"] for e in entries) == [1, 2]
    assert all("no key matches a column" in e["message"] for e in entries), entries
