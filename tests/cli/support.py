"""Run katarestore as a script would: a subprocess, its own environment, no terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_cli(args: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 60, stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess:
    """`python -m katarestore_tui ARGS` with the test's environment (private data folders)
    plus `env`; stdin is /dev/null unless told (a script under cron has no terminal)."""
    full = dict(os.environ)
    full["PYTHONPATH"] = str(REPO) + os.pathsep + full.get("PYTHONPATH", "")
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "katarestore_tui", *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=timeout, stdin=stdin)
