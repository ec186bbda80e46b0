"""How many rows each demo table gets, all from one number (ratios: the package docstring)."""

from __future__ import annotations

from dataclasses import dataclass

TABLES: tuple[str, ...] = (
    "users",
    "courses",
    "lessons",
    "enrollments",
    "lesson_progress",
    "quiz_attempts",
)
LESSONS_PER_COURSE = 10


@dataclass(frozen=True)
class DemoSizes:
    """Good rows per table for a given `rows` (see the module docstring for the ratios)."""

    users: int
    courses: int
    lessons: int
    enrollments: int
    lesson_progress: int
    quiz_attempts: int

    @classmethod
    def for_rows(cls, rows: int) -> DemoSizes:
        if rows < 1:
            raise ValueError("rows must be at least 1")
        users = max(24, rows // 20)
        courses = max(5, rows // 2000)
        return cls(
            users=users,
            courses=courses,
            lessons=courses * LESSONS_PER_COURSE,
            enrollments=max(1, min(rows // 10, users * courses)),
            lesson_progress=rows,
            quiz_attempts=rows // 4,
        )

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in TABLES}
