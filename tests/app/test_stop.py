"""The restore screen while another session holds a lock: the wait is shown, a stop stops.

A reader of the application keeps a transaction open on `users` (ACCESS SHARE), so the
clean's TRUNCATE cannot get its lock. The screen must say who holds it and for how long;
`c`, `y` must end the run at once, lock still held, with every table as it was.
"""

from __future__ import annotations

import time

import psycopg
from textual.widgets import Label

from katarestore_tui.app.screens.modals import ConfirmScreen
from katarestore_tui.engine.locks import LOCK_TIMEOUT_SECONDS
from katarestore_tui.history.runs import read_run
from tests.app.conftest import BLOCKED_TABLE, TableLock, Target, run, screen_named, wait_for
from tests.app.test_restore import open_plan, start_clean_restore

STALE = ("00000000-0000-4000-8000-0000000000ff", "stale@example.org", "Stale")


def table_counts(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename NOT LIKE '\\_katarestore%' ORDER BY 1").fetchall()]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}


def overall_text(screen) -> str:
    return str(screen.query_one("#overall-detail", Label).render())


def test_clean_waiting_on_a_lock_is_shown_and_a_stop_leaves_every_table_as_it_was(target: Target):
    with psycopg.connect(target.dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO users (id, email, name) VALUES (%s, %s, %s)", STALE)
    before = table_counts(target.dsn)
    assert before["users"] == 1
    reader = psycopg.connect(target.dsn)  # the application: a read left open
    reader.execute("SELECT count(*) FROM users")
    blocker = reader.info.backend_pid

    async def scenario():
        app = target.app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await start_clean_restore(app, pilot)
            await wait_for(pilot, lambda: "waiting for a lock" in overall_text(screen),
                           timeout=LOCK_TIMEOUT_SECONDS + 10, what="the lock wait on screen")
            text = overall_text(screen)
            assert f"waiting for a lock on users held by pid {blocker}" in text, text
            assert "SELECT count(*) FROM users" in text, text
            shown = screen.lock_wait.waited_seconds
            await pilot.pause(1.2)  # the timer runs between the engine's reports
            assert screen.lock_text() != "" and screen.lock_text() != screen.lock_wait.text(shown)

            await pilot.press("c")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            began = time.monotonic()
            await pilot.press("y")
            await wait_for(pilot, lambda: screen.finished is not None, timeout=10, what="the stop")
            took = time.monotonic() - began
            assert took < 5, f"took {took:.1f}s"  # the lock is still held: no waiting it out
            assert screen.finished.status == "cancelled", screen.finished.error
            assert not app.restore_running()
            assert read_run(screen.finished.run_id)["status"] == "cancelled"

    try:
        run(scenario)
    finally:
        reader.rollback()
        reader.close()
    time.sleep(LOCK_TIMEOUT_SECONDS / 2)  # a TRUNCATE still queued would commit now
    assert table_counts(target.dsn) == before
    with psycopg.connect(target.dsn) as conn:
        assert conn.execute("SELECT id::text, email, name FROM users").fetchall() == [STALE]


def test_a_stop_while_a_batch_waits_on_a_lock_ends_the_run_with_the_lock_still_held(
        target: Target, lock: TableLock):
    """The load waits on a table locked ACCESS EXCLUSIVE: the stop does not wait for it."""

    async def scenario():
        app = target.app()
        async with app.run_test(size=(80, 24)) as pilot:
            await open_plan(app, pilot, batch_size="20")
            await pilot.press("s")
            await wait_for(pilot, lambda: screen_named(app, "RestoreScreen"))
            screen = app.screen
            await wait_for(pilot, lambda: screen.lock_wait is not None
                           and screen.lock_wait.table == BLOCKED_TABLE,
                           timeout=LOCK_TIMEOUT_SECONDS + 20, what="the wait on the locked table")
            assert f"held by pid {lock.conn.info.backend_pid}" in overall_text(screen)
            await pilot.press("c")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await wait_for(pilot, lambda: screen.finished is not None, timeout=5, what="the stop")
            assert screen.finished.status == "cancelled"
            assert screen.stats[BLOCKED_TABLE].loaded == 0

    run(scenario)
    lock.release()
    assert table_counts(target.dsn)[BLOCKED_TABLE] == 0


def test_quit_while_the_clean_waits_on_a_lock_leaves_at_once_and_empties_nothing(target: Target):
    """ctrl+q, "Stop and quit": the app exits (it used to blank the screen and stay)."""
    with psycopg.connect(target.dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO users (id, email, name) VALUES (%s, %s, %s)", STALE)
    before = table_counts(target.dsn)
    reader = psycopg.connect(target.dsn)
    reader.execute("SELECT count(*) FROM users")
    app = target.app()
    pressed: list[float] = []

    async def scenario():
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await start_clean_restore(app, pilot)
            await wait_for(pilot, lambda: screen.lock_wait is not None,
                           timeout=LOCK_TIMEOUT_SECONDS + 10, what="the lock wait")
            await pilot.press("ctrl+q")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            pressed.append(time.monotonic())
            await pilot.press("y")
            await wait_for(pilot, lambda: not app.is_running, timeout=5, what="the exit")

    try:
        run(scenario)
        app.stop_runs(wait=True)  # what run_app does once the app has returned
        took = time.monotonic() - pressed[0]
    finally:
        reader.rollback()
        reader.close()
    assert app.return_code == 3 and not app.restore_running()
    assert took < 5, f"took {took:.1f}s from the answer to a stopped run"
    time.sleep(LOCK_TIMEOUT_SECONDS / 2)
    assert table_counts(target.dsn) == before
