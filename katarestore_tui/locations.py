"""Every place katarestore keeps files on disk, in one module (platformdirs)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "katarestore"


def data_dir() -> Path:
    """Run logs, quarantine, benchmark history and the embedded database live here.

    `$KATARESTORE_DATA_DIR` overrides it (tests and scripts use a private one).
    """
    override = os.environ.get("KATARESTORE_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME))


def config_dir() -> Path:
    override = os.environ.get("KATARESTORE_CONFIG_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME))


def runs_dir() -> Path:
    return data_dir() / "runs"


def run_dir(run_id: str) -> Path:
    return runs_dir() / run_id


def benchmarks_file() -> Path:
    return data_dir() / "benchmarks.jsonl"


def embedded_pg_dir(major: str | None) -> Path:
    """The embedded PostgreSQL's data folder; `$KATARESTORE_EMBEDDED_DIR` overrides it.

    One per major version (`pg18`): a folder opens only with the major that made it, so new
    binaries start a folder of their own and an older one is kept as it was. Without a
    known major, the folder katarestore 0.1 used (`pg`, PostgreSQL 16 from pgserver).
    """
    override = os.environ.get("KATARESTORE_EMBEDDED_DIR")
    if override:
        return Path(override)
    return data_dir() / (f"pg{major}" if major else LEGACY_EMBEDDED_NAME)


LEGACY_EMBEDDED_NAME = "pg"  # katarestore 0.1.0's folder, made by pgserver's PostgreSQL 16


def legacy_embedded_pg_dir() -> Path:
    """Where katarestore 0.1.0 kept its embedded server (shown by `katarestore embedded status`)."""
    return data_dir() / LEGACY_EMBEDDED_NAME


def preferences_file() -> Path:
    return config_dir() / "preferences.json"


def default_backup_root() -> Path:
    return Path(os.environ.get("KATARESTORE_BACKUP_ROOT") or "./kata_json")


def make_private_dir(path: Path) -> Path:
    """Create a folder readable by the owner only: run folders hold production data."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path
