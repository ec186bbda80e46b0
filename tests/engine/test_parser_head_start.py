"""One table after another, the next table's parser process starts before this table ends.

It starts once this table's file is fully parsed, so no core waits at a table boundary;
a run that stops early leaves no parser process behind.
"""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import psycopg
import pytest

from katarestore_tui.engine import scheduler, source
from katarestore_tui.engine.events import TableFinished, TableProgress
from katarestore_tui.engine.restore import EXIT_OK, run_restore
from tests.helpers import assert_balanced, options, write_backup

TABLES = ("alpha", "beta", "gamma")
N = 6_000


@pytest.fixture
def backup(db: psycopg.Connection, tmp_path: Path) -> Path:
    for name in TABLES:
        db.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, note text)")
    return write_backup(tmp_path, {f"{name}.json": [{"id": i, "note": f"{name} {i}"} for i in range(N)]
                                   for name in TABLES})


@pytest.fixture
def spawns(monkeypatch: pytest.MonkeyPatch) -> dict[str, float]:
    """Every file gets a parser process; records when each one was started."""
    monkeypatch.setattr(scheduler, "PARSER_PROCESS_MIN_BYTES", 0)
    started: dict[str, float] = {}
    real = source.ParserProcess.__init__

    def spy(self, table_file, table, *args, **kwargs):
        started[table.name] = time.monotonic()
        real(self, table_file, table, *args, **kwargs)

    monkeypatch.setattr(source.ParserProcess, "__init__", spy)
    return started


def parser_processes() -> list[int]:
    """Live parse_worker processes started by this test process."""
    import os

    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == os.getpid() and fields[0] != "Z" and b"parse_worker" in cmdline:
            found.append(int(entry.name))
    return found


def test_the_next_parser_starts_before_this_table_is_done(db, db_dsn, backup, spawns):
    finished: dict[str, float] = {}

    def sink(event) -> None:
        if isinstance(event, TableFinished):
            finished[event.stats.table] = time.monotonic()

    result = run_restore(options(db_dsn, backup, parser_process=True, batch_size=500), backup.parent,
                         sink)
    assert result.exit_code == EXIT_OK, result.error
    assert_balanced(result)
    for name in TABLES:
        assert (result.tables[name].loaded, db.execute(f"SELECT count(*) FROM {name}").fetchone()[0]) \
            == (N, N)
    order = list(result.tables)
    for this, following in itertools.pairwise(order):
        assert spawns[following] < finished[this], f"{following}'s parser waited for {this} to end"
    assert parser_processes() == []


def test_a_cancelled_run_stops_the_parser_started_ahead(db, db_dsn, backup, spawns):
    cancel = threading.Event()

    def sink(event) -> None:
        # the first table still loading, its file parsed: the second parser is running
        if isinstance(event, TableProgress) and len(spawns) >= 2:
            cancel.set()

    result = run_restore(options(db_dsn, backup, parser_process=True, batch_size=200), backup.parent,
                         sink, cancel)
    assert result.status == "cancelled"
    assert len(spawns) >= 2, "the second table's parser had started"
    assert_balanced(result)
    assert parser_processes() == [], "no parser process is left behind"
