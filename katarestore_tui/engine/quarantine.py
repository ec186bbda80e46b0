"""Failed records, kept whole with the database's error, one JSONL file per table.

Files are created 0600 inside a 0700 run folder: they hold production data.
A record's line is written (and, before its batch commits, fsynced) before the batch that
counts it as failed commits. A write that fails (a full disk) is cut back to the last
whole line and stops the run; readers skip a torn last line (a kill in mid-write).
"""

from __future__ import annotations

import errno
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import psycopg

from katarestore_tui.errors import FatalError
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


class QuarantineWriteError(FatalError):
    """The quarantine could not be written (a full disk): the run stops, resumable."""


def write_error(path: Path, exc: OSError) -> QuarantineWriteError:
    code = errno.errorcode.get(exc.errno or 0, "error")
    reason = exc.strerror or str(exc)
    return QuarantineWriteError(
        f"cannot write the quarantine file {path}: {reason} ({code}). The batch it belongs "
        "to was not committed; free space there (or point KATARESTORE_DATA_DIR elsewhere) "
        "and resume"
    )


class QuarantineWriter:
    """Appends failed records to `failed/<table>.jsonl`; safe to share between threads."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.folder = quarantine_dir(run_id)
        self._files: dict[str, int] = {}  # raw descriptors: nothing half-written in a buffer
        self._unsynced: set[str] = set()
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
        data = (dumps_exact(entry) + "\n").encode("utf-8")
        with self._lock:
            path = self.path(table)
            try:
                fd = self._files.get(table)
                if fd is None:
                    make_private_dir(self.folder)
                    fd = _open_append(path)
                    self._files[table] = fd
                _append_line(fd, data)
            except OSError as exc:
                raise write_error(path, exc) from None
            self._unsynced.add(table)

    def sync(self, table: str) -> None:
        """fsync the table's new lines: called before the batch that counts them commits."""
        with self._lock:
            if table not in self._unsynced:
                return
            try:
                os.fsync(self._files[table])
            except OSError as exc:
                raise write_error(self.path(table), exc) from None
            self._unsynced.discard(table)

    def close(self) -> None:
        with self._lock:
            for fd in self._files.values():
                os.close(fd)
            self._files.clear()
            self._unsynced.clear()

    def _drop(self, table: str) -> None:
        fd = self._files.pop(table, None)
        if fd is not None:
            os.close(fd)
        self._unsynced.discard(table)

    def replace(self, table: str, entries: list[dict[str, Any]]) -> None:
        """Rewrite the table's quarantine with exactly these entries (after a retry)."""
        with self._lock:
            self._drop(table)
            make_private_dir(self.folder)
            _rewrite(self.path(table), (dumps_exact(e) + "\n" for e in entries))

    def forget(self, table: str, keep: Callable[[dict[str, Any]], bool]) -> int:
        """Drop entries of `table` for which keep(entry) is false; returns how many went."""
        with self._lock:
            self._drop(table)
            path = self.path(table)
            if not path.exists():
                return 0
            kept, dropped = [], 0
            for entry in read_entries(path):
                if keep(entry):
                    kept.append(dumps_exact(entry) + "\n")
                else:
                    dropped += 1
            _rewrite(path, kept)
            return dropped


def _open_private(path: Path, mode: str = "a") -> IO[str]:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode == "a" else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    os.chmod(path, 0o600)
    return os.fdopen(fd, mode, encoding="utf-8")


def _open_append(path: Path) -> int:
    """An append descriptor on `path`, a torn last line (a kill in mid-write) cut off first,
    so the next line does not glue onto it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    os.chmod(path, 0o600)
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        os.ftruncate(fd, _last_line_end(fd, size))
    return fd


def _last_line_end(fd: int, size: int) -> int:
    """Offset just past the last newline of the file (0 when there is none)."""
    end = size
    while end > 0:
        start = max(0, end - 65536)
        chunk = os.pread(fd, end - start, start)
        at = chunk.rfind(b"\n")
        if at >= 0:
            return start + at + 1
        end = start
    return 0


def _append_line(fd: int, data: bytes) -> None:
    """Write one whole line, or nothing: a short write (full disk) is cut back off."""
    size = os.fstat(fd).st_size
    try:
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
    except OSError:
        os.ftruncate(fd, size)
        raise


def _rewrite(path: Path, lines: Iterable[str]) -> None:
    """Replace the file's content atomically: a full disk leaves the old file as it was."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with _open_private(tmp, "w") as out:
            out.writelines(lines)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise write_error(path, exc) from None


def _safe_file_name(table: str) -> str:
    """Table names may hold any character; keep the file name tame and recognisable."""
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in table) or "_"


def read_entries(path: Path) -> Iterator[dict[str, Any]]:
    """The file's entries; a last line without its newline is torn (a write cut short by a
    kill or a full disk) and skipped: its record's batch never committed."""
    with open(path, encoding="utf-8", errors="surrogateescape") as handle:
        for line in handle:
            if not line.endswith("\n"):
                return
            if line.strip():
                yield json.loads(line, parse_float=Decimal)


def read_quarantine(run_id: str, table: str | None = None) -> Iterator[dict[str, Any]]:
    """Every quarantined record of a run (of one table when given), in file order."""
    folder = quarantine_dir(run_id)
    if not folder.exists():
        return
    for path in sorted(folder.glob("*.jsonl")):
        for entry in read_entries(path):
            if table is None or entry.get("table") == table:
                yield entry
