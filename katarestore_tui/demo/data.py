"""The good records of each demo table, formatted by hand as Node writes them, streamed.

Deterministic for a given seed (random.Random, and ids derived from indexes); every foreign
key of the good data points at an existing row, computed from indexes, never stored.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from json.encoder import encode_basestring as _q  # C-accelerated; like JSON.stringify
from typing import Any

from katarestore_tui.demo.sizes import LESSONS_PER_COURSE, DemoSizes
from katarestore_tui.demo.stringify import DAY_MS, Ids, dec, iso, pretty
from katarestore_tui.demo.words import (
    BIOS,
    CHOICES,
    DEVICES,
    DOMAINS,
    FIRST,
    FREE_TEXT,
    LAST,
    LESSON_TITLES,
    LEVELS,
    LOCALES,
    PARAGRAPHS,
    TAGS,
    TOPICS,
    TZ,
)

_USER = (
    '  {\n    "id": "%s",\n    "email": %s,\n    "name": %s,\n    "role": "%s",\n'
    '    "createdAt": %s,\n    "profile": %s,\n    "tags": %s\n  }'
)
_COURSE = (
    '  {\n    "id": %d,\n    "title": %s,\n    "slug": %s,\n    "price": %s,\n'
    '    "published": %s,\n    "instructorId": "%s",\n    "createdAt": %s\n  }'
)
_LESSON = (
    '  {\n    "id": %d,\n    "courseId": %d,\n    "position": %d,\n    "title": %s,\n'
    '    "content": %s,\n    "durationMinutes": %s\n  }'
)
_ENROLLMENT = (
    '  {\n    "id": "%d",\n    "userId": "%s",\n    "courseId": %d,\n    "enrolledAt": %s,\n'
    '    "progress": %s\n  }'
)
_PROGRESS = (
    '  {\n    "id": "%s",\n    "enrollmentId": "%d",\n    "lessonId": %d,\n    "completed": %s,\n'
    '    "score": %s,\n    "completedAt": %s,\n    "data": %s\n  }'
)
_PROGRESS_DATA = (
    '{\n      "timeSpentSec": %d,\n      "device": "%s",\n      "attempts": %d\n    }'
)
_QUIZ = (
    '  {\n    "id": "%d",\n    "userId": "%s",\n    "lessonId": %d,\n    "answers": [\n%s\n    ],\n'
    '    "score": %s,\n    "attemptedAt": %s,\n    "attachment": %s\n  }'
)
_ANSWER_CHOICE = (
    '      {\n        "questionId": %d,\n        "choice": [\n%s\n        ],\n'
    '        "correct": %s\n      }'
)
_ANSWER_TEXT = '      {\n        "questionId": %d,\n        "text": %s,\n        "correct": %s\n      }'
_CHOICE_LINES = {
    c: f'          "{c}"' for c in CHOICES
}

_SPAN_2Y = 2 * 365 * DAY_MS


class Generator:
    """Formats the records of each table; FK targets are computed from indexes, not stored."""

    def __init__(self, sizes: DemoSizes, seed: int) -> None:
        self.sizes = sizes
        self.seed = seed
        self.user_id = Ids(random.Random(f"{seed}:users:ids"))
        self.progress_id = Ids(random.Random(f"{seed}:lesson_progress:ids"))
        self.user_text: dict[int, str] = {}  # the few records a bad one repeats
        self.keep_user = -1

    def rng(self, table: str) -> random.Random:
        return random.Random(f"{self.seed}:{table}")

    def records(self, table: str) -> Iterator[str]:
        return getattr(self, f"_{table}")()

    # enrollment e (0-based) = user e % U on course (e // U + e % U) % C: unique pairs
    def enrollment_course(self, e: int) -> int:
        users = self.sizes.users
        return (e // users + e % users) % self.sizes.courses + 1

    def _users(self) -> Iterator[str]:
        rng = self.rng("users")
        rnd = rng.random
        uid = self.user_id
        for i in range(self.sizes.users):
            first, first_a = FIRST[int(rnd() * len(FIRST))]
            last, last_a = LAST[int(rnd() * len(LAST))]
            email = f"{first_a}.{last_a}{i}@{DOMAINS[int(rnd() * len(DOMAINS))]}"
            role = "INSTRUCTOR" if i % 12 == 0 else "ADMIN" if i % 97 == 1 else "STUDENT"
            profile: dict[str, Any] | None = None
            if rnd() < 0.75:
                profile = {
                    "bio": BIOS[int(rnd() * len(BIOS))],
                    "locale": LOCALES[int(rnd() * len(LOCALES))],
                    "timezone": TZ[int(rnd() * len(TZ))],
                }
                if rnd() < 0.5:
                    profile["social"] = {"github": f"{first_a}{last_a}", "website": None}
                if rnd() < 0.5:
                    steps = ["welcome", "profile", "first-course"][: int(rnd() * 4)]
                    profile["onboarding"] = {"completed": len(steps) == 3, "steps": steps}
            tags = rng.sample(TAGS, int(rnd() * 4))
            text = _USER % (
                uid(i),
                _q(email),
                _q(f"{first} {last}"),
                role,
                iso(int(rnd() * _SPAN_2Y)),
                pretty(profile, "    "),
                pretty(tags, "    "),
            )
            if i == self.keep_user:
                self.user_text[i] = text
            yield text

    def _courses(self) -> Iterator[str]:
        rng = self.rng("courses")
        rnd = rng.random
        instructors = self.sizes.users // 12  # users 0, 12, 24... are INSTRUCTORs
        for c in range(1, self.sizes.courses + 1):
            title = f"{TOPICS[c % len(TOPICS)]} — {LEVELS[(c // len(TOPICS)) % 5]}"
            if c > len(TOPICS) * 5:
                title += f" ({c})"
            if c == self.sizes.courses:  # exactly varchar(200), in characters not bytes
                title = (title + " " + "é" * 200)[:200]
            words = "".join(ch if ch.isalnum() else "-" for ch in title[:30].lower())
            slug = f"course-{c}-{words.strip('-')}"
            price = 0 if rnd() < 0.2 else [999, 1250, 1999, 2900, 4900, 7999, 12000][
                int(rnd() * 7)
            ]
            instructor = 12 * ((c * 7919) % instructors)
            yield _COURSE % (
                c,
                _q(title),
                _q(slug),
                dec(price),
                "true" if rnd() < 0.8 else "false",
                self.user_id(instructor),
                iso(int(rnd() * _SPAN_2Y)),
            )

    def _lessons(self) -> Iterator[str]:
        rng = self.rng("lessons")
        rnd = rng.random
        for lesson in range(1, self.sizes.lessons + 1):
            course = (lesson - 1) // LESSONS_PER_COURSE + 1
            position = (lesson - 1) % LESSONS_PER_COURSE + 1
            parts = [PARAGRAPHS[int(rnd() * len(PARAGRAPHS))] for _ in range(1 + int(rnd() * 4))]
            content = f"# {LESSON_TITLES[position - 1]}\n\n" + "\n\n".join(parts)
            duration = "null" if rnd() < 0.1 else str(3 + int(rnd() * 88))
            yield _LESSON % (
                lesson, course, position, _q(f"{position}. {LESSON_TITLES[position - 1]}"),
                _q(content), duration,
            )

    def _enrollments(self) -> Iterator[str]:
        rnd = self.rng("enrollments").random
        users = self.sizes.users
        uid = self.user_id
        for e in range(self.sizes.enrollments):
            yield _ENROLLMENT % (
                e + 1,
                uid(e % users),
                self.enrollment_course(e),
                iso(int(rnd() * _SPAN_2Y)),
                dec(int(rnd() * 10001)),
            )

    def _lesson_progress(self) -> Iterator[str]:
        rng = self.rng("lesson_progress")
        rnd = rng.random
        pid = self.progress_id
        n_enr = self.sizes.enrollments
        users = self.sizes.users
        courses = self.sizes.courses
        for j in range(self.sizes.lesson_progress):
            e = j % n_enr
            course = (e // users + e % users) % courses + 1
            lesson = (course - 1) * LESSONS_PER_COURSE + (j // n_enr) % LESSONS_PER_COURSE + 1
            r = rnd()
            if r < 0.7:
                completed = "true"
                done_at = iso(int(rnd() * _SPAN_2Y))
                if j % 50 == 7:  # numeric without scale keeps every digit: no float on the way
                    score = '"66.66666666666666666667"'
                elif r < 0.55:
                    score = dec(int(rnd() * 1000) * 10)  # one decimal: "87.5", "90"
                else:
                    score = "null"
            else:
                completed = "false"
                done_at = "null"
                score = "null"
            r = rnd()
            if r < 0.9:
                data = _PROGRESS_DATA % (
                    int(rnd() * 3600), DEVICES[int(rnd() * 3)], 1 + int(rnd() * 3)
                )
            elif r < 0.97:
                data = pretty(
                    {
                        "timeSpentSec": int(rnd() * 3600),
                        "device": DEVICES[int(rnd() * 3)],
                        "bookmarks": [int(rnd() * 600) for _ in range(int(rnd() * 4))],
                        "video": {"watched": round(rnd(), 2), "speed": 1.5},
                    },
                    "    ",
                )
            else:
                data = "{}"
            yield _PROGRESS % (pid(j), e + 1, lesson, completed, score, done_at, data)

    def _quiz_attempts(self) -> Iterator[str]:
        rng = self.rng("quiz_attempts")
        rnd = rng.random
        uid = self.user_id
        n_enr = self.sizes.enrollments
        users = self.sizes.users
        for q in range(1, self.sizes.quiz_attempts + 1):
            e = int(rnd() * n_enr)  # a user answers quizzes of a course they are enrolled in
            course = self.enrollment_course(e)
            lesson = (course - 1) * LESSONS_PER_COURSE + int(rnd() * LESSONS_PER_COURSE) + 1
            answers = []
            for question in range(1, 2 + int(rnd() * 3)):
                correct = "true" if rnd() < 0.6 else "false"
                if rnd() < 0.8:
                    picked = CHOICES[: 1 + int(rnd() * 2)] if rnd() < 0.3 else [
                        CHOICES[int(rnd() * 4)]
                    ]
                    lines = ",\n".join(_CHOICE_LINES[c] for c in picked)
                    answers.append(_ANSWER_CHOICE % (question, lines, correct))
                else:
                    text = _q(FREE_TEXT[int(rnd() * len(FREE_TEXT))])
                    answers.append(_ANSWER_TEXT % (question, text, correct))
            if rnd() < 0.04:
                data = [int(rnd() * 256) for _ in range(4 + int(rnd() * 12))]
                attachment = pretty({"type": "Buffer", "data": data}, "    ")
            else:
                attachment = "null"
            yield _QUIZ % (
                q,
                uid(e % users),
                lesson,
                ",\n".join(answers),
                dec(int(rnd() * 10001)),
                iso(int(rnd() * _SPAN_2Y)),
                attachment,
            )
