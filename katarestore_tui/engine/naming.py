"""Match backup names (files, JSON keys) to database names (tables, columns)."""

from __future__ import annotations

import re
from collections.abc import Iterable

_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(name: str) -> str:
    """`AlbumId` -> `album_id`, `HTTPStatus` -> `http_status`, `lesson-progress` -> `lesson_progress`."""
    return _BOUNDARY.sub("_", name).replace("-", "_").replace(" ", "_").lower()


def match_name(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate `name` refers to: exact, then case-insensitive, then snake_case.

    `candidates` is any collection of names (a dict gives its keys)."""
    pool = list(candidates)
    if name in pool:
        return name
    lower = {c.lower(): c for c in pool}
    if name.lower() in lower:
        return lower[name.lower()]
    snake = snake_case(name)
    if snake in lower:
        return lower[snake]
    snake_pool = {snake_case(c): c for c in pool}
    return snake_pool.get(snake)
