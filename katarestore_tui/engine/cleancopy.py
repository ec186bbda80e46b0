"""The copy `--clean` keeps of what it removes, so that a clean is not a one-way door.

Written inside the clean's own transaction, after its ACCESS EXCLUSIVE locks and before
the TRUNCATE, so the copy holds exactly the rows the TRUNCATE removes. It is a backup
folder in the Node layout (`engine.export`), so `katarestore restore <folder> --clean`
puts the tables back. Any failure to write it (a full disk) raises before anything is
emptied, and the transaction rolls back.
"""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import humanize
import psycopg
import psycopg.sql

from katarestore_tui.backup.writer import BackupFolderWriter, new_folder_name
from katarestore_tui.db.schema import Schema
from katarestore_tui.engine.export import estimates, export_tables
from katarestore_tui.errors import FatalError
from katarestore_tui.locations import data_dir
from katarestore_tui.words import plural


def copies_root(snapshot_dir: str | None) -> Path:
    """`--snapshot-dir`, else `<data dir>/clean-copies` (itself a backup root)."""
    return Path(snapshot_dir) if snapshot_dir else data_dir() / "clean-copies"


@dataclass(frozen=True)
class CleanCopyPlan:
    """What the plan and the confirmation say about the copy, before anything is written."""

    enabled: bool
    root: str
    rows: int  # the rows the tables hold now (catalog estimate, counted when never analyzed)
    bytes: int  # their size on disk (pg_table_size); the JSON is usually larger
    free: int | None  # free space where the copy goes, when it can be read

    def describe(self) -> str:
        what = f"{plural(self.rows, 'row')}, {humanize.naturalsize(self.bytes)} on disk"
        if not self.enabled:
            return f"--no-snapshot: NO copy is kept of what --clean removes ({what})"
        text = f"before emptying, a copy of what --clean removes ({what}) is written under {self.root}"
        if self.free is not None and self.free < self.bytes:
            text += (f"; only {humanize.naturalsize(self.free)} is free there: the run would stop "
                     "before emptying anything (use --snapshot-dir)")
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "root": self.root, "rows": self.rows, "bytes": self.bytes,
                "free": self.free}


def plan_clean_copy(conn: psycopg.Connection, schema: str, tables: list[str], enabled: bool,
                    snapshot_dir: str | None, counted: dict[str, int] | None = None
                    ) -> CleanCopyPlan:
    """`counted`: tables whose rows the plan counted exactly (the statistics' estimate can be
    off by a few rows, and the confirmation should say what will be copied)."""
    counts = estimates(conn, schema, tables)
    rows = 0
    for name in tables:
        estimate, _size = counts.get(name, (0, 0))
        if counted and name in counted:
            estimate = counted[name]
        elif estimate <= 0:  # never analyzed (reltuples -1), or empty: count to be sure
            row = conn.execute(psycopg.sql.SQL("SELECT count(*) FROM {}").format(
                psycopg.sql.Identifier(schema, name))).fetchone()
            estimate = row[0] if row else 0
        rows += estimate
    root = copies_root(snapshot_dir)
    return CleanCopyPlan(enabled, str(root), rows, sum(s for _r, s in counts.values()),
                         _free_space(root))


def _free_space(root: Path) -> int | None:
    probe = root
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return shutil.disk_usage(probe).free
    except OSError:
        return None


@dataclass(frozen=True)
class CleanCopy:
    folder: Path
    rows: int
    bytes: int
    seconds: float

    def describe(self) -> str:
        return (f"copy of {plural(self.rows, 'row')} ({humanize.naturalsize(self.bytes)}) kept in "
                f"{self.folder}; undo with: katarestore restore {self.folder} --clean")


def snapshot_before_clean(conn: psycopg.Connection, schema: Schema, tables: list[str],
                          snapshot_dir: str | None, run_id: str,
                          cancel: threading.Event | None = None) -> CleanCopy:
    """Write `tables` as they are now (on `conn`'s transaction, which holds their locks).

    Raises FatalError, having removed the half-written folder, when the copy cannot be
    written: the caller's transaction then rolls back and nothing is emptied.
    """
    began = time.monotonic()
    # the TRUNCATE's own lock, taken first: nobody writes these tables between copy and clean
    conn.execute(psycopg.sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
        psycopg.sql.SQL(", ").join(psycopg.sql.Identifier(schema.name, t) for t in tables)))
    root = copies_root(snapshot_dir)
    try:
        folder = BackupFolderWriter(root, f"{new_folder_name()}_clean_{run_id}")
    except OSError as exc:
        raise _not_written(root, exc) from None
    try:
        written = export_tables(conn, schema, tables, folder, cancel=cancel)
        path = folder.finish()
    except OSError as exc:
        folder.abort()
        raise _not_written(root, exc) from None
    except BaseException:
        folder.abort()
        raise
    return CleanCopy(path, sum(t["records"] for t in written.values()),
                     sum(t["bytes"] for t in written.values()), time.monotonic() - began)


def _not_written(root: Path, exc: OSError) -> FatalError:
    return FatalError(
        f"the copy of what --clean removes could not be written under {root} "
        f"({exc.strerror or exc}): nothing was emptied. Free some space or choose another "
        "place with --snapshot-dir (or --no-snapshot to clean without a copy)")
