"""The operator's last choices, kept as JSON in the config folder; never the DSN.

Never a destructive choice either: "Clean first" empties tables, and a tick remembered
from yesterday's restore (or another target) would empty today's. It starts unticked.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields

from katarestore_tui.engine import (
    DEFAULT_BATCH_SIZE,
    MAX_BATCH_SIZE,
    MIN_BATCH_SIZE,
    ON_CONFLICT_MODES,
)
from katarestore_tui.locations import preferences_file

MAX_JOBS = 32
THEMES = ("textual-dark", "textual-light")


@dataclass
class Preferences:
    batch_size: int = DEFAULT_BATCH_SIZE
    on_conflict: str = "skip"
    jobs: int = 1
    tables: list[str] = field(default_factory=list)
    theme: str = THEMES[0]

    def problems(self) -> list[str]:
        found = []
        if not MIN_BATCH_SIZE <= self.batch_size <= MAX_BATCH_SIZE:
            found.append("batch_size")
        if self.on_conflict not in ON_CONFLICT_MODES:
            found.append("on_conflict")
        if not 1 <= self.jobs <= MAX_JOBS:
            found.append("jobs")
        if self.theme not in THEMES:
            found.append("theme")
        return found


def load_preferences() -> Preferences:
    """Saved choices; anything missing, mistyped or out of range falls back to the default."""
    defaults = Preferences()
    try:
        data = json.loads(preferences_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return defaults
    if not isinstance(data, dict):
        return defaults
    prefs = Preferences()
    for spec in fields(Preferences):
        value = data.get(spec.name)
        default = getattr(defaults, spec.name)
        if isinstance(value, type(default)) and not (isinstance(value, bool) and type(default) is int):
            setattr(prefs, spec.name, value)
    prefs.tables = [t for t in prefs.tables if isinstance(t, str)]
    for name in prefs.problems():
        setattr(prefs, name, getattr(defaults, name))
    return prefs


def save_preferences(prefs: Preferences) -> None:
    path = preferences_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(asdict(prefs), handle, indent=2)
    os.replace(tmp, path)
