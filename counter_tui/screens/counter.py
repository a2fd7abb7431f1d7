"""The counter screen: one input, always focused, for scans, IDs, dossier numbers and /names.

One scan is one worker (services.lookup.scan: one read and one write transaction) that looks
the text up and, for a single match held here, opens the dossier. The current visit
(read_models.Visit) is created and replaced on the UI thread only; workers receive it.
"""

from __future__ import annotations

import uuid

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from counter_tui.context import AppContext
from counter_tui.dialogs.next_applicant import NextApplicantDialog
from counter_tui.errors import user_message
from counter_tui.i18n import _
from counter_tui.messages import DossierOpened, LookupFinished, ServiceFailed
from counter_tui.read_models import DossierView, Visit
from counter_tui.screens.dossier import DossierOutcome, DossierScreen
from counter_tui.services import lookup, viewing, visits
from counter_tui.widgets.message_line import MessageLine
from counter_tui.widgets.scan_input import ScanInput
from counter_tui.widgets.service_timer import ServiceTimer


class CounterScreen(Screen):
    """Scan or type; one match opens the dossier, several give a pick list."""

    CSS_PATH = "../styles/counter.tcss"
    BINDINGS = [
        Binding("f2", "next_applicant", _("Next applicant"), id="counter.next_applicant"),
        Binding("escape", "clear", _("Clear"), id="counter.clear"),
    ]

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.busy: str | None = None  # the text being looked up or opened
        self.pending: list[str] = []  # scans that arrived meanwhile

    def compose(self) -> ComposeResult:
        place = self.ctx.workplace
        with Horizontal(id="topbar"):
            yield Static(
                _("{institution} · counter {counter} · {clerk}").format(
                    institution=place.institution.name,
                    counter=place.counter,
                    clerk=place.clerk.name if place.clerk else _("(no clerk)"),
                ),
                id="where",
            )
            yield ServiceTimer(id="timer")
        with Vertical(id="body"):
            yield Static(
                _(
                    "Scan the dossier barcode or the ID card, or type a resident ID, a "
                    "dossier number, or /name — then Enter."
                ),
                id="hint",
            )
            yield ScanInput(id="scan", placeholder=_("ID number / dossier number / /name"))
            yield MessageLine("", id="message")
            yield OptionList(id="choices")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#choices", OptionList).display = False
        self.query_one(ScanInput).focus()
        self._sync_timer()

    def on_screen_resume(self) -> None:
        self._offer_pending()
        self.query_one(ScanInput).focus()
        self._sync_timer()

    def _offer_pending(self) -> None:
        """Put a scan that arrived while the previous dossier was opening into the input."""
        scan = self.query_one(ScanInput)
        if self.pending and not scan.value:
            scan.value = self.pending.pop(0)
            scan.select_all()
            self.show_message(
                _(
                    "A scan arrived while the last dossier was opening: {text} — Enter looks it up."
                ).format(text=scan.value),
                level="warning",
            )

    def _sync_timer(self) -> None:
        self.query_one(ServiceTimer).started = self.ctx.visit.started if self.ctx.visit else None

    def show_message(self, text: str, *, level: str = "info") -> None:
        """Show ``text`` under the input (level: info, warning, error)."""
        self.query_one("#message", MessageLine).show(text, level=level)

    @on(Input.Submitted, "#scan")
    def submitted(self, event: Input.Submitted) -> None:
        text = event.value
        if self.busy is not None:
            # Another scan arriving while this one is looked up waits its turn instead of
            # being lost or mixed into it (a double Enter submits nothing: the field was
            # emptied by the first).
            if text.strip():
                self.pending.append(text)
            return
        if not text.strip():
            self.query_one(ScanInput).value = text  # blanks typed stay where they were
            self.show_message(
                _("Scan a barcode or type a resident ID, a dossier number or /name."),
                level="warning",
            )
            return
        if self.ctx.visit is None:
            # The service (and its timer) starts now; the worker stores it with this id.
            self.ctx.visit = Visit()
            self._sync_timer()
        self.busy = text
        # ScanInput emptied itself on Enter; the text comes back (selected) if the lookup
        # does not open a dossier.
        self.show_message(_("Looking up…"))
        self.lookup(text, self.ctx.visit)

    def _done(self, *, restore: bool) -> None:
        """The lookup or opening finished: put the text back if it did not open a dossier."""
        text, self.busy = self.busy, None
        scan = self.query_one(ScanInput)
        if restore and text and not scan.value:
            scan.value = text
            scan.select_all()
        scan.focus()

    @work(thread=True, group="lookup")
    def lookup(self, text: str, visit: Visit) -> None:
        """Look ``text`` up and open a single match, storing the visit (worker thread)."""
        try:
            outcome = lookup.scan(self.ctx.db, text, self.ctx.workplace, visit)
        except Exception as exc:  # noqa: BLE001 - any failure becomes a message
            self.post_message(ServiceFailed(user_message(exc)))
            return
        self.post_message(LookupFinished(text, outcome))

    @on(LookupFinished)
    def lookup_finished(self, event: LookupFinished) -> None:
        outcome = event.outcome
        choices = self.query_one("#choices", OptionList)
        choices.display = False
        if outcome.view is not None:
            self.show_dossier(outcome.view)
        elif outcome.status == "choices":
            self.show_message(
                outcome.message + " " + _("↑/↓ then Enter; Esc returns to the input.")
            )
            choices.clear_options()
            choices.add_options(
                [
                    Option(
                        f"{m.dossier_no}  {m.person_name}  {m.id_masked}  {m.birth_date_recorded}",
                        id=str(m.id),
                    )
                    for m in outcome.matches
                ]
            )
            choices.display = True
            choices.highlighted = 0
            self._done(restore=True)
            choices.focus()
        else:
            level = "error" if outcome.status in ("invalid", "refused") else "warning"
            self.show_message(outcome.message, level=level)
            self._done(restore=True)

    @on(OptionList.OptionSelected, "#choices")
    def choice_made(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.query_one("#choices", OptionList).display = False
        self.busy = self.busy or ""
        self.open_dossier(uuid.UUID(event.option.id), self.ctx.visit)

    @work(thread=True, group="open")
    def open_dossier(self, dossier_id: uuid.UUID, visit: Visit | None) -> None:
        """Log the view and load the dossier chosen from the pick list (worker thread)."""
        try:
            view = viewing.open_dossier(self.ctx.db, dossier_id, self.ctx.workplace, visit)
        except Exception as exc:  # noqa: BLE001
            self.post_message(ServiceFailed(user_message(exc)))
            return
        self.post_message(DossierOpened(view))

    @on(DossierOpened)
    def dossier_opened(self, event: DossierOpened) -> None:
        self.show_dossier(event.view)

    def show_dossier(self, view: DossierView) -> None:
        """Push the dossier screen; its outcome comes back to :meth:`dossier_closed`."""
        self._done(restore=False)
        self.show_message("")
        self.app.push_screen(DossierScreen(self.ctx, view, self.ctx.visit), self.dossier_closed)

    def dossier_closed(self, outcome: DossierOutcome | None) -> None:
        """The dossier screen closed: keep the scans that arrived meanwhile, and start afresh
        when the service ended there."""
        if outcome is None:
            return
        self.pending.extend(outcome.scans)
        if outcome.service_closed:
            self.ctx.visit = None
            self.reset(outcome.message)
        else:
            self._offer_pending()
            self._sync_timer()

    @on(ServiceFailed)
    def service_failed(self, event: ServiceFailed) -> None:
        self.show_message(event.message, level="error")
        self._done(restore=True)

    def reset(self, message: str = "") -> None:
        """Back to an empty counter for the next applicant."""
        self.query_one(ScanInput).clear()
        self.query_one("#choices", OptionList).display = False
        self.show_message(message, level="info")
        self._offer_pending()
        self._sync_timer()
        self.query_one(ScanInput).focus()

    def action_clear(self) -> None:
        """Esc: leave the pick list, or clear the input."""
        choices = self.query_one("#choices", OptionList)
        if choices.display:
            choices.display = False
        else:
            self.query_one(ScanInput).clear()
            self.show_message("")
        self.query_one(ScanInput).focus()

    def action_next_applicant(self) -> None:
        """F2: ask for the queue ticket, end the current service (abandoned if nothing was
        issued) and start the next one at once."""
        self.app.push_screen(NextApplicantDialog(), self._next_applicant)

    def _next_applicant(self, ticket: str | None) -> None:
        if ticket is None:
            self.query_one(ScanInput).focus()
            return
        previous = self.ctx.visit
        self.ctx.visit = Visit(ticket=ticket or None)
        self.reset(
            _("Serving ticket {ticket}.").format(ticket=ticket)
            if ticket
            else _("Ready for the next applicant.")
        )
        self.start_next(previous, self.ctx.visit)

    @work(thread=True, group="write")
    def start_next(self, previous: Visit | None, visit: Visit) -> None:
        """End the previous visit and store the new one (worker thread)."""
        try:
            visits.next_applicant(self.ctx.db, self.ctx.workplace, previous, visit)
        except Exception as exc:  # noqa: BLE001
            self.post_message(ServiceFailed(user_message(exc)))
