"""Run logs on disk: `runs/<run_id>/run.json`, written atomically, owner-only."""

from __future__ import annotations

import errno
import json
import os
import secrets
import time
from pathlib import Path

from katarestore_tui.locations import make_private_dir, run_dir, runs_dir

RESUMABLE_STATUSES = ("running", "cancelled", "failed")


def new_run_id() -> str:
    """Sortable by time, unique enough for one operator: `20261125-193012-3fa9`."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def write_run(run_id: str, data: dict) -> Path:
    folder = make_private_dir(run_dir(run_id))
    path = folder / "run.json"
    tmp = folder / "run.json.tmp"
    text = json.dumps(data, indent=2, default=str).encode("utf-8")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno != errno.ENOSPC or not path.exists():
            raise
        if len(text) > os.stat(path).st_blocks * 512:  # it would need new blocks: keep the old
            raise
        _overwrite_in_place(path, text)
    return path


def _overwrite_in_place(path: Path, text: bytes) -> None:
    """A full disk has no room for a second copy: write over the old log's own blocks
    (overwritten, not truncated first, so they stay allocated), then cut it to length."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, text, 0)
        os.ftruncate(fd, len(text))
    finally:
        os.close(fd)


def reserve_run_id() -> str:
    """A new run id whose folder this call created: two runs never share a folder (and so
    never mix their quarantines), even when started in the same second."""
    parent = runs_dir()
    parent.mkdir(parents=True, exist_ok=True)
    while True:
        run_id = new_run_id()
        try:
            (parent / run_id).mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(parent / run_id, 0o700)
        return run_id


class RunNotFound(Exception):
    pass


def read_run(run_id: str) -> dict:
    path = run_dir(run_id) / "run.json"
    if not path.exists():
        raise RunNotFound(f"no run {run_id!r} under {runs_dir()} (see `katarestore history`)")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def list_runs(limit: int | None = None) -> list[dict]:
    """Run logs, newest first; unreadable ones are skipped."""
    folder = runs_dir()
    if not folder.exists():
        return []
    runs = []
    for path in sorted(folder.glob("*/run.json"), reverse=True):
        try:
            with open(path, encoding="utf-8") as handle:
                runs.append(json.load(handle))
        except (OSError, ValueError):
            continue
        if limit and len(runs) >= limit:
            break
    return runs


def is_resumable(run: dict) -> bool:
    """A run stopped part-way, or one that finished with tables a table error stopped;
    never one a process is loading right now (`live`, see history/live.py)."""
    if run.get("live"):
        return False
    stopped = run.get("status") in RESUMABLE_STATUSES or bool(run.get("resumable"))
    return stopped and not run.get("options", {}).get("dry_run")
