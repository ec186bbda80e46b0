"""The engine's public face: everything the TUI and the CLI may use, and nothing else.

The two faces import from here (`from katarestore_tui.engine import run_restore`), never
from the modules below; an import-linter contract in pyproject.toml enforces it. Names
load lazily (PEP 562), so the parser child process, which imports one engine module,
does not pay for psycopg and the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> the module that defines it
_EXPORTS = {
    # options
    "RestoreOptions": "options",
    "DEFAULT_BATCH_SIZE": "options",
    "MIN_BATCH_SIZE": "options",
    "MAX_BATCH_SIZE": "options",
    "ON_CONFLICT_MODES": "options",
    "INDEX_MODES": "options",
    # the plan shown before a run
    "Plan": "plan",
    "TablePlan": "plan",
    # a run and its result
    "prepare": "restore",
    "run_restore": "restore",
    "RestoreResult": "restore",
    "RunKind": "restore",
    "retry_run": "retry",
    "RetryResult": "retry",
    # verify: the target against the backup
    "VerifyOptions": "verify",
    "run_verify": "verify",
    "latest_run": "verify",
    "VerifyResult": "verify_result",
    "TableVerdict": "verify_result",
    "Difference": "verify_result",
    # resuming a run: its options, from its log
    "load_run_log": "resume",
    "resume_options": "resume",
    # when a table's records keep failing (the answers to on_errors)
    "ErrorRun": "maxerrors",
    "CONTINUE": "maxerrors",
    "SKIP": "maxerrors",
    "STOP": "maxerrors",
    # the quarantine of a run
    "quarantine_dir": "quarantine",
    "read_quarantine": "quarantine",
    "QuarantineFilter": "quarantine_query",
    "QuarantineCounts": "quarantine_query",
    "count_quarantine": "quarantine_query",
    "quarantine_page": "quarantine_query",
    "export_quarantine": "quarantine_query",
    # `katarestore backup`, and the copy --clean keeps
    "run_backup": "export",
    "ExportProgress": "export",
    "ExportResult": "export",
    # events the faces consume, and table states
    "Event": "events",
    "EventSink": "events",
    "Phase": "events",
    "IndexPhase": "events",
    "LockWait": "events",
    "RunStarted": "events",
    "RunFinished": "events",
    "TableStarted": "events",
    "TableProgress": "events",
    "TableFinished": "events",
    "TableStats": "events",
    "Warning": "events",
    "WAITING": "events",
    "LOADING": "events",
    "DONE": "events",
    "PARTIAL": "events",
    "FAILED": "events",
    "SKIPPED": "events",
    "CANCELLED": "events",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


if TYPE_CHECKING:  # for type checkers and editors: the same names, eagerly
    from katarestore_tui.engine.events import (
        CANCELLED as CANCELLED,
    )
    from katarestore_tui.engine.events import (
        DONE as DONE,
    )
    from katarestore_tui.engine.events import (
        FAILED as FAILED,
    )
    from katarestore_tui.engine.events import (
        LOADING as LOADING,
    )
    from katarestore_tui.engine.events import (
        PARTIAL as PARTIAL,
    )
    from katarestore_tui.engine.events import (
        SKIPPED as SKIPPED,
    )
    from katarestore_tui.engine.events import (
        WAITING as WAITING,
    )
    from katarestore_tui.engine.events import (
        Event as Event,
    )
    from katarestore_tui.engine.events import (
        EventSink as EventSink,
    )
    from katarestore_tui.engine.events import (
        IndexPhase as IndexPhase,
    )
    from katarestore_tui.engine.events import (
        LockWait as LockWait,
    )
    from katarestore_tui.engine.events import (
        Phase as Phase,
    )
    from katarestore_tui.engine.events import (
        RunFinished as RunFinished,
    )
    from katarestore_tui.engine.events import (
        RunStarted as RunStarted,
    )
    from katarestore_tui.engine.events import (
        TableFinished as TableFinished,
    )
    from katarestore_tui.engine.events import (
        TableProgress as TableProgress,
    )
    from katarestore_tui.engine.events import (
        TableStarted as TableStarted,
    )
    from katarestore_tui.engine.events import (
        TableStats as TableStats,
    )
    from katarestore_tui.engine.events import (
        Warning as Warning,
    )
    from katarestore_tui.engine.export import ExportProgress as ExportProgress
    from katarestore_tui.engine.export import ExportResult as ExportResult
    from katarestore_tui.engine.export import run_backup as run_backup
    from katarestore_tui.engine.maxerrors import CONTINUE as CONTINUE
    from katarestore_tui.engine.maxerrors import SKIP as SKIP
    from katarestore_tui.engine.maxerrors import STOP as STOP
    from katarestore_tui.engine.maxerrors import ErrorRun as ErrorRun
    from katarestore_tui.engine.options import (
        DEFAULT_BATCH_SIZE as DEFAULT_BATCH_SIZE,
    )
    from katarestore_tui.engine.options import (
        INDEX_MODES as INDEX_MODES,
    )
    from katarestore_tui.engine.options import (
        MAX_BATCH_SIZE as MAX_BATCH_SIZE,
    )
    from katarestore_tui.engine.options import (
        MIN_BATCH_SIZE as MIN_BATCH_SIZE,
    )
    from katarestore_tui.engine.options import (
        ON_CONFLICT_MODES as ON_CONFLICT_MODES,
    )
    from katarestore_tui.engine.options import (
        RestoreOptions as RestoreOptions,
    )
    from katarestore_tui.engine.plan import Plan as Plan
    from katarestore_tui.engine.plan import TablePlan as TablePlan
    from katarestore_tui.engine.quarantine import quarantine_dir as quarantine_dir
    from katarestore_tui.engine.quarantine import read_quarantine as read_quarantine
    from katarestore_tui.engine.quarantine_query import (
        QuarantineCounts as QuarantineCounts,
    )
    from katarestore_tui.engine.quarantine_query import (
        QuarantineFilter as QuarantineFilter,
    )
    from katarestore_tui.engine.quarantine_query import (
        count_quarantine as count_quarantine,
    )
    from katarestore_tui.engine.quarantine_query import (
        export_quarantine as export_quarantine,
    )
    from katarestore_tui.engine.quarantine_query import (
        quarantine_page as quarantine_page,
    )
    from katarestore_tui.engine.restore import RestoreResult as RestoreResult
    from katarestore_tui.engine.restore import RunKind as RunKind
    from katarestore_tui.engine.restore import prepare as prepare
    from katarestore_tui.engine.restore import run_restore as run_restore
    from katarestore_tui.engine.resume import load_run_log as load_run_log
    from katarestore_tui.engine.resume import resume_options as resume_options
    from katarestore_tui.engine.retry import RetryResult as RetryResult
    from katarestore_tui.engine.retry import retry_run as retry_run
    from katarestore_tui.engine.verify import VerifyOptions as VerifyOptions
    from katarestore_tui.engine.verify import latest_run as latest_run
    from katarestore_tui.engine.verify import run_verify as run_verify
    from katarestore_tui.engine.verify_result import Difference as Difference
    from katarestore_tui.engine.verify_result import TableVerdict as TableVerdict
    from katarestore_tui.engine.verify_result import VerifyResult as VerifyResult
