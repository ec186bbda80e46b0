"""Hostile input and secrets: identifiers only through psycopg.sql, passwords nowhere,
owner-only files, no symlink followed out of a backup."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from katarestore_tui.engine import connect as connect_module
from katarestore_tui.engine.connect import connect
from katarestore_tui.engine.restore import EXIT_FATAL, EXIT_OK, EXIT_PARTIAL, run_restore
from katarestore_tui.errors import FatalError
from katarestore_tui.locations import data_dir, run_dir
from tests.helpers import options, write_backup
from tests.reliability.support import TcpProxy, cli_env, progress, run_cli, wait_until

EVIL_FILE = 'x"; DROP TABLE users; --'
EVIL_KEY = 'a") VALUES (1); --'
USERS = [{"id": i, "name": f"user{i}"} for i in range(1, 6)]


@pytest.fixture
def users(db: psycopg.Connection, db_dsn: str) -> str:
    db.execute("CREATE TABLE users (id int PRIMARY KEY, name varchar(10) NOT NULL)")
    db.execute("INSERT INTO users VALUES (100, 'existing'), (101, 'existing')")
    return db_dsn


def tables(db: psycopg.Connection) -> list[str]:
    return [r[0] for r in db.execute(
        "SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
        " ORDER BY 1").fetchall()]


# ---------------------------------------------------------------- injection through names


def test_injection_in_a_file_name_and_a_json_key_does_nothing_but_is_reported(users, db, tmp_path):
    rows = [{**u, EVIL_KEY: "boom"} for u in USERS]
    backup = write_backup(tmp_path, {"users.json": rows, f"{EVIL_FILE}.json": [{"id": 1}]})
    before = tables(db)
    done = run_cli("restore", str(backup), "--dsn", users, "--yes", "--json")
    assert done.returncode == EXIT_OK, done.stderr
    assert f"{EVIL_FILE}.json: no table" in done.stderr  # reported, skipped
    assert EVIL_KEY in done.stderr and "ignored" in done.stderr
    assert tables(db) == before  # nothing dropped, nothing created
    assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 2 + len(USERS)
    assert db.execute("SELECT name FROM users WHERE id = 1").fetchone()[0] == "user1"
    summary = json.loads(done.stdout)
    assert list(summary["tables"]) == ["users"]


def test_hostile_table_and_column_names_are_quoted_all_the_way(users, db, tmp_path):
    """The table exists with those names: COPY, the staged INSERT ... ON CONFLICT, TRUNCATE,
    the FK check, the sequence reset and the quarantine file all handle them as data."""
    db.execute(f'''CREATE TABLE "{EVIL_FILE.replace('"', '""')}" (
        id serial PRIMARY KEY, "{EVIL_KEY.replace('"', '""')}" text NOT NULL,
        user_id int REFERENCES users)''')
    evil = [{"id": 1, EVIL_KEY: "v1", "userId": 100}, {"id": 1, EVIL_KEY: "again", "userId": 100},
            {"id": 2, EVIL_KEY: None, "userId": 100}, {"id": 3, EVIL_KEY: "v3", "userId": 999}]
    backup = write_backup(tmp_path, {f"{EVIL_FILE}.json": evil})
    result = run_restore(options(users, backup, clean=True), tmp_path)
    stats = result.tables[EVIL_FILE]
    assert (stats.loaded, stats.duplicates, stats.failed) == (1, 1, 2), result.error
    assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 2
    table = psycopg.sql.Identifier(EVIL_FILE)
    assert db.execute(psycopg.sql.SQL("SELECT * FROM {}").format(table)).fetchall() == [(1, "v1", 100)]
    assert db.execute(psycopg.sql.SQL("SELECT nextval(pg_get_serial_sequence(%s, 'id'))"),
                      (table.as_string(db),)).fetchone()[0] == 2
    (failed_file,) = (run_dir(result.run_id) / "failed").iterdir()
    assert failed_file.parent == run_dir(result.run_id) / "failed"
    assert "/" not in failed_file.name and '"' not in failed_file.name and ";" not in failed_file.name


# ---------------------------------------------------------------- passwords

SECRET = "Pw-S3cr3t-9x"


def password_dsns(dsn: str, port: int | None = None) -> dict[str, tuple[str, dict]]:
    """The same target as a URL, as key=value, and with the password in PGPASSWORD."""
    p = conninfo_to_dict(dsn)
    host, port_ = p.get("host", "127.0.0.1"), str(port or p.get("port", 5432))
    url = (f"postgresql://{p['user']}:{SECRET}@/{p['dbname']}?host={host}&port={port_}"
           if host.startswith("/")  # a socket folder goes in the query, not the authority
           else f"postgresql://{p['user']}:{SECRET}@{host}:{port_}/{p['dbname']}")
    return {
        "url": (url, {}),
        "key=value": (make_conninfo(**{**p, "port": port_, "password": SECRET}), {}),
        "PGPASSWORD": (make_conninfo(**{**p, "port": port_}), {"PGPASSWORD": SECRET}),
    }


def assert_nowhere(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text, text
        assert "S3cr3t" not in text, text


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


@pytest.mark.parametrize("form", ["url", "key=value", "PGPASSWORD"])
def test_password_never_shown_when_the_server_is_unreachable(users, tmp_path, form):
    dsn, extra = password_dsns(users, port=1)[form]
    backup = write_backup(tmp_path, {"users.json": USERS})
    for args in (("restore", str(backup), "--dsn", dsn, "--yes"),
                 ("restore", str(backup), "--dsn", dsn, "--yes", "--json"),
                 ("restore", str(backup), "--dsn", dsn, "--dry-run")):
        done = run_cli(*args, env=cli_env(**extra))
        assert done.returncode == EXIT_FATAL, done.stderr
        assert "cannot connect" in done.stderr + done.stdout
        assert_nowhere(done.stdout, done.stderr)


@pytest.mark.parametrize("form", ["url", "key=value", "PGPASSWORD"])
def test_password_never_written_or_printed_on_a_real_run(users, db, tmp_path, form):
    """Trust auth ignores the password, so the run really happens with it in the DSN."""
    dsn, extra = password_dsns(users)[form]
    env = cli_env(**extra)
    backup = write_backup(tmp_path / "b", {"users.json": [*USERS, {"id": 9, "name": "far too long"}]})
    outputs = []
    done = run_cli("restore", str(backup), "--dsn", dsn, "--yes", "--json", env=env)
    assert done.returncode == EXIT_PARTIAL, done.stderr
    run_id = json.loads(done.stdout)["run_id"]
    outputs += [done.stdout, done.stderr]
    db.execute("ALTER TABLE users ALTER COLUMN name TYPE varchar(20)")
    for args in (("restore", str(backup), "--dsn", dsn),  # the plain-text summary
                 ("restore", str(backup), "--dsn", dsn, "--dry-run"),
                 ("history",), ("history", "--json"), ("history", run_id), ("history", run_id, "--json"),
                 ("failures", run_id), ("failures", run_id, "--json"),
                 ("retry", run_id, "--dsn", dsn, "--json"), ("retry", run_id, "--dsn", dsn)):
        done = run_cli(*args, env=env)
        assert done.returncode in (EXIT_OK, EXIT_PARTIAL), (args, done.stderr)
        outputs += [done.stdout, done.stderr]
    assert json.loads(run_cli("history", run_id, "--json").stdout)["status"] == "completed"
    assert_nowhere(*outputs)
    written = files_under(data_dir())
    assert any(p.name == "run.json" for p in written) and any(p.suffix == ".jsonl" for p in written)
    for path in written:
        assert_nowhere(path.read_text(errors="replace"))


def test_password_not_in_the_benchmark_history(users, tmp_path):
    dsn, _ = password_dsns(users)["url"]
    backup = write_backup(tmp_path / "b", {"users.json": USERS})
    done = run_cli("bench", str(backup), "--dsn", dsn, "--strategies", "copy", "--json")
    assert done.returncode == EXIT_OK, done.stderr
    assert_nowhere(done.stdout, done.stderr)
    written = files_under(data_dir())
    assert any(p.name == "benchmarks.jsonl" for p in written)
    for path in written:
        assert_nowhere(path.read_text(errors="replace"))


@pytest.mark.parametrize("dsn", [
    f"postgresql://root:p%zz{SECRET}@127.0.0.1:1/db",  # libpq quotes a bad %-escape
    f"host=127.0.0.1 port=1 password=my {SECRET}",  # unquoted space: libpq quotes the word
    f"postgresql://root:{SECRET[:6]}@{SECRET[6:]}@127.0.0.1:1/db",  # an unencoded '@'
    f"postgresql://root:{SECRET[:6]}/{SECRET[6:]}@127.0.0.1:1/db",  # an unencoded '/'
    f"postgresql:///db?host=127.0.0.1&port=1&password={SECRET}",
])
def test_password_not_in_exception_messages_even_for_a_malformed_dsn(tmp_path, dsn):
    with pytest.raises(FatalError) as caught:
        connect(dsn, timeout=2)
    assert_nowhere(str(caught.value))
    backup = write_backup(tmp_path, {"users.json": USERS})
    result = run_restore(options(dsn, backup), tmp_path)
    assert result.exit_code == EXIT_FATAL
    assert_nowhere(result.error)


def test_password_not_in_the_message_when_the_server_goes_away(users, db, tmp_path, monkeypatch):
    monkeypatch.setattr(connect_module, "RECONNECT_SECONDS", 1.0)
    p = conninfo_to_dict(users)
    proxy = TcpProxy(p.get("host", "127.0.0.1"), int(p.get("port", 5432)))
    dsn = f"postgresql://{p['user']}:{SECRET}@127.0.0.1:{proxy.port}/{p['dbname']}"
    backup = write_backup(tmp_path, {"users.json": [{"id": i, "name": "n"} for i in range(1, 20_001)]})
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.update(
        r=run_restore(options(dsn, backup, batch_size=100), tmp_path)))
    worker.start()
    try:
        wait_until(lambda: progress(db, "users") > 0 or not worker.is_alive(), what="progress")
        proxy.stop()
        worker.join(timeout=60)
    finally:
        proxy.stop()
    result = outcome["r"]
    assert result.exit_code == EXIT_FATAL and "did not come back" in result.error
    assert_nowhere(result.error)
    for path in files_under(data_dir()):
        assert_nowhere(path.read_text(errors="replace"))


# ---------------------------------------------------------------- files on disk


def test_run_folders_are_0700_and_quarantine_files_0600_whatever_the_umask(users, tmp_path):
    backup = write_backup(tmp_path, {"users.json": [*USERS, {"id": 9, "name": "far too long"}]})
    old = os.umask(0)  # the most permissive umask: modes must be set explicitly
    try:
        result = run_restore(options(users, backup), tmp_path)
    finally:
        os.umask(old)
    assert result.exit_code == EXIT_PARTIAL
    folder = run_dir(result.run_id)

    def mode(p: Path) -> int:
        return stat.S_IMODE(p.stat().st_mode)

    assert mode(folder) == 0o700
    assert mode(folder / "failed") == 0o700
    assert mode(folder / "run.json") == 0o600
    quarantined = list((folder / "failed").iterdir())
    assert quarantined and all(mode(p) == 0o600 for p in quarantined)


# ---------------------------------------------------------------- symlinks


def test_symlinks_leaving_the_backup_are_not_followed_and_are_reported(users, db, tmp_path):
    db.execute("CREATE TABLE secrets (id int, body text)")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secrets.json").write_text(json.dumps([{"id": 1, "body": "from outside"}]))
    backup = write_backup(tmp_path / "root", {"users.json": USERS})
    (backup / "secrets.json").symlink_to(outside / "secrets.json")  # absolute, outside
    (backup / "relative.json").symlink_to(Path("..") / ".." / "outside" / "secrets.json")
    (backup / "loop_a.json").symlink_to("loop_b.json")  # a loop must not crash the scan
    (backup / "loop_b.json").symlink_to("loop_a.json")
    (backup / "inside.jsonl").symlink_to("users.json")  # inside the backup: fine to follow
    result = run_restore(options(users, backup), tmp_path / "root")
    assert result.run_id is not None, result.error
    assert db.execute("SELECT count(*) FROM secrets").fetchone()[0] == 0
    warnings = "\n".join(result.warnings)
    assert "secrets.json: symlink pointing outside the backup, not followed" in warnings
    assert "relative.json: symlink pointing outside the backup, not followed" in warnings
    assert "loop_a.json: symlink loop, not followed" in warnings
    assert result.tables["users"].loaded == len(USERS)
