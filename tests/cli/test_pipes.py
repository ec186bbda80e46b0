"""The CLI in pipes, cron and scripts: a reader that leaves, JSON errors, no terminal.

Each runs `python -m katarestore_tui` as a subprocess with stdin on /dev/null (no terminal).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from katarestore_tui.cli import main
from tests.cli.support import REPO, run_cli
from tests.helpers import write_backup

SCHEMA = "CREATE TABLE authors (id int PRIMARY KEY, name varchar(10) NOT NULL);"
AUTHORS = [{"id": 1, "name": "Ann"}, {"id": 2, "name": "far too long"}]


@pytest.fixture
def run_id(db: psycopg.Connection, db_dsn: str, tmp_path: Path, capsys) -> str:
    """One finished run with one quarantined record, made in this process."""
    db.execute(SCHEMA)
    root = tmp_path / "kata_json"
    write_backup(root, {"authors.json": AUTHORS})
    assert main(["restore", "--dsn", db_dsn, "--backup-root", str(root), "--json",
                 "--no-parser-process"]) == 1
    return json.loads(capsys.readouterr().out)["run_id"]


def _closed_reader(args: list[str]) -> subprocess.CompletedProcess:
    """As `katarestore ARGS | head -0`: the reader is gone before the first write."""
    import os

    env = dict(os.environ, PYTHONPATH=str(REPO))
    read, write = os.pipe()
    os.close(read)  # no reader at all: the first write gets EPIPE
    try:
        return subprocess.run([sys.executable, "-m", "katarestore_tui", *args], stdout=write,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env,
                              text=True, timeout=60)
    finally:
        os.close(write)


@pytest.mark.parametrize("args", [["history"], ["history", "--json"], ["failures", "{run}"],
                                  ["failures", "{run}", "--json"], ["history", "{run}"]])
def test_a_reader_that_leaves_is_no_traceback(run_id: str, args: list[str]) -> None:
    proc = _closed_reader([a.replace("{run}", run_id) for a in args])
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr
    assert proc.stderr == ""
    assert proc.returncode == 141  # as a tool killed by SIGPIPE: `set -o pipefail` sees it


def test_history_piped_into_head(run_id: str) -> None:
    """The shell pipeline itself, as the issue ran it, with more runs than a pipe holds
    (64 KiB), so `head` leaves while katarestore is still writing."""
    import os

    from katarestore_tui.history.runs import read_run, write_run

    run = read_run(run_id)
    for i in range(1200):  # ~100 bytes a line
        write_run(f"20240101_000000_{i:05d}", {**run, "run_id": f"20240101_000000_{i:05d}"})
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(f"set -o pipefail; '{sys.executable}' -m katarestore_tui history | head -n 2",
                          shell=True, executable="/bin/bash", capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.stderr == ""
    assert proc.returncode == 141  # katarestore's own code, through pipefail
    assert proc.stdout.startswith("run id") and len(proc.stdout.splitlines()) == 2


@pytest.mark.parametrize("args", [["history", "nope", "--json"], ["failures", "nope", "--json"]])
def test_json_errors_are_json_on_stdout(args: list[str]) -> None:
    proc = run_cli(args)
    assert proc.returncode == 2
    data = json.loads(proc.stdout)  # a `| jq` never reads prose
    assert data["exit_code"] == 2 and "no run 'nope'" in data["error"]
    assert "error: no run 'nope'" in proc.stderr  # the person reading the log sees it too


@pytest.mark.parametrize("args", [["history", "nope"], ["failures", "nope"]])
def test_text_errors_go_to_stderr(args: list[str]) -> None:
    proc = run_cli(args)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("error: no run 'nope'")


def test_tui_without_a_terminal_refuses_with_a_hint() -> None:
    proc = run_cli([], timeout=30)  # the old code started Textual on /dev/null and hung here
    assert proc.returncode == 2
    assert "needs a terminal" in proc.stderr and "katarestore restore" in proc.stderr
    assert proc.stdout == ""


def test_demo_without_a_terminal_refuses_before_writing(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    proc = run_cli(["demo", "--backup-root", str(root), "--dsn", "postgresql://nobody@127.0.0.1:1/x"],
                   timeout=30)
    assert proc.returncode == 2 and "--no-tui" in proc.stderr
    assert not root.exists()  # nothing written, no database touched
