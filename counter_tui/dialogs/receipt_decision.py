"""Accept (接收) or refuse (退回) a transferred dossier on its comparison report.

The archivist reads the result, types the reason (needed to refuse, and to accept a dossier the
comparison found inconsistent) and confirms with ctrl+s — a key no barcode scanner or ID-card
reader sends, so a burst (digits, letters, Enter) can neither confirm nor cancel: Enter in the
reason field does nothing. The decision is written by the ``decide`` callable the screen gives
(services.receipt.decide) in a worker; a refusal keeps the dialog open with the reason as typed.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Label, Static

from counter_tui.dialogs.base import DialogBody, DialogInput, WriteDialog
from counter_tui.i18n import _
from counter_tui.services.receipt import MAX_REASON_CHARS, Decision


class ReceiptDecisionDialog(WriteDialog[Decision | None]):
    """Returns the recorded :class:`~counter_tui.services.receipt.Decision`, or None on Esc."""

    BINDINGS = [
        Binding("escape", "cancel", _("Cancel"), id="receipt_decision.cancel"),
        Binding("ctrl+s", "confirm", _("Confirm"), id="receipt_decision.confirm"),
    ]

    def __init__(
        self,
        *,
        accept: bool,
        dossier: str,
        result: str,
        decide: Callable[[str], Decision],
    ) -> None:
        """``accept``: accept (True) or refuse; ``dossier``: "档号 name" as shown; ``result``:
        the report's overall result (一致/不一致) as shown; ``decide(reason)`` records it (worker
        thread) and returns the Decision or raises a CounterError."""
        super().__init__(decide, busy_text=_("Recording…"))
        self.accept = accept
        self.dossier = dossier
        self.result = result

    def compose(self) -> ComposeResult:
        with DialogBody(id="dialog"):
            title = _("Accept dossier {dossier}") if self.accept else _("Refuse dossier {dossier}")
            yield Label(title.format(dossier=self.dossier), id="dialog-title")
            yield Static(_("Comparison result: {result}").format(result=self.result), id="result")
            yield DialogInput(
                id="reason",
                placeholder=_("Reason (needed to refuse, or to accept despite findings)"),
                max_length=MAX_REASON_CHARS,
            )
            yield Static("", id="error")
            yield Static(_("ctrl+s: confirm · Esc: cancel (Enter does not confirm)"))

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    def action_confirm(self) -> None:
        """ctrl+s: record the decision with the reason typed."""
        self.submit(self.query_one("#reason", Input).value)

    def action_cancel(self) -> None:
        """Esc: nothing is recorded."""
        self.close(None)
