"""The parser process: `python -m katarestore_tui.engine.parse_worker`.

Reads its job (a pickled tuple) from stdin and writes length-prefixed pickled
batches to stdout. A plain subprocess rather than multiprocessing: it never
re-imports the caller's main module, and a full pipe blocks the parser, so memory
stays bounded without any queue of our own.
"""

from __future__ import annotations

import pickle
import signal
import struct
import sys
import traceback
from typing import BinaryIO

from katarestore_tui.engine.encoder import encoded_batches

FRAME = struct.Struct("!Q")


def write_frame(out: BinaryIO, item: object) -> None:
    payload = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(FRAME.pack(len(payload)))
    out.write(payload)
    out.flush()


def main() -> int:
    # A terminal's Ctrl-C or hang-up goes to the whole process group: the loader decides
    # when to stop (at a batch boundary) and ends this process itself; a kill -9 of the
    # loader closes the pipe and this process exits on the next write.
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    table_file, table, batch_size, skip = pickle.load(sys.stdin.buffer)
    out = sys.stdout.buffer
    try:
        for item in encoded_batches(table_file, table, batch_size, skip):
            write_frame(out, item)
    except BrokenPipeError:  # the loader stopped reading (cancel): nothing to report
        return 0
    except BaseException:
        write_frame(out, ("crash", traceback.format_exc()))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
