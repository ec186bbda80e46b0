"""A disk that fills up: a 48 KB tmpfs when this machine lets us mount one, else a limit of
48 KB injected into the backup writer (both fail with ENOSPC / OSError 28)."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

SMALL = 48 * 1024


def _mount_small_tmpfs(path: Path) -> bool:
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SMALL}", "tmpfs", str(path)],
                          capture_output=True)
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from katarestore_tui.backup import writer

    path = tmp_path / f"small-{uuid.uuid4().hex[:6]}"
    mounted = _mount_small_tmpfs(path)
    if not mounted:  # every folder writer gets the limit (the backup's and the clean's copy)
        monkeypatch.setattr(writer, "LIMIT_BYTES", SMALL)
    yield path
    if mounted:
        subprocess.run(["umount", str(path)], check=True)
