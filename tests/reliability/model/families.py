"""Which fault families the CI model test draws from today, and why the others are off.

A family is off only while a numbered defect of issue 9 makes it fail on main; the
integrator turns it on (True) once the fix is merged. `python scripts/model_fault_test.py
--families all` runs every family whatever this says.
"""

from __future__ import annotations

FAMILIES: dict[str, bool] = {
    "bad_values": True,
    "duplicates": True,
    "formats": True,
    "truncated": True,
    "kill9": True,
    "backend": True,
    "keyless": True,
    "identity": True,
    "trigger": True,
    "jobs": True,
    "layouts": True,
    "crash": True,
    "preexisting": True,
    "unique": True,
    "fk": True,
    "self_fk": True,
    "cycle": True,
    "not_valid": True,
    "row_mode": True,
}

# the defect that keeps a family off (shown as the skip reason of its CI test)
PENDING: dict[str, str] = {}


def enabled() -> set[str]:
    return {name for name, on in FAMILIES.items() if on}
