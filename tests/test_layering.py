"""The core must not depend on the UI: importing it never loads Textual."""

from __future__ import annotations

import subprocess
import sys

CORE_MODULES = [
    "katarestore_tui.engine.restore",
    "katarestore_tui.engine.retry",
    "katarestore_tui.engine.parse_worker",
    "katarestore_tui.backup.reader",
    "katarestore_tui.db.convert",
    "katarestore_tui.db.load_steps",
    "katarestore_tui.cli.restore",
    "katarestore_tui.cli.history",
    "katarestore_tui.cli.bench",
    "katarestore_tui.cli.demo",
    "katarestore_tui.cli.embedded",
]


def test_core_imports_without_textual():
    code = (
        "import importlib, sys\n"
        f"for name in {CORE_MODULES!r}: importlib.import_module(name)\n"
        "loaded = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"core modules pulled in Textual: {out.stdout.strip()}"
