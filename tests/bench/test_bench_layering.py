"""The benchmark core is UI-free: importing it (and the CLI) never loads Textual."""

from __future__ import annotations

import subprocess
import sys

MODULES = ["katarestore_tui.bench.runner", "katarestore_tui.cli.bench", "katarestore_tui.cli.bench_output",
           "katarestore_tui.history.benchmarks"]


def test_bench_imports_without_textual():
    code = (
        "import importlib, sys\n"
        f"for name in {MODULES!r}: importlib.import_module(name)\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] == 'textual')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
