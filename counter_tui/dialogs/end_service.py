"""F4 "end service": the clerk ends the current applicant's visit and says how it ended."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Label, Static

from counter_tui.dialogs.base import Dialog, DialogBody
from counter_tui.i18n import _

CHOICES = ("served", "abandoned")
"""Number key 1 and 2 (services.visits.close: "served" takes the outcome from what was
recorded — certificate, consultation — or "answered" when nothing was)."""


class EndServiceDialog(Dialog[str | None]):
    """Returns ``"served"`` (1) or ``"abandoned"`` (2), or None on Esc. Only a number key
    pressed by the clerk chooses (a scanner burst never reaches a dialog as keys)."""

    BINDINGS = [Binding("escape", "cancel", _("Cancel"), id="end_service.cancel")]

    def __init__(self, done: str = "") -> None:
        """``done``: what was recorded in this visit, for the clerk (may be empty)."""
        super().__init__()
        self.done = done

    def compose(self) -> ComposeResult:
        with DialogBody(id="dialog"):
            yield Label(_("End the current service"), id="dialog-title")
            if self.done:
                yield Static(self.done, id="done")
            yield Static(
                "\n".join(
                    [
                        _("Press a number:"),
                        "  1  " + _("Served (certificate, consultation or question answered)"),
                        "  2  " + _("Abandoned (the applicant left without being served)"),
                        "  Esc  " + _("Keep serving"),
                    ]
                ),
                id="choices",
            )
            yield Static("", id="error")

    def on_mount(self) -> None:
        self.set_focus(None)  # the number keys choose

    def on_key(self, event: events.Key) -> None:
        if event.character in ("1", "2"):
            event.stop()
            self.close(CHOICES[int(event.character) - 1])

    def action_cancel(self) -> None:
        """Esc: the service goes on."""
        self.close(None)
