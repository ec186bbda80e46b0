"""`katarestore bench`: the figures table, `--json` = the history record, exit codes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from katarestore_tui.cli import main
from katarestore_tui.history.benchmarks import read_benchmarks
from tests.bench.fixtures import BACKUP_NAME, demo_target, scratch_left

__all__ = ["demo_target"]


@pytest.fixture(autouse=True)
def keep_signal_handlers():
    """`bench` installs Ctrl-C/SIGTERM/SIGHUP handlers; give pytest its own back."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def bench(target, *extra: str) -> list[str]:
    return ["bench", "--dsn", target.dsn, "--backup-root", str(target.root), *extra]


def test_json_prints_the_record_kept_in_history(demo_target, capsys):
    code = main(bench(demo_target, "--json", "--strategies", "batched,copy", "--repeat", "2"))
    out = capsys.readouterr()
    assert code == 0
    record = json.loads(out.out)
    assert read_benchmarks() == [record]
    assert list(record["strategies"]) == ["batched", "copy"] and record["repeat"] == 2
    assert "batched (run 2 of 2)" in out.err  # progress goes to stderr


def test_text_output_is_a_figures_table(demo_target, capsys):
    code = main(bench(demo_target, BACKUP_NAME, "--limit-rows", "50"))
    out = capsys.readouterr().out
    assert code == 0
    header = next(line for line in out.splitlines() if line.startswith("strategy"))
    for column in ("time", "rows/s", "vs legacy", "vs batched", "saved", "peak RSS"):
        assert column in header
    assert "legacy*" in out and "batched*" in out and "copy*" not in out
    assert "extrapolated" in out


def test_exit_codes(demo_target, capsys):
    assert main(bench(demo_target, "--strategies", "legacy,turbo")) == 2
    assert main(["bench", "--dsn", "postgresql://root@127.0.0.1:1/none",
                 "--backup-root", str(demo_target.root)]) == 3
    capsys.readouterr()
    assert main(bench(demo_target, "--strategies", "copy", "--json")) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "completed"


def test_sigint_cancels_and_drops_the_scratch_schema(demo_target, tmp_path):
    """A real process: Ctrl-C stops at the next row, the record says cancelled, exit 3."""
    bigger = demo_target.root.parent / "big"
    from katarestore_tui.demo import write_demo_backup

    write_demo_backup(bigger, rows=20_000, bad_records=False, name=BACKUP_NAME)
    env_code = (
        "import sys; from katarestore_tui.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", env_code, "bench", "--dsn", demo_target.dsn, "--backup-root",
         str(bigger), "--strategies", "legacy", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    for line in proc.stderr:
        if "loading into scratch schema" in line:
            break
    proc.send_signal(signal.SIGINT)
    out, _err = proc.communicate(timeout=60)
    assert proc.returncode == 3
    assert json.loads(out)["status"] == "cancelled"
    assert scratch_left(demo_target.dsn) == []
