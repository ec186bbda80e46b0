"""The terminal driver: Textual's own, except that a lone Escape arrives in ESCDELAY, not 0.1 s.

Textual's input thread sleeps in `select(0.1)` and only then asks its parser whether a lone
Escape byte has waited long enough to be the Escape key: so Escape (close, back, cancel)
took 100-140 ms even on an idle screen, whatever ESCDELAY said (measured with
scripts/key_latency.py). This driver's input loop is Textual 8's, waking every ESCDELAY
(25 ms, see katarestore_tui.app) so the key is delivered as soon as it is known to be one.
"""

from __future__ import annotations

import os
import selectors
from codecs import getincrementaldecoder

from textual import constants
from textual._loop import loop_last
from textual._parser import ParseError
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

LONGEST_WAIT = 0.1  # Textual's own wake-up: the input thread still notices exit_event as often


def wake_every() -> float:
    return min(LONGEST_WAIT, max(0.005, constants.ESCAPE_DELAY))


class QuickEscapeDriver(LinuxDriver):
    def run_input_thread(self) -> None:
        """Wait for input and dispatch events (LinuxDriver's loop, a shorter wake-up)."""
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        fileno, event_read, wait = self.fileno, selectors.EVENT_READ, wake_every()
        parser = XTermParser(self._debug)
        feed, tick = parser.feed, parser.tick
        decode = getincrementaldecoder("utf-8")().decode

        def process_selector_events(ready: list[tuple[selectors.SelectorKey, int]],
                                    final: bool = False) -> None:
            for last, (_key, mask) in loop_last(ready):
                if mask & event_read:
                    data = decode(os.read(fileno, 1024 * 4), final=final and last)
                    if not data:
                        break  # stdin is a pipe that ended
                    for event in feed(data):
                        self.process_message(event)
            for event in tick():  # a lone Escape that has waited ESCDELAY: the Escape key
                self.process_message(event)

        try:
            while not self.exit_event.is_set():
                process_selector_events(selector.select(wait))
            selector.unregister(self.fileno)
            process_selector_events(selector.select(wait), final=True)
        finally:
            selector.close()
            try:
                for _event in feed(""):
                    pass
            except (EOFError, ParseError):
                pass
