"""Label updates that skip the screen-wide layout when the new text cannot change the size.

`Static.update` asks for a layout by default; Textual then re-arranges the whole screen. The
restore screen updates a dozen labels four times a second while a load runs: measured with
py-spy, those layouts were most of the UI thread's time, and a key pressed meanwhile waited
behind them (scripts/key_latency.py). A label of fixed width whose old and new text both fit
on one line keeps its size, so a repaint is enough.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Label


def one_line(text: str, width: int) -> bool:
    return "\n" not in text and Content.from_markup(text).cell_length <= width


def set_text(label: Label, text: str) -> None:
    """`label.update(text)`, a no-op when unchanged, with a layout only when one is needed."""
    old = getattr(label, "_shown_text", None)
    if old == text:
        return
    label._shown_text = text  # type: ignore[attr-defined]
    if not label.display:  # hidden: showing it again lays the screen out anyway
        label.update(text, layout=False)
        return
    width = label.content_region.width
    same_size = (old is not None and width > 0 and not label.styles.is_auto_width
                 and one_line(old, width) and one_line(text, width))
    label.update(text, layout=not same_size)
