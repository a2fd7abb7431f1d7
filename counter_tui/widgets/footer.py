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
    dropped, and a rebuild that would show the same keys is skipped. Relies on Textual
    keeping an object's watchers in its ``__watchers`` attribute (``textual.reactive._watch``);
    without it nothing is done.
    """

    _composed_for: tuple | None = None

    def _showing(self) -> tuple:
        """What :meth:`compose` would show now: each shown binding's key, label, action,
        state and group, and the command palette's key."""
        active = self.screen.active_bindings
        keys = tuple(
            (
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                enabled,
                tooltip,
                binding.group,
            )
            for _node, binding, enabled, tooltip in active.values()
            if binding.show
        )
        palette = active.get(self.app.COMMAND_PALETTE_BINDING)
        return keys, self.show_command_palette, palette[2] if palette else None

    async def recompose(self) -> None:
        # The bindings are announced as changed each time the screen comes back or a dialog
        # closes, mostly unchanged: rebuilding the keys then cost a second full frame right
        # after the first (the dossier screen's: its catalogue reached the terminal only
        # after it; issue 13). The keys are rebuilt only when what they show changed.
        showing = self._showing() if self._bindings_ready and self.is_attached else None
        if showing is not None and showing == self._composed_for:
            return
        await super().recompose()
        self._composed_for = showing
        watchers: dict[str, list] = getattr(self, "__watchers", None) or {}
        for entries in watchers.values():
            entries[:] = [
                (node, callback)
                for node, callback in entries
                if node is self or (node.is_attached and not node._closing)
            ]
