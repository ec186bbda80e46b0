"""The demo sample backup and schema (moved into a package; split in the next commit)."""

from katarestore_tui.demo.data import *  # noqa: F403
