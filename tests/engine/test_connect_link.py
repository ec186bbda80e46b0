"""connect.Link: the one place a dropped session is noticed and replaced.

Each test kills the link's backend with pg_terminate_backend (57P01, as an administrator
or a restarting server would) and checks what the link did, on a real server.
"""

from __future__ import annotations

import threading

import psycopg
import pytest

from katarestore_tui.engine.connect import MAX_ATTEMPTS, Link, Session, connect
from katarestore_tui.errors import FatalError


def kill(db: psycopg.Connection, conn: psycopg.Connection) -> None:
    # waits until the backend is gone (PostgreSQL 14+), so no statement races the kill
    db.execute("SELECT pg_terminate_backend(%s, 5000)", (conn.info.backend_pid,))


@pytest.fixture
def session(db_dsn: str) -> Session:
    return Session(db_dsn, threading.Event(), ["SET application_name = 'link-test'"])


def test_a_step_is_redone_once_on_a_new_configured_connection(db, db_dsn, session):
    first = connect(db_dsn)
    renewed: list[int] = []
    warnings: list[str] = []
    link = Link(first, session, warnings.append,
                on_renew=lambda c: renewed.append(c.info.backend_pid))
    tries: list[int] = []

    def step() -> str:
        tries.append(link.conn.info.backend_pid)
        if len(tries) == 1:
            kill(db, link.conn)
        row = link.conn.execute("SELECT current_setting('application_name')").fetchone()
        return row[0]

    lost: list[bool] = []
    assert link.retrying(step, on_lost=lambda: lost.append(True)) == "link-test"
    assert len(tries) == 2 and tries[0] != tries[1]  # the second try ran on another backend
    assert renewed == [tries[1]] and lost == [True]
    assert first.closed
    link.close()
    assert link.conn.closed


def test_a_statement_error_is_not_a_lost_connection(db_dsn, session):
    link = Link(connect(db_dsn), session, print, owned=True)
    with pytest.raises(psycopg.errors.UndefinedTable):
        link.retrying(lambda: link.conn.execute("SELECT * FROM no_such_table"))
    assert not link.conn.closed  # no reconnect for the operator's or the data's errors
    link.close()
    assert link.conn.closed


def test_without_a_session_a_drop_is_never_papered_over(db, db_dsn):
    # --single-transaction: everything was in the lost transaction
    link = Link(connect(db_dsn), None, print, owned=True)
    kill(db, link.conn)
    with pytest.raises(psycopg.OperationalError):
        link.retrying(lambda: link.conn.execute("SELECT 1"))
    link.ensure_live()  # no session: nothing is reopened
    assert link.conn.closed or link.conn.broken
    link.close()


def test_a_connection_that_keeps_dropping_gives_up_with_a_message(db, db_dsn, session):
    link = Link(connect(db_dsn), session, print, owned=True)

    def dies_at_once(conn: psycopg.Connection) -> None:
        kill(db, conn)
        conn.execute("SELECT 1")

    with pytest.raises(FatalError, match="users: the connection kept dropping"):
        link.renewed(dies_at_once, "users")
    link.close()
    assert MAX_ATTEMPTS == 5


def test_an_idle_connection_found_dead_is_renewed(db, db_dsn, session):
    link = Link(connect(db_dsn), session, print, owned=True)
    before = link.conn.info.backend_pid
    kill(db, link.conn)
    link.ensure_live()
    assert link.conn.info.backend_pid != before
    assert link.conn.execute("SELECT 1").fetchone() == (1,)
    link.close()
