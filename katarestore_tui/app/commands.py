"""The command palette (ctrl+p): the main actions by name, whatever screen is showing."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

COMMANDS = (
    ("Backups", "Go back to the backup list", "app.backups"),
    ("Plan the selected backup", "Dry run: order, name mapping, warnings", "app.plan"),
    ("History", "Past runs, their summaries, failed records, resume", "app.history"),
    ("Failed records of the last run", "Quarantined records with their errors", "app.last_failures"),
    ("Benchmark", "Compare restore strategies on a backup", "app.benchmark"),
    ("Back up the target", "Write the target's tables into the backup root (Node layout)",
     "app.backup_target"),
    ("Toggle dark / light theme", "Switch between textual-dark and textual-light", "app.toggle_theme"),
    ("Errors", "Every error shown in this session, after its toast has gone", "app.errors"),
    ("Help", "Keys of every screen", "app.help"),
    ("Quit", "Stop any running restore (resumable) and leave", "app.quit"),
)


class KatarestoreCommands(Provider):
    async def discover(self) -> Hits:
        for name, help_text, action in COMMANDS:
            yield DiscoveryHit(name, partial(self.app.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, action in COMMANDS:
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(self.app.run_action, action),
                          help=help_text)
