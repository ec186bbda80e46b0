"""Write a backup folder in the Node layout, so that a backup cut short never looks complete.

The folder is built under a hidden name (`.<name>.partial`, which the catalog skips) and
each table file under a hidden temporary name; a file is renamed when its last record is
written and flushed, the folder when every file is. A full disk or a kill leaves only
hidden names behind, never a `<table>.json` with half its rows.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import shutil
import time
from pathlib import Path

from katarestore_tui.locations import make_private_dir

FOLDER_FORMAT = "%Y%m%d_%H%M%S"  # what the Node script names its folders (catalog reads it)
_BUFFER = 1 << 20
# tests: every folder fails its writes after this many bytes, as a full disk would
LIMIT_BYTES: int | None = None


def new_folder_name(now: float | None = None) -> str:
    return time.strftime(FOLDER_FORMAT, time.gmtime(now))


class TableFileWriter:
    """One `<table>.json[.gz]`: `[`, records joined by `,\\n`, `]`, as JSON.stringify spaces it.

    `limit_bytes` (tests) makes the writer fail as a full disk would, after that many bytes.
    """

    def __init__(self, folder: Path, table: str, gzip_level: int | None = None,
                 limit_bytes: int | None = None) -> None:
        self.name = f"{table}.json" + (".gz" if gzip_level is not None else "")
        self.path = folder / self.name
        self.tmp = folder / f".{self.name}.partial"
        self.records = 0
        self.bytes = 0  # uncompressed text written
        self._limit = limit_bytes
        self._raw = open(self.tmp, "wb", buffering=0)  # noqa: SIM115 (closed in close/abort)
        os.chmod(self.tmp, 0o600)  # production data
        self._gz = (gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=gzip_level, mtime=0)
                    if gzip_level is not None else None)
        self._out = io.BufferedWriter(self._gz or self._raw, buffer_size=_BUFFER)

    def _write(self, text: str) -> None:
        data = text.encode("utf-8")
        if self._limit is not None and self.bytes + len(data) > self._limit:
            raise OSError(28, "No space left on device (injected limit)", str(self.tmp))
        self._out.write(data)
        self.bytes += len(data)

    def write_records(self, records: list[str]) -> None:
        if not records:
            return
        self._write(("[\n" if self.records == 0 else ",\n") + ",\n".join(records))
        self.records += len(records)

    def finish(self) -> Path:
        """Close the array, flush to disk, then give the file its real name."""
        self._write("\n]" if self.records else "[]")
        self._out.flush()
        if self._gz is not None:
            self._gz.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Drop the half-written file (a failed or stopped backup leaves no partial file)."""
        for closing in (self._out, self._gz, self._raw):
            if closing is None:
                continue
            with contextlib.suppress(OSError):  # the disk may be the reason we abort
                closing.close()
        self.tmp.unlink(missing_ok=True)


class BackupFolderWriter:
    """`<root>/<YYYYMMDD_HHMMSS>/`, built as `<root>/.<name>.partial/` and renamed at the end."""

    def __init__(self, root: Path, name: str | None = None, gzip_level: int | None = None,
                 limit_bytes: int | None = None) -> None:
        root.mkdir(parents=True, exist_ok=True)  # an existing root keeps its permissions
        self.name = _free_name(root, name or new_folder_name())
        self.path = root / self.name
        self.work = root / f".{self.name}.partial"
        if self.work.exists():  # a stale one from a killed backup of the same second
            shutil.rmtree(self.work)
        make_private_dir(self.work)
        self.gzip_level = gzip_level
        self.limit_bytes = limit_bytes if limit_bytes is not None else LIMIT_BYTES  # all files
        self.written = 0

    def table(self, table: str) -> TableFileWriter:
        limit = None if self.limit_bytes is None else max(self.limit_bytes - self.written, 0)
        return TableFileWriter(self.work, table, self.gzip_level, limit)

    def count(self, writer: TableFileWriter) -> None:
        self.written += writer.bytes

    def finish(self) -> Path:
        _fsync_dir(self.work)
        os.replace(self.work, self.path)
        _fsync_dir(self.path.parent)
        return self.path

    def abort(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)


def _free_name(root: Path, name: str) -> str:
    """`name`, or `name-2`, `name-3`...: a backup is never written over (two in one second,
    a resume cleaning again in the second its first try did)."""
    candidate, n = name, 1
    while (root / candidate).exists():
        n += 1
        candidate = f"{name}-{n}"
    return candidate


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


