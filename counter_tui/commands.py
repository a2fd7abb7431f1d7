"""Command palette provider for rare actions (kept out of the key map).

A screen offers its rare actions by defining ``palette_commands()`` returning
``(name, callback, help)`` tuples; this provider never imports a screen.
"""

from __future__ import annotations

from textual.command import Hit, Hits, Provider


class ScreenCommands(Provider):
    """The current screen's rare actions (e.g. the dossier screen's "reveal full resident ID")."""

    async def search(self, query: str) -> Hits:
        commands = getattr(self.screen, "palette_commands", None)
        if commands is None:
            return
        matcher = self.matcher(query)
        for name, callback, help_text in commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
