"""What `katarestore verify` found, per table and in total: typed, and its `--json` form.

Every record read ends in exactly one count (matched, different, kept, missing, repeated,
quarantined, unloadable), so `records` always balances; rows of the target that no record
explains are `extra`. What a run or the engine's duplicate rule explains is never
"unexplained".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from katarestore_tui.errors import EXIT_DIFFERENT, EXIT_OK, EXIT_PARTIAL


@dataclass
class Difference:
    """One listed difference: the record's key (or whole row), and why."""

    kind: str  # missing | extra | different | unloadable | kept (differs, as the run counted)
    key: dict[str, str | None]
    index: int | None = None  # the record's index in the file
    columns: tuple[str, ...] = ()  # different: the columns whose values differ
    cause: str | None = None  # unloadable: why the value could not be read

    def text(self) -> str:
        key = ", ".join(f"{k}={v if v is not None else 'NULL'}" for k, v in self.key.items())
        where = f" (record {self.index})" if self.index is not None else ""
        if self.kind in ("different", "kept"):
            return f"{key}{where}: {', '.join(self.columns)}"
        if self.kind == "unloadable":
            return f"record {self.index}: {self.cause}"
        return f"{key}{where}"


@dataclass
class TableVerdict:
    table: str
    file: str
    method: str  # "key (id)" or "multiset"
    records: int = 0  # read from the file
    matched: int = 0
    quarantined: int = 0  # records the run quarantined, not in the target
    repeated: int = 0  # later copies of a key in the backup: the restore counts them duplicates
    kept: int = 0  # rows that differ, as many as the run counted duplicates of rows already there
    different: int = 0
    missing: int = 0
    extra: int = 0
    unloadable: int = 0  # records no restore could load (bad value), not in a quarantine
    fault: str | None = None  # the file stops early on bad JSON (as the restore saw it)
    seconds: float = 0.0
    differences: list[Difference] = field(default_factory=list)  # the first few of each kind
    notes: list[str] = field(default_factory=list)

    @property
    def unexplained(self) -> int:
        return self.different + self.missing + self.extra + self.unloadable

    @property
    def verdict(self) -> str:
        if self.unexplained:
            return "different"
        return "accounted" if self.quarantined or self.fault else "match"

    def line(self) -> str:
        parts = [f"{self.matched:,} match"]
        if self.quarantined:
            parts.append(f"{self.quarantined:,} in quarantine")
        if self.repeated:
            parts.append(f"{self.repeated:,} repeated in the backup")
        if self.kept:
            parts.append(f"{self.kept:,} kept as they were (duplicates)")
        for name in ("missing", "extra", "different", "unloadable"):
            if value := getattr(self, name):
                parts.append(f"{value:,} {name}")
        parts.append(f"{self.unexplained:,} unexplained")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["unexplained"] = self.unexplained
        data["verdict"] = self.verdict
        data["seconds"] = round(self.seconds, 3)
        return data


TOTAL_KEYS = ("records", "matched", "quarantined", "repeated", "kept", "different", "missing",
              "extra", "unloadable")


@dataclass
class VerifyResult:
    backup: str
    target: str  # redacted
    run_id: str | None = None
    on_conflict: str = "skip"
    tables: dict[str, TableVerdict] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None
    error_code: int | None = None  # set with `error`: usage (2) or fatal (3)
    warnings: list[str] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        sums = {k: sum(getattr(t, k) for t in self.tables.values()) for k in TOTAL_KEYS}
        sums["unexplained"] = sum(t.unexplained for t in self.tables.values())
        return sums

    @property
    def exit_code(self) -> int:
        """0 every record matches; 1 all accounted for, some in quarantine (or a file cut
        short); 4 differences nothing explains; 2/3 when verify could not run."""
        if self.error_code is not None:
            return self.error_code
        verdicts = {t.verdict for t in self.tables.values()}
        if "different" in verdicts:
            return EXIT_DIFFERENT
        return EXIT_PARTIAL if "accounted" in verdicts else EXIT_OK

    @property
    def status(self) -> str:
        if self.error_code is not None:
            return "failed"
        return {EXIT_OK: "match", EXIT_PARTIAL: "accounted"}.get(self.exit_code, "different")

    def line(self) -> str:
        t = self.totals
        return (f"{t['matched']:,} match, {t['quarantined']:,} in quarantine, "
                f"{t['unexplained']:,} unexplained")

    def summary(self) -> dict[str, Any]:
        """The `--json` form."""
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "backup": self.backup,
            "target": self.target,
            "run_id": self.run_id,
            "on_conflict": self.on_conflict,
            "seconds": round(self.seconds, 3),
            "tables": {name: v.to_dict() for name, v in self.tables.items()},
            "totals": self.totals,
            "warnings": self.warnings,
            "error": self.error,
        }
