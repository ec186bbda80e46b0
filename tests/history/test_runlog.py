"""The typed run log: logs of 0.1.0 and 0.2.0 (unversioned dicts) read without loss."""

from __future__ import annotations

import copy
import json

import pytest

from katarestore_tui.history.runlog import (
    RUN_LOG_VERSION,
    FileMark,
    NewerRunLog,
    RunLog,
    TableLog,
    list_run_logs,
)
from katarestore_tui.history.runs import is_resumable, read_run, write_run

# What katarestore 0.1.0 (bb508a2, engine/restore.py `_write_log`) wrote, plus a retry.
LOG_0_1_0 = {
    "run_id": "20241201-103512-a1b2",
    "kind": "restore",
    "status": "partial",
    "exit_code": 1,
    "backup": "/srv/kata_json/20241201_103000",
    "target": "postgresql://app:****@db/kata",
    "options": {"backup": "/srv/kata_json/20241201_103000", "dsn": "postgresql://app:****@db/kata",
                "schema": "public", "batch_size": 5000, "jobs": 2, "on_conflict": "skip",
                "clean": False, "tables": [], "exclude": [], "single_transaction": False,
                "dry_run": False, "resume": None, "parser_process": True, "fk_mode": "auto"},
    "started_at": "2024-12-01T10:35:12+0000",
    "finished_at": "2024-12-01T10:35:33+0000",
    "seconds": 20.6,
    "fk_mode": "replica",
    "tables": {
        "users": {"file": "users.json", "bytes": 1200, "records": 10, "loaded": 9,
                  "duplicates": 0, "failed": 1, "seconds": 0.5, "state": "partial",
                  "error": None},
    },
    "files": {"users.json": {"bytes": 1200, "mtime_ns": 1733049300000000000}},
    "totals": {"records": 10, "loaded": 9, "duplicates": 0, "failed": 1},
    "warnings": ["users: key 'legacy' has no column; ignored"],
    "error": None,
    "quarantine": "/home/op/.local/share/katarestore/runs/20241201-103512-a1b2/failed",
    "retries": [{"users": {"retried": 1, "loaded": 0, "duplicates": 0, "still_failed": 1}}],
}

# What 0.2.0 (main before the typed log) wrote: triggers, checkpoint, clean state, a retry mark.
LOG_0_2_0 = {
    **copy.deepcopy(LOG_0_1_0),
    "run_id": "20261130-090000-c3d4",
    "status": "cancelled",
    "exit_code": 3,
    "triggers": "off",
    "checkpoint_marked": True,
    "resumable": False,
    "clean": "done",
    "error": "cancelled; continue with: katarestore restore --resume 20261130-090000-c3d4",
}
LOG_0_2_0["options"] = {**LOG_0_1_0["options"], "clean": True, "triggers": "auto"}
LOG_0_2_0["tables"]["users"]["retry_applied"] = "attempt 1"


@pytest.mark.parametrize("old", [LOG_0_1_0, LOG_0_2_0], ids=["0.1.0", "0.2.0"])
def test_an_old_log_is_read_typed_and_written_back_without_losing_a_key(old):
    log = RunLog.from_dict(old)
    assert log.version == RUN_LOG_VERSION
    assert log.run_id == old["run_id"] and log.status == old["status"]
    assert log.options["batch_size"] == 5000
    assert log.tables["users"] == TableLog.from_dict(old["tables"]["users"])
    assert log.tables["users"].failed == 1 and log.tables["users"].state == "partial"
    assert log.files == {"users.json": FileMark(1200, 1733049300000000000)}
    assert log.failed == 1
    assert log.extra == {}  # every key of the old format has its own field
    again = log.to_dict()
    for key, value in old.items():  # nothing the old log held is lost or changed
        assert again[key] == value, key
    assert again["version"] == RUN_LOG_VERSION


def test_keys_a_log_does_not_know_are_kept_through_a_save(tmp_path):
    data = {**copy.deepcopy(LOG_0_2_0), "note_from_a_newer_tool": {"x": 1}}
    data["tables"]["users"]["hint"] = "kept"
    log = RunLog.from_dict(data)
    assert log.extra == {"note_from_a_newer_tool": {"x": 1}}
    assert log.tables["users"].extra == {"hint": "kept"}
    log.save()
    on_disk = read_run(log.run_id)
    assert on_disk["note_from_a_newer_tool"] == {"x": 1}
    assert on_disk["tables"]["users"]["hint"] == "kept"
    assert RunLog.load(log.run_id) == log


def test_the_0_1_0_log_reads_with_the_defaults_the_engine_relied_on():
    log = RunLog.from_dict(LOG_0_1_0)
    assert log.clean is None  # older than the clean state: a resume treats it as done
    assert log.checkpoint_marked is False  # no checkpoint row to demand on resume
    assert log.triggers == "" and log.resumable is False
    assert log.is_resumable() is False  # partial: nothing to resume
    assert RunLog.from_dict(LOG_0_2_0).is_resumable() is True  # cancelled


def test_a_log_of_a_newer_version_is_refused_not_misread():
    with pytest.raises(NewerRunLog, match="upgrade"):
        RunLog.from_dict({**LOG_0_2_0, "version": RUN_LOG_VERSION + 1})


def test_the_listing_skips_newer_and_damaged_logs_and_is_typed():
    write_run("20990101-000000-0001", LOG_0_1_0 | {"run_id": "20990101-000000-0001"})
    write_run("20990101-000000-0002", LOG_0_2_0 | {"run_id": "20990101-000000-0002",
                                                   "version": RUN_LOG_VERSION + 5})
    write_run("20990101-000000-0003", {**LOG_0_2_0, "run_id": "20990101-000000-0003",
                                       "tables": "not a mapping"})
    listed = list_run_logs()
    assert [log.run_id for log in listed] == ["20990101-000000-0001"]
    assert isinstance(listed[0], RunLog)


def test_the_dict_helper_and_the_typed_log_agree_on_resumable():
    for status in ("running", "cancelled", "failed", "completed", "partial"):
        data = {**LOG_0_2_0, "status": status}
        assert is_resumable(data) == RunLog.from_dict(data).is_resumable()
    dry = {**LOG_0_2_0, "options": {**LOG_0_2_0["options"], "dry_run": True}}
    assert not RunLog.from_dict(dry).is_resumable()
    finished_with_stopped_table = {**LOG_0_2_0, "status": "partial", "resumable": True}
    assert RunLog.from_dict(finished_with_stopped_table).is_resumable()


def test_a_new_log_is_json_with_its_version():
    log = RunLog("20990101-000000-0004", status="completed", bench_id="bench-1", kind="bench")
    text = json.dumps(log.to_dict())
    assert json.loads(text)["version"] == RUN_LOG_VERSION
    assert RunLog.from_dict(json.loads(text)) == log
