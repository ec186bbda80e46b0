"""The CLI's word on the target: where it came from, or why it cannot be had (exit 3)."""

from __future__ import annotations

from katarestore_tui.cli.output import TextReporter


def target_dsn(dsn: str | None, reporter: TextReporter) -> str | None:
    """The resolved DSN, having said where it came from; None (reported) when unavailable.

    "" is a valid answer: libpq's defaults (the PG* variables) are the target.
    """
    from katarestore_tui.db.target import resolve_target

    try:
        target = resolve_target(dsn)
    except Exception as exc:  # the embedded server could not start: say why, exit 3
        reporter.say(f"error: {exc}")
        return None
    reporter.say(target.line())
    return target.dsn
