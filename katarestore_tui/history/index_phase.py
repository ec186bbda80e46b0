"""The "indexes" phase of a run log, as one line per table, for `history` and the TUI.

The run log keeps, per table whose secondary indexes went until its data was in, what the
phase did (`tables.<name>.indexes`), and the builds left by earlier runs that failed at this
run's start (`index_problems`). Both faces show it the same way.
"""

from __future__ import annotations


def index_phase_lines(run: dict) -> list[tuple[str, bool]]:
    """(line, is_a_problem) for each table's index phase and each failed build."""
    lines: list[tuple[str, bool]] = []
    for name, stats in (run.get("tables") or {}).items():
        phase = stats.get("indexes") or {}
        if not phase:
            continue
        lines.append((f"{name}: {phase.get('dropped', 0)} secondary dropped before the data, "
                      f"{phase.get('built', 0)} built after it in "
                      f"{float(phase.get('seconds', 0.0)):.1f}s", False))
        lines.extend((problem, True) for problem in phase.get("problems") or [])
    lines.extend((problem, True) for problem in run.get("index_problems") or [])
    return lines
