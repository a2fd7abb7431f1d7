"""F2 "next applicant": ends the current service and starts a new one, optionally with the
queue ticket number the applicant holds. A dossier number, resident ID or name typed here
instead of a ticket is the next applicant's lookup, not a ticket."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Label, Static

from counter_tui.dialogs.base import Dialog, DialogBody, DialogInput
from counter_tui.domain.queries import classify, clean_ticket
from counter_tui.i18n import _


@dataclass(frozen=True)
class NextApplicant:
    """What F2 gives the counter: the queue ticket ("" for none) and, when a lookup was typed
    in the ticket box, that text (to be looked up for the new applicant)."""

    ticket: str = ""
    lookup: str = ""


LOOKUP_KINDS = frozenset({"resident_id", "dossier_no", "name"})


class NextApplicantDialog(Dialog[NextApplicant | None]):
    """Asks for the queue ticket (optional). Returns a :class:`NextApplicant`, or None on
    Esc."""

    BINDINGS = [Binding("escape", "cancel", _("Cancel"), id="next.cancel")]

    def compose(self) -> ComposeResult:
        with DialogBody(id="dialog"):
            yield Label(_("Next applicant"), id="dialog-title")
            yield DialogInput(
                id="ticket", placeholder=_("Queue ticket number (optional), then Enter")
            )
            yield Static("", id="error")

    def on_mount(self) -> None:
        self.query_one("#ticket", Input).focus()

    @on(Input.Submitted, "#ticket")
    def submitted(self, event: Input.Submitted) -> None:
        try:
            self.close(NextApplicant(ticket=clean_ticket(event.value)))
        except ValueError:
            if classify(event.value).kind in LOOKUP_KINDS:
                self.close(NextApplicant(lookup=event.value.strip()))
                return
            self.query_one("#error", Static).update(
                _(
                    "A queue ticket is up to two letters and 1–4 digits, e.g. A023; a dossier "
                    "number or resident ID typed here is looked up."
                )
            )

    def action_cancel(self) -> None:
        """Esc: keep serving the current applicant."""
        self.close(None)
