"""Shared builders for the reliability tests: big deterministic backups, checksums, the CLI.

The data is generated so that PostgreSQL can compute the expected table itself (from
generate_series), so "the target equals the source" is checked against an independent
description of the source, not against another katarestore run.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

from katarestore_tui.engine import checkpoint

REPO = Path(__file__).resolve().parents[2]

# items: a primary key; events: no key of any kind (no PK, no unique), with repeated rows
SCHEMA = """
CREATE TABLE items (id int PRIMARY KEY, name varchar(40) NOT NULL, amount numeric(10,2),
                    note text);
CREATE TABLE events (n int, kind text, payload jsonb, at timestamptz);
"""


def item(i: int) -> dict:
    return {"id": i, "name": f"item-{i}", "amount": f"{i % 100000}.{i % 100:02d}",
            "note": f"n{i * 7919 % 100003}"}


def event(i: int) -> dict:
    return {"n": i // 2, "kind": "even" if i % 2 == 0 else "odd", "payload": {"k": i % 97},
            "at": f"2024-01-01T00:00:{i % 60:02d}.000Z"}


# The same rows, computed by PostgreSQL. Events come in pairs with the same n; every
# 1000th pair is an exact repeat (kind 'even' twice), so a no-key table holds true duplicates.
EXPECTED_ITEMS = """
SELECT i AS id, 'item-' || i AS name,
       ((i %% 100000)::text || '.' || lpad((i %% 100)::text, 2, '0'))::numeric(10,2) AS amount,
       'n' || (i::bigint * 7919 %% 100003) AS note
FROM generate_series(1, %(n)s) AS i
WHERE %(bad)s = 0 OR i %% %(bad)s <> 0
"""
EXPECTED_EVENTS = """
SELECT i / 2 AS n, CASE WHEN i %% 2 = 0 OR (i / 2) %% 1000 = 0 THEN 'even' ELSE 'odd' END AS kind,
       jsonb_build_object('k', CASE WHEN i %% 2 = 1 AND (i / 2) %% 1000 = 0 THEN i - 1 ELSE i END %% 97)
       AS payload,
       timestamptz '2024-01-01 00:00:00+00'
         + make_interval(secs => (CASE WHEN i %% 2 = 1 AND (i / 2) %% 1000 = 0 THEN i - 1 ELSE i END) %% 60)
       AS at
FROM generate_series(0, %(n)s - 1) AS i
"""


def events(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        if i % 2 == 1 and (i // 2) % 1000 == 0:
            rows.append(dict(rows[-1]))  # an exact repeat of the row before it
        else:
            rows.append(event(i))
    return rows


def bad_item(i: int) -> dict:
    return {**item(i), "name": "x" * 41}  # varchar(40): refused by the server


def write_big_backup(root: Path, n_items: int, n_events: int, name: str = "20240101_000000",
                     bad_every: int = 0) -> Path:
    """items 1..n_items (every `bad_every`th one too long to load), events 0..n_events-1."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    items = [bad_item(i) if bad_every and i % bad_every == 0 else item(i)
             for i in range(1, n_items + 1)]
    # JSON.stringify(rows, null, 2) layout, as the app's backup script writes it
    (folder / "items.json").write_text(json.dumps(items, indent=2))
    (folder / "events.json").write_text(json.dumps(events(n_events), indent=2))
    return folder


def table_digest(conn: psycopg.Connection, query: str, order: str, params: dict | None = None
                 ) -> tuple[int, str]:
    """(row count, md5 of every row's text ordered by `order`) of a table or a query."""
    row = conn.execute(
        f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY {order}), ''))"
        f" FROM ({query}) AS t",
        params or {},
    ).fetchone()
    return row[0], row[1]


ITEMS_ORDER = "t.id"
EVENTS_ORDER = "t.n, t.kind, t.payload::text, t.at"


def assert_items_exact(conn: psycopg.Connection, n: int, bad_every: int = 0) -> None:
    got = table_digest(conn, "SELECT * FROM items", ITEMS_ORDER)
    want = table_digest(conn, EXPECTED_ITEMS, ITEMS_ORDER, {"n": n, "bad": bad_every})
    assert got == want, f"items differ from the source: {got} != {want}"


def assert_events_exact(conn: psycopg.Connection, n: int) -> None:
    got = table_digest(conn, "SELECT * FROM events", EVENTS_ORDER)
    want = table_digest(conn, EXPECTED_EVENTS, EVENTS_ORDER, {"n": n})
    assert got == want, f"events differ from the source: {got} != {want}"


def progress(conn: psycopg.Connection, table: str) -> int:
    """records_done committed for `table` by any run (0 when nothing is committed yet)."""
    exists = conn.execute("SELECT to_regclass(%s)", (checkpoint.TABLE,)).fetchone()[0]
    if exists is None:
        return 0
    row = conn.execute(
        f"SELECT max(records_done) FROM {checkpoint.TABLE} WHERE table_name = %s", (table,)
    ).fetchone()
    return row[0] or 0


def wait_until(predicate, timeout: float = 30.0, every: float = 0.01, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def cli_env(**extra: str) -> dict[str, str]:
    """The test's environment (KATARESTORE_DATA_DIR set by conftest) for a CLI subprocess."""
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra)
    return env


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "katarestore_tui", *args]


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120
            ) -> subprocess.CompletedProcess:
    return subprocess.run(cli_command(*args), capture_output=True, text=True,
                          env=env or cli_env(), timeout=timeout, cwd=REPO)


def start_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """The CLI in its own process group (as a shell job would be), output captured."""
    return subprocess.Popen(cli_command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env or cli_env(), cwd=REPO, start_new_session=True)


def terminate_backends(conn: psycopg.Connection, dbname: str) -> int:
    """pg_terminate_backend every katarestore connection to `dbname`; how many went."""
    rows = conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = 'katarestore' AND datname = %s AND pid <> pg_backend_pid()",
        (dbname,),
    ).fetchall()
    return sum(1 for (ok,) in rows if ok)


class TcpProxy:
    """A tiny TCP forwarder to the real server, so a test can make the server 'go away'.

    `stop()` closes the listening socket and every forwarded connection: new connections
    are refused (nothing listens on the port any more), open ones see the server vanish.
    """

    def __init__(self, target_host: str, target_port: int, port: int = 0) -> None:
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", port))  # SO_REUSEADDR: restartable
        self.port = self.listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stopped = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = self._connect_upstream()
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._stopped:
                    client.close()
                    upstream.close()
                    return
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _connect_upstream(self) -> socket.socket:
        host, port = self.target
        if host.startswith("/"):  # a Unix-socket server (the embedded one): same protocol
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(f"{host}/.s.PGSQL.{port}")
            return upstream
        return socket.create_connection(self.target)

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            sockets, self._sockets = self._sockets, []
        self.listener.close()
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
