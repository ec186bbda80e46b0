"""A lone UTF-16 surrogate escape quarantines its record, faithfully, and the run goes on.

Node's `JSON.stringify` writes `"\\ud83d"` for an emoji cut in half by `.slice()`: valid
JSON, but no UTF-8 text, so PostgreSQL cannot store it. The record must land in the
quarantine with its reason (naming the column) and its value kept as the escape, the
other records and tables must load, and `katarestore failures` must read it back. On
every road a file takes: the stdlib decoder (JSON.stringify's layout, JSON Lines) and
ijson (any other layout), whose C backend decodes such escapes wrongly.
"""

from __future__ import annotations

import json

import psycopg
import pytest

from katarestore_tui.engine.quarantine import read_quarantine
from katarestore_tui.engine.restore import EXIT_PARTIAL, run_restore
from tests.helpers import assert_balanced, options, write_backup
from tests.reliability.support import run_cli

# (id, the name as JSON text, the str it means, loads?)
NAMES = [
    (1, r'"plain"', "plain", True),
    (2, r'"cut \ud83d"', "cut \ud83d", False),  # a high surrogate at the end
    (3, r'"\ude00 low"', "\ude00 low", False),  # a low one alone
    (4, r'"\ud83d\u0041"', "\ud83dA", False),  # a high one before another escape
    (5, r'"pair \ud83d\ude00"', "pair \U0001F600", True),  # a whole pair: an emoji
    (6, r'"\ud83d\ud83d"', "\ud83d\ud83d", False),  # two highs
    (7, r'"caf\u00e9 ok"', "café ok", True),
]
LAYOUTS = {
    "stringify": ("t.json", lambda objs: "[\n" + ",\n".join(
        "  {\n" + ",\n".join(f'    "{k}": {v}' for k, v in o) + "\n  }" for o in objs) + "\n]"),
    "compact": ("t.json", lambda objs: "[" + ",".join(
        "{" + ",".join(f'"{k}":{v}' for k, v in o) + "}" for o in objs) + "]"),
    "lines": ("t.jsonl", lambda objs: "".join(
        "{" + ", ".join(f'"{k}": {v}' for k, v in o) + "}\n" for o in objs)),
}


def objects(with_jsonb: bool = True) -> list[list[tuple[str, str]]]:
    """The records as (key, JSON text) pairs, so the escapes are exactly as written."""
    out = []
    for i, text, _, _ in NAMES:
        pairs = [("id", str(i)), ("name", text)]
        if with_jsonb:
            doc = {1: r'{"nested": ["x\udfff"]}', 6: f'{{"nested": [{text}]}}'}.get(i, "null")
            pairs.append(("doc", doc))
        out.append(pairs)
    return out


@pytest.fixture
def target(db: psycopg.Connection) -> psycopg.Connection:
    db.execute("CREATE TABLE t (id int PRIMARY KEY, name text, doc jsonb)")
    db.execute("CREATE TABLE other (id int PRIMARY KEY)")
    return db


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_a_lone_surrogate_quarantines_its_record_and_the_run_goes_on(layout, target, db_dsn,
                                                                     tmp_path):
    file_name, write = LAYOUTS[layout]
    backup = write_backup(tmp_path, {file_name: write(objects()), "other.json": [{"id": 1}]})
    result = run_restore(options(db_dsn, backup), backup.parent)
    assert result.exit_code == EXIT_PARTIAL, result.error
    assert_balanced(result)
    assert result.tables["other"].loaded == 1, "the other table still loads"
    # id 1 holds a lone surrogate in its jsonb column: refused too
    bad = {i for i, _, _, loads in NAMES if not loads} | {1}
    good = [(i, value) for i, _, value, _ in NAMES if i not in bad]
    stats = result.tables["t"]
    assert (stats.records, stats.loaded, stats.failed) == (len(NAMES), len(good), len(bad))
    assert target.execute("SELECT id, name FROM t ORDER BY id").fetchall() == good

    entries = {e["record"]["id"]: e for e in read_quarantine(result.run_id, "t")}
    assert set(entries) == bad
    for i, _, value, _ in NAMES:
        if i in bad:
            entry = entries[i]
            column = "doc" if i == 1 else "name"
            assert "surrogate" in entry["message"] and column in entry["message"], entry
            assert entry["column"] == column
            if i != 1:
                assert entry["record"]["name"] == value, "kept exactly, not as '?'"
    assert entries[6]["record"]["doc"] == {"nested": ["\ud83d\ud83d"]}
    assert entries[1]["record"]["doc"] == {"nested": ["x\udfff"]}
    raw = (result_quarantine_file(result.run_id)).read_text(encoding="utf-8")
    assert "\\ud83d" in raw, "the file holds the escape, as valid UTF-8"

    listing = run_cli("failures", result.run_id)
    assert listing.returncode == 0, listing.stderr
    assert "surrogate" in listing.stdout
    as_json = run_cli("failures", result.run_id, "--json")
    assert as_json.returncode == 0, as_json.stderr
    names = {e["record"]["id"]: e["record"]["name"] for e in json.loads(as_json.stdout)}
    assert names[2] == "cut \ud83d"


def result_quarantine_file(run_id: str):
    from katarestore_tui.engine.quarantine import QuarantineWriter

    return QuarantineWriter(run_id).path("t")


def test_valid_escapes_on_the_ijson_road_load_exactly(target, db_dsn, tmp_path):
    """A pair of escapes for one emoji is fine everywhere; no record is refused for it."""
    objs = [[("id", "1"), ("name", r'"\ud83d\ude00\ud83c\udf89 x"')], [("id", "2"), ("name", '"y"')]]
    backup = write_backup(tmp_path, {"t.json": LAYOUTS["compact"][1](objs)})
    result = run_restore(options(db_dsn, backup), backup.parent)
    assert result.tables["t"].loaded == 2
    assert target.execute("SELECT name FROM t WHERE id = 1").fetchone()[0] == "😀🎉 x"


@pytest.mark.parametrize("split", range(0, 7))
def test_a_lone_escape_across_two_reads_is_still_seen(tmp_path, split):
    """yajl gets the file 256 KB at a time: the escape may be cut anywhere."""
    from katarestore_tui.backup.catalog import table_file
    from katarestore_tui.backup.reader import READ_SIZE, RecordReader

    head = '[{"id":0,"pad":"'
    escape_at = READ_SIZE - split  # the escape's backslash, `split` bytes before the end
    text = head + "x" * (escape_at - len(head)) + r'\ud83d","tail":"ok"},{"id":1}]'
    path = tmp_path / "t.json"
    path.write_text(text)
    records = [r for _, r in RecordReader(table_file(path))]
    assert records[0]["pad"].endswith("x\ud83d") and records[0]["tail"] == "ok"
    assert records[1] == {"id": 1}
