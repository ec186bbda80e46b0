"""The restore screen's cheap redraws stay correct: a label repainted without a layout shows
its new text, one whose new text no longer fits is laid out again; help is built once per
section and opens the same screen again."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Label

from katarestore_tui.app.screens.help import HelpScreen
from katarestore_tui.app.widgets.restore.quiet_label import set_text
from katarestore_tui.app.widgets.restore.table_pane import TablePane
from katarestore_tui.engine import LOADING, TableStats
from tests.app.conftest import Target, run, wait_for


class PaneApp(App[None]):
    CSS = ".pane-counts { width: 1fr; } .narrow { width: 20; }"

    def compose(self) -> ComposeResult:
        yield TablePane("users", 1000)
        yield Label(classes="narrow")


def test_labels_repaint_in_place_and_lay_out_when_the_text_outgrows_them():
    async def scenario():
        app = PaneApp()
        layouts: list[str] = []
        async with app.run_test(size=(80, 24)) as pilot:
            label = app.query_one(".narrow", Label)
            set_text(label, "short")
            await pilot.pause()
            real_refresh = label.refresh

            def counting_refresh(*regions, layout=False, **kwargs):
                if layout:
                    layouts.append(str(label.render()))
                return real_refresh(*regions, layout=layout, **kwargs)

            label.refresh = counting_refresh  # type: ignore[method-assign]
            set_text(label, "still short")  # same one line: a repaint
            set_text(label, "still short")  # unchanged: nothing at all
            await pilot.pause()
            assert str(label.render()) == "still short" and layouts == []
            assert label.size.height == 1
            long = "a text far longer than twenty cells, on two lines or more"
            set_text(label, long)  # it cannot keep its size: laid out again, taller
            await pilot.pause()
            assert layouts and set(layouts) == {long} and label.size.height > 1

            pane = app.query_one(TablePane)
            for records in (100, 250, 400):  # a load's ticks: the counts follow each one
                pane.show(TableStats("users", "users.json", 1000, records * 2, records,
                                     records, state=LOADING, seconds=1.0))
                await pilot.pause()
                assert f"{records:,} records" in str(pane.query_one(".pane-counts", Label).render())

    run(scenario)


def test_help_is_built_once_per_section_and_opens_again(target: Target):
    async def scenario():
        app = target.app()
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.dsn)
            await pilot.press("question_mark")
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
            first = app.screen
            assert first.screen_section == "Backups"
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))
            await pilot.press("question_mark")
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
            assert app.screen is first  # kept installed: no compose, no render of every table
            await pilot.press("q")
            await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))

    run(scenario)
