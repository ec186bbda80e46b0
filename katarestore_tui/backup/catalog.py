"""Find backups under a root folder and list their table files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from katarestore_tui.backup.ranges import ByteRange

# Suffixes a table file may have, longest first so `.json.gz` wins over `.gz`.
_SUFFIXES = {
    ".json.gz": ("array", True),
    ".jsonl.gz": ("lines", True),
    ".ndjson.gz": ("lines", True),
    ".json": ("array", False),
    ".jsonl": ("lines", False),
    ".ndjson": ("lines", False),
}
_FOLDER_TIME = re.compile(r"(\d{8})[_T-]?(\d{6})")


class BackupError(Exception):
    """A backup root or folder that cannot be used; the message says why."""


@dataclass(frozen=True)
class TableFile:
    name: str  # the table name as the file spells it (stem without suffixes)
    path: Path
    size: int  # bytes on disk (compressed size for .gz)
    format: str  # "array": one JSON array; "lines": one object per line
    compressed: bool
    span: ByteRange | None = None  # one part of the file (a big table on several cores)


@dataclass(frozen=True)
class Backup:
    path: Path
    files: tuple[TableFile, ...]
    skipped: tuple[str, ...] = ()  # entries not read (symlinks leaving the folder, unknown files)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def taken_at(self) -> datetime | None:
        """The time in the folder's name (`20241201_103000`), else None."""
        match = _FOLDER_TIME.search(self.path.name)
        if not match:
            return None
        try:
            return datetime.strptime(match[1] + match[2], "%Y%m%d%H%M%S")
        except ValueError:
            return None

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def file_for(self, name: str) -> TableFile | None:
        return next((f for f in self.files if f.name == name), None)


def table_file(path: Path) -> TableFile | None:
    """A TableFile for `path` if its name has a known suffix."""
    lower = path.name.lower()
    for suffix, (fmt, compressed) in _SUFFIXES.items():
        if lower.endswith(suffix) and len(lower) > len(suffix):
            return TableFile(
                name=path.name[: -len(suffix)],
                path=path,
                size=path.stat().st_size,
                format=fmt,
                compressed=compressed,
            )
    return None


def open_backup(path: Path) -> Backup:
    """Read one backup folder. Symlinks that lead outside it are not followed."""
    path = Path(path)
    if not path.exists():
        raise BackupError(f"backup folder {path} does not exist")
    if not path.is_dir():
        raise BackupError(f"{path} is not a folder (a backup is a folder of <table>.json files)")
    root = path.resolve()
    files: list[TableFile] = []
    skipped: list[str] = []
    for entry in sorted(path.iterdir()):
        if entry.is_symlink():
            try:
                inside = entry.resolve().is_relative_to(root)
            except (RuntimeError, OSError):  # a symlink loop (RuntimeError before Python 3.13)
                skipped.append(f"{entry.name}: symlink loop, not followed")
                continue
            if not inside:
                skipped.append(f"{entry.name}: symlink pointing outside the backup, not followed")
                continue
        try:
            if not entry.is_file():
                continue
            found = table_file(entry)
        except OSError as exc:  # vanished or unreadable while we looked
            skipped.append(f"{entry.name}: unreadable ({exc.strerror or exc})")
            continue
        if found is None:
            if not entry.name.startswith("."):
                skipped.append(f"{entry.name}: not a .json/.jsonl/.ndjson(.gz) file")
            continue
        files.append(found)
    return Backup(path=path, files=tuple(files), skipped=tuple(skipped))


def find_backups(root: Path) -> list[Backup]:
    """Backup folders under `root`, newest first (by folder-name time, then mtime)."""
    root = Path(root)
    if not root.exists():
        raise BackupError(
            f"backup root {root} does not exist (set --backup-root or $KATARESTORE_BACKUP_ROOT)"
        )
    if not root.is_dir():
        raise BackupError(f"backup root {root} is not a folder")
    backups = [open_backup(p) for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    backups = [b for b in backups if b.files]

    def newest_first(b: Backup) -> tuple[float, str]:
        taken = b.taken_at
        return (taken.timestamp() if taken else b.path.stat().st_mtime, b.name)

    return sorted(backups, key=newest_first, reverse=True)


def resolve_backup(backup: str | Path | None, root: Path) -> Backup:
    """The folder given, or the newest backup under `root` when none is given.

    A bare name (`20241201_103000`) is looked up under `root` too.
    """
    if backup:
        candidate = Path(backup)
        if not candidate.exists() and (root / candidate).exists():
            candidate = root / candidate
        found = open_backup(candidate)
        if not found.files:
            raise BackupError(f"backup folder {candidate} holds no .json/.jsonl/.ndjson files")
        return found
    backups = find_backups(root)
    if not backups:
        raise BackupError(f"no backups under {root} (expected folders of <table>.json files)")
    return backups[0]
