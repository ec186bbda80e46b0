"""Where verify's batches come from: the restore's own reader and encoder, table by table.

As in the restore, a file of 4 MB or more is parsed in a parser process, and the next
table's process starts as soon as this table's file is parsed, so no core waits at a
table boundary; smaller files are parsed inline.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from katarestore_tui.db.schema import Table
from katarestore_tui.engine.encoder import EncodedBatch, SourceEnd
from katarestore_tui.engine.plan import TablePlan
from katarestore_tui.engine.scheduler import PARSER_PROCESS_MIN_BYTES
from katarestore_tui.engine.source import ParserProcess, inline_batches

if TYPE_CHECKING:
    from katarestore_tui.engine.verify import VerifyOptions


class Sources:
    """Each table's encoded batches. As in the restore, the next table's parser process
    starts as soon as this table's file is parsed, so no core waits at a table boundary."""

    def __init__(self, items: list[tuple[TablePlan, Table]], options: VerifyOptions,
                 cancel: threading.Event) -> None:
        self.items = items
        self.options = options
        self.cancel = cancel
        self.started: dict[int, ParserProcess | None] = {}
        self.lock = threading.Lock()

    def _start(self, position: int) -> None:
        with self.lock:
            if position in self.started or position >= len(self.items):
                return
            planned, table = self.items[position]
            if not (self.options.parser_process
                    and planned.file.size >= PARSER_PROCESS_MIN_BYTES):
                self.started[position] = None  # parsed inline when its turn comes
                return
            self.started[position] = ParserProcess(
                planned.file, table, self.options.batch_size, cancel=self.cancel,
                on_parsed=lambda: self._start(position + 1))

    def batches(self, position: int) -> Iterator[EncodedBatch | SourceEnd]:
        self._start(position)
        with self.lock:
            source = self.started.pop(position)
        if source is None:
            self._start(position + 1)  # parsed here: the next file's process starts now
            planned, table = self.items[position]
            yield from inline_batches(planned.file, table, self.options.batch_size)
            return
        try:
            yield from source
        finally:
            source.close()

    def close(self) -> None:
        with self.lock:
            left, self.started = list(self.started.values()), {position: None for position
                                                                 in range(len(self.items))}
        for source in left:
            if source is not None:
                source.close()
