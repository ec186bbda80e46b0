"""The sample backup restores with exactly the counts it promises."""

from __future__ import annotations

from pathlib import Path

import psycopg

from katarestore_tui.demo import create_demo_schema, write_demo_backup
from katarestore_tui.engine.quarantine import read_quarantine
from katarestore_tui.engine.restore import EXIT_PARTIAL, run_restore
from tests.helpers import assert_balanced, options


def test_demo_backup_restores_with_expected_counts(db: psycopg.Connection, db_dsn: str,
                                                   tmp_path: Path):
    create_demo_schema(db)
    demo = write_demo_backup(tmp_path, rows=3000, bad_records=True)
    result = run_restore(options(db_dsn, demo.path, batch_size=500), tmp_path)
    assert result.exit_code == EXIT_PARTIAL, result.error
    assert_balanced(result)
    for table, expected in demo.expected.items():
        stats = result.tables[table]
        got = {"records": stats.records, "loaded": stats.loaded,
               "duplicates": stats.duplicates, "failed": stats.failed}
        assert got == expected, table
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == expected["loaded"]
    failed = list(read_quarantine(result.run_id))
    assert len(failed) == sum(e["failed"] for e in demo.expected.values())
    assert all(f["message"] and f["record"] is not None for f in failed)
