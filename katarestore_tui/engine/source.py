"""Where encoded batches come from: this thread, or a parser process beside it.

Parsing JSON and converting values is most of the client's work. In a separate
process it runs on the second core while this one feeds COPY, so the loader is
limited by the server rather than by Python. The pipe between them is the queue:
when it is full the parser waits, so memory stays flat.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import IO, Any

from katarestore_tui.backup.catalog import TableFile
from katarestore_tui.db.schema import Table
from katarestore_tui.engine.encoder import EncodedBatch, SourceEnd, encoded_batches
from katarestore_tui.engine.parse_worker import FRAME

log = logging.getLogger(__name__)


class SourceCrashed(Exception):
    """The parser process died; the message carries its last words."""


def inline_batches(
    table_file: TableFile, table: Table, batch_size: int, skip: int = 0
) -> Iterator[EncodedBatch | SourceEnd]:
    return encoded_batches(table_file, table, batch_size, skip)


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    data = stream.read(size)
    return data if data and len(data) == size else None


READ_AHEAD = 3  # batches decoded ahead of the loader: the parser never waits on COPY


class ParserProcess:
    """`encoded_batches` in a child process, started at once; iterate it for the batches.

    A reader thread drains the pipe into a small queue while the loader waits on the
    server, so the parser keeps working during each COPY instead of blocking on a full
    pipe. `on_parsed` is called (from that thread) as soon as the whole file is parsed,
    which is when the next table's parser may start. `close()` stops the child.
    """

    def __init__(
        self,
        table_file: TableFile,
        table: Table,
        batch_size: int,
        skip: int = 0,
        cancel: threading.Event | None = None,
        on_parsed: Callable[[], None] | None = None,
    ) -> None:
        self.table_name = table.name
        self._cancel = cancel
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self._child = subprocess.Popen(
            [sys.executable, "-m", "katarestore_tui.engine.parse_worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._errors, env=env,
            bufsize=1024 * 1024,
        )
        assert self._child.stdin is not None and self._child.stdout is not None
        self._child.stdin.write(pickle.dumps((table_file, table, batch_size, skip)))
        self._child.stdin.close()
        self._ahead: queue.Queue[Any] = queue.Queue(maxsize=READ_AHEAD)
        self._stop = threading.Event()
        parsed = None if on_parsed is None else lambda: self._then(on_parsed)
        self._reader = threading.Thread(
            target=_drain, args=(self._child.stdout, self._ahead, self._stop, parsed),
            name=f"katarestore-pipe-{table.name}", daemon=True,
        )
        self._reader.start()

    def _then(self, on_parsed: Callable[[], None]) -> None:
        """Let this parser exit (it is writing its last frame) before the next one starts:
        one parser's memory at a time, not two."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._child.wait(timeout=5)
        on_parsed()

    def __iter__(self) -> Iterator[EncodedBatch | SourceEnd]:
        while True:
            item = self._ahead.get()
            if item is _EOF and self._cancel is not None and self._cancel.is_set():
                return  # stopped along with us (a signal to the process group): a cancel
            if item is _EOF:
                self._child.wait(timeout=10)
                self._errors.seek(0)
                tail = self._errors.read()[-2000:].decode(errors="replace").strip()
                raise SourceCrashed(
                    f"the parser process for {self.table_name} stopped (exit "
                    f"{self._child.returncode})" + (f": {tail}" if tail else "")
                )
            if isinstance(item, tuple) and item[:1] == ("crash",):
                raise SourceCrashed(f"the parser process for {self.table_name} failed:\n{item[1]}")
            yield item
            if isinstance(item, SourceEnd):
                return
            if self._cancel is not None and self._cancel.is_set():
                return

    def close(self) -> None:
        self._stop.set()
        if self._child.poll() is None:
            self._child.kill()
        self._child.wait(timeout=10)
        while self._reader.is_alive():  # unblock a reader waiting for room in the queue
            with contextlib.suppress(queue.Empty):
                self._ahead.get_nowait()
            self._reader.join(timeout=0.05)
        assert self._child.stdout is not None
        self._child.stdout.close()
        self._errors.close()


_EOF = object()


def _drain(stream: IO[bytes], ahead: queue.Queue[Any], stop: threading.Event,
           on_parsed: Callable[[], None] | None = None) -> None:
    """Read frames from the parser until it ends; `_EOF` marks a stream that stopped short."""
    while not stop.is_set():
        header = _read_exactly(stream, FRAME.size)
        if header is None:
            ahead.put(_EOF)
            return
        size = FRAME.unpack(header)[0]
        payload = stream.read(size)
        try:  # a parser killed mid-frame leaves a short payload: report it, never hang
            item = pickle.loads(payload) if len(payload) == size else _EOF
        except Exception:
            item = _EOF
        if isinstance(item, SourceEnd) and on_parsed is not None:
            try:  # before the end is queued, so the loader finds the next parser started
                on_parsed()
            except Exception:  # only a head start is lost: the next table starts its own
                log.warning("could not start the next parser early", exc_info=True)
        ahead.put(item)
        if item is _EOF:
            return
        if isinstance(item, SourceEnd) or (isinstance(item, tuple) and item[:1] == ("crash",)):
            return
