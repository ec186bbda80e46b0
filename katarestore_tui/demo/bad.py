"""The deliberately bad demo records (the package docstring lists them) and where they go.

Each is an extra record that no good row references, placed mid-file, with the outcome a
correct restore must report for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from katarestore_tui.demo.data import Generator
from katarestore_tui.demo.stringify import record


@dataclass(frozen=True)
class BadRecord:
    """One deliberately bad record: where it is and what a restore must do with it."""

    table: str
    index: int  # position in the table's JSON array, 0-based
    kind: str  # duplicate, too long, wrong type, NUL in text, missing value, orphan
    outcome: str  # "duplicate" or "failed"
    detail: str


@dataclass
class PlannedBad:
    """A bad record still to be placed: its text is made when the file reaches it."""

    kind: str
    outcome: str
    detail: str
    text: Callable[[], str]  # formatted lazily: the duplicate's text exists only later
    slot: int = 0  # inserted before this many good records
    meta: dict[str, Any] = field(default_factory=dict)


def with_bad_records(
    good: Iterator[str], n_good: int, bad: list[PlannedBad]
) -> tuple[Iterator[str], list[BadRecord]]:
    """Interleave bad records into the good ones, spread over the middle of the file."""
    placed: list[BadRecord] = []
    for k, b in enumerate(bad):
        b.slot = max(b.slot, (k + 1) * n_good // (len(bad) + 1))
    bad = sorted(bad, key=lambda b: b.slot)
    for k, b in enumerate(bad):
        placed.append(BadRecord(b.meta["table"], b.slot + k, b.kind, b.outcome, b.detail))

    def merged() -> Iterator[str]:
        pending = iter(bad)
        nxt = next(pending, None)
        for i, text in enumerate(good):
            while nxt is not None and nxt.slot == i:
                yield nxt.text()
                nxt = next(pending, None)
            yield text
        while nxt is not None:
            yield nxt.text()
            nxt = next(pending, None)

    return merged(), placed


def plan_bad_records(gen: Generator) -> dict[str, list[PlannedBad]]:
    """The deliberately bad records, each an extra row that no good row references."""
    s = gen.sizes
    dup = min(3, s.users - 1)
    gen.keep_user = dup
    orphan_enrollment = s.enrollments + 1000
    plans: dict[str, list[PlannedBad]] = {
        "users": [
            PlannedBad(
                "duplicate", "duplicate", f"users record {dup} again, identical",
                lambda: gen.user_text[dup], slot=dup + 1,
            ),
            PlannedBad(
                "too long", "failed", "email of 300 characters in varchar(255)",
                lambda: record(
                    {
                        "id": gen.user_id(s.users + 1),
                        "email": "x" * 288 + "@example.com",
                        "name": "Too Long",
                        "role": "STUDENT",
                        "createdAt": "2024-01-01T00:00:00.000Z",
                        "profile": None,
                        "tags": [],
                    }
                ),
            ),
        ],
        "courses": [
            PlannedBad(
                "too long", "failed", "title of 201 characters in varchar(200)",
                lambda: record(
                    {
                        "id": s.courses + 1,
                        "title": "ü" * 201,
                        "slug": "too-long-title",
                        "price": "10",
                        "published": False,
                        "instructorId": gen.user_id(0),
                        "createdAt": "2024-01-01T00:00:00.000Z",
                    }
                ),
            ),
        ],
        "lessons": [
            PlannedBad(
                "wrong type", "failed", 'position "abc" in an integer column',
                lambda: record(
                    {
                        "id": s.lessons + 1,
                        "courseId": 1,
                        "position": "abc",
                        "title": "Bonus",
                        "content": "extra",
                        "durationMinutes": 5,
                    }
                ),
            ),
            PlannedBad(
                "NUL in text", "failed", "content holds \\u0000, which text cannot store",
                lambda: record(
                    {
                        "id": s.lessons + 2,
                        "courseId": 1,
                        "position": 11,
                        "title": "Binary paste",
                        "content": "pasted from a PDF:\u0000\u0000 oops",
                        "durationMinutes": None,
                    }
                ),
            ),
        ],
        "enrollments": [
            PlannedBad(
                "missing value", "failed", "userId null in a NOT NULL column",
                lambda: record(
                    {
                        "id": str(s.enrollments + 1),
                        "userId": None,
                        "courseId": 1,
                        "enrolledAt": "2024-01-01T00:00:00.000Z",
                        "progress": "0",
                    }
                ),
            ),
        ],
        "lesson_progress": [
            PlannedBad(
                "orphan", "failed", f"enrollmentId {orphan_enrollment} does not exist",
                lambda: record(
                    {
                        "id": gen.progress_id(s.lesson_progress + 1),
                        "enrollmentId": str(orphan_enrollment),
                        "lessonId": 1,
                        "completed": True,
                        "score": "50",
                        "completedAt": "2024-01-01T00:00:00.000Z",
                        "data": {},
                    }
                ),
            ),
        ],
        "quiz_attempts": [
            PlannedBad(
                "wrong type", "failed", "attemptedAt 2024-02-30T25:61 is not a time",
                lambda: record(
                    {
                        "id": str(s.quiz_attempts + 1),
                        "userId": gen.user_id(0),
                        "lessonId": 1,
                        "answers": [],
                        "score": "0",
                        "attemptedAt": "2024-02-30T25:61:00.000Z",
                        "attachment": None,
                    }
                ),
            ),
        ],
    }
    for table, items in plans.items():
        for b in items:
            b.meta["table"] = table
    return plans
