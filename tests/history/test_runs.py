"""Run logs on disk: one folder per run, written whole or not at all, readable only by the owner."""

from __future__ import annotations

import json
import stat

import pytest

from katarestore_tui.history.runs import (
    RunNotFound,
    is_resumable,
    list_runs,
    read_run,
    reserve_run_id,
    write_run,
)
from katarestore_tui.locations import run_dir, runs_dir


def test_reserved_run_ids_never_share_a_folder_even_in_the_same_second():
    ids = [reserve_run_id() for _ in range(200)]
    assert len(set(ids)) == len(ids)
    for run_id in ids:
        folder = run_dir(run_id)
        assert folder.is_dir()
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_a_run_log_is_written_owner_only_and_read_back_as_written():
    run_id = reserve_run_id()
    data = {"run_id": run_id, "status": "running", "tables": {"users": {"records": 3}}}
    path = write_run(run_id, data)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_run(run_id) == data
    assert not (path.parent / "run.json.tmp").exists()


def test_a_failed_write_leaves_the_previous_log_whole():
    run_id = reserve_run_id()
    write_run(run_id, {"run_id": run_id, "status": "running"})

    # json.dump raises half-way through (a tuple key), as a full disk would: the old file stays
    with pytest.raises(TypeError):
        write_run(run_id, {"run_id": run_id, "status": "completed", "tables": {("a", "b"): 1}})
    assert read_run(run_id)["status"] == "running"


def test_an_unknown_run_is_refused_with_where_it_was_looked_for():
    with pytest.raises(RunNotFound, match="katarestore history") as caught:
        read_run("20990101-000000-dead")
    assert str(runs_dir()) in str(caught.value)


def test_list_runs_is_newest_first_and_skips_a_damaged_log():
    ids = []
    for status in ("completed", "partial", "cancelled"):
        run_id = reserve_run_id()
        write_run(run_id, {"run_id": run_id, "status": status})
        ids.append(run_id)
    damaged = reserve_run_id()
    (run_dir(damaged) / "run.json").write_text('{"run_id": "cut sh', encoding="utf-8")
    listed = [run["run_id"] for run in list_runs()]
    assert listed == sorted(ids, reverse=True)
    assert [run["run_id"] for run in list_runs(limit=2)] == sorted(ids, reverse=True)[:2]
    json.loads((run_dir(ids[0]) / "run.json").read_text())  # the others stay readable


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        ({"status": "running"}, True),
        ({"status": "cancelled"}, True),
        ({"status": "failed"}, True),
        ({"status": "completed"}, False),
        ({"status": "partial"}, False),
        ({"status": "cancelled", "options": {"dry_run": True}}, False),
    ],
)
def test_which_runs_can_be_resumed(run, expected):
    assert is_resumable(run) is expected
