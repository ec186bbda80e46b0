"""Every error the app showed the operator, kept after its toast has gone.

A toast lasts seconds; at 2 a.m. the operator looks away. `ErrorList` keeps each error
notification (time, title, text) for the session, newest last, so the Errors screen
(ctrl+e, or "Errors" in the command palette) can show them all again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

MAX_KEPT = 500  # a loop of errors must not grow memory without end; the oldest go first


@dataclass(frozen=True)
class SeenError:
    at: datetime
    title: str
    message: str

    def line(self) -> str:
        head = f"{self.title}: " if self.title else ""
        return f"{self.at:%H:%M:%S}  {head}{self.message}"


class ErrorList:
    def __init__(self, now: Callable[[], datetime] = datetime.now) -> None:
        self.now = now
        self.items: list[SeenError] = []

    def add(self, title: str, message: str) -> SeenError:
        seen = SeenError(self.now(), title, message)
        self.items.append(seen)
        del self.items[:-MAX_KEPT]
        return seen

    def __len__(self) -> int:
        return len(self.items)
