"""--jobs N loads the same rows as --jobs 1, a table starting only after its parents finished."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from katarestore_tui.demo import TABLES, create_demo_schema, write_demo_backup
from katarestore_tui.engine.events import TableFinished, TableStarted
from katarestore_tui.engine.quarantine import read_quarantine
from katarestore_tui.engine.restore import EXIT_PARTIAL, run_restore
from tests.helpers import assert_balanced, options


@pytest.fixture
def two_targets(server_dsn: str) -> Iterator[tuple[str, str]]:
    names = [f"kr_test_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    params = conninfo_to_dict(server_dsn)
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsns = [make_conninfo(**{**params, "dbname": name}) for name in names]
    for dsn in dsns:
        with psycopg.connect(dsn, autocommit=True) as conn:
            create_demo_schema(conn)
    yield dsns[0], dsns[1]
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def digests(dsn: str) -> dict[str, tuple[int, str]]:
    with psycopg.connect(dsn) as conn:
        return {
            table: conn.execute(sql.SQL(
                "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))"
                " FROM {} AS t").format(sql.Identifier(table))).fetchone()
            for table in TABLES
        }


class Timeline:
    """When each table started and finished (the sink is called from loader threads)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: dict[str, float] = {}
        self.finished: dict[str, float] = {}

    def __call__(self, event) -> None:
        with self.lock:
            if isinstance(event, TableStarted):
                self.started[event.table] = event.at
            elif isinstance(event, TableFinished):  # the first: counts may be re-sent later
                self.finished.setdefault(event.stats.table, event.at)

    def most_at_once(self) -> int:
        moments = sorted(self.started.values())
        return max(sum(1 for t, s in self.started.items() if s <= m < self.finished[t]) for m in moments)


@pytest.mark.parametrize("fk_mode", ["auto", "immediate"])
def test_jobs_3_loads_exactly_what_jobs_1_loads_parents_first(two_targets, tmp_path: Path, fk_mode):
    backup = write_demo_backup(tmp_path, rows=6000, bad_records=True, name="20240101_000000")
    serial, parallel = two_targets
    one = run_restore(options(serial, backup.path, batch_size=250), tmp_path)
    timeline = Timeline()
    three = run_restore(options(parallel, backup.path, batch_size=250, jobs=3, fk_mode=fk_mode),
                        tmp_path, sink=timeline)
    for result in (one, three):
        assert result.exit_code == EXIT_PARTIAL, result.error  # the demo's planted bad records
        assert_balanced(result)

    def counts(result):
        return {t: (s.records, s.loaded, s.duplicates, s.failed) for t, s in result.tables.items()}

    assert counts(three) == counts(one)
    assert counts(one) == {t: tuple(e.values()) for t, e in backup.expected.items()}
    assert digests(parallel) == digests(serial)

    def failures(run_id):
        return sorted((e["table"], e["index"], e["sqlstate"]) for e in read_quarantine(run_id))

    assert failures(three.run_id) == failures(one.run_id)

    for table_plan in three.plan.tables:  # a table starts only after its parents finished
        for parent in table_plan.parents:
            assert timeline.finished[parent] <= timeline.started[table_plan.table], (
                f"{table_plan.table} started before its parent {parent} finished")
    assert timeline.most_at_once() >= 2, "independent tables must really load side by side"
