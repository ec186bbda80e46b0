"""What every table load of one run shares, handed down as one object.

The scheduler and each `TableLoader` take a `RunContext` instead of a dozen loose
arguments: the options, the target's schema, the run's id, where quarantined records go,
who hears the events, the stop signal, how foreign keys are checked, the MaxErrors policy, and the run's own
connection (a `Link`, reopened in one place when the server drops it).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from katarestore_tui.db.schema import Schema
from katarestore_tui.engine import checkpoint
from katarestore_tui.engine.connect import Link, Session
from katarestore_tui.engine.events import EventSink, Warning
from katarestore_tui.engine.maxerrors import MaxErrors
from katarestore_tui.engine.options import RestoreOptions
from katarestore_tui.engine.plan import TablePlan
from katarestore_tui.engine.quarantine import QuarantineWriter


@dataclass
class TableJob:
    """One table to load, and where a resume starts it (None: from its first record)."""

    plan: TablePlan
    start: checkpoint.Checkpoint | None = None
    # one range of a big table (split_load.py): its checkpoint row's range name; the range
    # itself is `plan.file.span`
    part: str | None = None


@dataclass
class RunContext:
    options: RestoreOptions
    schema: Schema
    run_id: str
    session: Session  # opens the loaders' connections, all configured alike
    link: Link  # the run's own connection: tables loaded one after another use it
    quarantine: QuarantineWriter
    sink: EventSink
    cancel: threading.Event
    immediate: bool  # foreign keys checked row by row (no set-based check after the load)
    # when a table's records keep failing: stop it and ask (engine/maxerrors.py)
    errors: MaxErrors = field(default_factory=MaxErrors)

    @property
    def per_batch_commit(self) -> bool:
        """Each batch commits with its checkpoint, unless the run is one transaction."""
        return not self.options.single_transaction

    def table_link(self, table: str) -> Link:
        """A connection of one table alone (`--jobs` > 1), closed when the table is done."""
        def warn(message: str) -> None:
            self.sink(Warning(message, table))

        session = None if self.options.single_transaction else self.session
        return Link(self.session.reopen(warn), session, warn, owned=True)
