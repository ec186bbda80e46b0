"""Run many scenarios, shrink each failure, report: shared by the CI test and the long script."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tests.reliability.model import server
from tests.reliability.model.harness import check
from tests.reliability.model.scenario import Scenario, generate
from tests.reliability.model.shrink import repro, shrink


@dataclass
class Found:
    seed: int
    problems: list[str]
    scenario: Scenario  # the smallest one that still fails the same way

    def report(self) -> str:
        return f"FAILURE seed {self.seed}\n{repro(self.scenario, self.problems)}"


def verdict(server_dsn: str, crash_server) -> Callable[[Scenario], list[str] | None]:
    """Problems of a scenario, or None when it holds or the oracle is ambiguous for it."""

    def judge(s: Scenario) -> list[str] | None:
        try:
            problems, exp, _ = check(s, server_dsn, crash_server)
        except Exception as exc:  # the harness itself broke: report it, do not stop the run
            return [f"harness: {type(exc).__name__}: {exc}"]
        return problems if problems and not exp.ambiguous else None

    return judge


@contextlib.contextmanager
def crash_server_if(families: set[str]) -> Iterator[object | None]:
    """A private server when the crash family is on and one can be started here."""
    if "crash" not in families or server.available() is not None:
        yield None
        return
    with server.private_server() as srv:
        yield srv


def run_many(seeds: Iterator[int], families: set[str], server_dsn: str, size: int = 40,
             shrink_seconds: float = 60, until: float | None = None,
             log: Callable[[str], None] = print) -> tuple[int, list[Found]]:
    """(scenarios run, failures found); stops at `until` (time.monotonic) when given."""
    found: list[Found] = []
    count = 0
    with crash_server_if(families) as crash:
        usable = families if crash is not None else families - {"crash"}
        judge = verdict(server_dsn, crash)
        for seed in seeds:
            if until is not None and time.monotonic() >= until:
                break
            s = generate(seed, usable, size=size)
            problems = judge(s)
            count += 1
            if not problems:
                continue
            log(f"seed {seed}: {problems[0][:200]} ... shrinking")
            small, small_problems = shrink(s, problems, judge, shrink_seconds, log=log)
            found.append(Found(seed, small_problems, small))
            log(found[-1].report())
    return count, found
