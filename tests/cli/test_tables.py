"""The CLI's tables (Rich's Table): aligned, never wrapped, ASCII where UTF-8 is not spoken."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from katarestore_tui.cli.tables import text_table
from tests.cli.support import run_cli
from tests.helpers import write_backup


def test_alignment_totals_and_no_wrap() -> None:
    long_path = "/srv/backups/" + "x" * 300
    text = text_table(("name", "rows", "path"), [("a", "1", long_path), ("bb", "1,000", "/p")], "lrl",
                      totals=("TOTAL", "1,001", ""))
    lines = text.splitlines()
    assert lines[0].split() == ["name", "rows", "path"]
    assert set(lines[1]) == {"─"} and set(lines[4]) == {"─"}  # under the header, over the totals
    assert lines[2].endswith(long_path) and len(lines) == 6  # one line per row, whatever the width
    end = lines[2].index("1") + 1  # numbers right-aligned: their last digits in one column
    assert lines[3].index("1,000") + 5 == end and lines[5].index("1,001") + 5 == end
    assert all(line == line.rstrip() for line in lines)


def test_summary_and_history_in_a_pipe(db: psycopg.Connection, db_dsn: str, tmp_path: Path) -> None:
    db.execute("CREATE TABLE authors (id int PRIMARY KEY, name text)")
    root = tmp_path / "kata_json"
    write_backup(root, {"authors.json": [{"id": i, "name": "n"} for i in range(1, 1201)]})
    proc = run_cli(["restore", "--dsn", db_dsn, "--backup-root", str(root), "--no-parser-process"])
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["table", "state", "records", "loaded", "duplicates", "failed", "seconds"]
    assert lines[2].split()[:6] == ["authors", "done", "1,200", "1,200", "0", "0"]
    assert lines[4].split()[:5] == ["TOTAL", "1,200", "1,200", "0", "0"]
    run_id = json.loads(run_cli(["history", "--json"]).stdout)["runs"][0]["run_id"]
    ascii_out = run_cli(["history"], env={"PYTHONIOENCODING": "ascii"})
    assert ascii_out.returncode == 0 and ascii_out.stdout.isascii()
    assert ascii_out.stdout.splitlines()[1].strip("-") == ""
    assert ascii_out.stdout.splitlines()[2].split()[:3] == [run_id, "completed", "1,200"]
