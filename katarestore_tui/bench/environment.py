"""Where a benchmark ran: host, server and package versions (so runs can be compared)."""

from __future__ import annotations

import os
import platform
import socket
from importlib import metadata

import psycopg

PACKAGES = ("katarestore", "psycopg", "ijson", "textual")


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    versions["python"] = platform.python_version()
    return versions


def describe(conn: psycopg.Connection) -> dict:
    import ijson

    return {
        "host": socket.gethostname(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(terse=True),
        "server_version": conn.info.parameter_status("server_version") or str(conn.info.server_version),
        "server_version_num": conn.info.server_version,
        "versions": package_versions(),
        "ijson_backend": ijson.backend_name,
        "psycopg_impl": psycopg.pq.__impl__,
    }
