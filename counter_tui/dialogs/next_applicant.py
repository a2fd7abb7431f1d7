"""F2 "next applicant": ends the current service and starts a new one, optionally with the
queue ticket number the applicant holds."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Label, Static

from counter_tui.dialogs.base import Dialog, DialogBody
from counter_tui.domain.queries import TICKET_MAX, clean_ticket
from counter_tui.i18n import _


class NextApplicantDialog(Dialog[str | None]):
    """Asks for the queue ticket (optional). Returns the ticket ("" for none) or None on Esc."""

    BINDINGS = [Binding("escape", "cancel", _("Cancel"), id="next.cancel")]

    def compose(self) -> ComposeResult:
        with DialogBody(id="dialog"):
            yield Label(_("Next applicant"), id="dialog-title")
            yield Input(id="ticket", placeholder=_("Queue ticket number (optional), then Enter"))
            yield Static("", id="error")

    def on_mount(self) -> None:
        self.query_one("#ticket", Input).focus()

    @on(Input.Submitted, "#ticket")
    def submitted(self, event: Input.Submitted) -> None:
        try:
            self.close(clean_ticket(event.value))
        except ValueError:
            self.query_one("#error", Static).update(
                _("A ticket number has at most {n} letters, digits and hyphens.").format(
                    n=TICKET_MAX
                )
            )

    def action_cancel(self) -> None:
        """Esc: keep serving the current applicant."""
        self.close(None)
