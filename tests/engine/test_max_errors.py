"""#12.2: a table whose records all fail counts its failures live and stops with a clear
reason (the first 1,000 records failing with one error, or --max-errors N); rows of
committed batches stay, the table is resumable, the other tables load."""

from __future__ import annotations

from pathlib import Path

from katarestore_tui.engine import CONTINUE, STOP, ErrorRun
from katarestore_tui.engine.events import DONE, FAILED, TableProgress, Warning
from katarestore_tui.engine.quarantine import read_quarantine
from katarestore_tui.engine.restore import EXIT_OK, EXIT_PARTIAL, run_restore
from katarestore_tui.history.runs import read_run
from tests.helpers import assert_balanced, options, write_backup

SCHEMA = """
CREATE TABLE others (id int PRIMARY KEY);
CREATE TABLE scores (id int PRIMARY KEY, v int CHECK (v < 0));
"""


def backup(tmp_path: Path, scores: list[dict]) -> Path:
    return write_backup(tmp_path, {"others.json": [{"id": i} for i in range(1, 21)],
                                   "scores.json": scores})


def rows(db, table: str) -> int:
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_every_record_failing_stops_the_table_after_the_first_thousand(db, db_dsn, tmp_path):
    db.execute(SCHEMA)
    folder = backup(tmp_path, [{"id": i, "v": i} for i in range(1, 3001)])  # CHECK v < 0
    seen: list = []
    result = run_restore(options(db_dsn, folder, batch_size=400), tmp_path, seen.append)
    scores = result.tables["scores"]
    assert scores.state == FAILED, (scores.state, scores.failed)
    error = scores.error or ""
    assert "23514" in error and "violates check constraint" in error
    said = [e.message for e in seen if isinstance(e, Warning) and e.table == "scores"]
    assert any(m.startswith("scores: stopped: its first 1,000 records") for m in said), said
    assert '"id":1' in error.replace(" ", "")  # an example record
    # the batch that tripped rolled back: what counts is what committed (two batches of 400)
    assert scores.records == 800 and scores.failed == 800 and rows(db, "scores") == 0
    assert len(list(read_quarantine(result.run_id, "scores"))) == scores.failed
    assert result.tables["others"].state == DONE and rows(db, "others") == 20
    assert result.exit_code == EXIT_PARTIAL
    assert "--resume" in (result.error or "")
    assert read_run(result.run_id)["resumable"] is True
    assert_balanced(result)


def test_failures_are_counted_before_the_batch_commits(db, db_dsn, tmp_path):
    db.execute(SCHEMA)
    folder = backup(tmp_path, [{"id": i, "v": i} for i in range(1, 301)])  # one batch
    seen: list = []
    result = run_restore(options(db_dsn, folder), tmp_path, seen.append)
    live = [e.stats for e in seen if isinstance(e, TableProgress) and e.stats.table == "scores"
            and e.stats.records == 0 and e.stats.failed + getattr(e.stats, "failing", 0) > 0]
    assert live, "no progress event showed a failure before the batch committed"
    assert result.tables["scores"].failed == 300  # under the streak: every record kept aside
    assert_balanced(result)


def test_max_errors_stops_a_table_with_good_records_too(db, db_dsn, tmp_path):
    db.execute(SCHEMA)
    folder = backup(tmp_path, [{"id": i, "v": -i if i % 2 else i} for i in range(1, 101)])
    result = run_restore(options(db_dsn, folder, batch_size=10, max_errors=10), tmp_path)
    scores = result.tables["scores"]
    assert scores.state == FAILED and "--max-errors 10" in (scores.error or "")
    assert scores.failed <= 10 and rows(db, "scores") == scores.loaded
    assert len(list(read_quarantine(result.run_id, "scores"))) == scores.failed
    assert_balanced(result)


def test_the_operator_may_go_on_or_stop_the_run(db, db_dsn, tmp_path):
    db.execute(SCHEMA)
    folder = backup(tmp_path, [{"id": i, "v": -i if i % 2 else i} for i in range(1, 101)])
    asked: list[ErrorRun] = []

    def go_on(run: ErrorRun) -> str:
        asked.append(run)
        return CONTINUE

    result = run_restore(options(db_dsn, folder, batch_size=10, max_errors=10), tmp_path,
                         on_errors=go_on)
    assert len(asked) == 1 and asked[0].table == "scores" and asked[0].sqlstate == "23514"
    scores = result.tables["scores"]
    assert (scores.loaded, scores.failed, rows(db, "scores")) == (50, 50, 50)
    assert len(list(read_quarantine(result.run_id, "scores"))) == 50
    assert result.exit_code == EXIT_PARTIAL

    db.execute("DROP TABLE scores; DROP TABLE others")
    db.execute(SCHEMA)
    stopped = run_restore(options(db_dsn, folder, batch_size=10, max_errors=10), tmp_path,
                          on_errors=lambda run: STOP)
    assert stopped.status == "cancelled"
    assert stopped.tables["scores"].records == rows(db, "scores") + stopped.tables["scores"].failed


def test_a_clean_table_is_never_stopped(db, db_dsn, tmp_path):
    db.execute(SCHEMA)
    folder = backup(tmp_path, [{"id": i, "v": -i} for i in range(1, 1501)])
    result = run_restore(options(db_dsn, folder, batch_size=100, max_errors=0), tmp_path)
    assert result.exit_code == EXIT_OK and rows(db, "scores") == 1500


def test_a_max_errors_above_the_records_keeps_every_failure_in_the_quarantine(db, db_dsn, tmp_path):
    """The operator's --max-errors replaces the default streak: all 3,000 go to quarantine."""
    db.execute(SCHEMA)
    folder = backup(tmp_path, [{"id": i, "v": i} for i in range(1, 3001)])  # CHECK v < 0
    result = run_restore(options(db_dsn, folder, batch_size=400, max_errors=5_000), tmp_path)
    scores = result.tables["scores"]
    assert (scores.state, scores.records, scores.failed) == ("partial", 3000, 3000), scores.error
    assert len(list(read_quarantine(result.run_id, "scores"))) == 3000
    assert_balanced(result)
