"""The smallest scenarios the model found failing on main (bb508a2), one per defect of issue 9.

Each is keyed by the family that keeps it off in families.py; the CI test runs the ones
whose family is on, so a fix is proven by its own minimal case as well as by random ones.
"""

from __future__ import annotations

import pathlib

from tests.reliability.model.scenario import Fault, FileSpec, FKSpec, Scenario, TableSpec


def _alternating(n: int) -> list[dict]:
    """Two key sets taking turns, as a JSON Lines export that omits nulls writes them."""
    return [{"id": i, "name": f"n{i}", "qty": i} if i % 2 else {"name": f"n{i}", "id": i}
            for i in range(1, n + 1)]


KNOWN: dict[str, tuple[str, Scenario]] = {
    "9.1-kill9-after-a-layout-change": ("layouts", Scenario(
        91, [TableSpec("t0")], {}, {"t0": FileSpec("json", _alternating(200))},
        batch_size=3, fault=Fault("kill9", "t0", 30))),
    "9.2-crash-loses-acknowledged-batches": ("crash", Scenario(
        92, [TableSpec("t0")], {}, {"t0": FileSpec("json", _alternating(300))},
        batch_size=2, fault=Fault("crash", "t0", 40))),
    "9.3a-not-valid-pre-existing-orphan-deleted": ("not_valid", Scenario(
        931, [TableSpec("t0"), TableSpec("t1", fks=[FKSpec("ref_t0", "t0", not_valid=True)])],
        {"t1": [{"id": 1001, "name": "old", "qty": 1, "code": None, "ref_t0": 9001}]},
        {"t0": FileSpec("json", [{"id": 1, "name": "p"}]),
         "t1": FileSpec("json", [{"id": 1, "name": "c", "refT0": 1}])})),
    "9.3b-update-to-a-missing-parent-deletes-the-row": ("preexisting", Scenario(
        932, [TableSpec("t0"), TableSpec("t1", fks=[FKSpec("ref_t0", "t0")])],
        {"t0": [{"id": 1, "name": "p", "qty": None, "code": None}],
         "t1": [{"id": 1001, "name": "old", "qty": 1, "code": None, "ref_t0": 1}]},
        {"t0": FileSpec("json", [{"id": 2, "name": "p2"}]),
         "t1": FileSpec("json", [{"id": 1001, "name": "new", "refT0": 5000}])},
        on_conflict="update")),
    **{f"9.6-unique-{kind}-clash-is-not-a-duplicate": ("unique", Scenario(
        96, [TableSpec("t0", unique=kind)], {},
        {"t0": FileSpec("json", [{"id": 21, "name": "a", "qty": None, "code": "C21"},
                                 {"id": 30, "name": "b", "qty": 150, "code": code}])}))
       for kind, code in (("plain", "C21"), ("expr", "c21"))},
    "9.6-unique-partial-clash-is-not-a-duplicate": ("unique", Scenario(
        96, [TableSpec("t0", unique="partial")], {},
        {"t0": FileSpec("json", [{"id": 5, "name": "a", "qty": 142, "code": "c5"},
                                 {"id": 9, "name": "b", "qty": 150, "code": "c5"}])})),
    "9.11-cut-json-gz-loads-nothing": ("truncated", Scenario(
        911, [TableSpec("t0")], {},
        {"t0": FileSpec("json.gz", [{"id": i, "name": f"n{i}", "qty": i, "code": f"code-{i}"}
                                    for i in range(1, 301)], cut=0.5)})),
    "9.13-row-mode-self-reference-child-first": ("row_mode", Scenario(
        913, [TableSpec("t0", fks=[FKSpec("ref_t0", "t0")])], {},
        {"t0": FileSpec("json", [{"id": 1, "name": "a", "refT0": 2}, {"id": 2, "name": "b"}])},
        batch_size=1, fk_mode="immediate")),
    "new-self-reference-orphan-chain-left-dangling": ("orphan_chain", Scenario(
        900, [TableSpec("t0", fks=[FKSpec("ref_t0", "t0")])], {},
        {"t0": FileSpec("json", [{"id": 20, "name": "a", "refT0": 22},
                                 {"id": 22, "name": "b", "refT0": 16}])})),
    "new-kill-at-the-end-resume-loads-twice": ("kill_at_end", Scenario(
        901, [TableSpec("t0", pk=False)], {},
        {"t0": FileSpec("json", [{"id": i, "name": f"n{i}"} for i in range(10)])},
        fault=Fault("kill_end", "t0", 0))),
    "9.13-row-mode-two-table-cycle": ("row_mode", Scenario(
        913, [TableSpec("t0", fks=[FKSpec("ref_t1", "t1")]), TableSpec("t1", fks=[FKSpec("ref_t0", "t0")])],
        {}, {"t0": FileSpec("json", [{"id": 1, "name": "a", "refT1": 1}]),
             "t1": FileSpec("json", [{"id": 1, "name": "b", "refT0": 1}])},
        batch_size=1, fk_mode="immediate")),
    # CI seed 58: the row-mode retry inserted every waiting record in one statement, and a
    # unique clash between two of them (a partial unique index) kept all six quarantined
    "new-row-mode-retry-stopped-by-a-unique-clash": ("row_mode", Scenario.from_json(
        (pathlib.Path(__file__).parent / "seed58.json").read_text())),
}
