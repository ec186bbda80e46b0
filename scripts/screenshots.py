"""Regenerate screenshots/<screen>.svg (120x40) from a real restore of the demo backup.

    python scripts/screenshots.py [--server postgresql://root@127.0.0.1:5432/postgres]

Drives the app headless (App.run_test + Pilot) against a fresh database named
katarestore_screenshots on that server; run logs and preferences go to a scratch folder.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

REPO = Path(__file__).resolve().parent.parent
SCRATCH = Path("/tmp/katarestore-screenshots")
DATABASE = "katarestore_screenshots"
SIZE = (120, 40)


def fresh_database(server: str) -> str:
    """A new empty database on `server`; the DSN shown carries a dummy password to show the mask."""
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    params = conninfo_to_dict(server)
    user, password = params.get("user") or "postgres", params.get("password") or "demo-password"
    host, port = params.get("host") or "127.0.0.1", params.get("port") or "5432"
    return f"postgresql://{user}:{password}@{host}:{port}/{DATABASE}"


def stopped_run(dsn: str, backup: Path) -> None:
    """A run cancelled before its first batch, as a lost terminal would leave it."""
    import threading

    from katarestore_tui.engine.options import RestoreOptions
    from katarestore_tui.engine.restore import run_restore

    cancel = threading.Event()
    cancel.set()
    run_restore(RestoreOptions(backup=str(backup), dsn=dsn), backup.parent, cancel=cancel)
    time.sleep(1.1)  # run ids sort by the second they started in


async def wait_for(pilot, condition: Callable[[], object], timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out driving the app")
        await pilot.pause(0.1)


async def drive(dsn: str, root: Path, backup: str, out: Path) -> list[str]:
    from katarestore_tui.app.app import KatarestoreApp

    app = KatarestoreApp(dsn=dsn, backup_root=root, backup=backup)
    written: list[str] = []

    def shot(name: str) -> None:
        app.save_screenshot(f"{name}.svg", path=str(out))
        written.append(f"{name}.svg")

    def on(screen: str) -> bool:
        return type(app.screen).__name__ == screen

    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.dsn and app.screen.query("BackupTable"))
        await app.workers.wait_for_complete()
        await pilot.pause(0.5)
        shot("picker")
        app.screen.query_one("#batch-size").value = "5000"
        await pilot.press("p")
        await wait_for(pilot, lambda: on("PlanScreen"))
        await pilot.press("down", "down")
        await pilot.pause(0.3)
        shot("plan")
        await pilot.press("s")
        await wait_for(pilot, lambda: on("RestoreScreen"))
        restore = app.screen
        await wait_for(pilot, lambda: sum(s.records for s in restore.stats.values()) > 30_000)
        shot("restore-running")
        await wait_for(pilot, lambda: restore.finished is not None)
        await pilot.pause(0.5)
        shot("restore")
        await pilot.press("f")
        await wait_for(pilot, lambda: on("FailuresScreen") and app.screen.entries)
        await pilot.press("down", "down")
        await pilot.pause(0.3)
        shot("failures")
        await pilot.press("escape", "h")
        await wait_for(pilot, lambda: on("HistoryScreen"))
        await pilot.pause(0.3)
        shot("history")
        await pilot.press("question_mark")
        await pilot.pause(0.3)
        shot("help")
        await pilot.press("escape", "escape", "escape")
        await pilot.pause(0.2)
        app.theme = "textual-light"
        await pilot.press("h")
        await wait_for(pilot, lambda: on("HistoryScreen"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: on("FailuresScreen") and app.screen.entries)
        await pilot.pause(0.3)
        shot("failures-light")
        app.theme = "textual-dark"
        await pilot.press("escape", "escape", "escape")
        await pilot.pause(0.2)
        from katarestore_tui.app.screens.benchmark import BenchmarkScreen

        bench = BenchmarkScreen(root, dsn, limit_rows=3_000)
        await app.push_screen(bench)
        await pilot.pause(0.5)
        for _ in range(2):  # two runs, so the history and its trend have something to show
            bench.action_run()
            await wait_for(pilot, lambda: not bench.running)
            await pilot.pause(0.3)
        shot("benchmark")
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=os.environ.get("KATARESTORE_TEST_DSN",
                                                           "postgresql://root@127.0.0.1:5432/postgres"),
                        help="a PostgreSQL DSN allowed to create databases")
    parser.add_argument("--rows", type=int, default=60_000, help="demo size (largest table)")
    parser.add_argument("--out", type=Path, default=REPO / "screenshots")
    args = parser.parse_args()

    shutil.rmtree(SCRATCH, ignore_errors=True)
    os.environ["KATARESTORE_DATA_DIR"] = str(SCRATCH / "data")
    os.environ["KATARESTORE_CONFIG_DIR"] = str(SCRATCH / "config")
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(REPO))
    from katarestore_tui.demo import create_demo_schema, write_demo_backup

    dsn = fresh_database(args.server)
    with psycopg.connect(dsn, autocommit=True) as conn:
        create_demo_schema(conn)
    root = SCRATCH / "kata_json"
    write_demo_backup(root, rows=args.rows // 4, bad_records=False, name="20241115_020000")
    demo = write_demo_backup(root, rows=args.rows, bad_records=True, name="20241201_103000")
    stopped_run(dsn, root / "20241115_020000")  # History then shows a resumable run too
    args.out.mkdir(parents=True, exist_ok=True)
    written = asyncio.run(drive(dsn, root, str(demo.path), args.out))
    print(f"wrote {', '.join(written)} to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
