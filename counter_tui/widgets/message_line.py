"""The one-line message area under a screen's main widget."""

from __future__ import annotations

from textual.widgets import Static

LEVELS = ("info", "warning", "error")


class MessageLine(Static):
    """Shows a message for the clerk with a state class ``-info``, ``-warning`` or ``-error``
    (styled in styles/app.tcss)."""

    def show(self, text: str, *, level: str = "info") -> None:
        """Replace the message; ``level`` is one of :data:`LEVELS`."""
        self.update(text)
        for name in LEVELS:
            self.set_class(name == level, f"-{name}")


class ShowsMessages:
    """For a screen with a :class:`MessageLine` of id ``message``: :meth:`show_message`."""

    def show_message(self, text: str, *, level: str = "info") -> None:
        """Show ``text`` in the screen's message line (``level``: one of :data:`LEVELS`)."""
        self.query_one("#message", MessageLine).show(text, level=level)  # type: ignore[attr-defined]
