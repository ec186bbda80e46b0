"""#12.5: the plan says what matters: rows already in the target tables and their fate, a
typo in --tables is an error with the close names, a file cut short heads the summary."""

from __future__ import annotations

from katarestore_tui.cli.output import plan_text, summary_text
from katarestore_tui.engine.restore import EXIT_USAGE, run_restore
from tests.helpers import options, write_backup

SCHEMA = """
CREATE TABLE others (id int PRIMARY KEY);
CREATE TABLE scores (id int PRIMARY KEY, v int);
"""


def make(db, tmp_path):
    db.execute(SCHEMA)
    return write_backup(tmp_path, {"others.json": [{"id": i} for i in range(1, 11)],
                                   "scores.json": [{"id": i, "v": i} for i in range(1, 11)]})


def test_the_plan_shows_rows_already_in_the_targets_and_their_fate(db, db_dsn, tmp_path):
    folder = make(db, tmp_path)
    db.execute("INSERT INTO others SELECT generate_series(1, 5)")
    result = run_restore(options(db_dsn, folder, dry_run=True), tmp_path)
    plan = result.plan
    assert (plan.table("others").existing_rows, plan.table("scores").existing_rows) == (5, 0)
    assert plan.warnings, "the plan says no warnings while a target table holds rows"
    first = plan.warnings[0]
    assert "others 5" in first and "scores" not in first and "skipped as duplicates" in first
    assert "target holds 5 rows" in plan_text(plan)
    assert plan.to_dict()["tables"]["others"]["existing_rows"] == 5

    cleaned = run_restore(options(db_dsn, folder, dry_run=True, clean=True), tmp_path)
    assert "emptied by --clean" in cleaned.plan.warnings[0]
    updated = run_restore(options(db_dsn, folder, dry_run=True, on_conflict="update"), tmp_path)
    assert "updated" in updated.plan.warnings[0]


def test_empty_targets_add_no_warning(db, db_dsn, tmp_path):
    folder = make(db, tmp_path)
    result = run_restore(options(db_dsn, folder, dry_run=True), tmp_path)
    assert result.plan.warnings == []


def test_a_typo_in_tables_is_an_error_naming_the_close_matches(db, db_dsn, tmp_path):
    folder = make(db, tmp_path)
    result = run_restore(options(db_dsn, folder, tables=["scroes", "others"]), tmp_path)
    assert result.exit_code == EXIT_USAGE
    assert "'scroes'" in result.error and "did you mean 'scores'" in result.error
    assert db.execute("SELECT count(*) FROM others").fetchone()[0] == 0  # nothing ran


def test_a_file_cut_short_heads_the_summary(db, db_dsn, tmp_path):
    db.execute(SCHEMA)
    text = '[\n  {"id": 1, "v": 1},\n  {"id": 2, "v": 2},\n  {"id": 3, "v"'
    folder = write_backup(tmp_path, {"others.json": [{"id": 1}], "scores.json": text})
    result = run_restore(options(db_dsn, folder), tmp_path)
    lines = summary_text(result.summary()).splitlines()
    status = next(i for i, line in enumerate(lines) if line.startswith("status:"))
    assert lines[status + 1].strip().startswith("scores:"), lines[status:]


def test_a_table_locked_by_another_session_is_estimated_not_waited_for(db, db_dsn, tmp_path):
    from tests.app.conftest import TableLock

    folder = make(db, tmp_path)
    db.execute("INSERT INTO others SELECT generate_series(1, 5)")
    held = TableLock(db_dsn, "others")  # the app's session: ACCESS EXCLUSIVE, left open
    try:
        result = run_restore(options(db_dsn, folder, dry_run=True), tmp_path)
    finally:
        held.release()
    others = result.plan.table("others")
    assert others.existing_estimated and result.plan.table("scores").existing_rows == 0
