"""A record nested 1,000 or 100,000 deep is refused while reading, in bounded memory.

The CLI runs in a subprocess limited to 1 GB of address space (100,000 levels once drove
it to 23 GB): the valid records around the deep one load, the deep one is quarantined
with its cause and its text (or the head of it), and the run goes on.
"""

from __future__ import annotations

import json
import resource

import psycopg
import pytest

from katarestore_tui.engine.quarantine import read_quarantine
from tests.reliability.support import cli_command, cli_env

LIMIT = 1024**3


def limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def run_limited(*args: str):
    import subprocess

    from tests.reliability.support import REPO

    return subprocess.run(cli_command(*args), capture_output=True, text=True, env=cli_env(),
                          timeout=300, cwd=REPO, preexec_fn=limited)


def deep_compact(depth: int) -> str:
    return "[" * depth + "]" * depth


def deep_stringify(depth: int, indent: int) -> str:
    """What JSON.stringify(value, null, 2) writes for arrays nested `depth` deep, at `indent`."""
    opening = "".join("[\n" + "  " * (indent + k + 1) for k in range(depth - 1))
    closing = "".join("\n" + "  " * (indent + k) + "]" for k in reversed(range(depth - 1)))
    return opening + "[]" + closing


def good(i: int) -> dict:
    return {"id": i, "doc": {"k": [i, {"v": "x"}]}}


def files(depth: int, layout: str) -> dict[str, str]:
    before, after = [good(i) for i in (1, 2)], [good(i) for i in (4, 5)]
    if layout == "stringify":
        parts = [json.dumps(r, indent=2).replace("\n", "\n  ") for r in before]
        parts.append('{\n    "id": 3,\n    "doc": ' + deep_stringify(depth, 2) + "\n  }")
        parts += [json.dumps(r, indent=2).replace("\n", "\n  ") for r in after]
        return {"t.json": "[\n  " + ",\n  ".join(parts) + "\n]"}
    deep = '{"id": 3, "doc": ' + deep_compact(depth) + "}"
    rows = [json.dumps(r) for r in before] + [deep] + [json.dumps(r) for r in after]
    if layout == "lines":
        return {"t.jsonl": "\n".join(rows) + "\n"}
    return {"t.json": "[" + ", ".join(rows) + "]"}


@pytest.mark.parametrize(("layout", "depth"), [
    ("stringify", 1_000), ("compact", 1_000), ("lines", 1_000),
    ("compact", 100_000), ("lines", 100_000),
])
def test_a_deeply_nested_record_is_refused_and_the_rest_loads(layout, depth, db: psycopg.Connection,
                                                              db_dsn, tmp_path):
    db.execute("CREATE TABLE t (id int PRIMARY KEY, doc jsonb)")
    db.execute("CREATE TABLE other (id int PRIMARY KEY)")
    folder = tmp_path / "20240101_000000"
    folder.mkdir()
    for name, text in {**files(depth, layout), "other.json": '[{"id": 1}]'}.items():
        (folder / name).write_text(text)
    done = run_limited("restore", str(folder), "--dsn", db_dsn, "--yes", "--json")
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    summary = json.loads(done.stdout)
    t = summary["tables"]["t"]
    assert (t["records"], t["loaded"], t["failed"]) == (5, 4, 1), t
    assert summary["tables"]["other"]["loaded"] == 1
    rows = db.execute("SELECT id, doc FROM t ORDER BY id").fetchall()
    assert rows == [(i, good(i)["doc"]) for i in (1, 2, 4, 5)]
    (entry,) = read_quarantine(summary["run_id"], "t")
    assert "nested deeper than 512 levels" in entry["message"], entry
    kept = entry["record"]
    assert isinstance(kept, str) and kept.startswith('{') and '"id": 3' in kept[:40], kept[:60]
    if depth == 100_000 or layout == "stringify":  # its text is past 64 KB
        assert 60_000 < len(kept) <= 65_536
        assert f"only the first {len(kept.encode()):,} bytes" in entry["message"]
    else:
        assert "kept as its JSON text" in entry["message"]
        assert kept.count("[") == depth
    listing = run_limited("failures", summary["run_id"])
    assert listing.returncode == 0 and "nested deeper" in listing.stdout, listing.stderr
