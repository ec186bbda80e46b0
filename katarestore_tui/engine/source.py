"""Where encoded batches come from: this thread, or a parser process beside it.

Parsing JSON and converting values is most of the client's work. In a separate
process it runs on the second core while this one feeds COPY, so the loader is
limited by the server rather than by Python. The pipe between them is the queue:
when it is full the parser waits, so memory stays flat.
"""

from __future__ import annotations

import os
import pickle
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


def process_batches(
    table_file: TableFile,
    table: Table,
    batch_size: int,
    skip: int = 0,
    cancel: threading.Event | None = None,
) -> Iterator[EncodedBatch | SourceEnd]:
    """Run `encoded_batches` in a child process; stop it when the consumer stops."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(
            [sys.executable, "-m", "katarestore_tui.engine.parse_worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, env=env,
            bufsize=1024 * 1024,
        )
        try:
            assert child.stdin is not None and child.stdout is not None
            child.stdin.write(pickle.dumps((table_file, table, batch_size, skip)))
            child.stdin.close()
            while True:
                header = _read_exactly(child.stdout, FRAME.size)
                if header is None:
                    child.wait(timeout=10)
                    errors.seek(0)
                    tail = errors.read()[-2000:].decode(errors="replace").strip()
                    raise SourceCrashed(
                        f"the parser process for {table.name} stopped (exit {child.returncode})"
                        + (f": {tail}" if tail else "")
                    )
                item = pickle.loads(child.stdout.read(FRAME.unpack(header)[0]))
                if isinstance(item, tuple) and item[:1] == ("crash",):
                    raise SourceCrashed(f"the parser process for {table.name} failed:\n{item[1]}")
                yield item
                if isinstance(item, SourceEnd):
                    return
                if cancel is not None and cancel.is_set():
                    return
        finally:
            if child.poll() is None:
                child.kill()
            child.wait(timeout=10)
            if child.stdout:
                child.stdout.close()
