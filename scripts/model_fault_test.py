"""The long run of the model-based fault test: random seeds for minutes, every failure shrunk.

    .venv/bin/python scripts/model_fault_test.py --minutes 30
    .venv/bin/python scripts/model_fault_test.py --examples 200 --seed 1000 --families all
    .venv/bin/python scripts/model_fault_test.py --replay repro.json   # one scenario, from a repro

It needs a PostgreSQL server it may create databases on (--dsn, default the local one) and,
for the crash family, root (to run a private server as user postgres). Each failure prints
its seed and a minimal repro; the last line is "N scenarios, K failures".
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reliability.model.families import enabled
from tests.reliability.model.runner import crash_server_if, run_many, verdict
from tests.reliability.model.scenario import ALL_FAMILIES, Scenario
from tests.reliability.model.shrink import categories, repro

LOCAL_DSN = "postgresql://root@127.0.0.1:5432/postgres"


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=None, help="run for this long")
    p.add_argument("--examples", type=int, default=None, help="run this many scenarios")
    p.add_argument("--seed", type=int, default=None, help="first seed (default: random)")
    p.add_argument("--families", default="all", help="'all', 'enabled' (the CI set) or a,b,c")
    p.add_argument("--size", type=int, default=40, help="at most this many records per table")
    p.add_argument("--shrink-seconds", type=float, default=90)
    p.add_argument("--dsn", default=os.environ.get("KATARESTORE_TEST_DSN", LOCAL_DSN))
    p.add_argument("--replay", help="a file holding a repro's 'replay:' JSON")
    return p.parse_args()


def families_of(text: str) -> set[str]:
    if text == "all":
        return set(ALL_FAMILIES)
    if text == "enabled":
        return enabled()
    return set(text.split(","))


def replay(args: argparse.Namespace) -> int:
    text = Path(args.replay).read_text()
    scenario = Scenario.from_json(text.split("replay:", 1)[-1].strip())
    with crash_server_if({scenario.fault.kind}) as crash:
        problems = verdict(args.dsn, crash)(scenario)
    print(repro(scenario, problems or []))
    print(f"1 scenarios, {1 if problems else 0} failures")
    return 1 if problems else 0


def main() -> int:
    args = parse()
    # a SIGTERM unwinds normally, so the private crash server is stopped by its finalizer
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    os.environ.setdefault("KATARESTORE_DATA_DIR", tempfile.mkdtemp(prefix="kr-model-data-"))
    os.environ.pop("DATABASE_URL", None)
    if args.replay:
        return replay(args)
    first = args.seed if args.seed is not None else random.randrange(10**9)
    seeds = itertools.count(first) if args.examples is None else iter(range(first, first + args.examples))
    until = time.monotonic() + args.minutes * 60 if args.minutes else None
    if args.examples is None and until is None:
        until = time.monotonic() + 10 * 60
    families = families_of(args.families)
    print(f"model fault test: seeds from {first}, families {','.join(sorted(families))}", flush=True)
    began = time.monotonic()
    count, found = run_many(seeds, families, args.dsn, size=args.size,
                            shrink_seconds=args.shrink_seconds, until=until,
                            log=lambda m: print(m, flush=True))
    kinds = Counter(c for f in found for c in categories(f.problems))
    print(f"{count} scenarios, {len(found)} failures in {time.monotonic() - began:.0f} s"
          + (f" ({', '.join(f'{k} {n}' for k, n in kinds.most_common())})" if kinds else "")
          + (f"; failing seeds {', '.join(str(f.seed) for f in found)}" if found else ""))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
