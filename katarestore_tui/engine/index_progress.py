"""The "indexes" phase's progress: pg_stat_progress_create_index, read while a build runs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg

from katarestore_tui.engine.events import EventSink, IndexPhase
from katarestore_tui.engine.index_record import SavedIndex

PROGRESS_SECONDS = 0.5  # how often pg_stat_progress_create_index is read during a build


class ProgressWatch:
    """Reads pg_stat_progress_create_index for the building backend from a connection of
    its own (the builder's is busy) and sends it as `IndexPhase` events."""

    def __init__(self, dsn: str, pid: int, index: SavedIndex, sink: EventSink) -> None:
        self.dsn, self.pid, self.index, self.sink = dsn, pid, index, sink
        self._over = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="katarestore-index-progress")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._over.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        if self._over.wait(PROGRESS_SECONDS):  # a small index: done before the first look
            return
        try:
            with psycopg.connect(self.dsn, autocommit=True, connect_timeout=5,
                                 application_name="katarestore progress") as conn:
                self._watch(conn.execute)
        except (psycopg.Error, OSError):
            return  # progress is a courtesy: the build goes on without it

    def _watch(self, execute: Callable[..., Any]) -> None:
        while not self._over.is_set():
            row = execute("SELECT phase, blocks_done, blocks_total, tuples_done, tuples_total"
                          " FROM pg_stat_progress_create_index WHERE pid = %s",
                          (self.pid,)).fetchone()
            if row is not None:
                phase, blocks_done, blocks_total, tuples_done, tuples_total = row
                done, total = ((tuples_done, tuples_total) if tuples_total
                               else (blocks_done, blocks_total))
                pct = f" {100 * done / total:.0f}%" if total else ""
                self.sink(IndexPhase("indexes", f"{self.index.table}: {self.index.name} "
                                     f"{phase}{pct}", table=self.index.table,
                                     index=self.index.name, step=phase, done=done or 0,
                                     total=total or 0))
            self._over.wait(PROGRESS_SECONDS)
