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
    "orphan_chain": True,
    "kill_at_end": True,
}

# the defect that keeps a family off (shown as the skip reason of its CI test)
PENDING: dict[str, str] = {
    "layouts": "#9.1 (a key set that changes inside a file makes a resume after kill -9 skip a record)",
    "crash": "#9.2 (a server crash with synchronous_commit = off loses acknowledged batches)",
    "preexisting": "#9.3b (--on-conflict update to a missing parent: the set-based check deletes the row)",
    "not_valid": "#9.3a (a pre-existing row under a NOT VALID key is deleted into the quarantine)",
    "unique": "#9.6 (a clash on a secondary unique key is counted as a duplicate, not quarantined)",
    "truncated": "#9.11 (a cut .json.gz loads none of the records before the fault)",
    "orphan_chain": "NEW (set-based check: an orphan in a self-referencing table whose removal orphans"
                    " another row of that table leaves the second row dangling, its FK violated)",
    "kill_at_end": "NEW, near #9.7 (kill -9 after the checkpoint is dropped but before the run log is"
                   " final: the log says running, the resume finds no checkpoint and loads it all again)",
    "row_mode": "#9.13 (row-by-row FK checks quarantine children listed before their parents)",
}


def enabled() -> set[str]:
    return {name for name, on in FAMILIES.items() if on}
