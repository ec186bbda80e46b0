"""Where encoded batches come from: this thread, or a parser process beside it.

Parsing JSON and converting values is most of the client's work. In a separate
process it runs on the second core while this one feeds COPY, so the loader is
limited by the server rather than by Python. The queue is bounded: memory stays flat.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import threading
import traceback
from collections.abc import Iterator

from katarestore_tui.backup.catalog import TableFile
from katarestore_tui.db.schema import Table
from katarestore_tui.engine.encoder import EncodedBatch, SourceEnd, encoded_batches

QUEUE_DEPTH = 3  # batches in flight between the processes


class SourceCrashed(Exception):
    """The parser process died; the message carries its traceback."""


def inline_batches(
    table_file: TableFile, table: Table, batch_size: int, skip: int = 0
) -> Iterator[EncodedBatch | SourceEnd]:
    return encoded_batches(table_file, table, batch_size, skip)


def _produce(
    out: mp.Queue, table_file: TableFile, table: Table, batch_size: int, skip: int
) -> None:
    try:
        for item in encoded_batches(table_file, table, batch_size, skip):
            out.put(item)
    except BaseException:  # the parent must hear about any crash, whatever it is
        out.put(SourceCrashed(traceback.format_exc()))


def process_batches(
    table_file: TableFile,
    table: Table,
    batch_size: int,
    skip: int = 0,
    cancel: threading.Event | None = None,
) -> Iterator[EncodedBatch | SourceEnd]:
    """Run `encoded_batches` in a child process; stop it when the consumer stops."""
    context = mp.get_context("spawn")  # fork is unsafe in a threaded (Textual) process
    out: mp.Queue = context.Queue(maxsize=QUEUE_DEPTH)
    child = context.Process(
        target=_produce,
        args=(out, table_file, table, batch_size, skip),
        name=f"katarestore-parse-{table.name}",
        daemon=True,
    )
    child.start()
    try:
        while True:
            if cancel is not None and cancel.is_set():
                return
            try:
                item = out.get(timeout=0.2)
            except queue.Empty:
                if not child.is_alive() and out.empty():
                    raise SourceCrashed(
                        f"the parser process for {table.name} exited with code {child.exitcode}"
                    ) from None
                continue
            if isinstance(item, SourceCrashed):
                raise item
            yield item
            if isinstance(item, SourceEnd):
                return
    finally:
        if child.is_alive():
            child.terminate()
        child.join(timeout=5)
        out.close()
        out.cancel_join_thread()
