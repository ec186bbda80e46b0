"""The database side: introspection, value conversion, COPY, the SQL steps around a load."""

from types import ModuleType


def __getattr__(name: str) -> ModuleType:
    # `db.maintenance` was renamed `db.load_steps`; engine/restore.py still imports the old
    # name and must not be edited while it is restructured (issue 13 step 4). Remove this
    # when it imports `load_steps`.
    if name == "maintenance":
        from katarestore_tui.db import load_steps

        return load_steps
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
