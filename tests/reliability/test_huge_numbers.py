"""An integer of more than 4,300 digits: exact where it fits, refused with its cause, never
a crash (ijson 3.6.0's C backend segfaults on Python's int-digits limit).

Run through the CLI in a subprocess, so a SIGSEGV fails the test instead of pytest.
"""

from __future__ import annotations

import json
import signal

import psycopg
import pytest

from katarestore_tui.engine.quarantine import read_quarantine
from tests.reliability.support import run_cli

BIG = "7" * 5_000  # past CPython's default limit of 4,300 digits
LAYOUTS = {
    "stringify": ("t.json", lambda rows: "[\n" + ",\n".join(f"  {r}" for r in rows) + "\n]"),
    "compact": ("t.json", lambda rows: "[" + ",".join(rows) + "]"),
    "lines": ("t.jsonl", lambda rows: "".join(r + "\n" for r in rows)),
}


def rows() -> list[str]:
    return [
        '{"id": 1, "n": 1, "small": 1}',
        f'{{"id": 2, "n": {BIG}, "small": 2}}',  # fits numeric: loads, digit for digit
        f'{{"id": 3, "n": 3, "small": {BIG}}}',  # not an int8: refused by the server
        f'{{"id": 4, "n": -{BIG}.5, "small": 4}}',
        '{"id": 5, "n": 5, "small": 5}',
    ]


@pytest.mark.parametrize("dry_run", [False, True], ids=["load", "dry-run"])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_an_integer_past_4300_digits_never_crashes(layout, dry_run, db: psycopg.Connection,
                                                   db_dsn, tmp_path):
    db.execute("CREATE TABLE t (id int PRIMARY KEY, n numeric, small int8)")
    name, write = LAYOUTS[layout]
    folder = tmp_path / "20240101_000000"
    folder.mkdir()
    (folder / name).write_text(write(rows()))
    extra = ["--dry-run"] if dry_run else []
    done = run_cli("restore", str(folder), "--dsn", db_dsn, "--yes", "--json", *extra)
    assert done.returncode != -signal.SIGSEGV, "the parser crashed"
    assert done.returncode in (0, 1), done.stderr
    if dry_run:
        return
    summary = json.loads(done.stdout)
    t = summary["tables"]["t"]
    assert (t["records"], t["loaded"], t["failed"]) == (5, 4, 1), t
    got = dict(db.execute("SELECT id, n::text FROM t").fetchall())
    assert got == {1: "1", 2: BIG, 4: f"-{BIG}.5", 5: "5"}
    (entry,) = read_quarantine(summary["run_id"], "t")
    assert entry["record"]["id"] == 3 and entry["sqlstate"] == "22003", entry
    assert str(entry["record"]["small"]) == BIG, "the record is kept digit for digit"
