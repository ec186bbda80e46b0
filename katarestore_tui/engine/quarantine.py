"""Failed records, kept whole with the database's error, one JSONL file per table.

Files are created 0600 inside a 0700 run folder: they hold production data.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO

import psycopg

from katarestore_tui.jsontext import dumps_exact
from katarestore_tui.locations import make_private_dir, run_dir


@dataclass
class Failure:
    """Why one record did not load."""

    sqlstate: str | None  # None: refused by katarestore before it reached the server
    message: str
    detail: str | None = None
    column: str | None = None
    phase: str = "load"  # load | fk-check | reader

    @classmethod
    def of(cls, exc: psycopg.Error) -> Failure:
        diag = exc.diag
        return cls(
            sqlstate=exc.sqlstate,
            message=(diag.message_primary or str(exc)).strip(),
            detail=diag.message_detail,
            column=diag.column_name,
        )


def quarantine_dir(run_id: str) -> Path:
    return run_dir(run_id) / "failed"


class QuarantineWriter:
    """Appends failed records to `failed/<table>.jsonl`; safe to share between threads."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.folder = quarantine_dir(run_id)
        self._files: dict[str, IO[str]] = {}
        self._lock = threading.Lock()

    def path(self, table: str) -> Path:
        return self.folder / f"{_safe_file_name(table)}.jsonl"

    def add(self, table: str, file: str, index: int | None, record: object, failure: Failure) -> None:
        entry = {
            "table": table,
            "file": file,
            "index": index,
            "sqlstate": failure.sqlstate,
            "message": failure.message,
            "detail": failure.detail,
            "column": failure.column,
            "phase": failure.phase,
            "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "record": record,
        }
        line = dumps_exact(entry) + "\n"
        with self._lock:
            handle = self._files.get(table)
            if handle is None:
                make_private_dir(self.folder)
                handle = _open_private(self.path(table))
                self._files[table] = handle
            handle.write(line)
            handle.flush()

    def close(self) -> None:
        with self._lock:
            for handle in self._files.values():
                handle.close()
            self._files.clear()

    def replace(self, table: str, entries: list[dict]) -> None:
        """Rewrite the table's quarantine with exactly these entries (after a retry)."""
        with self._lock:
            handle = self._files.pop(table, None)
            if handle:
                handle.close()
            make_private_dir(self.folder)
            with _open_private(self.path(table), "w") as out:
                out.writelines(dumps_exact(e) + "\n" for e in entries)

    def forget(self, table: str, keep: Callable[[dict], bool]) -> int:
        """Drop entries of `table` for which keep(entry) is false; returns how many went."""
        with self._lock:
            handle = self._files.pop(table, None)
            if handle:
                handle.close()
            path = self.path(table)
            if not path.exists():
                return 0
            kept, dropped = [], 0
            for entry in read_entries(path):
                if keep(entry):
                    kept.append(dumps_exact(entry) + "\n")
                else:
                    dropped += 1
            with _open_private(path, "w") as out:
                out.writelines(kept)
            return dropped


def _open_private(path: Path, mode: str = "a") -> IO[str]:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode == "a" else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    os.chmod(path, 0o600)
    return os.fdopen(fd, mode, encoding="utf-8")


def _safe_file_name(table: str) -> str:
    """Table names may hold any character; keep the file name tame and recognisable."""
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in table) or "_"


def read_entries(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line, parse_float=Decimal)


def read_quarantine(run_id: str, table: str | None = None) -> Iterator[dict]:
    """Every quarantined record of a run (of one table when given), in file order."""
    folder = quarantine_dir(run_id)
    if not folder.exists():
        return
    for path in sorted(folder.glob("*.jsonl")):
        for entry in read_entries(path):
            if table is None or entry.get("table") == table:
                yield entry
