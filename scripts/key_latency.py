"""How fast the TUI answers a key, idle and while a 1M-record table loads, seen from tmux.

    python scripts/key_latency.py --rows 1000000 --presses 20
    python scripts/key_latency.py --rows 1000000 --app-dir /work/main --app-dir .   # before/after

The real app runs in a tmux window of 80x24 against the local PostgreSQL (a scratch database
per run, dropped after), on a demo backup whose `lesson_progress` has `--rows` records. The
script presses `?` and waits until the help box is on the terminal (polling
`tmux capture-pane`), then Escape until it is gone: time from `send-keys` to the screen change,
so it counts everything the operator waits for (input thread, event loop, redraw, output).
It measures on the first screen (idle), then starts the restore and measures only while
`lesson_progress` is loading. Each `--app-dir` is a checkout whose package is put first on
PYTHONPATH: several in one run compare code versions under the same load.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

HELP_MARK = "esc to close"  # the help box's subtitle
LOADING_MARK = "lesson_progress loading"
POLL = 0.004  # seconds between two captures
TIMEOUT = 5.0


SOCKET = f"keylat-{os.getpid()}"  # a tmux server of our own: others' options and kills stay out


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, *args], check=True, capture_output=True,
                          text=True).stdout


def screen(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)


def wait_for(session: str, present: str, shown: bool, timeout: float = TIMEOUT) -> float | None:
    """Seconds until `present` is (or is no longer) on screen; None if it never happened."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if (present in screen(session)) == shown:
            return time.perf_counter() - start
        time.sleep(POLL)
    return None


def press_and_wait(session: str, key: str, mark: str, shown: bool) -> float | None:
    start = time.perf_counter()
    tmux("send-keys", "-t", session, key)
    took = wait_for(session, mark, shown)
    return None if took is None else time.perf_counter() - start


def measure(session: str, presses: int, while_mark: str | None,
            close_key: str = "Escape") -> dict[str, list[float]]:
    """`?` then `close_key`, `presses` times (only while `while_mark` is on screen, if given)."""
    found: dict[str, list[float]] = {"open": [], "close": []}
    for _ in range(presses):
        if while_mark is not None and while_mark not in screen(session):
            break
        opened = press_and_wait(session, "?", HELP_MARK, True)
        if opened is None:
            break
        found["open"].append(opened)
        time.sleep(0.05)  # an operator reads for a moment
        closed = press_and_wait(session, close_key, HELP_MARK, False)
        if closed is None:
            break
        found["close"].append(closed)
        time.sleep(0.05)
    return found


def scratch_dsn(server: str, name: str) -> str:
    params = conninfo_to_dict(server)
    params["dbname"] = name
    return make_conninfo(**params)


def one_app(app_dir: Path, server: str, backup_root: Path, presses: int,
            close_key: str = "Escape") -> dict[str, dict]:
    """Idle and loading figures for the checkout in `app_dir`."""
    from katarestore_tui.demo import create_demo_schema

    name = f"keylat_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = scratch_dsn(server, name)
    session = f"keylat-{uuid.uuid4().hex[:8]}"
    home = Path(tempfile.mkdtemp(prefix="keylat-home-"))
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            create_demo_schema(conn, drop_existing=True)
        env = {"PYTHONPATH": str(app_dir.resolve()), "XDG_DATA_HOME": str(home / "data"),
               "XDG_CONFIG_HOME": str(home / "config")}
        command = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) + " " + shlex.join(
            [sys.executable, "-m", "katarestore_tui", "--dsn", dsn, "--backup-root", str(backup_root)])
        # the pane stays after the app exits, so a crash is shown rather than a lost session
        tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24",
             f"{command}; echo KEYLAT-EXIT $?; sleep 600")
        if wait_for(session, "Plan", True, timeout=30) is None:
            raise SystemExit("the app did not start:\n" + screen(session))
        time.sleep(1.0)  # let the first screen settle (backup sizes are read in a worker)
        idle = measure(session, presses, None, close_key)
        tmux("send-keys", "-t", session, "p")
        if wait_for(session, "Start restore", True, timeout=60) is None:
            raise SystemExit("no plan screen:\n" + screen(session))
        tmux("send-keys", "-t", session, "s")
        if wait_for(session, LOADING_MARK, True, timeout=120) is None:
            raise SystemExit("lesson_progress never loaded:\n" + screen(session))
        loading = measure(session, presses, LOADING_MARK, close_key)
        return {"idle": idle, "loading": loading}
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-session", "-t", session], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def ms(values: list[float]) -> str:
    if not values:
        return "n/a"
    return (f"median {statistics.median(values) * 1000:5.0f} ms  max {max(values) * 1000:5.0f} ms"
            f"  (n={len(values)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="records in lesson_progress")
    parser.add_argument("--presses", type=int, default=20, help="? + Escape pairs per phase")
    parser.add_argument("--repeat", type=int, default=1, help="runs per app directory")
    parser.add_argument("--app-dir", type=Path, action="append", default=None,
                        help="checkout to measure (repeatable; default: this one)")
    parser.add_argument("--close-key", default="Escape",
                        help="the key that closes help (tmux send-keys name: Escape, q)")
    parser.add_argument("--server", default=os.environ.get(
        "KATARESTORE_TEST_DSN", "host=127.0.0.1 port=5432 user=root dbname=postgres"))
    parser.add_argument("--backup-root", type=Path, default=None,
                        help="reuse a demo backup root (written once if empty)")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is needed")
    from katarestore_tui.demo import write_demo_backup

    root = args.backup_root or Path(tempfile.mkdtemp(prefix="keylat-backup-"))
    if not any(root.glob("*/lesson_progress.json")):
        root.mkdir(parents=True, exist_ok=True)
        print(f"writing a demo backup of {args.rows:,} lesson_progress records to {root} ...",
              flush=True)
        write_demo_backup(root, rows=args.rows, bad_records=False)
    dirs = args.app_dir or [Path(__file__).resolve().parent.parent]
    results: dict[str, dict[str, dict[str, list[float]]]] = {}
    for _ in range(args.repeat):
        for app_dir in dirs:  # interleaved, so both versions see the same machine
            got = one_app(app_dir, args.server, root, args.presses, args.close_key)
            mine = results.setdefault(str(app_dir), {})
            for phase, keys in got.items():
                for key, values in keys.items():
                    mine.setdefault(f"{phase} {key}", []).extend(values)
    print(f"key latency at 80x24, {args.rows:,}-record lesson_progress, "
          f"{args.repeat} run(s) x {args.presses} presses of ? then {args.close_key}")
    for app_dir, figures in results.items():
        print(app_dir)
        for label in ("idle open", "idle close", "loading open", "loading close"):
            print(f"  {label:14} {ms(figures.get(label, []))}")
    if args.backup_root is None:
        shutil.rmtree(root, ignore_errors=True)
    subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
