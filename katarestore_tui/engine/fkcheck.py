"""After a load with FK triggers off: one anti-join per foreign key, orphans to quarantine.

Tables are checked parents first, so removing an orphan parent row is seen by its
children's check; tables in a cycle are checked again until nothing moves. The
quarantine gets the original record and its index (found by key in one more pass
over that table's file), not a reconstruction, whenever the table has a key.
"""

from __future__ import annotations

import threading
from typing import Any

import psycopg

from katarestore_tui.backup.reader import BackupFormatError, RecordReader
from katarestore_tui.db.convert import ConversionError, converter_for
from katarestore_tui.db.load_steps import (
    Orphan,
    delete_orphans,
    orphan_detail,
    undo_orphan_updates,
)
from katarestore_tui.db.schema import Table
from katarestore_tui.engine import checkpoint
from katarestore_tui.engine.events import DONE, PARTIAL, TableStats
from katarestore_tui.engine.plan import Plan, TablePlan, map_keys
from katarestore_tui.engine.quarantine import Failure, QuarantineWriter, read_entries
from katarestore_tui.errors import Cancelled


def quarantine_orphans(
    conn: psycopg.Connection, plan: Plan, stats: dict[str, TableStats], quarantine: QuarantineWriter,
    run_id: str, commit_counts: bool = True, *, cancel: threading.Event | None = None,
) -> int:
    """Returns how many rows were moved to quarantine.

    Only rows this run wrote are candidates (`db.written`): an orphan it inserted is deleted,
    an update it made is put back as the row was. Each table's orphans are handled, and
    counted in its checkpoint row, in one transaction; a resume after a crash here keeps
    exactly the quarantine entries that committed (the caller trims the rest by
    `Checkpoint.fk_moved`), so no orphan is lost or kept twice. Checked again until nothing
    moves: a row removed may have been the parent of another (self-references, cycles).
    """
    total = 0
    while True:
        moved = 0
        for table_plan in plan.tables:
            table = plan.schema.tables[table_plan.table]
            orphans: list[Orphan] = []
            with conn.transaction():
                for fk in table.foreign_keys:
                    orphans.extend(undo_orphan_updates(conn, plan.schema.name, fk, run_id, table))
                    orphans.extend(delete_orphans(conn, plan.schema.name, fk, run_id, table))
                undone = sum(1 for o in orphans if o.undone)
                if orphans:
                    _quarantine(table_plan, table, orphans, quarantine)
                    if commit_counts:
                        checkpoint.record_orphans(conn, plan.schema.name, run_id, table.name,
                                                  len(orphans), undone)
                if cancel is not None and cancel.is_set():  # nothing commits after a stop
                    raise Cancelled
            if orphans:
                table_stats = stats[table.name]
                table_stats.loaded -= len(orphans) - undone
                table_stats.duplicates -= undone  # an update is counted with the duplicates
                table_stats.failed += len(orphans)
                if table_stats.state == DONE:
                    table_stats.state = PARTIAL
                moved += len(orphans)
        total += moved
        if not moved:
            return total


def _quarantine(table_plan: TablePlan, table: Table, orphans: list[Orphan],
                quarantine: QuarantineWriter) -> None:
    path = quarantine.path(table.name)
    failed_before = {  # records that failed while loading are not the ones that loaded
        e["index"] for e in read_entries(path) if e.get("index") is not None
    } if path.exists() else set()
    originals = find_originals(table_plan, table, orphans, failed_before)
    columns_to_keys = {c: k for k, c in table_plan.key_map.items()}
    for orphan in orphans:
        message, detail = orphan_detail(orphan)
        index, record = originals.get(id(orphan), (None, None))
        if record is None:  # no key to find it by: the row as stored, under the file's keys
            record = {columns_to_keys.get(c, c): v for c, v in orphan.row.items()}
        quarantine.add(table.name, table_plan.file.path.name, index, record,
                       Failure("23503", message, detail, phase="fk-check"))


def _normal(text: str | None) -> str | None:
    return text.lower() if text is not None else None


def find_originals(
    table_plan: TablePlan, table: Table, orphans: list[Orphan], skip: set[int] | None = None
) -> dict[int, tuple[int, dict[str, Any]]]:
    """Map each orphan (by id) to (record index, original record), matching on the key.

    Each record's own keys are matched to columns (records need not share the first
    one's keys); records at `skip` (already quarantined) never loaded, so they are not it.
    """
    skip = skip or set()
    key = table.conflict_key
    if not key:
        return {}
    wanted: dict[tuple[Any, ...], Orphan] = {}
    for each in orphans:
        value = tuple(_normal(None if each.row.get(c) is None else str(each.row[c])) for c in key)
        wanted.setdefault(value, each)
    layouts: dict[tuple[Any, ...], dict[str, str]] = {}  # a record's keys -> {column: key}
    converters = [converter_for(table.columns[c]) for c in key]
    found: dict[int, tuple[int, dict[str, Any]]] = {}
    try:
        for index, record in RecordReader(table_plan.file):
            if not isinstance(record, dict) or index in skip:
                continue
            column_keys = layouts.get(tuple(record))
            if column_keys is None:
                mapping, _ignored = map_keys(list(record), table)
                column_keys = layouts[tuple(record)] = {c: k for k, c in mapping.items()}
            if any(c not in column_keys for c in key):
                continue
            try:
                value = tuple(
                    _normal(convert(record.get(column_keys[c])))
                    for c, convert in zip(key, converters, strict=True)
                )
            except ConversionError:
                continue
            orphan: Orphan | None = wanted.pop(value, None)
            if orphan is not None:
                found[id(orphan)] = (index, record)
                if not wanted:
                    break
    except BackupFormatError:
        pass
    return found
