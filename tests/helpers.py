"""Small builders for test backups: a folder per backup, a file per table."""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from katarestore_tui.engine.options import RestoreOptions


def write_backup(root: Path, files: dict[str, object], name: str = "20241201_103000") -> Path:
    """`files` maps a file name to records (JSON-encoded like Node) or to raw text/bytes."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, content in files.items():
        path = folder / file_name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_text(json.dumps(content, indent=2, default=_default), encoding="utf-8")
    return folder


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value))


def options(dsn: str, backup: Path | str = "", **overrides) -> RestoreOptions:
    """Options for tests: inline parsing (no child process) unless asked otherwise."""
    base = dict(backup=str(backup), dsn=dsn, parser_process=False)
    base.update(overrides)
    return RestoreOptions(**base)


def assert_balanced(result) -> None:
    """The invariant: every record read is loaded, a duplicate, or failed."""
    for name, stats in result.tables.items():
        assert stats.loaded + stats.duplicates + stats.failed == stats.records, name


@contextlib.contextmanager
def private_embedded_dir() -> Iterator[Path]:
    """A folder for a private embedded server, removed afterwards.

    Not under pytest's tmp_path: every pytest session on the machine resets
    /tmp/pytest-of-<user> to 0700, and the server's service account (as root) would then
    lose its way to its own data folder mid-test.
    """
    base = Path(tempfile.mkdtemp(prefix="katarestore-test-"))
    try:
        yield base / "pg"
    finally:
        shutil.rmtree(base, ignore_errors=True)
