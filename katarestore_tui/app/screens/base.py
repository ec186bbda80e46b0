"""What every katarestore screen shares: worker failures become visible notifications."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from katarestore_tui.redact import redact_text

if TYPE_CHECKING:
    from textual import getters

    from katarestore_tui.app.app import KatarestoreApp


def report_worker_state(node: Screen[Any] | App[Any], event: Worker.StateChanged) -> bool:
    """The one place a worker's error becomes a message for the operator; True on error."""
    worker = event.worker
    if event.state == WorkerState.ERROR:
        error = worker.error
        what = worker.group if worker.group != "default" else worker.name
        node.notify(
            redact_text(f"{type(error).__name__}: {error}"),
            title=f"{what} failed",
            severity="error",
            timeout=12,
        )
        return True
    if event.state == WorkerState.CANCELLED:
        node.log.debug(f"worker {worker.name} cancelled")
    else:  # PENDING, RUNNING, SUCCESS: results arrive as messages
        pass
    return False


class KataScreen(Screen[Any]):
    """Base screen: worker errors are shown, then the screen undoes its busy look."""

    if TYPE_CHECKING:  # `self.app` is katarestore's app, with its attributes (Textual's idiom)
        app = getters.app(KatarestoreApp)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if report_worker_state(self, event):
            self.worker_failed(event.worker)

    def worker_failed(self, worker: Worker) -> None:
        """Screens undo their 'busy' look here."""
