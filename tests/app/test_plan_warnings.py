"""#12.5 in the TUI: the plan shows the rows already in each target table and never says
"No warnings" then; a file cut short is the summary's headline."""

from __future__ import annotations

import psycopg
from textual.widgets import DataTable

from katarestore_tui.app.widgets.plan.plan_views import NotesView
from tests.app.conftest import Target, run
from tests.app.test_restore import open_plan


def test_the_plan_shows_rows_already_in_the_target(target: Target):
    with psycopg.connect(target.dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO users (id, email, name) VALUES "
                     "('00000000-0000-4000-8000-0000000000aa', 'a@example.org', 'A')")

    async def scenario():
        app = target.app()
        async with app.run_test(size=(80, 24)) as pilot:
            await open_plan(app, pilot)
            notes = str(app.screen.query_one(NotesView).render())
            assert "No warnings" not in notes and "already holds rows" in notes, notes
            assert "users 1" in notes and "skipped as duplicates" in notes, notes
            order = app.screen.query_one(DataTable)
            assert order.get_cell("users", order.ordered_columns[3].key) == "1 row"

    run(scenario)


def test_a_file_cut_short_is_the_summary_headline(db_dsn, tmp_path):
    from katarestore_tui.app.app import KatarestoreApp
    from katarestore_tui.app.widgets.restore.summary import RunSummary
    from tests.app.conftest import screen_named, wait_for
    from tests.helpers import options, write_backup

    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE scores (id int PRIMARY KEY, v int)")
    root = tmp_path / "kata_json"
    folder = write_backup(root, {"scores.json": '[\n  {"id": 1, "v": 1},\n  {"id": 2, "v"'})

    async def scenario():
        app = KatarestoreApp(dsn=db_dsn, backup_root=root)
        async with app.run_test(size=(80, 24)) as pilot:
            app.start_restore(options(db_dsn, folder))
            await wait_for(pilot, lambda: screen_named(app, "RestoreScreen")
                           and app.screen.finished is not None, what="the end of the run")
            lines = str(app.screen.query_one(RunSummary).render()).splitlines()
            assert "scores did not load whole" in lines[0], lines
            assert lines[1].startswith("scores: "), lines

    run(scenario)
