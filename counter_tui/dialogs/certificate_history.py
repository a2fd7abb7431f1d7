"""The certificate history of a dossier: every certificate issued from it, its status, and
print (p), reprint 补打 (b) and void 作废 (v, with a reason).

The dialog is handed :class:`CertificateActions` (callables the dossier screen builds on the
services; they run in a worker thread and raise CounterError with a message for the clerk).
A scanner burst never reaches it (the app's scan gate keeps scans aside), so a key here is
always the clerk's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from counter_tui.dialogs.base import Dialog, DialogBody, DialogInput
from counter_tui.domain.clock import local_time
from counter_tui.i18n import _
from counter_tui.messages import failure_message
from counter_tui.read_models import CertificateRecord, PrintOutcome


@dataclass(frozen=True)
class CertificateActions:
    """What the history dialog may do, each run in a worker thread: ``load()`` the dossier's
    certificates (newest first); ``print(serial)``, ``reprint(serial)`` → PrintOutcome;
    ``void(serial, reason)`` → the updated record."""

    load: Callable[[], list[CertificateRecord]]
    print: Callable[[str], PrintOutcome]
    reprint: Callable[[str], PrintOutcome]
    void: Callable[[str, str], CertificateRecord]


def status_label(record: CertificateRecord) -> str:
    """``valid`` / ``voided`` in the UI language."""
    return _("voided") if record.status == "voided" else _("valid")


def print_message(outcome: PrintOutcome) -> str:
    """What the clerk is told after a print: sent to the printer, or opened in the viewer
    and why."""
    if outcome.destination == "printed":
        return _("Sent to the printer: {path}").format(path=outcome.path)
    return _("Not printed ({why}); the PDF is open in the viewer: print it from there.").format(
        why=outcome.detail
    )


class CertificateHistoryDialog(Dialog[None]):
    """The dossier's certificates: ↑/↓ choose; p print, b reprint (补打), v void (作废: type
    the reason, Enter); Esc closes (or leaves the reason field)."""

    BINDINGS = [
        Binding("escape", "back", _("Close"), id="history.close"),
        Binding("p", "print", _("Print"), id="history.print"),
        Binding("b", "reprint", _("Reprint"), id="history.reprint"),
        Binding("v", "void", _("Void"), id="history.void"),
    ]

    class Done(Message):
        """A worker finished: ``message`` for the clerk, ``records`` reloaded (None: keep)."""

        def __init__(
            self, message: str, records: list[CertificateRecord] | None, error: bool
        ) -> None:
            super().__init__()
            self.message = message
            self.records = records
            self.error = error

    def __init__(self, title: str, actions: CertificateActions) -> None:
        super().__init__()
        self.title_text = title
        self.actions = actions
        self.records: list[CertificateRecord] = []
        self.busy = False

    def compose(self) -> ComposeResult:
        with DialogBody(id="dialog"):
            yield Label(self.title_text, id="dialog-title")
            yield OptionList(id="history")
            yield Static("", id="detail")
            with Horizontal(id="void-fields"):
                yield DialogInput(id="void_reason", placeholder=_("Reason for voiding, then Enter"))
            yield Static(_("p: print · b: reprint (补打) · v: void (作废) · Esc: close"), id="hint")
            yield Static("", id="error")
            with Horizontal(id="buttons"):
                yield Button(_("Close (Esc)"), id="cancel")

    def on_mount(self) -> None:
        self.query_one("#void-fields").display = False
        self.query_one("#error", Static).update(_("Loading…"))
        self._run(lambda: ("", self.actions.load()))

    # -- list ----------------------------------------------------------------------------

    def _show(self, records: list[CertificateRecord]) -> None:
        keep = self.selected()
        self.records = records
        options = self.query_one("#history", OptionList)
        options.clear_options()
        for r in records:
            when = local_time(r.issued_at, "%Y-%m-%d")
            extra = []
            if r.prints:
                extra.append(_("printed {n}×").format(n=r.prints))
            if r.reprints:
                extra.append(_("reprinted {n}×").format(n=r.reprints))
            line = f"{r.serial}  {r.title}  {when}  {r.clerk_name}  {status_label(r)}"
            if extra:
                line += " " + " ".join(extra)
            options.add_option(Option(line, id=r.serial))
        if not records:
            self.query_one("#detail", Static).update(
                _("No certificate has been issued from this dossier.")
            )
            return
        index = next((i for i, r in enumerate(records) if keep and r.serial == keep.serial), 0)
        options.highlighted = index
        options.focus()
        self._detail()

    def selected(self) -> CertificateRecord | None:
        """The record under the cursor (None when the list is empty)."""
        if not self.records:
            return None
        index = self.query_one("#history", OptionList).highlighted
        return self.records[index] if index is not None and index < len(self.records) else None

    @on(OptionList.OptionHighlighted)
    def _detail(self) -> None:
        r = self.selected()
        if r is None:
            return
        lines = [
            _("Issued {when} · purpose: {purpose} · 查验码 {code}").format(
                when=local_time(r.issued_at, "%Y-%m-%d %H:%M"),
                purpose=r.purpose,
                code=r.verification_code or "—",
            ),
            _("File: {path}").format(path=r.path or "—"),
        ]
        if r.status == "voided":
            lines.append(
                _("Voided {when} by {who}: {reason}").format(
                    when=local_time(r.voided_at, "%Y-%m-%d %H:%M"),
                    who=r.voided_by or "—",
                    reason=r.void_reason,
                )
            )
        self.query_one("#detail", Static).update("\n".join(lines))

    # -- actions -------------------------------------------------------------------------

    def _target(self) -> CertificateRecord | None:
        if self.busy or self.query_one("#void_reason", Input).has_focus:
            return None
        record = self.selected()
        if record is None:
            self.query_one("#error", Static).update(_("There is no certificate to act on."))
        return record

    def action_print(self) -> None:
        """p: print the chosen certificate."""
        r = self._target()
        if r is not None:
            self.query_one("#error", Static).update(_("Printing…"))
            self._run(lambda: (print_message(self.actions.print(r.serial)), self.actions.load()))

    def action_reprint(self) -> None:
        """b: a 补打 copy of the chosen certificate, printed."""
        r = self._target()
        if r is not None:
            self.query_one("#error", Static).update(_("Reprinting…"))
            self._run(
                lambda: (
                    _("Reprint of {serial}: {message}").format(
                        serial=r.serial, message=print_message(self.actions.reprint(r.serial))
                    ),
                    self.actions.load(),
                )
            )

    def action_void(self) -> None:
        """v: ask the reason for voiding the chosen certificate."""
        r = self._target()
        if r is None:
            return
        if r.status == "voided":
            self.query_one("#error", Static).update(
                _("Certificate {serial} is already voided.").format(serial=r.serial)
            )
            return
        self.query_one("#void-fields").display = True
        reason = self.query_one("#void_reason", Input)
        reason.value = ""
        reason.focus()
        self.query_one("#error", Static).update(
            _("Void {serial}: type the reason, Enter voids it; Esc: do not void.").format(
                serial=r.serial
            )
        )

    @on(Input.Submitted, "#void_reason")
    def _void_reason(self, event: Input.Submitted) -> None:
        r = self.selected()
        if r is None or self.busy:
            return
        reason = event.value
        self.query_one("#error", Static).update(_("Voiding…"))
        self._run(
            lambda: (
                _("Certificate {serial} voided.").format(
                    serial=self.actions.void(r.serial, reason).serial
                ),
                self.actions.load(),
            ),
            after_void=True,
        )

    def _run(
        self, job: Callable[[], tuple[str, list[CertificateRecord]]], *, after_void: bool = False
    ) -> None:
        self.busy = True
        self._worker(job, after_void)

    @work(thread=True, group="history", exit_on_error=False)
    def _worker(
        self, job: Callable[[], tuple[str, list[CertificateRecord]]], after_void: bool
    ) -> None:
        try:
            message, records = job()
        except Exception as exc:  # noqa: BLE001 - told to the clerk, the dialog stays
            self.post_message(self.Done(failure_message(self, exc), None, True))
            return
        self.post_message(self.Done(message, records, False))
        if after_void:
            self.app.call_from_thread(self._hide_reason)

    def _hide_reason(self) -> None:
        self.query_one("#void-fields").display = False
        self.query_one("#history", OptionList).focus()

    @on(Done)
    def _done(self, event: Done) -> None:
        event.stop()
        self.busy = False
        if event.records is not None:
            self._show(event.records)
        self.query_one("#error", Static).update(event.message)

    def action_back(self) -> None:
        """Esc: leave the reason field, or close."""
        reason = self.query_one("#void_reason", Input)
        if reason.has_focus:
            self._hide_reason()
            self.query_one("#error", Static).update("")
            return
        self.close(None)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.close(None)
