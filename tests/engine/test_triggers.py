"""User triggers: the run says whether they fire, the operator chooses, counts are true (#9.14).

A BEFORE INSERT trigger returning NULL drops a row: the table did not receive it, so it is
not "loaded"; it is quarantined (phase "trigger") and counted failed, which keeps
loaded + duplicates + failed == records honest. Set-based loading (superuser) silences
triggers unless --triggers on; row-by-row loading runs them; --triggers off without the
privilege to silence them is refused before anything is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from katarestore_tui.engine.options import RestoreOptions
from katarestore_tui.engine.quarantine import read_quarantine
from katarestore_tui.engine.restore import EXIT_FATAL, EXIT_OK, EXIT_PARTIAL, run_restore
from tests.helpers import assert_balanced, options, write_backup

SCHEMA = """
CREATE TABLE item (id int PRIMARY KEY, keep boolean, note text);
CREATE FUNCTION drop_unkept() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN IF NOT NEW.keep THEN RETURN NULL; END IF; RETURN NEW; END $$;
CREATE TRIGGER item_filter BEFORE INSERT ON item FOR EACH ROW EXECUTE FUNCTION drop_unkept();
INSERT INTO item VALUES (1, true, 'from before');
"""
# records 0 and 5 repeat id 1 (already there): duplicates, and the staged path is used
RECORDS = [{"id": 1, "keep": True, "note": "dup"}] + [
    {"id": i, "keep": i % 2 == 0, "note": f"r{i}"} for i in range(2, 10)
] + [{"id": 1, "keep": False, "note": "dup dropped"}]
KEPT = [(1, True, "from before")] + [(i, True, f"r{i}") for i in range(2, 10, 2)]
EVERYTHING = [(1, True, "from before")] + [(i, i % 2 == 0, f"r{i}") for i in range(2, 10)]
DROPPED = [i - 1 for i in range(3, 10, 2)]  # record indexes of the odd ids


@pytest.fixture
def owner_dsn(db_dsn: str, db: psycopg.Connection) -> Iterator[str]:
    role = f"kr_owner_{uuid.uuid4().hex[:8]}"
    db.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    db.execute(sql.SQL("GRANT ALL ON SCHEMA public TO {}").format(sql.Identifier(role)))
    params = conninfo_to_dict(db_dsn)
    params["user"] = role
    dsn = make_conninfo(**params)
    with psycopg.connect(dsn, autocommit=True) as owner:
        owner.execute(SCHEMA)
    yield dsn
    db.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
    db.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def rows(db: psycopg.Connection) -> list[tuple]:
    return db.execute("SELECT * FROM item ORDER BY id").fetchall()


@pytest.mark.parametrize("batch_size", [1, 4, 100])
@pytest.mark.parametrize("who,triggers", [("owner", "auto"), ("superuser", "on")])
def test_a_row_dropped_by_a_trigger_is_not_loaded(db, db_dsn, owner_dsn, tmp_path: Path, who,
                                                  triggers, batch_size):
    backup = write_backup(tmp_path, {"item.json": RECORDS})
    dsn = owner_dsn if who == "owner" else db_dsn
    chosen = {} if triggers == "auto" else {"triggers": triggers}  # auto: today's default
    result = run_restore(options(dsn, backup, batch_size=batch_size, **chosen), tmp_path)
    assert result.exit_code == EXIT_PARTIAL, result.error
    assert_balanced(result)
    assert rows(db) == KEPT
    stats = result.tables["item"]
    assert (stats.loaded, stats.duplicates, stats.failed) == (4, 2, 4)
    entries = list(read_quarantine(result.run_id, "item"))
    assert sorted(e["index"] for e in entries) == DROPPED
    assert all(e["phase"] == "trigger" and "trigger" in e["message"] for e in entries)
    assert [e["record"] for e in sorted(entries, key=lambda e: e["index"])] == [
        RECORDS[i] for i in DROPPED]
    assert result.summary()["triggers"] == "on"
    assert any("item" in w and "triggers" in w and "run" in w for w in result.warnings)


def test_set_based_mode_says_it_silences_triggers(db, db_dsn, owner_dsn, tmp_path: Path):
    backup = write_backup(tmp_path, {"item.json": RECORDS})
    result = run_restore(options(db_dsn, backup), tmp_path)
    assert result.exit_code == EXIT_OK, result.error
    assert result.fk_mode == "replica"
    assert rows(db) == EVERYTHING
    assert result.summary()["triggers"] == "off"
    assert any("item" in w and "triggers" in w and "not run" in w for w in result.warnings)


def test_triggers_off_without_the_privilege_is_refused(db, owner_dsn, tmp_path: Path):
    backup = write_backup(tmp_path, {"item.json": RECORDS})
    result = run_restore(options(owner_dsn, backup, triggers="off"), tmp_path)
    assert result.exit_code == EXIT_FATAL
    assert "--triggers off" in (result.error or "")
    assert rows(db) == [(1, True, "from before")]


def test_triggers_option_is_checked():
    assert RestoreOptions("b", "d", triggers="maybe").validate()
    assert RestoreOptions("b", "d", triggers="on", fk_mode="replica").validate()
    assert RestoreOptions("b", "d", triggers="off", fk_mode="immediate").validate()
    assert not RestoreOptions("b", "d", triggers="off").validate()


@pytest.mark.parametrize("batch_size", [1, 100])
def test_update_mode_counts_what_a_trigger_dropped(db, db_dsn, owner_dsn, tmp_path: Path,
                                                   batch_size):
    backup = write_backup(tmp_path, {"item.json": RECORDS})
    result = run_restore(options(owner_dsn, backup, batch_size=batch_size, on_conflict="update"),
                         tmp_path)
    assert result.exit_code == EXIT_PARTIAL, result.error
    assert_balanced(result)
    # record 0 updates row 1; record 10 (id 1, keep false) never reaches its update
    assert rows(db) == [(1, True, "dup"), *KEPT[1:]]
    stats = result.tables["item"]
    assert (stats.loaded, stats.duplicates, stats.failed) == (4, 1, 5)
    entries = list(read_quarantine(result.run_id, "item"))
    assert sorted(e["index"] for e in entries) == [*DROPPED, 9]
    assert all(e["phase"] == "trigger" for e in entries)


def test_cli_triggers_flag(db, db_dsn, owner_dsn, tmp_path: Path, capsys):
    import json

    from katarestore_tui.cli import main

    root = tmp_path / "kata_json"
    write_backup(root, {"item.json": RECORDS})
    base = ["restore", "--dsn", db_dsn, "--backup-root", str(root), "--no-parser-process"]
    assert main([*base, "--dry-run"]) == 0
    assert "item have triggers of their own" in capsys.readouterr().out
    assert main([*base, "--triggers", "on", "--json"]) == EXIT_PARTIAL
    summary = json.loads(capsys.readouterr().out)
    assert summary["triggers"] == "on" and summary["fk_mode"] == "immediate"
    assert summary["tables"]["item"]["failed"] == len(DROPPED)
    assert rows(db) == KEPT
