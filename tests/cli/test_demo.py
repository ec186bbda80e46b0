"""`katarestore demo --no-tui` end to end: the sample restored in the CLI, every record accounted for."""

from __future__ import annotations

import json
from pathlib import Path

from tests.reliability.support import cli_env, run_cli


def test_demo_without_the_tui_restores_the_sample_and_accounts_for_every_record(
        db_dsn: str, tmp_path: Path) -> None:
    done = run_cli("demo", "--no-tui", "--json", "--rows", "40", "--backup-root", str(tmp_path / "root"),
                   env=cli_env(DATABASE_URL=db_dsn))
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1, done.stdout + done.stderr  # the sample's bad records, on purpose
    summary = json.loads(done.stdout)
    totals = summary["totals"]
    assert totals["records"] == totals["loaded"] + totals["duplicates"] + totals["failed"]
    assert totals["failed"] > 0 and totals["loaded"] > 0 and summary["status"] == "partial"
