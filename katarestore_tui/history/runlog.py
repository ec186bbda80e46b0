"""The run log as one typed, versioned record: what a run wrote to `runs/<id>/run.json`.

Every reader (resume, retry, history, the TUI) goes through `RunLog`, never through the
JSON's keys, so a key is named in one place. Logs written before the log had a version
(katarestore 0.1.0 and 0.2.0, read as version 0) load without loss: keys this version does
not know are kept in `extra` and written back unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from katarestore_tui.history.runs import list_runs, read_run, write_run

RUN_LOG_VERSION = 1  # 0: the unversioned logs of 0.1.0 and 0.2.0
RESUMABLE_STATUSES = ("running", "cancelled", "failed")
COUNT_KEYS = ("records", "loaded", "duplicates", "failed")


class NewerRunLog(ValueError):
    """A log written by a newer katarestore: reading it could lose what it holds."""


def _known(cls: type, data: Mapping[str, Any], rename: Mapping[str, str] | None = None
           ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split `data` into the dataclass's own fields and the keys it does not know."""
    rename = rename or {}
    names = {f.name for f in fields(cls)} - {"extra"}
    own: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in data.items():
        name = rename.get(key, key)
        if name in names:
            own[name] = value
        else:
            extra[key] = value
    return own, extra


@dataclass
class TableLog:
    """One table's counts as the run last wrote them (the engine's TableStats, on disk)."""

    file: str = ""
    bytes: int = 0
    records: int = 0
    loaded: int = 0
    duplicates: int = 0
    failed: int = 0
    seconds: float = 0.0
    state: str = "waiting"
    error: str | None = None
    retry_applied: str | None = None  # the retry attempt whose outcome is in these counts
    # failed records of the batch in flight, from a live run's heartbeat (history/live.py);
    # never written to run.json (not in `failed` until the batch commits)
    failing: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TableLog:
        own, extra = _known(cls, data)
        return cls(**own, extra=extra)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "file": self.file, "bytes": self.bytes, "records": self.records,
            "loaded": self.loaded, "duplicates": self.duplicates, "failed": self.failed,
            "seconds": self.seconds, "state": self.state, "error": self.error,
        }
        if self.retry_applied is not None:  # written only once a retry changed the counts
            data["retry_applied"] = self.retry_applied
        data.update(self.extra)
        return data


@dataclass
class FileMark:
    """Size and modification time of a table file when the run started (a resume checks)."""

    bytes: int
    mtime_ns: int


@dataclass
class RunLog:
    """A restore (or benchmark) run: options, per-table counts, status, where its files are."""

    run_id: str
    version: int = RUN_LOG_VERSION
    kind: str = "restore"  # restore | bench
    bench_id: str | None = None  # the benchmark a `bench` run belongs to
    status: str = "running"  # running | completed | partial | cancelled | failed
    exit_code: int | None = None
    backup: str = ""
    target: str = ""  # redacted DSN
    options: dict[str, Any] = field(default_factory=dict)  # RestoreOptions.redacted()
    started_at: str | None = None
    finished_at: str | None = None
    seconds: float = 0.0
    fk_mode: str = ""  # the mode the run chose: replica | immediate
    triggers: str = ""  # on | off ("" in logs of 0.1.0)
    tables: dict[str, TableLog] = field(default_factory=dict)
    files: dict[str, FileMark] = field(default_factory=dict)
    checkpoint_marked: bool = False  # the target holds the run's own checkpoint row
    totals: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    resumable: bool = False  # finished, with tables a table error stopped
    quarantine: str = ""
    clean: str | None = None  # pending | done; None: the log is older than the clean state
    retries: list[dict[str, Any]] = field(default_factory=list)  # each retry's outcome
    clean_copy: str | None = None  # the folder holding what --clean removed (engine.cleancopy)
    index_problems: list[str] = field(default_factory=list)  # builds left over that failed again
    extra: dict[str, Any] = field(default_factory=dict)  # keys of other versions, kept
    # what History sees of a run logged "running" (history/live.py), never written to disk:
    # a process loads it now (live, its pid), or none does (interrupted: killed or crashed)
    live: bool = False
    interrupted: bool = False
    pid: int | None = None

    # ------------------------------------------------------------ dict form (run.json)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunLog:
        version = data.get("version", 0)
        if not isinstance(version, int) or version > RUN_LOG_VERSION:
            raise NewerRunLog(f"run log version {version!r} is newer than this katarestore "
                              f"reads ({RUN_LOG_VERSION}): upgrade katarestore")
        own, extra = _known(cls, data)
        own["version"] = RUN_LOG_VERSION  # read as this version; written back as this one
        own.setdefault("run_id", "?")
        own["tables"] = {name: TableLog.from_dict(t or {})
                         for name, t in (own.get("tables") or {}).items()}
        own["files"] = {name: FileMark(int(m["bytes"]), int(m["mtime_ns"]))
                        for name, m in (own.get("files") or {}).items()}
        for name in ("options", "totals"):
            own[name] = dict(own.get(name) or {})
        for name in ("warnings", "retries", "index_problems"):
            own[name] = list(own.get(name) or [])
        return cls(**own, extra=extra)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": self.version,
            "run_id": self.run_id,
            "kind": self.kind,
            "status": self.status,
            "exit_code": self.exit_code,
            "backup": self.backup,
            "target": self.target,
            "options": self.options,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "seconds": self.seconds,
            "fk_mode": self.fk_mode,
            "triggers": self.triggers,
            "tables": {name: t.to_dict() for name, t in self.tables.items()},
            "files": {name: {"bytes": m.bytes, "mtime_ns": m.mtime_ns}
                      for name, m in self.files.items()},
            "checkpoint_marked": self.checkpoint_marked,
            "totals": self.totals,
            "warnings": self.warnings,
            "error": self.error,
            "resumable": self.resumable,
            "quarantine": self.quarantine,
            "clean": self.clean,
        }
        if self.bench_id is not None:
            data["bench_id"] = self.bench_id
        if self.retries:
            data["retries"] = self.retries
        if self.clean_copy is not None:
            data["clean_copy"] = self.clean_copy
        if self.index_problems:
            data["index_problems"] = self.index_problems
        data.update(self.extra)
        return data

    # ------------------------------------------------------------ disk

    @classmethod
    def load(cls, run_id: str) -> RunLog:
        """The run's log. Raises RunNotFound, OSError, ValueError (damaged or newer)."""
        return cls.from_dict(read_run(run_id))

    def save(self) -> None:
        """Written whole or not at all (see history.runs.write_run)."""
        write_run(self.run_id, self.to_dict())

    # ------------------------------------------------------------ questions readers ask

    def is_resumable(self) -> bool:
        """A run stopped part-way, or one that finished with tables a table error stopped;
        never one a process is loading right now (`live`, see history/live.py)."""
        if self.live:
            return False
        stopped = self.status in RESUMABLE_STATUSES or self.resumable
        return stopped and not self.options.get("dry_run")

    @property
    def shown_status(self) -> str:
        """The status History shows: a "running" log no process loads is interrupted."""
        return "interrupted" if self.interrupted else self.status

    def live_fields(self) -> dict[str, Any]:
        """What History's JSON adds to the log for a run logged "running"."""
        if self.live:
            return {"live": True, "pid": self.pid}
        return {"live": False, "interrupted": True} if self.interrupted else {}

    @property
    def failed(self) -> int:
        return int(self.totals.get("failed", 0))

    def recount(self) -> None:
        """Totals again from the tables (after a retry moved records out of `failed`)."""
        self.totals = {k: sum(getattr(t, k) for t in self.tables.values()) for k in COUNT_KEYS}


def list_run_logs(limit: int | None = None) -> list[RunLog]:
    """Run logs, newest first; unreadable ones (damaged, newer) are skipped."""
    logs = []
    for data in list_runs():
        try:
            logs.append(RunLog.from_dict(data))
        except (ValueError, TypeError, KeyError, AttributeError):
            continue
        if limit and len(logs) >= limit:
            break
    return logs
