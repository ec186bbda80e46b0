"""Model-based fault test, bounded for CI: random scenarios against the plain oracle.

See tests/reliability/model/__init__.py for the model. Each example builds a fresh
database, a random schema and backup, runs katarestore with a random fault (kill -9,
a killed backend, a server crash on a private server), resumes until done and compares
the end state with the oracle. A failure is shrunk and printed as a readable repro.

    KATARESTORE_MODEL_SEED=123        first seed (default 0: the same examples every run)
    KATARESTORE_MODEL_EXAMPLES=60     how many
    KATARESTORE_MODEL_FAMILIES=all    every family, or a comma list (default: families.FAMILIES)
"""

from __future__ import annotations

import os

import pytest

from tests.reliability.model.families import FAMILIES, PENDING, enabled
from tests.reliability.model.harness import check
from tests.reliability.model.known import KNOWN
from tests.reliability.model.runner import run_many
from tests.reliability.model.scenario import ALL_FAMILIES
from tests.reliability.model.shrink import repro

SEED = int(os.environ.get("KATARESTORE_MODEL_SEED", "0"))
EXAMPLES = int(os.environ.get("KATARESTORE_MODEL_EXAMPLES", "60"))


def chosen_families() -> set[str]:
    wanted = os.environ.get("KATARESTORE_MODEL_FAMILIES", "")
    if wanted == "all":
        return set(ALL_FAMILIES)
    return set(wanted.split(",")) if wanted else enabled()


def _assert_holds(families: set[str], server_dsn: str, examples: int, seed: int) -> None:
    lines: list[str] = []
    count, found = run_many(iter(range(seed, seed + examples)), families, server_dsn, size=30,
                            shrink_seconds=30, log=lines.append)
    assert count == examples
    assert not found, (f"{len(found)} of {count} scenarios broke a promise "
                       f"(families {sorted(families)}):\n\n" + "\n\n".join(f.report() for f in found))


def test_random_scenarios_end_as_the_oracle_says(server_dsn):
    """Every record in exactly one place, rows not in the backup untouched, resumes exact."""
    _assert_holds(chosen_families(), server_dsn, EXAMPLES, SEED)


def test_every_family_is_switched_on_or_named_pending():
    assert set(FAMILIES) == set(ALL_FAMILIES)
    for name, on in FAMILIES.items():
        assert on or name in PENDING, f"family {name} is off without a reason in PENDING"


@pytest.mark.parametrize("family", sorted(PENDING) or ["none"])
def test_pending_family(family, server_dsn):
    """A family off today: skipped with the defect's number, runnable once it is fixed."""
    if family == "none":
        pytest.skip("no family is pending")
    if not FAMILIES.get(family) and os.environ.get("KATARESTORE_MODEL_FAMILIES") != "all":
        pytest.skip(f"family {family!r} off until {PENDING[family]} is fixed (turn it on in "
                    "tests/reliability/model/families.py)")
    _assert_holds(enabled() | {family}, server_dsn, 10, SEED)


@pytest.fixture(scope="module")
def crash_server():
    from tests.reliability.model import server

    if server.available() is not None:
        pytest.skip(f"no private server for the crash case: {server.available()}")
    with server.private_server() as srv:
        yield srv


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_known_minimal_case(name, server_dsn, request):
    """The minimal scenario the model found for each defect; on with its family."""
    family, scenario = KNOWN[name]
    if not FAMILIES.get(family) and os.environ.get("KATARESTORE_MODEL_FAMILIES") != "all":
        pytest.skip(f"family {family!r} off until {PENDING[family]} is fixed")
    crash = request.getfixturevalue("crash_server") if scenario.fault.kind == "crash" else None
    problems, exp, out = check(scenario, server_dsn, crash)
    assert not exp.ambiguous
    assert not problems, repro(scenario, problems) + f"\nnotes: {out.notes}"
