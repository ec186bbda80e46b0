"""Where encoded batches come from: this thread, or a parser process beside it.

Parsing JSON and converting values is most of the client's work. In a separate
process it runs on the second core while this one feeds COPY, so the loader is
limited by the server rather than by Python. The pipe between them is the queue:
when it is full the parser waits, so memory stays flat.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator

from katarestore_tui.backup.catalog import TableFile
from katarestore_tui.db.schema import Table
from katarestore_tui.engine.encoder import EncodedBatch, SourceEnd, encoded_batches
from katarestore_tui.engine.parse_worker import FRAME


class SourceCrashed(Exception):
    """The parser process died; the message carries its last words."""


def inline_batches(
    table_file: TableFile, table: Table, batch_size: int, skip: int = 0
) -> Iterator[EncodedBatch | SourceEnd]:
    return encoded_batches(table_file, table, batch_size, skip)


def _read_exactly(stream, size: int) -> bytes | None:
    data = stream.read(size)
    return data if data and len(data) == size else None


READ_AHEAD = 3  # batches decoded ahead of the loader: the parser never waits on COPY


def process_batches(
    table_file: TableFile,
    table: Table,
    batch_size: int,
    skip: int = 0,
    cancel: threading.Event | None = None,
) -> Iterator[EncodedBatch | SourceEnd]:
    """Run `encoded_batches` in a child process; stop it when the consumer stops.

    A reader thread drains the pipe into a small queue while the loader waits on the
    server, so the parser keeps working during each COPY instead of blocking on a full pipe.
    """
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(
            [sys.executable, "-m", "katarestore_tui.engine.parse_worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, env=env,
            bufsize=1024 * 1024,
        )
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(pickle.dumps((table_file, table, batch_size, skip)))
        child.stdin.close()
        ahead: queue.Queue = queue.Queue(maxsize=READ_AHEAD)
        stop = threading.Event()
        reader = threading.Thread(target=_drain, args=(child.stdout, ahead, stop),
                                  name=f"katarestore-pipe-{table.name}", daemon=True)
        reader.start()
        try:
            while True:
                item = ahead.get()
                if item is _EOF and cancel is not None and cancel.is_set():
                    return  # stopped along with us (a signal to the process group): a cancel
                if item is _EOF:
                    child.wait(timeout=10)
                    errors.seek(0)
                    tail = errors.read()[-2000:].decode(errors="replace").strip()
                    raise SourceCrashed(
                        f"the parser process for {table.name} stopped (exit {child.returncode})"
                        + (f": {tail}" if tail else "")
                    )
                if isinstance(item, tuple) and item[:1] == ("crash",):
                    raise SourceCrashed(f"the parser process for {table.name} failed:\n{item[1]}")
                yield item
                if isinstance(item, SourceEnd):
                    return
                if cancel is not None and cancel.is_set():
                    return
        finally:
            stop.set()
            if child.poll() is None:
                child.kill()
            child.wait(timeout=10)
            while reader.is_alive():  # unblock a reader waiting for room in the queue
                with contextlib.suppress(queue.Empty):
                    ahead.get_nowait()
                reader.join(timeout=0.05)
            child.stdout.close()


_EOF = object()


def _drain(stream, ahead: queue.Queue, stop: threading.Event) -> None:
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
        ahead.put(item)
        if item is _EOF:
            return
        if isinstance(item, SourceEnd) or (isinstance(item, tuple) and item[:1] == ("crash",)):
            return
