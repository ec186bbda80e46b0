"""katarestore: restore PostgreSQL from JSON backups."""

import sys
from importlib.metadata import PackageNotFoundError, version

# One source for the version: pyproject.toml, read from the installed package's metadata.
try:
    __version__ = version("katarestore")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

# Backup numbers stay exact at any length (PostgreSQL's numeric holds 131,072 digits before
# the point), so Python's limit on int <-> str digits (4,300 by default) is lifted for the
# whole process: the JSON decoders, the converters and the quarantine all meet such numbers.
# It is also what keeps ijson 3.6.0's C backend alive: it does not check the error raised at
# the limit and crashes the process (SIGSEGV). The server refuses what a column cannot hold.
sys.set_int_max_str_digits(0)
