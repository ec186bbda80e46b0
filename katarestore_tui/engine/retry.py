"""Load a run's quarantined records again, after the operator fixed the cause.

Records that load now leave the quarantine and count as loaded (or duplicates);
the rest stay, with the error of this attempt. The run's counts stay exact.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from katarestore_tui.db.convert import ConversionError
from katarestore_tui.db.schema import read_schema
from katarestore_tui.engine.connect import connect
from katarestore_tui.engine.encoder import EncodedBatch, RecordEncoder, Rejected
from katarestore_tui.engine.events import DONE, PARTIAL
from katarestore_tui.engine.loader import BatchWriter
from katarestore_tui.engine.quarantine import QuarantineWriter, read_entries
from katarestore_tui.errors import FatalError
from katarestore_tui.history.runs import read_run, write_run

RETRY_BATCH = 5_000


@dataclass
class RetryResult:
    run_id: str
    tables: dict[str, dict[str, int]] = field(default_factory=dict)  # table -> counts
    error: str | None = None

    @property
    def still_failed(self) -> int:
        return sum(t["still_failed"] for t in self.tables.values())


def retry_run(run_id: str, dsn: str, table: str | None = None,
              cancel: threading.Event | None = None,
              select: Callable[[dict], bool] | None = None) -> RetryResult:
    """Retry the run's quarantined records (of `table`, and only those `select` accepts)."""
    run = read_run(run_id)
    options = run.get("options", {})
    schema_name = options.get("schema", "public")
    result = RetryResult(run_id)
    writer = QuarantineWriter(run_id)
    conn = connect(dsn)
    try:
        schema = read_schema(conn, schema_name)
        fk_mode = run.get("fk_mode")
        if fk_mode == "replica":
            conn.execute("SET session_replication_role = origin")  # check each row now
        # parents first: a child record may be waiting for a parent retried just before it
        names = [table] if table else schema.load_order(
            [n for n in sorted(run.get("tables", {})) if n in schema.tables])[0]
        for name in names:
            path = writer.path(name)
            if not path.exists() or name not in schema.tables:
                continue
            entries = list(read_entries(path))  # a quarantine is small next to its table
            if not entries:
                continue
            counts = _retry_table(conn, schema_name, schema.tables[name], entries, writer, select)
            result.tables[name] = counts
            stats = run["tables"].get(name, {})
            stats["loaded"] = stats.get("loaded", 0) + counts["loaded"]
            stats["duplicates"] = stats.get("duplicates", 0) + counts["duplicates"]
            stats["failed"] = stats.get("failed", 0) - counts["loaded"] - counts["duplicates"]
            if stats["failed"] == 0 and stats.get("state") == PARTIAL and not stats.get("error"):
                stats["state"] = DONE
            if cancel is not None and cancel.is_set():
                break
    except FatalError as exc:
        result.error = str(exc)
    finally:
        conn.close()
        writer.close()
    if any(t["loaded"] + t["duplicates"] for t in result.tables.values()):
        tables = run["tables"].values()
        run["totals"] = {k: sum(t.get(k, 0) for t in tables)
                         for k in ("records", "loaded", "duplicates", "failed")}
        if run.get("status") == "partial" and run["totals"]["failed"] == 0 and not any(
            t.get("error") for t in tables
        ):
            run["status"] = "completed"
            run["exit_code"] = 0
        run.setdefault("retries", []).append(result.tables)
        write_run(run_id, run)
    return result


def _retry_table(conn, schema_name, table, everything: list[dict], writer: QuarantineWriter,
                 select: Callable[[dict], bool] | None = None) -> dict:
    entries = [e for e in everything if select is None or select(e)]
    untouched = [e for e in everything if select is not None and not select(e)]
    encoder = RecordEncoder(table)
    failures: list[tuple[int, object]] = []

    class _Collect:  # stands in for the QuarantineWriter: this attempt's failures, by position
        def add(self, _table, _file, index, _record, failure):
            failures.append((index, failure))

    collector = _Collect()
    totals = {"retried": len(entries), "loaded": 0, "duplicates": 0, "still_failed": 0}
    groups: dict[tuple[str, ...], EncodedBatch] = {}
    for position, entry in enumerate(entries):
        record = entry.get("record")
        try:
            if not isinstance(record, dict):
                raise ConversionError("record is not a JSON object")
            layout, line = encoder.encode(record)
        except ConversionError as exc:
            batch = groups.setdefault((), EncodedBatch((), [], []))
            batch.rejects.append(Rejected(position, record, str(exc)))
            continue
        batch = groups.setdefault(layout.columns, EncodedBatch(layout.columns, [], []))
        batch.indexes.append(position)
        batch.lines.append(line)
    bw = BatchWriter(conn, schema_name, table, "", "skip", collector,  # type: ignore[arg-type]
                     lambda position: entries[position].get("record"))
    for batch in groups.values():
        with conn.transaction():
            outcome = bw.write(batch)
        totals["loaded"] += outcome.loaded
        totals["duplicates"] += outcome.duplicates
    failed_now = {index: failure for index, failure in failures}
    keep = []
    for position, entry in enumerate(entries):
        failure = failed_now.get(position)
        if failure is None:
            continue
        entry.update(sqlstate=failure.sqlstate, message=failure.message, detail=failure.detail,
                     column=failure.column)
        keep.append(entry)
    totals["still_failed"] = len(keep)
    writer.replace(table.name, untouched + keep)
    return totals
