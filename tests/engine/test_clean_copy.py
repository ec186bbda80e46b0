"""`--clean` keeps a copy of what it removes, and that copy puts the tables back exactly."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from katarestore_tui.backup import writer
from katarestore_tui.backup.catalog import find_backups
from katarestore_tui.cli.main import main
from katarestore_tui.demo import TABLES, create_demo_schema, write_demo_backup
from katarestore_tui.engine.restore import EXIT_FATAL, EXIT_OK, EXIT_PARTIAL, run_restore
from katarestore_tui.history.runs import read_run
from tests.helpers import options
from tests.small_disk import small_disk  # noqa: F401 (a fixture)


def checksums(conn: psycopg.Connection) -> dict[str, tuple[int, str]]:
    """count and md5 of each demo table's rows, ordered by key: the plain oracle."""
    conn.execute("SET TimeZone = 'UTC'")
    return {t: conn.execute(sql.SQL(
        "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t.id), '')) FROM {} t"
    ).format(sql.Identifier(t))).fetchone() for t in TABLES}


@pytest.fixture
def started(db: psycopg.Connection, db_dsn: str, tmp_path: Path) -> dict[str, tuple[int, str]]:
    """The demo schema holding one backup's rows (some quarantined): the state to get back."""
    create_demo_schema(db)
    demo = write_demo_backup(tmp_path / "first", rows=1200, bad_records=True, seed=7)
    assert run_restore(options(db_dsn, demo.path), tmp_path).exit_code == EXIT_PARTIAL
    return checksums(db)


def other_backup(tmp_path: Path) -> Path:
    return write_demo_backup(tmp_path / "second", rows=700, bad_records=False, seed=11).path


def test_clean_then_undo_gives_back_every_row(db: psycopg.Connection, db_dsn: str, tmp_path: Path,
                                             started, capsys):
    copies = tmp_path / "copies"
    result = run_restore(options(db_dsn, other_backup(tmp_path), clean=True,
                                 snapshot_dir=str(copies)), tmp_path)
    assert result.exit_code == EXIT_OK, result.error
    assert checksums(db) != started  # the clean and the load changed every table
    folder = Path(read_run(result.run_id)["clean_copy"])  # recorded in the run log
    assert folder.parent == copies and [b.path for b in find_backups(copies)] == [folder]
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{t}.json" for t in TABLES)
    assert main(["history", result.run_id]) == 0
    assert f"clean copy: {folder} (undo: katarestore restore {folder} --clean)" in capsys.readouterr().out

    # the undo, as the operator types it (it keeps a copy of its own clean, too)
    code = main(["restore", str(folder), "--dsn", db_dsn, "--clean", "--yes",
                 "--snapshot-dir", str(copies), "--no-parser-process"])
    assert code == EXIT_OK, capsys.readouterr().err
    assert checksums(db) == started
    err = capsys.readouterr().err
    assert "before emptying, a copy of what --clean removes (" in err
    assert f"undo with: katarestore restore {copies}/" in err
    assert len(find_backups(copies)) == 2


def test_a_full_disk_stops_the_run_before_anything_is_emptied(db: psycopg.Connection, db_dsn: str,
                                                              tmp_path: Path, started,
                                                              small_disk: Path,  # noqa: F811
                                                              monkeypatch):
    backup = other_backup(tmp_path)
    result = run_restore(options(db_dsn, backup, clean=True, snapshot_dir=str(small_disk)),
                         tmp_path)
    assert result.exit_code == EXIT_FATAL
    assert "could not be written" in result.error and "nothing was emptied" in result.error
    assert checksums(db) == started  # not one row removed, not one loaded
    assert list(small_disk.iterdir()) == []  # the half-written copy is gone
    assert read_run(result.run_id)["clean"] == "pending"  # a resume would clean (and copy) first

    # with room again, the resume cleans first, keeping its copy, and that copy undoes it
    monkeypatch.setattr(writer, "LIMIT_BYTES", None)  # the injected one, if no tmpfs was mounted
    roomy = tmp_path / "roomy"
    resumed = run_restore(options(db_dsn, backup, clean=True, resume=result.run_id,
                                  snapshot_dir=str(roomy)), tmp_path)
    assert resumed.exit_code == EXIT_OK, resumed.error
    folder = Path(read_run(result.run_id)["clean_copy"])
    assert folder.parent == roomy
    undo = run_restore(options(db_dsn, folder, clean=True, snapshot_dir=str(roomy)), tmp_path)
    assert undo.exit_code == EXIT_OK, undo.error
    assert checksums(db) == started


def test_no_snapshot_keeps_no_copy_and_the_cli_says_so(db: psycopg.Connection, db_dsn: str,
                                                      tmp_path: Path, started, capsys):
    backup = other_backup(tmp_path)
    copies = tmp_path / "copies"
    # not interactive and no --yes: refused, naming what is at stake
    code = main(["restore", str(backup), "--dsn", db_dsn, "--clean", "--no-snapshot",
                 "--snapshot-dir", str(copies)])
    assert code == 2
    assert "--no-snapshot: NO copy is kept of what --clean removes (" in capsys.readouterr().err
    assert checksums(db) == started
    result = run_restore(options(db_dsn, backup, clean=True, snapshot=False,
                                 snapshot_dir=str(copies)), tmp_path)
    assert result.exit_code == EXIT_OK, result.error
    assert read_run(result.run_id).get("clean_copy") is None
    assert not copies.exists()


def test_the_plan_gives_the_size_of_the_copy(db: psycopg.Connection, db_dsn: str, tmp_path: Path,
                                             started, capsys):
    code = main(["restore", str(other_backup(tmp_path)), "--dsn", db_dsn, "--clean", "--dry-run",
                 "--snapshot-dir", str(tmp_path / "copies")])
    assert code == 0
    out = capsys.readouterr().out
    rows = sum(count for count, _md5 in started.values())
    assert f"clean: before emptying, a copy of what --clean removes ({rows:,} rows, " in out
    assert str(tmp_path / "copies") in out
    assert checksums(db) == started
