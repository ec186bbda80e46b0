"""backup.catalog: which folders are backups, in what order, and which files are tables."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from katarestore_tui.backup.catalog import (
    BackupError,
    find_backups,
    open_backup,
    resolve_backup,
    table_file,
)


def _folder(root: Path, name: str, files: dict[str, str], mtime: float | None = None) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    for file_name, text in files.items():
        (folder / file_name).write_text(text)
    if mtime is not None:
        os.utime(folder, (mtime, mtime))
    return folder


def test_find_backups_newest_first_by_the_time_in_the_name_then_mtime(tmp_path: Path) -> None:
    root = tmp_path / "kata_json"
    _folder(root, "20241115_020000", {"users.json": "[]"}, mtime=3_000_000_000)  # touched late
    _folder(root, "20241201_103000", {"users.json": "[]"}, mtime=1_000_000_000)
    _folder(root, "20230601T120000", {"users.json": "[]"})
    # no time in the name: its mtime (2001-09-09) places it
    _folder(root, "manual-copy", {"users.json": "[]"}, mtime=1_000_000_000)
    _folder(root, "20250101_000000", {"notes.txt": "no table file"})  # nothing to restore
    _folder(root, ".hidden_20260101_000000", {"users.json": "[]"})
    (root / "20260101_000000.json").write_text("[]")  # a file at the root is not a backup

    names = [b.name for b in find_backups(root)]

    assert names == ["20241201_103000", "20241115_020000", "20230601T120000", "manual-copy"]


def test_find_backups_names_a_missing_root_and_a_root_that_is_a_file(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match=r"backup root .*nowhere does not exist.*--backup-root"):
        find_backups(tmp_path / "nowhere")
    (tmp_path / "file").write_text("")
    with pytest.raises(BackupError, match="is not a folder"):
        find_backups(tmp_path / "file")


def test_open_backup_knows_every_suffix_and_says_what_it_skipped(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "20241201_103000", {
        "users.json": "[]",
        "Courses.JSON": "[]",
        "events.jsonl": "",
        "logs.ndjson": "",
        "orders.json.gz": "",
        "items.jsonl.gz": "",
        "clicks.ndjson.gz": "",
        "readme.txt": "hello",
        ".DS_Store": "",
        ".json": "[]",  # a suffix with no table name
    })
    (folder / "sub").mkdir()

    backup = open_backup(folder)

    found = {f.name: (f.format, f.compressed) for f in backup.files}
    assert found == {
        "users": ("array", False),
        "Courses": ("array", False),
        "events": ("lines", False),
        "logs": ("lines", False),
        "orders": ("array", True),
        "items": ("lines", True),
        "clicks": ("lines", True),
    }
    assert backup.skipped == ("readme.txt: not a .json/.jsonl/.ndjson(.gz) file",)
    assert backup.file_for("users") is not None and backup.file_for("users").size == 2
    assert backup.total_bytes == sum(f.size for f in backup.files) == 4
    assert backup.taken_at == datetime(2024, 12, 1, 10, 30, 0)


def test_a_symlink_out_of_the_backup_is_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "elsewhere" / "passwd.json"
    secret.parent.mkdir()
    secret.write_text("[]")
    folder = _folder(tmp_path, "20241201_103000", {"users.json": "[]"})
    (folder / "stolen.json").symlink_to(secret)
    (folder / "people.json").symlink_to(folder / "users.json")  # inside: fine
    (folder / "loop.json").symlink_to(folder / "loop.json")

    backup = open_backup(folder)

    assert sorted(f.name for f in backup.files) == ["people", "users"]
    assert any(s.startswith("stolen.json: symlink pointing outside") for s in backup.skipped)
    assert any(s.startswith("loop.json:") for s in backup.skipped)


def test_a_name_without_a_valid_time_has_none(tmp_path: Path) -> None:
    assert open_backup(_folder(tmp_path, "20241399_250000", {"a.json": "[]"})).taken_at is None
    assert open_backup(_folder(tmp_path, "latest", {"a.json": "[]"})).taken_at is None


def test_resolve_backup_takes_a_path_a_bare_name_or_the_newest(tmp_path: Path) -> None:
    root = tmp_path / "kata_json"
    old = _folder(root, "20241115_020000", {"users.json": "[]"})
    new = _folder(root, "20241201_103000", {"users.json": "[]"})
    empty = _folder(tmp_path, "empty", {"notes.txt": ""})

    assert resolve_backup(None, root).path == new
    assert resolve_backup("", root).path == new
    assert resolve_backup("20241115_020000", root).path == root / "20241115_020000"
    assert resolve_backup(str(old), root).path == old
    with pytest.raises(BackupError, match=r"empty holds no \.json/\.jsonl/\.ndjson files"):
        resolve_backup(str(empty), root)
    with pytest.raises(BackupError, match="does not exist"):
        resolve_backup("20991231_000000", root)
    with pytest.raises(BackupError, match="no backups under"):
        resolve_backup(None, tmp_path / "empty")


def test_table_file_is_none_for_unknown_suffixes(tmp_path: Path) -> None:
    for name in ("a.csv", "a.json.bak", "a.gz", ".jsonl"):
        (tmp_path / name).write_text("")
        assert table_file(tmp_path / name) is None, name
