"""`katarestore embedded status|stop`: see and end the private PostgreSQL.

The embedded server keeps running after katarestore exits (the next run reuses it in
milliseconds); these two commands are how an operator finds it and stops it. Both say
plainly when nothing runs; neither ever starts a server.
"""

from __future__ import annotations

import argparse
import sys

from katarestore_tui.cli.output import print_json
from katarestore_tui.db.embedded import EmbeddedServerError, data_folder, stop_embedded
from katarestore_tui.db.embedded_status import EmbeddedStatus, embedded_status
from katarestore_tui.errors import EXIT_FATAL, EXIT_OK


def embedded_command(args: argparse.Namespace) -> int:
    if args.embedded_action == "stop":
        return _stop(args.json)
    return _status(args.json)


def _status(as_json: bool) -> int:
    """Exit 0 whether or not it runs (scripts read `running` from --json); 3 if unreadable."""
    try:
        status = embedded_status()
    except OSError as exc:
        print(f"error: cannot read the embedded database's folder: {exc}", file=sys.stderr)
        return EXIT_FATAL
    if as_json:
        print_json(status.as_json())
    else:
        print(status_text(status))
    return EXIT_OK


def status_text(status: EmbeddedStatus) -> str:
    """Aligned `name: value` lines, the state first."""
    if status.running:
        state = f"running ({status.state}), pid {status.pid}"
    elif status.state == "not created":
        state = "not running (no database created yet)"
    else:
        state = "not running"
    rows = [("embedded PostgreSQL", state), ("data folder", str(status.data_dir))]
    if status.running:
        rows += [
            ("version", status.server_version or "(no answer)"),
            ("port", f"{status.port} (Unix socket in {status.socket_dir}; no TCP)"),
        ]
    if status.data_version:
        rows.append(("created by", f"PostgreSQL {status.data_version}"))
    if status.binaries:
        rows.append(("binaries", f"PostgreSQL {status.binaries_version} in {status.binaries}"))
    if status.binaries_problem:
        rows.append(("problem", status.binaries_problem))
    if status.runs_as:
        rows.append(("runs as", f"{status.runs_as} (PostgreSQL refuses root)"))
    if status.log_file:
        rows.append(("log", str(status.log_file)))
    if status.running:
        rows.append(("stop it with", "katarestore embedded stop"))
    if status.older_dir:
        state = f"running, pid {status.older_pid}" if status.older_pid else "stopped"
        rows.append(("older folder", f"{status.older_dir} (PostgreSQL {status.older_version}, "
                     f"{state}; kept as it was)"))
        if status.older_pid:
            rows.append(("stop that one", f"KATARESTORE_EMBEDDED_DIR={status.older_dir} "
                         "katarestore embedded stop"))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name + ':':<{width + 1}} {value}" for name, value in rows)


def _stop(as_json: bool) -> int:
    """Exit 0 when it stopped or nothing ran (said so); 3 when it could not be stopped."""
    folder = data_folder()
    try:
        pid = stop_embedded()
    except EmbeddedServerError as exc:  # already says what failed and shows the log's tail
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FATAL
    except OSError as exc:
        print(f"error: cannot reach the embedded PostgreSQL in {folder}: {exc}", file=sys.stderr)
        return EXIT_FATAL
    if as_json:
        print_json({"stopped": pid is not None, "pid": pid, "data_dir": str(folder)})
    elif pid is None:
        print(f"the embedded PostgreSQL is not running (data folder {folder}): nothing to stop")
    else:
        print(f"stopped the embedded PostgreSQL (pid {pid}); its data is kept in {folder}")
    return EXIT_OK
