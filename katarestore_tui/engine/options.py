"""What the operator asked for: one dataclass shared by the CLI, the TUI and history."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from katarestore_tui.redact import redact_dsn

DEFAULT_BATCH_SIZE = 10_000
MIN_BATCH_SIZE = 1
MAX_BATCH_SIZE = 1_000_000
ON_CONFLICT_MODES = ("skip", "update", "error")
TRIGGER_MODES = ("auto", "on", "off")
# an empty table's secondary indexes dropped and built after its data: after = those no
# record can make fail (fixed-length keys, no expression or predicate); all = every one
# (a record that breaks one then fails the build, not alone); keep = none
INDEX_MODES = ("after", "all", "keep")


@dataclass
class RestoreOptions:
    backup: str  # the backup folder
    dsn: str  # the target; never written anywhere unredacted
    schema: str = "public"
    batch_size: int = DEFAULT_BATCH_SIZE
    jobs: int = 1
    on_conflict: str = "skip"
    clean: bool = False
    tables: list[str] = field(default_factory=list)  # only these (empty: all)
    exclude: list[str] = field(default_factory=list)
    single_transaction: bool = False
    dry_run: bool = False
    resume: str | None = None  # run id to continue
    parser_process: bool = True  # parse JSON in a separate process so both cores work
    fk_mode: str = "auto"  # auto | replica | immediate
    # user triggers: auto = as the FK mode has it (silenced set-based, run row by row);
    # on = run them (loads row by row); off = silence them (needs session_replication_role)
    triggers: str = "auto"
    # a table stops once more than this many of its records failed (None: only when its
    # first 1,000 records all fail with one error); see engine/maxerrors.py
    max_errors: int | None = None
    # --clean first writes a copy of what it removes (engine.cleancopy); --no-snapshot skips it
    snapshot: bool = True
    snapshot_dir: str | None = None  # default: <data dir>/clean-copies
    indexes: str = "after"  # see INDEX_MODES and engine/indexes.py

    def validate(self) -> list[str]:
        """Problems a person must fix before anything runs."""
        problems = []
        if not MIN_BATCH_SIZE <= self.batch_size <= MAX_BATCH_SIZE:
            problems.append(
                f"--batch-size must be between {MIN_BATCH_SIZE} and {MAX_BATCH_SIZE:,} "
                f"(got {self.batch_size})"
            )
        if not 1 <= self.jobs <= 32:
            problems.append(f"--jobs must be between 1 and 32 (got {self.jobs})")
        if self.max_errors is not None and self.max_errors < 0:
            problems.append(f"--max-errors must be 0 or more (got {self.max_errors})")
        if self.on_conflict not in ON_CONFLICT_MODES:
            problems.append(f"--on-conflict must be one of {', '.join(ON_CONFLICT_MODES)}")
        if self.single_transaction and self.jobs > 1:
            problems.append("--single-transaction loads on one connection: use --jobs 1")
        if self.fk_mode not in ("auto", "replica", "immediate"):
            problems.append("fk mode must be auto, replica or immediate")
        if self.indexes not in INDEX_MODES:
            problems.append(f"--indexes must be one of {', '.join(INDEX_MODES)}")
        if self.triggers not in TRIGGER_MODES:
            problems.append(f"--triggers must be one of {', '.join(TRIGGER_MODES)}")
        elif self.triggers == "on" and self.fk_mode == "replica":
            problems.append("--triggers on runs the tables' triggers, so foreign keys are checked "
                            "row by row: leave out --fk-checks after")
        elif self.triggers == "off" and self.fk_mode == "immediate":
            problems.append("--triggers off loads with triggers silenced, which checks foreign "
                            "keys after the load: leave out --fk-checks row")
        return problems

    def redacted(self) -> dict[str, Any]:
        """The options as they may be written to disk or shown: password masked."""
        data = asdict(self)
        data["dsn"] = redact_dsn(self.dsn)
        return data
