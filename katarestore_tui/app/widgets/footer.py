"""Textual's Footer, rebuilt only when the keys it shows changed.

Textual's Footer removes and mounts every key widget whenever its screen's bindings are
refreshed, and that happens each time the screen comes back (closing help, a dialog): during
a 1M-record load most of the time to close help was that rebuild and the layout after it
(counted in scripts/key_latency.py's runs). The keys shown are the same: skip it then.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer

Shown = tuple[tuple[str, str, str, str, bool, str], ...]


class KeyFooter(Footer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._shown: Shown | None = None

    def _keys(self) -> Shown:
        """What compose would draw: each shown binding, enabled or not, and the palette's."""
        palette = self.app.COMMAND_PALETTE_BINDING
        return tuple(
            (binding.key, self.app.get_key_display(binding), binding.description,
             binding.action, enabled, tooltip)
            for key, (_node, binding, enabled, tooltip) in self.screen.active_bindings.items()
            if binding.show or key == palette
        )

    def bindings_changed(self, screen: Screen) -> None:
        if self.is_attached and screen is self.screen and screen.app.app_focus:
            keys = self._keys()
            if keys == self._shown:
                return  # the same keys: no rebuild, no layout
            self._shown = keys
        super().bindings_changed(screen)
