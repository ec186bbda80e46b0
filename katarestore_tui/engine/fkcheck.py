"""After a load with FK triggers off: one anti-join per foreign key, orphans to quarantine.

Tables are checked parents first, so removing an orphan parent row is seen by its
children's check; tables in a cycle are checked again until nothing moves.
"""

from __future__ import annotations

import psycopg

from katarestore_tui.db.maintenance import delete_orphans, orphan_detail
from katarestore_tui.engine.events import DONE, PARTIAL, TableStats
from katarestore_tui.engine.plan import Plan
from katarestore_tui.engine.quarantine import Failure, QuarantineWriter


def quarantine_orphans(
    conn: psycopg.Connection, plan: Plan, stats: dict[str, TableStats], quarantine: QuarantineWriter
) -> int:
    """Returns how many rows were moved to quarantine."""
    total = 0
    for table_plan in plan.tables:  # drop entries a crashed earlier check left behind
        quarantine.forget(table_plan.table, lambda e: e.get("phase") != "fk-check")
    while True:
        moved = 0
        for table_plan in plan.tables:
            table = plan.schema.tables[table_plan.table]
            columns_to_keys = {c: k for k, c in table_plan.key_map.items()}
            for fk in table.foreign_keys:
                with conn.transaction():
                    for orphan in delete_orphans(conn, plan.schema.name, fk):
                        message, detail = orphan_detail(orphan)
                        record = {columns_to_keys.get(c, c): v for c, v in orphan.row.items()}
                        quarantine.add(
                            table.name, table_plan.file.path.name, None, record,
                            Failure("23503", message, detail, phase="fk-check"),
                        )
                        table_stats = stats[table.name]
                        table_stats.loaded -= 1
                        table_stats.failed += 1
                        if table_stats.state == DONE:
                            table_stats.state = PARTIAL
                        moved += 1
        total += moved
        if not moved or not plan.cycles:
            return total
