"""The counter screen: one input, always focused, for scans, IDs, dossier numbers and /names.

One scan is one worker (services.lookup.scan: one read and one write transaction) that looks
the text up and, for a single match held here, opens the dossier. The current visit
(read_models.Visit) is created and replaced on the UI thread only; workers receive it.
"""

from __future__ import annotations

import uuid

from textual import on, work
from textual.app import ComposeResult, ScreenStackError
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from counter_tui.context import AppContext
from counter_tui.dialogs.end_service import EndServiceDialog
from counter_tui.dialogs.next_applicant import NextApplicant, NextApplicantDialog
from counter_tui.domain import service_time
from counter_tui.i18n import _
from counter_tui.messages import (
    DossierOpened,
    LookupFinished,
    ServiceEnded,
    ServiceFailed,
    failure_message,
)
from counter_tui.read_models import DossierView, Visit
from counter_tui.screens.dossier import DossierOutcome, DossierScreen
from counter_tui.screens.nearby import NearbyOpened, NearbyScreen
from counter_tui.screens.verify import VerifyScreen, is_certificate_text
from counter_tui.services import lookup, nearby, viewing, visits
from counter_tui.widgets.footer import Footer
from counter_tui.widgets.message_line import MessageLine, ShowsMessages
from counter_tui.widgets.pick_list import choice_lines
from counter_tui.widgets.scan_input import ScanInput
from counter_tui.widgets.service_timer import ServiceTimer


def outcome_label(outcome: str) -> str:
    """A visit outcome (services.visits.OUTCOMES) in the UI language."""
    return {
        "certificate": _("certificate issued"),
        "consultation": _("consultation registered"),
        "answered": _("question answered"),
        "abandoned": _("abandoned"),
    }.get(outcome, outcome)


SLOW_LOOKUP_S = 0.3
"""A lookup still running after this many seconds says so ("Looking up…")."""


class CounterScreen(ShowsMessages, Screen):
    """Scan or type; one match opens the dossier, several give a pick list."""

    CSS_PATH = "../styles/counter.tcss"
    BINDINGS = [
        Binding("f2", "next_applicant", _("Next applicant"), id="counter.next_applicant"),
        Binding("f4", "end_service", _("End service"), id="counter.end_service"),
        Binding(
            "f6", "verify_certificate", _("Verify certificate"), id="counter.verify_certificate"
        ),
        Binding("f7", "serve_nearby", _("Serve here"), id="counter.serve_nearby", show=False),
        Binding("escape", "clear", _("Clear"), id="counter.clear"),
    ]

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.busy: str | None = None  # the text being looked up or opened
        self.offered: str | None = None  # a kept scan put into the input, not yet looked up
        self.nearby_id: str | None = None  # a resident ID held elsewhere: F7 serves it here
        # The dossier screen, kept (installed) after its first use and shown again with the
        # next dossier: building it anew was a third of a scan's wait (issue 13).
        self.dossier_screen: DossierScreen | None = None

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
        yield Static("", id="sync")
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
        if hasattr(self.app, "sync_line"):
            self.watch(self.app, "sync_line", self._show_sync, init=True)
        self.query_one(ScanInput).focus()
        self._sync_timer()

    def _show_sync(self, line: str) -> None:
        """The central database's sync state under the top bar (hidden without a central)."""
        bar = self.query_one("#sync", Static)
        bar.update(line)
        bar.display = bool(line)

    def on_screen_resume(self) -> None:
        self._offer_pending()
        self.query_one(ScanInput).focus()
        self._sync_timer()

    def _offer_pending(self, lead: str = "") -> None:
        """Offer the scan kept meanwhile (AppContext.scans: it arrived while a dossier, a
        dialog or the lock was open, or while the last lookup ran) in the input, selected:
        Enter looks it up, typing replaces it. If the clerk's own text is in the input, it
        stays, and the message says how to get the scan (Esc clears the input)."""
        scan = self.query_one(ScanInput)
        if not self.ctx.scans or self.busy is not None:
            if lead:
                self.show_message(lead)
            return
        waiting = self.ctx.scans[-1]
        if scan.value and scan.value != waiting:
            text = _(
                "A scan arrived meanwhile: {text} — Esc clears the input, then Enter looks it up."
            )
        else:
            self.ctx.scans.clear()
            scan.value = self.offered = waiting
            scan.select_all()
            text = _("A scan arrived meanwhile: {text} — Enter looks it up.")
        self.show_message(
            " ".join(part for part in (lead, text.format(text=waiting)) if part),
            level="warning",
        )

    def take_scan(self, text: str) -> bool:
        """A scan recognised by the app's gate while this screen is on top: look it up now
        (what the clerk had typed in the input stays there). False (the app keeps it for
        later and says so) while a lookup runs or the clerk is choosing from the pick list."""
        if self.busy is not None or self.query_one("#choices", OptionList).display:
            return False
        self.query_one(ScanInput).focus()
        self.look_up(text)
        return True

    def _sync_timer(self) -> None:
        self.query_one(ServiceTimer).started = self.ctx.visit.started if self.ctx.visit else None

    @on(Input.Submitted, "#scan")
    def submitted(self, event: Input.Submitted) -> None:
        self.look_up(event.value)

    def look_up(self, text: str) -> None:
        """Look ``text`` up in a worker (a new service starts if none is open)."""
        self.offered = None
        self.nearby_id = None
        if self.busy is not None:
            # Another scan arriving while this one is looked up waits its turn instead of
            # being lost or mixed into it (a double Enter submits nothing: the field was
            # emptied by the first).
            if text.strip():
                self.app.keep_scan(text)  # type: ignore[attr-defined]
            return
        if not text.strip():
            self.query_one(ScanInput).value = text  # blanks typed stay where they were
            self.show_message(
                _("Scan a barcode or type a resident ID, a dossier number or /name."),
                level="warning",
            )
            return
        if is_certificate_text(text):
            # A certificate's QR code, not a dossier: verify it (no service starts).
            self.show_message("")
            self.app.push_screen(VerifyScreen(self.ctx, text))
            return
        successor = None
        if self.ctx.visit is None:
            # The service (and its timer) starts now; the worker stores it with this id.
            self.ctx.visit = Visit()
            self._sync_timer()
        else:
            # Should this lookup open another person's dossier, that person is a new
            # applicant whose service starts now (services.viewing.record_opening).
            successor = Visit()
        self.busy = text
        # ScanInput emptied itself on Enter; the text comes back (selected) if the lookup
        # does not open a dossier. "Looking up…" only if it takes a while: drawing it at
        # once made the lookup's thread wait for the interpreter (issue 13).
        self.set_timer(
            SLOW_LOOKUP_S, lambda: self.busy == text and self.show_message(_("Looking up…"))
        )
        self.lookup(text, self.ctx.visit, successor)

    def _done(self, *, restore: bool) -> None:
        """The lookup or opening finished: put the text back if it did not open a dossier."""
        text, self.busy = self.busy, None
        scan = self.query_one(ScanInput)
        if restore and text and not scan.value:
            scan.value = text
            scan.select_all()
        scan.focus()

    @work(thread=True, group="lookup")
    def lookup(self, text: str, visit: Visit, successor: Visit | None) -> None:
        """Look ``text`` up and open a single match, storing the visit (worker thread)."""
        try:
            outcome = lookup.scan(self.ctx.db, text, self.ctx.workplace, visit, successor)
        except Exception as exc:  # noqa: BLE001 - any failure becomes a message
            self.post_message(ServiceFailed(failure_message(self, exc)))
            return
        self.post_message(LookupFinished(text, outcome))

    @on(LookupFinished)
    def lookup_finished(self, event: LookupFinished) -> None:
        outcome = event.outcome
        self._follow_visit(outcome.visit)
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
                    Option(line, id=str(m.id))
                    for m, line in zip(outcome.matches, choice_lines(outcome.matches), strict=True)
                ]
            )
            choices.display = True
            choices.highlighted = 0
            self._done(restore=True)
            choices.focus()
        else:
            level = "error" if outcome.status in ("invalid", "refused") else "warning"
            message = outcome.message
            if (
                outcome.status == "held_elsewhere"
                and outcome.query_kind == "resident_id"
                and outcome.reason != "in_transit"
            ):
                self.nearby_id = event.query
                message += " " + _(
                    "With the applicant here: F7 serves it at this counter (就近办理, online)."
                )
            self.show_message(message, level=level)
            self._done(restore=True)

    def _follow_visit(self, visit: Visit | None) -> None:
        """The worker recorded the lookup in ``visit``: when that is the successor (another
        person's dossier was opened), the previous applicant's service has ended."""
        if visit is not None and visit is not self.ctx.visit:
            self.ctx.visit = visit
            self._sync_timer()

    @on(OptionList.OptionSelected, "#choices")
    def choice_made(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.query_one("#choices", OptionList).display = False
        self.busy = self.busy or ""
        if self.ctx.visit is None:
            self.ctx.visit = Visit()
        self.open_dossier(uuid.UUID(event.option.id), self.ctx.visit, Visit())

    @work(thread=True, group="open")
    def open_dossier(self, dossier_id: uuid.UUID, visit: Visit | None, successor: Visit) -> None:
        """Log the view and load the dossier chosen from the pick list (worker thread)."""
        try:
            view, current = viewing.open_for_visit(
                self.ctx.db, dossier_id, self.ctx.workplace, visit, successor
            )
        except Exception as exc:  # noqa: BLE001
            self.post_message(ServiceFailed(failure_message(self, exc)))
            return
        self.post_message(DossierOpened(view, current))

    @on(DossierOpened)
    def dossier_opened(self, event: DossierOpened) -> None:
        self._follow_visit(event.visit)
        self.show_dossier(event.view)

    def show_dossier(self, view: DossierView) -> None:
        """Push the dossier screen showing ``view``; its outcome comes back to
        :meth:`dossier_closed`. The screen is kept between dossiers (DossierScreen.reuse)."""
        self._done(restore=False)
        self.show_message("")
        screen = self.dossier_screen
        if screen is None:
            screen = self.dossier_screen = DossierScreen(self.ctx, view, self.ctx.visit)
            self.app.install_screen(screen, name=f"dossier-{id(self)}")
        elif screen in self.app.screen_stack:  # shown already: a one-off screen
            screen = DossierScreen(self.ctx, view, self.ctx.visit)
        else:
            screen.reuse(view, self.ctx.visit)
        self.app.push_screen(screen, self.dossier_closed)

    def on_unmount(self) -> None:
        screen, self.dossier_screen = self.dossier_screen, None
        if screen is None:
            return
        try:
            self.app.uninstall_screen(screen)
        except ScreenStackError:
            return  # still stacked: the app is closing, the stack goes with it
        screen.remove()

    def dossier_closed(self, outcome: DossierOutcome | None) -> None:
        """The dossier screen closed: end the service or call the next applicant if the clerk
        asked for it there (F4, F2), and offer a scan that arrived meanwhile."""
        if outcome is None:
            return
        self._offer_pending()
        self._sync_timer()
        if outcome.end_service:
            self._end_service(outcome.end_service)
        elif outcome.next_applicant:
            self.action_next_applicant()

    @on(ServiceFailed)
    def service_failed(self, event: ServiceFailed) -> None:
        self.show_message(event.message, level="error")
        self._done(restore=True)

    def reset(self, message: str = "") -> None:
        """Back to an empty counter for the next applicant (a kept scan stays offered)."""
        self.nearby_id = None
        scan = self.query_one(ScanInput)
        if self.offered and scan.value == self.offered and not self.ctx.scans:
            self.ctx.scans.append(self.offered)  # still the next lookup
        self.offered = None
        scan.clear()
        self.query_one("#choices", OptionList).display = False
        self.show_message(message, level="info")
        self._offer_pending(lead=message)
        self._sync_timer()
        self.query_one(ScanInput).focus()

    def action_clear(self) -> None:
        """Esc: leave the pick list, or clear the input."""
        choices = self.query_one("#choices", OptionList)
        if choices.display:
            choices.display = False
            self._offer_pending()
        else:
            self.query_one(ScanInput).clear()
            self.offered = None
            self.show_message("")
            self._offer_pending()
        self.query_one(ScanInput).focus()

    def action_serve_nearby(self) -> None:
        """F7: serve here the applicant whose resident ID was just found held by another
        office (就近办理): read its catalogue from central in a worker, then show it."""
        if self.busy is not None:
            return
        if self.nearby_id is None:
            self.show_message(
                _(
                    "F7 serves an applicant whose dossier another office holds: look up their "
                    "resident ID first."
                ),
                level="warning",
            )
            return
        if self.ctx.visit is None:
            self.ctx.visit = Visit()
            self._sync_timer()
        self.busy = self.nearby_id
        self.show_message(_("Reading the catalogue from the city's central database…"))
        self.open_nearby(self.nearby_id, self.ctx.visit)

    @work(thread=True, group="open")
    def open_nearby(self, number: str, visit: Visit) -> None:
        """Read the dossier held elsewhere from central and record the view (worker thread)."""
        try:
            central = self.app.central_database()  # type: ignore[attr-defined]
            served = nearby.open_nearby(self.ctx.db, central, self.ctx.workplace, number, visit)
        except Exception as exc:  # noqa: BLE001 - any failure becomes a message
            self.post_message(ServiceFailed(failure_message(self, exc)))
            return
        self.post_message(NearbyOpened(served, central))

    @on(NearbyOpened)
    def nearby_opened(self, event: NearbyOpened) -> None:
        served = self.busy
        self.nearby_id = None
        self._done(restore=False)
        scan = self.query_one(ScanInput)
        if served and scan.value == served:
            # The applicant's full resident ID came back into the field when it was found
            # held elsewhere; served now, it leaves the counter's screen.
            scan.value = ""
        self.show_message("")
        self.app.push_screen(
            NearbyScreen(self.ctx, event.served, event.central, self.ctx.visit),
            self.dossier_closed,
        )

    def action_verify_certificate(self) -> None:
        """F6: the 查验 screen, to verify a certificate someone presents."""
        self.app.push_screen(VerifyScreen(self.ctx))

    def action_next_applicant(self) -> None:
        """F2: ask for the queue ticket, end the current service (with the outcome it earned:
        services.visits.close) and start the next one at once."""
        self.app.push_screen(NextApplicantDialog(), self._next_applicant)

    def _next_applicant(self, answer: NextApplicant | None) -> None:
        if answer is None:
            self.query_one(ScanInput).focus()
            return
        previous = self.ctx.visit
        ticket = answer.ticket
        # With a ticket the applicant was called: the service starts now. Without one it
        # starts at the first lookup (nobody may come; the timer does not run meanwhile).
        self.ctx.visit = Visit(ticket=ticket) if ticket else None
        self.reset(
            _("Serving ticket {ticket}.").format(ticket=ticket)
            if ticket
            else _("Ready for the next applicant.")
        )
        self.start_next(previous, self.ctx.visit)
        if answer.lookup:
            self.look_up(answer.lookup)

    def action_end_service(self) -> None:
        """F4: end the current service, saying whether the applicant was served."""
        if self.ctx.visit is None:
            self.show_message(_("No service is open."), level="warning")
            return
        self.app.push_screen(EndServiceDialog(), self._end_service)

    def _end_service(self, outcome: str | None) -> None:
        self.query_one(ScanInput).focus()
        if outcome is None or self.ctx.visit is None:
            return
        visit, self.ctx.visit = self.ctx.visit, None
        self._sync_timer()
        self.end_visit(visit, outcome)

    @work(thread=True, group="write")
    def end_visit(self, visit: Visit, outcome: str) -> None:
        """Store the end of ``visit`` (worker thread); posts ServiceEnded."""
        try:
            ended, seconds = visits.end_visit(self.ctx.db, self.ctx.workplace, visit, outcome)
        except Exception as exc:  # noqa: BLE001
            self.post_message(ServiceFailed(failure_message(self, exc)))
            return
        self.post_message(ServiceEnded(ended, seconds))

    @on(ServiceEnded)
    def service_ended(self, event: ServiceEnded) -> None:
        self.reset(
            _("Service ended ({outcome}), {time}. Ready for the next applicant.").format(
                outcome=outcome_label(event.outcome),
                time=service_time.format_elapsed(event.seconds),
            )
        )

    @work(thread=True, group="write")
    def start_next(self, previous: Visit | None, visit: Visit | None) -> None:
        """End the previous visit and store the new one (worker thread)."""
        try:
            visits.next_applicant(self.ctx.db, self.ctx.workplace, previous, visit)
        except Exception as exc:  # noqa: BLE001
            self.post_message(ServiceFailed(failure_message(self, exc)))
