"""A query's single value, checked: a row that is not there is a bug to report, not a None."""

from __future__ import annotations

from typing import Any


def first(row: tuple[Any, ...] | None) -> Any:
    """The first column of a row a query always returns (SELECT count(*), EXISTS, ...)."""
    if row is None:
        raise LookupError("the query returned no row")
    return row[0]
