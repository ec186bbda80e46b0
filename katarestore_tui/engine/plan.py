"""The restore plan: which file fills which table, in what order, and what to warn about.

`--dry-run` prints this and writes nothing; the loader follows it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from katarestore_tui.backup.catalog import Backup, TableFile
from katarestore_tui.backup.reader import BackupFormatError, RecordReader
from katarestore_tui.db.schema import Schema, Table
from katarestore_tui.engine.naming import match_name

if TYPE_CHECKING:
    from katarestore_tui.engine.cleancopy import CleanCopyPlan


@dataclass
class TablePlan:
    table: str
    file: TableFile
    key_map: dict[str, str]  # JSON key -> column, from the first record
    ignored_keys: list[str] = field(default_factory=list)  # keys with no column
    unfilled_columns: list[str] = field(default_factory=list)  # NOT NULL, no default, no key
    parents: list[str] = field(default_factory=list)
    # rows the target table holds before the run (counted up to EXISTING_CAP; None: not read)
    existing_rows: int | None = None
    existing_estimated: bool = False  # the table was locked: the statistics' estimate

    @property
    def renamed(self) -> dict[str, str]:
        return {k: c for k, c in self.key_map.items() if k != c}


@dataclass
class Plan:
    backup: Backup
    schema: Schema
    tables: list[TablePlan]  # load order, parents first
    files_without_table: list[TableFile] = field(default_factory=list)
    tables_without_file: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    cycles: list[list[str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # table -> every file that names it, when more than one does (the exact name first):
    # a restore refuses, since one table's records would be loaded from one file only
    conflicts: dict[str, list[str]] = field(default_factory=dict)
    # --tables names that are neither a file nor a table of the backup: name -> close matches
    unknown_tables: dict[str, list[str]] = field(default_factory=dict)

    def unknown_message(self) -> str | None:
        """A typo in --tables is an error (nothing runs), with the names it may have meant."""
        if not self.unknown_tables:
            return None
        each = "; ".join(
            f"{name!r} is not a table of this backup"
            + (f" (did you mean {' or '.join(repr(m) for m in close)}?)" if close else "")
            for name, close in self.unknown_tables.items())
        return f"--tables: {each}; nothing was changed"
    clean_copy: CleanCopyPlan | None = None  # --clean: the copy of what it removes, and its size

    def table(self, name: str) -> TablePlan | None:
        return next((t for t in self.tables if t.table == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "backup": str(self.backup.path),
            "schema": self.schema.name,
            "order": [t.table for t in self.tables],
            "tables": {
                t.table: {
                    "file": t.file.path.name,
                    "bytes": t.file.size,
                    "renamed_keys": t.renamed,
                    "ignored_keys": t.ignored_keys,
                    "unfilled_columns": t.unfilled_columns,
                    "parents": t.parents,
                    "existing_rows": t.existing_rows,
                }
                for t in self.tables
            },
            "files_without_table": [f.path.name for f in self.files_without_table],
            "tables_without_file": self.tables_without_file,
            "excluded": self.excluded,
            "cycles": self.cycles,
            "warnings": self.warnings,
            "conflicts": self.conflicts,
            "clean_copy": self.clean_copy.to_dict() if self.clean_copy else None,
        }

    def conflict_message(self) -> str | None:
        """Why this plan may not load: two files for one table, each named; or None."""
        if not self.conflicts:
            return None
        each = "; ".join(f"table {table!r} has {len(files)} files: {', '.join(files)}"
                         for table, files in self.conflicts.items())
        return (f"{each}. katarestore loads one file per table: remove or rename the extra "
                "files (nothing was changed)")


def map_keys(keys: list[str], table: Table) -> tuple[dict[str, str], list[str]]:
    """JSON keys -> writable columns (exact, case-insensitive, snake_case); the rest ignored."""
    writable = {c.name: c for c in table.writable_columns}
    mapping: dict[str, str] = {}
    ignored: list[str] = []
    for key in keys:
        column = match_name(key, writable)
        if column is None or column in mapping.values():
            ignored.append(key)
        else:
            mapping[key] = column
    return mapping, ignored


def first_record_keys(table_file: TableFile) -> list[str] | None:
    """Keys of the file's first record (None when the file has no readable object)."""
    try:
        for _index, record in RecordReader(table_file):
            return list(record) if isinstance(record, dict) else None
    except BackupFormatError:
        return None
    return None


def build_plan(
    backup: Backup,
    schema: Schema,
    only: list[str] | None = None,
    exclude: list[str] | None = None,
) -> Plan:
    """Match files to tables and order them; `only`/`exclude` name tables or files."""
    only_set = {n.lower() for n in only or []}
    exclude_set = {n.lower() for n in exclude or []}
    matched: dict[str, TableFile] = {}
    candidates: dict[str, list[TableFile]] = {}
    files_without_table: list[TableFile] = []
    excluded: list[str] = []
    warnings: list[str] = list(backup.skipped)
    for table_file in backup.files:
        table = match_name(table_file.name, schema.tables)
        if table is None:
            files_without_table.append(table_file)
            warnings.append(
                f"{table_file.path.name}: no table {table_file.name!r} in schema "
                f"{schema.name!r}; file skipped"
            )
            continue
        names = {table.lower(), table_file.name.lower()}
        if (only_set and not names & only_set) or names & exclude_set:
            excluded.append(table)
            continue
        candidates.setdefault(table, []).append(table_file)
        if table not in matched or (table_file.name == table != matched[table].name):
            matched[table] = table_file  # the exact name wins, whatever sorts first
    conflicts = {
        table: [f.path.name for f in sorted(files, key=lambda f: f.name != table)]
        for table, files in candidates.items() if len(files) > 1
    }
    for table_name, file_names in conflicts.items():
        warnings.append(f"table {table_name!r} is named by {len(file_names)} files: "
                        f"{', '.join(file_names)}")
    names_in_backup = sorted({f.name for f in backup.files}
                             | {t for f in backup.files if (t := match_name(f.name, schema.tables))})
    known = {n.lower() for n in names_in_backup}
    unknown_tables = {
        name: difflib.get_close_matches(name, names_in_backup, n=3, cutoff=0.6)
        for name in sorted(n for n in only or [] if n.lower() not in known)
    }

    order, cycles = schema.load_order(list(matched))
    for cycle in cycles:
        warnings.append(
            "foreign keys form a cycle between " + ", ".join(cycle)
            + ": rows are checked after every table is loaded"
        )
    plans: list[TablePlan] = []
    for name in order:
        target = schema.tables[name]
        keys = first_record_keys(matched[name])
        key_map, ignored = map_keys(keys or [], target)
        filled = set(key_map.values())
        unfilled = [
            c.name
            for c in target.writable_columns
            if c.not_null and not c.has_default and c.name not in filled
        ]
        if keys is not None and not key_map:
            warnings.append(f"{name}: no key of the first record matches a column")
        if ignored:
            warnings.append(f"{name}: keys with no column, ignored: {', '.join(ignored)}")
        if keys is not None and unfilled:
            warnings.append(
                f"{name}: NOT NULL columns with no default and no key in the file: "
                f"{', '.join(unfilled)} (those records will fail)"
            )
        parents = sorted(target.parents() & set(matched))
        plans.append(TablePlan(name, matched[name], key_map, ignored, unfilled, parents))
    in_backup = set(matched) | set(excluded)
    without_file = sorted(t for t in schema.tables if t not in in_backup and not t.startswith("_katarestore"))
    return Plan(
        backup=backup,
        schema=schema,
        tables=plans,
        files_without_table=files_without_table,
        tables_without_file=without_file,
        excluded=sorted(excluded),
        cycles=cycles,
        warnings=warnings,
        conflicts=conflicts,
        unknown_tables=unknown_tables,
    )


EXISTING_CAP = 1_000_000  # counting stops here: a plan must not scan a huge table whole


def existing_fate(on_conflict: str, clean: bool, snapshot: bool = True) -> str:
    """What the run does to the rows a target table already holds."""
    if clean:
        return ("emptied by --clean before the load "
                + ("(a copy is written first)" if snapshot else "(no copy: --no-snapshot)"))
    return {
        "skip": "kept; backup records with the same key are skipped as duplicates",
        "update": "kept; those whose key is in the backup are updated from it",
        "error": "kept; backup records with the same key fail",
    }.get(on_conflict, "kept")


def existing_rows_warning(plan: Plan, on_conflict: str, clean: bool,
                          snapshot: bool = True) -> str | None:
    """One warning naming every target table that holds rows already, and their fate."""
    full = [(t, t.existing_rows) for t in plan.tables if t.existing_rows]
    if not full:
        return None
    shown = ", ".join(f"{t.table} {'≈' if t.existing_estimated else ''}{rows:,}"
                      f"{'+' if rows >= EXISTING_CAP else ''}" for t, rows in full)
    count = (f"{len(full)} target tables already hold rows" if len(full) != 1
             else "1 target table already holds rows")
    return f"{count} ({shown}): {existing_fate(on_conflict, clean, snapshot)}"


def trigger_warning(plan: Plan, triggers_run: bool | None) -> str | None:
    """Say which tables have triggers of their own and whether this load fires them.

    `triggers_run` None: not known yet (a dry run: it depends on the role's privileges).
    """
    names = [t.table for t in plan.tables if plan.schema.tables[t.table].has_user_triggers]
    if not names:
        return None
    tables = ", ".join(names)
    if triggers_run is None:
        return (f"{tables} have triggers of their own: they do not run when loading set-based "
                "(a superuser, the default then), they run row by row; choose with --triggers on|off")
    if triggers_run:
        return (f"{tables}: the tables' own triggers run for every row (row-by-row loading; "
                "a row a trigger drops is quarantined); --triggers off silences them")
    return (f"{tables}: the tables' own triggers do not run (set-based loading silences them); "
            "--triggers on runs them (and checks foreign keys row by row)")
