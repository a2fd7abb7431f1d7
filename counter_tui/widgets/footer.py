"""The key bar at the bottom of every screen: Textual's Footer without its memory leak."""

from __future__ import annotations

from textual.widgets import Footer as TextualFooter


class Footer(TextualFooter):
    """Textual's Footer (the screen's keys), dropping what each rebuild leaves behind.

    The footer rebuilds its keys whenever the screen's bindings change (each time the screen
    comes back, a dialog closes …) and binds every new key's ``compact`` to its own; Textual
    8.2 forgets the removed keys' bindings only when ``compact`` changes, which it never
    does here. A footer that lives all day (the counter's, and the dossier screen the
    counter keeps) so kept every key it ever showed, with their render caches: 1–2 MB a
    certificate (issue 13). After each rebuild the watchers of keys no longer mounted are
    dropped. Relies on Textual keeping an object's watchers in its ``__watchers`` attribute
    (``textual.reactive._watch``); without it nothing is done.
    """

    async def recompose(self) -> None:
        await super().recompose()
        watchers: dict[str, list] = getattr(self, "__watchers", None) or {}
        for entries in watchers.values():
            entries[:] = [
                (node, callback)
                for node, callback in entries
                if node is self or (node.is_attached and not node._closing)
            ]
