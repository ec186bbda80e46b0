"""Resuming a run: the options it continues with, and the checks that refuse a resume.

Both faces build a resume's options here (`resume_options`), so the CLI and the TUI
continue a run the same way; the engine refuses here a resume that would load records
twice or restore something else (`check_resumable`, `check_checkpoint`).
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import psycopg

from katarestore_tui.engine import checkpoint, split_load
from katarestore_tui.engine.options import RestoreOptions
from katarestore_tui.engine.plan import Plan
from katarestore_tui.errors import ConfigError
from katarestore_tui.history.runlog import FileMark, RunLog
from katarestore_tui.history.runs import RunNotFound
from katarestore_tui.words import plural

# What a run restores; a resume continues the same run, so these must not change.
RUN_DEFINING_OPTIONS = ("schema", "tables", "exclude", "on_conflict", "single_transaction",
                        "triggers")
# What a resume takes from the run's log unless the operator sets it anew.
INHERITED_OPTIONS = (*RUN_DEFINING_OPTIONS, "jobs", "batch_size", "fk_mode", "max_errors",
                     "snapshot", "snapshot_dir")  # a resume that cleans again keeps its copy choice

_DEFAULTS: dict[str, Any] = {
    f.name: f.default_factory() if callable(f.default_factory) else f.default
    for f in fields(RestoreOptions) if f.name not in ("backup", "dsn")
}


def load_run_log(run_id: str) -> RunLog:
    """The log of the run to resume; a missing or unreadable log is the operator's to fix."""
    try:
        return RunLog.load(run_id)
    except RunNotFound as exc:
        raise ConfigError(str(exc)) from None
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ConfigError(f"run {run_id}: unreadable run log ({exc})") from None


def resume_options(log: RunLog, asked: RestoreOptions,
                   given: Collection[str] = ()) -> RestoreOptions:
    """The options that continue `log`'s run: `asked` (what the operator gave this time),
    with every run option named neither in `given` nor set away from its default taken
    from the log (a face that cannot tell "left out" from "the default" names in `given`
    what the operator set explicitly).

    A run-defining option given anew with another value is kept, so `check_resumable`
    refuses it with a message rather than restoring something else silently.
    """
    before = log.options
    inherited = {name: before[name] for name in INHERITED_OPTIONS
                 if name in before and name not in given
                 and getattr(asked, name) == _DEFAULTS[name]}
    return replace(asked, **inherited, backup=asked.backup or log.backup, resume=log.run_id)


def check_resumable(options: RestoreOptions) -> RunLog:
    """Refuse a resume that would load records twice or restore something else; the log."""
    previous = load_run_log(options.resume or "")
    if not previous.is_resumable():
        hint = (f"; load its failed records again with: katarestore retry {options.resume}"
                if previous.status == "partial" else "")
        raise ConfigError(f"run {options.resume} is {previous.status}: there is nothing to "
                          f"resume (resuming it would load its records a second time){hint}")
    if changed := changed_files(previous):
        raise ConfigError(
            f"run {options.resume} cannot be resumed: the backup changed since it started ("
            + "; ".join(changed)
            + "). A resume skips the records the run already loaded, which would now be other "
            "records; put the original files back, or start a new run"
        )
    before = previous.options
    if options.clean and not before.get("clean"):
        raise ConfigError(
            f"run {options.resume} was started without --clean: a resume continues the same "
            "run and never empties the tables it loads into (leave --clean out); nothing was "
            "changed"
        )
    differ = [name for name in RUN_DEFINING_OPTIONS
              if name in before and before[name] != getattr(options, name)]
    if differ:
        raise ConfigError(
            f"run {options.resume} was started with "
            + ", ".join(f"{name}={before[name]!r}" for name in differ)
            + ": a resume continues the same run (leave those options out)"
        )
    return previous


def check_checkpoint(conn: psycopg.Connection, options: RestoreOptions, previous: RunLog) -> None:
    """Refuse a resume whose checkpoint in the target is gone (dropped, or its rows deleted).

    A resume starts each table where the checkpoint says; without it, it would load every
    committed record a second time (doubling the rows of a table without a key). Exit 2, as
    every refused resume: nothing was touched, the operator decides what to do.
    """
    if options.single_transaction:
        return  # such a run keeps no checkpoint: what it loaded rolled back with it
    run_id = previous.run_id
    held = checkpoint.load(conn, options.schema, run_id)
    where = checkpoint.location(conn, options.schema)
    problems = []
    if previous.checkpoint_marked and not checkpoint.run_marked(conn, options.schema, run_id):
        problems.append(f"{where} was dropped" if not checkpoint.table_exists(conn, options.schema)
                        else f"{where} has no rows of this run any more")
    for name, counts in previous.tables.items():
        if counts.records and name not in held:
            problems.append(f"the run log counts {plural(counts.records, 'record')} of {name} as "
                            f"committed, but {where} has no checkpoint for {name}")
    for name, state in held.items():
        labels = list(checkpoint.load_parts(conn, options.schema, run_id, name))
        if not state.finished and labels and (missing := split_load.gaps(labels)):
            problems.append(f"{name} was loaded in ranges and {where} has {missing}")
    if problems:
        raise ConfigError(
            f"run {run_id} cannot be resumed: its checkpoint in the target is gone ("
            + "; ".join(problems)
            + "). A resume would load the records the run already committed again (rows twice "
            "in a table without a key). Check the target; to load the backup anew, start a "
            "new run (--clean empties the tables first)"
        )


def file_marks(plan: Plan) -> dict[str, FileMark]:
    """Size and modification time of each table file, kept in the run log for a resume."""
    marks = {}
    for planned in plan.tables:
        st = planned.file.path.stat()
        marks[planned.file.path.name] = FileMark(st.st_size, st.st_mtime_ns)
    return marks


def changed_files(previous: RunLog) -> list[str]:
    """What differs between the files a run started on and those in its folder now."""
    folder = Path(previous.backup or ".")
    changes = []
    for name, mark in previous.files.items():  # logs of early 0.1.0 builds have none
        try:
            st = (folder / name).stat()
        except OSError:
            changes.append(f"{name} is gone")
            continue
        if st.st_size != mark.bytes:
            changes.append(f"{name} was {mark.bytes:,} bytes, is {st.st_size:,}")
        elif st.st_mtime_ns != mark.mtime_ns:
            changes.append(f"{name} was modified at {time.ctime(st.st_mtime_ns / 1e9)}")
    return changes
