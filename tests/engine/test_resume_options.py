"""One resume path: the CLI's `--resume` and the TUI's Resume continue a run the same way.

A stopped run's log is written by hand (cancelled before any table committed, so its
checkpoint holds nothing); each face resumes it, and the options each resume ran with
(written into the run log by the engine) are compared with the stopped run's own.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from katarestore_tui.cli.main import main
from katarestore_tui.engine import RestoreOptions, resume_options, run_restore
from katarestore_tui.engine.resume import INHERITED_OPTIONS
from katarestore_tui.history.runlog import RunLog
from katarestore_tui.history.runs import reserve_run_id
from katarestore_tui.redact import redact_dsn
from tests.helpers import write_backup

# A run started with every run option away from its default.
STARTED_WITH = {"schema": "public", "batch_size": 7, "jobs": 2, "on_conflict": "update",
                "tables": ["authors", "books"], "exclude": [], "single_transaction": False,
                "fk_mode": "immediate", "triggers": "on", "max_errors": 50, "snapshot": False,
                "snapshot_dir": "/srv/katarestore/copies"}


@pytest.fixture
def stopped_run(tmp_path: Path, db: psycopg.Connection, db_dsn: str) -> RunLog:
    db.execute("CREATE TABLE authors (id int PRIMARY KEY, name text)")
    db.execute("CREATE TABLE books (id int PRIMARY KEY, author_id int REFERENCES authors)")
    db.execute("CREATE TABLE notes (id int PRIMARY KEY)")
    folder = write_backup(tmp_path / "backups", {
        "authors.json": [{"id": i, "name": f"a{i}"} for i in range(20)],
        "books.json": [{"id": i, "author_id": i % 20} for i in range(30)],
        "notes.json": [{"id": 1}],  # not in the run's --tables: a resume must leave it out
    })
    options = RestoreOptions(backup=str(folder.resolve()), dsn=db_dsn, **STARTED_WITH)
    log = RunLog(reserve_run_id(), status="cancelled", backup=str(folder.resolve()),
                 target=redact_dsn(db_dsn), options=options.redacted(), fk_mode="immediate")
    log.save()
    return log


def ran_with(run_id: str) -> dict:
    return {name: RunLog.load(run_id).options[name] for name in INHERITED_OPTIONS}


def test_the_cli_resume_continues_with_every_run_option_of_the_log(stopped_run, db_dsn, db):
    code = main(["restore", "--resume", stopped_run.run_id, "--dsn", db_dsn, "--yes",
                 "--backup-root", str(Path(stopped_run.backup).parent)])
    assert code == 0
    assert ran_with(stopped_run.run_id) == STARTED_WITH  # batch size included
    assert db.execute("SELECT count(*) FROM books").fetchone()[0] == 30
    assert db.execute("SELECT count(*) FROM notes").fetchone()[0] == 0


def test_the_tui_resume_builds_the_same_options_as_the_cli(stopped_run, db_dsn, db):
    # what HistoryScreen.action_resume runs: nothing given anew
    options = resume_options(stopped_run, RestoreOptions(backup="", dsn=db_dsn))
    result = run_restore(options, Path(stopped_run.backup).parent)
    assert result.exit_code == 0, result.error
    assert ran_with(stopped_run.run_id) == STARTED_WITH
    assert db.execute("SELECT count(*) FROM notes").fetchone()[0] == 0


def test_an_option_given_anew_wins_and_a_run_defining_one_is_refused(stopped_run, db_dsn):
    asked = RestoreOptions(backup="", dsn=db_dsn, batch_size=3, on_conflict="error")
    options = resume_options(stopped_run, asked)
    assert options.batch_size == 3  # speed only: taken as given
    assert options.on_conflict == "error"  # kept, so the engine refuses it with a reason
    assert options.jobs == 2 and options.tables == ["authors", "books"]
    result = run_restore(options, Path(stopped_run.backup).parent)
    assert result.exit_code == 2
    assert "on_conflict='update'" in (result.error or "")


def test_a_schema_named_explicitly_is_not_taken_from_the_log(stopped_run, db_dsn):
    asked = RestoreOptions(backup="", dsn=db_dsn, schema="public")
    log = RunLog.from_dict({**stopped_run.to_dict(),
                            "options": {**stopped_run.options, "schema": "elsewhere"}})
    assert resume_options(log, asked).schema == "elsewhere"  # "public" is the default
    assert resume_options(log, asked, given=("schema",)).schema == "public"
