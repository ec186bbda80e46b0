"""The quarantine's disk fills up mid-run; a quarantine file ends in a torn line.

A full disk must stop the run cleanly (exit 3, the path and ENOSPC named, no traceback),
with the batch whose quarantine write failed not committed, so that once space is freed
`--resume` ends exactly as the source with each bad record quarantined once. Readers
(`failures`, a resume's quarantine trimming) read past a torn last line, as a kill -9 in
the middle of a write leaves it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import threading
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from katarestore_tui.engine import checkpoint
from katarestore_tui.engine.events import TableProgress
from katarestore_tui.engine.quarantine import (
    Failure,
    QuarantineWriter,
    quarantine_dir,
    read_entries,
    read_quarantine,
)
from katarestore_tui.engine.restore import EXIT_FATAL, EXIT_PARTIAL, run_restore
from katarestore_tui.history.runs import is_resumable, list_runs, read_run, write_run
from tests.helpers import options
from tests.reliability.support import (
    EXPECTED_ITEMS,
    ITEMS_ORDER,
    SCHEMA,
    assert_events_exact,
    assert_items_exact,
    cli_env,
    run_cli,
    table_digest,
    write_big_backup,
)

N = 20_000
BAD_EVERY = 20  # 1,000 bad items: ~300 KB of quarantine for a 64 KB disk
BAD = N // BAD_EVERY
N_EVENTS = 2_000


@pytest.fixture
def target(db: psycopg.Connection, db_dsn: str) -> str:
    db.execute(SCHEMA)
    db.execute("SET TimeZone = 'UTC'")
    return db_dsn


@pytest.fixture
def small_disk(tmp_path: Path, request) -> Path:
    """A 64 KB tmpfs (root only), unmounted at the end whatever happened."""
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    folder = tmp_path / "small"
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs",
                           str(folder)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    request.addfinalizer(lambda: subprocess.run(["umount", "-l", str(folder)], check=False))
    return folder


def assert_quarantine_exact(run_id: str) -> None:
    ids = Counter(e["record"]["id"] for e in read_quarantine(run_id, "items"))
    assert ids == Counter(range(BAD_EVERY, N + 1, BAD_EVERY)), "each bad record once, no other"


def test_full_quarantine_disk_stops_cleanly_and_resume_completes(small_disk, target, db, tmp_path):
    backup = write_big_backup(tmp_path / "backups", N, N_EVENTS, bad_every=BAD_EVERY)
    env = cli_env(KATARESTORE_DATA_DIR=str(small_disk))
    first = run_cli("restore", str(backup), "--dsn", target, "--batch-size", "500", "--yes",
                    "--json", env=env)
    assert first.returncode == EXIT_FATAL, (first.returncode, first.stderr)
    assert "Traceback" not in first.stderr, first.stderr
    assert "ENOSPC" in first.stderr, first.stderr
    assert str(small_disk) in first.stderr and "items.jsonl" in first.stderr, first.stderr

    # the run stays resumable, and what is on disk is whole
    runs = [json.loads(p.read_text()) for p in small_disk.glob("runs/*/run.json")]
    assert len(runs) == 1 and is_resumable(runs[0]), runs
    assert runs[0]["status"] == "failed" and "ENOSPC" in runs[0]["error"]
    run_id = runs[0]["run_id"]
    quarantine = small_disk / "runs" / run_id / "failed" / "items.jsonl"
    text = quarantine.read_text(encoding="utf-8")
    assert text.endswith("\n"), "no torn line left behind"
    assert all(json.loads(line) for line in text.splitlines())

    # the batch whose quarantine write failed did not commit: the table holds exactly the
    # valid records before the checkpoint, and a `failures` listing works
    done = db.execute(f"SELECT records_done FROM {checkpoint.TABLE} WHERE run_id = %s"
                      " AND table_name = 'items'", (run_id,)).fetchone()[0]
    assert 0 < done < N
    got = table_digest(db, "SELECT * FROM items", ITEMS_ORDER)
    assert got == table_digest(db, EXPECTED_ITEMS, ITEMS_ORDER, {"n": done, "bad": BAD_EVERY})
    listing = run_cli("failures", run_id, env=env)
    assert listing.returncode == 0, listing.stderr

    # space is freed: the resume finishes the job exactly
    subprocess.run(["mount", "-o", "remount,size=8m", str(small_disk)], check=True)
    again = run_cli("restore", "--resume", run_id, "--dsn", target, "--batch-size", "500",
                    "--yes", "--json", env=env)
    assert again.returncode == EXIT_PARTIAL, again.stderr
    summary = json.loads(again.stdout)
    items = summary["tables"]["items"]
    assert (items["records"], items["loaded"], items["duplicates"], items["failed"]) == (
        N, N - BAD, 0, BAD)
    assert_items_exact(db, N, BAD_EVERY)
    assert_events_exact(db, N_EVENTS)
    entries = [json.loads(line) for line in quarantine.read_text().splitlines()]
    assert Counter(e["record"]["id"] for e in entries) == Counter(
        range(BAD_EVERY, N + 1, BAD_EVERY)), "each bad record quarantined exactly once"


def test_torn_last_line_is_read_past_and_resume_completes(target, db, tmp_path):
    """kill -9 in the middle of a quarantine write: the file ends in half a line."""
    backup = write_big_backup(tmp_path / "backups", N, N_EVENTS, bad_every=BAD_EVERY)
    cancel = threading.Event()

    def sink(event):
        if isinstance(event, TableProgress) and event.stats.table == "items" \
                and event.stats.records >= 5_000:
            cancel.set()

    first = run_restore(options(target, backup, batch_size=500), backup.parent, sink, cancel)
    assert first.status == "cancelled", first.error
    path = quarantine_dir(first.run_id) / "items.jsonl"
    whole = path.read_text(encoding="utf-8")
    with open(path, "a", encoding="utf-8") as out:
        out.write('{"table": "items", "file": "items.json", "index": 99')  # torn
    assert list(read_entries(path)) == [json.loads(x) for x in whole.splitlines()]
    listing = run_cli("failures", first.run_id, "--json")
    assert listing.returncode == 0, listing.stderr

    again = run_restore(options(target, backup, batch_size=500, resume=first.run_id),
                        backup.parent)
    assert again.exit_code == EXIT_PARTIAL, again.error
    assert_items_exact(db, N, BAD_EVERY)
    assert_quarantine_exact(first.run_id)
    assert read_run(first.run_id)["status"] == "partial"
    assert list_runs()[0]["run_id"] == first.run_id


def test_writer_appending_after_a_torn_line_keeps_both_entries_whole(tmp_path):
    writer = QuarantineWriter("20240101-000000-abcd")
    writer.add("t", "t.json", 0, {"id": 1}, Failure("22P02", "bad"))
    writer.close()
    path = writer.path("t")
    with open(path, "a", encoding="utf-8") as out:
        out.write('{"table": "t", "ind')  # a write cut short
    writer = QuarantineWriter("20240101-000000-abcd")
    writer.add("t", "t.json", 1, {"id": 2}, Failure("22P02", "bad"))
    writer.close()
    assert [e["record"] for e in read_entries(path)] == [{"id": 1}, {"id": 2}]


def test_run_log_on_a_full_disk_is_written_in_place_or_left_whole(small_disk, monkeypatch):
    monkeypatch.setenv("KATARESTORE_DATA_DIR", str(small_disk))
    log = {"run_id": "20240101-000000-abcd", "status": "running", "note": "x" * 1000}
    path = write_run(log["run_id"], log)
    filler = small_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    with contextlib.suppress(OSError):
        while True:
            os.write(fd, b"\0" * 4096)
    os.close(fd)
    write_run(log["run_id"], {**log, "status": "failed"})  # fits in the old log's blocks
    assert json.loads(path.read_text())["status"] == "failed"
    with pytest.raises(OSError):
        write_run(log["run_id"], {**log, "status": "cancelled", "note": "y" * 20_000})
    assert json.loads(path.read_text())["status"] == "failed", "the old log is left whole"
    assert not path.with_name("run.json.tmp").exists()
