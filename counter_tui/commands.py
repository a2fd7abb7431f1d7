"""Command palette providers for rare actions (kept out of the key map)."""

from __future__ import annotations

from textual.command import Hit, Hits, Provider

from counter_tui.i18n import _


class DossierCommands(Provider):
    """Rare actions on the open dossier: reveal the full resident ID (logged)."""

    async def search(self, query: str) -> Hits:
        from counter_tui.screens.dossier import DossierScreen

        screen = self.screen
        if not isinstance(screen, DossierScreen):
            return
        matcher = self.matcher(query)
        commands = [
            (
                _("Reveal full resident ID (logged)"),
                screen.reveal_id,
                _("Shows the whole ID number; an access event records who revealed it."),
            ),
        ]
        for name, callback, help_text in commands:
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
