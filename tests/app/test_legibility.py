"""What an operator must read on any terminal: footer keys at 4.5:1 in both themes, focus by shape."""

from __future__ import annotations

import pytest
from textual.color import Color
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from katarestore_tui.app.app import KatarestoreApp
from katarestore_tui.app.preferences import THEMES
from katarestore_tui.app.widgets.picker.backup_table import BackupTable
from tests.app import sample
from tests.app.conftest import run

WCAG_AA = 4.5


def luminance(color: Color) -> float:
    def channel(value: int) -> float:
        v = value / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.r) + 0.7152 * channel(color.g) + 0.0722 * channel(color.b)


def contrast(a: Color, b: Color) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("theme", THEMES)
def test_footer_keys_and_labels_read_at_wcag_aa_and_focus_has_its_own_line(tmp_path, theme: str):
    async def scenario():
        app = KatarestoreApp(dsn=sample.FAKE_DSN, backup_root=tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            app.theme = theme
            await pilot.pause()
            key = app.screen.query_one(Footer).query(FooterKey).first()
            background = key.background_colors[1]
            for part in ("footer-key--key", "footer-key--description"):
                style = key.get_component_rich_style(part)
                fg = Color.from_rich_color(style.color)
                bg = Color.from_rich_color(style.bgcolor) if style.bgcolor else background
                assert contrast(fg, bg) >= WCAG_AA, f"{theme} {part}: {fg.hex} on {bg.hex}"

            table = app.screen.query_one(BackupTable)
            table.focus()
            await pilot.pause()
            focused_line = table.styles.border_top[0]
            app.screen.focus_next()
            await pilot.pause()
            assert not table.has_focus
            assert (focused_line, table.styles.border_top[0]) == ("heavy", "round")

    run(scenario)
