"""The CLI's text tables (summary, history, benchmark figures), drawn by Rich's `Table`.

Plain text, no colour and no wrapping, whatever the terminal: the lines go to logs and
mails as they are; ASCII rules where the output's encoding is not UTF-8.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table

WIDE = 10_000  # never wrap: a backup path stays on its line, in a pipe as on a terminal
# box.SIMPLE (a rule under the header, one above the totals) drawn with '-'
ASCII_SIMPLE = box.Box("    \n    \n -- \n    \n    \n -- \n    \n    \n", ascii=True)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str = "",
               totals: Sequence[str] | None = None) -> str:
    """`align` is one letter a column, l or r (numbers), left for any not given; `totals`
    is a last row below a rule."""
    table = Table(box=_box(), show_edge=False, pad_edge=False, header_style="", footer_style="",
                  show_footer=totals is not None, safe_box=True)
    for i, header in enumerate(headers):
        table.add_column(header, justify="right" if align[i:i + 1] == "r" else "left", no_wrap=True,
                         footer=totals[i] if totals is not None else "")
    for row in rows:
        table.add_row(*row)
    out = io.StringIO()
    Console(file=out, width=WIDE, color_system=None, markup=False, highlight=False, emoji=False,
            force_terminal=False, soft_wrap=False).print(table)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())


def _box() -> box.Box:
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    return box.SIMPLE if encoding.startswith("utf") else ASCII_SIMPLE
