"""The Textual face of katarestore (the only package that imports textual).

Textual waits ESCDELAY milliseconds (default 100) after a lone Escape byte before it believes
it is the Escape key and not the start of an arrow key's sequence: every "esc to close" then
took over 100 ms (scripts/key_latency.py). 25 ms, as tmux and vim users set escape-time and
ttimeoutlen, still joins a sequence that arrives in one SSH packet. An operator's own
ESCDELAY is kept. Set here, before textual.constants reads it on first import.
"""

import os

os.environ.setdefault("ESCDELAY", "25")
