"""The dossier screen: header, catalogue by category, pages in the viewer, certificates,
consultations and 补登.

The screen is pushed by the counter and returns a :class:`DossierOutcome` through
``dismiss``: whether the service ended here (a certificate or consultation closes it), the
message for the counter, and any scans that arrived while it was open. It never reaches into
the counter screen.

The counter keeps one dossier screen and shows each applicant's dossier on it
(:meth:`DossierScreen.reuse`) instead of building a new screen per scan: composing,
styling and mounting its widgets was a third of the time from a scan to the catalogue drawn
(issue 13). What a worker started for one dossier finishes into the screen only while it
still shows that dossier (:meth:`DossierScreen.post_for`).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from counter_tui.commands import ScreenCommands
from counter_tui.context import AppContext
from counter_tui.dialogs.certificate import CertificateDialog
from counter_tui.dialogs.certificate_history import (
    CertificateActions,
    CertificateHistoryDialog,
    print_message,
)
from counter_tui.dialogs.consultation import ConsultationDialog
from counter_tui.dialogs.end_service import EndServiceDialog
from counter_tui.dialogs.material import MaterialDialog
from counter_tui.domain.clock import local_date
from counter_tui.i18n import _
from counter_tui.messages import (
    IdRevealed,
    MaterialAdded,
    PagesOpened,
    Printed,
    ServiceFailed,
    failure_message,
)
from counter_tui.read_models import (
    DossierView,
    IssuedCertificate,
    MaterialRow,
    RecordedConsultation,
    Visit,
)
from counter_tui.services import (
    certificate_events,
    consultation,
    issuance,
    supplement,
    viewing,
)
from counter_tui.widgets.catalogue_table import CatalogueTable
from counter_tui.widgets.footer import Footer
from counter_tui.widgets.message_line import MessageLine, ShowsMessages
from counter_tui.widgets.resume import RestyledOnlyOnChange
from counter_tui.widgets.service_timer import ServiceTimer

REVEAL_SECONDS = 30.0
log = logging.getLogger(__name__)


def gender_label(code: str) -> str:
    """ "M"/"F" in the UI language."""
    return {"M": _("male"), "F": _("female")}.get(code, "—")


@dataclass(frozen=True)
class DossierOutcome:
    """What the dossier screen hands back to the counter when it closes.

    ``end_service``: the clerk ended the service here (F4) with this choice (``served`` or
    ``abandoned``, see dialogs.end_service); ``next_applicant``: F2 was pressed here. (Scans
    that arrived meanwhile wait in AppContext.scans.)
    """

    end_service: str | None = None
    next_applicant: bool = False


class DossierScreen(RestyledOnlyOnChange, ShowsMessages, Screen[DossierOutcome]):
    """Shows one dossier; Enter opens a material's pages, Space marks, c issues a certificate."""

    CSS_PATH = "../styles/dossier.tcss"
    COMMANDS = Screen.COMMANDS | {ScreenCommands}
    BINDINGS = [
        Binding("c", "certificate", _("Certificate"), id="dossier.certificate"),
        Binding("p", "print_certificate", _("Print"), id="dossier.print", show=False),
        Binding("h", "certificate_history", _("Certificates"), id="dossier.history", show=False),
        Binding("q", "consultation", _("Consultation"), id="dossier.consultation"),
        Binding("a", "supplement", _("Add material"), id="dossier.supplement", show=False),
        Binding("r", "correct", _("Correct material"), id="dossier.correct", show=False),
        Binding("f2", "next_applicant", _("Next applicant"), id="dossier.next_applicant"),
        Binding("f4", "end_service", _("End service"), id="dossier.end_service"),
        Binding("escape", "back", _("Back"), id="dossier.back"),
    ]

    def __init__(self, ctx: AppContext, view: DossierView, visit: Visit | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.view = view
        self.visit = visit
        self.closing = False
        self.last_issued: IssuedCertificate | None = None

    @property
    def visit_id(self) -> uuid.UUID | None:
        """The id of the service this dossier was opened in (None outside a service)."""
        return self.visit.id if self.visit else None

    def compose(self) -> ComposeResult:
        with Horizontal(id="topbar"):
            yield Static(self._title_text(), id="title")
            yield ServiceTimer(id="timer")
        yield Static(self._header_text(), id="header")
        yield CatalogueTable(id="catalogue")
        yield MessageLine(self._help_text(), id="message")
        yield Footer()

    def _title_text(self) -> str:
        return f"{self.view.person_name}  ·  {self.view.dossier_no}"

    @staticmethod
    def _help_text() -> str:
        return _(
            "Enter: pages · Space: mark · 1–9, 0: category · c: certificate · "
            "h: certificates · q: consultation · a / r: add / correct material · Esc: back"
        )

    def _header_text(self) -> str:
        v = self.view
        status = _("digitised") if v.digitised else _("paper only")
        return "\n".join(
            [
                _("Name: {name}   ID: {id}   Gender: {gender}   Born (as recorded): {born}").format(
                    name=v.person_name,
                    id=v.id_masked,
                    gender=gender_label(v.gender),
                    born=v.birth_date_recorded or "—",
                ),
                _(
                    "Dossier no.: {no}   Held by: {holder} since {since}   Shelf: {shelf}   "
                    "{status}"
                ).format(
                    no=v.dossier_no,
                    holder=v.holder_name or "—",
                    since=local_date(v.held_since) or "—",
                    shelf=v.shelf_location or "—",
                    status=status,
                ),
            ]
        )

    def on_mount(self) -> None:
        self._present()

    def _present(self) -> None:
        """Fill the catalogue from ``self.view``, the cursor on its first material, and set
        the service clock."""
        table = self.query_one(CatalogueTable)
        # The table spans the screen: its rows are built once, at the width it will have
        # (a table laid out before keeps its own width).
        table.load(self.view.materials, width=self.app.size.width)
        if self.view.materials:
            table.action_jump(self.view.materials[0].category)
        else:  # nothing of the previous dossier: not its cursor row either
            table.move_cursor(row=0)
        table.focus()
        self.query_one(ServiceTimer).started = self.visit.started if self.visit else None

    def reuse(self, view: DossierView, visit: Visit | None = None) -> None:
        """Show ``view`` in ``visit`` on this screen, already mounted for an earlier dossier
        (the counter keeps one dossier screen): everything a new ``DossierScreen(ctx, view,
        visit)`` would show, nothing of the previous dossier (marks, message, last
        certificate, cursor). Call it while the screen is not shown, then push it."""
        self.view = view
        self.visit = visit
        self.closing = False
        self.last_issued = None
        self.query_one("#title", Static).update(self._title_text())
        self.query_one("#header", Static).update(self._header_text())
        self.show_message(self._help_text())
        self.query_one(CatalogueTable).marked.clear()
        self._present()

    def post_for(self, view: DossierView, message: Message) -> None:
        """From a worker thread: post ``message``, marked as being about ``view`` (the
        dossier the worker started for). Its handler drops it unless the screen still shows
        that dossier when it runs (:meth:`shows`): nothing of one applicant's dossier (a
        revealed ID, an added material, a print result) reaches the next one shown here
        (see :meth:`reuse`), however the worker's end and the next scan interleave."""
        message.for_view = view  # type: ignore[attr-defined]
        self.post_message(message)

    def shows(self, message: Message) -> bool:
        """Whether ``message`` is about the dossier shown now (a message not posted by
        :meth:`post_for` is)."""
        return getattr(message, "for_view", self.view) is self.view

    def leave(self, outcome: DossierOutcome) -> None:
        """Close the screen once, handing ``outcome`` to the counter."""
        if self.closing:
            return
        self.closing = True
        self.dismiss(outcome)

    # -- catalogue ---------------------------------------------------------------------------

    @on(CatalogueTable.MaterialChosen)
    def material_chosen(self, event: CatalogueTable.MaterialChosen) -> None:
        self.show_message(_("Opening pages…"))
        self.open_pages(event.material_id)

    @on(CatalogueTable.MarksChanged)
    def marks_changed(self, event: CatalogueTable.MarksChanged) -> None:
        self.show_message(_("{n} material(s) marked for citing.").format(n=len(event.marked)))

    def marked(self) -> list[MaterialRow]:
        """The materials marked in the catalogue, in catalogue order."""
        marked = self.query_one(CatalogueTable).marked
        return [m for m in self.view.materials if m.id in marked]

    @work(thread=True, group="viewer")
    def open_pages(self, material_id: uuid.UUID) -> None:
        """Copy the pages, log the views and start the viewer (worker thread)."""
        view = self.view
        try:
            viewing.check_viewer(self.ctx.settings.viewer)
            files = viewing.open_material_pages(
                self.ctx.db,
                material_id,
                self.ctx.workplace,
                self.visit_id,
                archive_root=self.ctx.settings.archive_dir,
                private_dir=self.ctx.private_dir,
            )
            viewing.launch_viewer(self.ctx.settings.viewer, files)
        except Exception as exc:  # noqa: BLE001
            self.post_for(view, ServiceFailed(failure_message(self, exc)))
            return
        self.post_for(view, PagesOpened(len(files)))

    @on(PagesOpened)
    def pages_opened(self, event: PagesOpened) -> None:
        if not self.shows(event):
            return
        self.show_message(_("{n} page(s) opened in the viewer.").format(n=event.count))

    @on(ServiceFailed)
    def service_failed(self, event: ServiceFailed) -> None:
        if not self.shows(event):
            return
        self.show_message(event.message, level="error")

    @on(Printed)
    def printed(self, event: Printed) -> None:
        if not self.shows(event):
            return
        self.show_message(event.message, level=event.level)

    def action_back(self) -> None:
        """Esc: back to the counter; the service goes on (F2 there ends it)."""
        self.leave(DossierOutcome())

    # -- certificate ---------------------------------------------------------------------------

    @work(thread=True, group="warm-up", exclusive=True, exit_on_error=False)
    def warm_up_certificates(self) -> None:
        """Load the certificate font while the clerk fills the dialog, so that issuing does
        not wait for it (worker thread; a missing font is said when issuing)."""
        try:
            from counter_tui.services import certificate_pdf  # fpdf2 (tens of MB): when needed

            certificate_pdf.warm_up()
        except Exception:  # noqa: BLE001 - issuing reports it properly
            log.debug("certificate font not warmed up", exc_info=True)

    def action_certificate(self) -> None:
        """c: the certificate dialog, citing the marked materials; it issues by itself. The
        font is loaded once the dialog is drawn (:meth:`warm_up_later`)."""
        self.app.push_screen(
            CertificateDialog(self.view, self.marked(), self.issue_certificate),
            self._certificate_issued,
        )
        self.warm_up_later()

    def warm_up_later(self) -> None:
        """Start :meth:`warm_up_certificates` after the next frame is drawn: parsing the font
        (~120 ms, and importing fpdf2 the first time, ~350 ms) holds the interpreter, and
        started at once it held back the frame the clerk waits for — the dialog after ``c``,
        the issued certificate after Enter — by about that much (issue 13)."""
        self.app.call_after_refresh(self.warm_up_certificates)

    def issue_certificate(self, request: issuance.CertificateRequest) -> IssuedCertificate:
        """Issue ``request`` for this dossier and close the service (the dialog's worker
        thread). Raises IssuanceError."""
        return issuance.issue(
            self.ctx.db,
            request,
            dossier_id=self.view.id,
            workplace=self.ctx.workplace,
            visit_id=self.visit_id,
            certificates_dir=self.ctx.settings.certificates_dir,
            templates_dir=self.ctx.settings.templates_dir,
        )

    def _certificate_issued(self, issued: IssuedCertificate | None) -> None:
        self.query_one(CatalogueTable).focus()
        if issued is None:
            return
        self.last_issued = issued
        self.warm_up_later()  # ready for another certificate
        self.show_message(
            _(
                "Certificate {serial} issued (查验码 {code}). Print: p · another: c · end the "
                "service: F4 · next applicant: F2. File: {path}"
            ).format(serial=issued.serial, code=issued.verification_code, path=issued.path),
        )

    # -- print, reprint, void ------------------------------------------------------------------

    def certificate_actions(self) -> CertificateActions:
        """The history dialog's actions on this dossier's certificates (worker threads)."""
        ctx = self.ctx
        return CertificateActions(
            load=lambda: certificate_events.history(ctx.db, self.view.id, workplace=ctx.workplace),
            print=lambda serial: certificate_events.print_certificate(
                ctx.db,
                serial,
                workplace=ctx.workplace,
                print_command=ctx.settings.print_command,
                viewer=ctx.settings.viewer,
            ),
            reprint=lambda serial: certificate_events.reprint(
                ctx.db,
                serial,
                workplace=ctx.workplace,
                print_command=ctx.settings.print_command,
                viewer=ctx.settings.viewer,
            ),
            void=lambda serial, reason: certificate_events.void(
                ctx.db, serial, workplace=ctx.workplace, reason=reason
            ),
        )

    def action_certificate_history(self) -> None:
        """h: this dossier's certificates, to print, reprint or void."""
        self.app.push_screen(
            CertificateHistoryDialog(
                _("Certificates of {name} ({no})").format(
                    name=self.view.person_name, no=self.view.dossier_no
                ),
                self.certificate_actions(),
            ),
            lambda _result: self.query_one(CatalogueTable).focus(),
        )

    def action_print_certificate(self) -> None:
        """p: print the certificate just issued here; without one, the history."""
        if self.last_issued is None:
            self.action_certificate_history()
            return
        self.show_message(_("Printing {serial}…").format(serial=self.last_issued.serial))
        self.print_worker(self.last_issued.serial)

    @work(thread=True, group="print")
    def print_worker(self, serial: str) -> None:
        """Print ``serial`` and say what happened (worker thread)."""
        view = self.view
        try:
            outcome = self.certificate_actions().print(serial)
        except Exception as exc:  # noqa: BLE001
            self.post_for(view, ServiceFailed(failure_message(self, exc)))
            return
        level = "info" if outcome.destination == "printed" else "warning"
        self.post_for(view, Printed(print_message(outcome), level))

    def action_end_service(self) -> None:
        """F4: end the service (the counter stores it and starts afresh)."""
        self.app.push_screen(EndServiceDialog(), self._end_service)

    def _end_service(self, choice: str | None) -> None:
        if choice is None:
            self.query_one(CatalogueTable).focus()
            return
        self.leave(DossierOutcome(end_service=choice))

    def action_next_applicant(self) -> None:
        """F2: back to the counter, which asks for the next applicant's ticket."""
        self.leave(DossierOutcome(next_applicant=True))

    # -- consultation --------------------------------------------------------------------------

    def action_consultation(self) -> None:
        """q: register a consultation (查阅) showing the marked materials; refused at once
        when none is marked (services.consultation.check_shown)."""
        shown = self.marked()
        try:
            consultation.check_shown(shown)
        except consultation.ConsultationError as exc:
            self.show_message(str(exc), level="warning")
            return
        self.app.push_screen(
            ConsultationDialog(self.view, shown, self.record_consultation),
            self._consultation_recorded,
        )

    def record_consultation(
        self, request: consultation.ConsultationRequest
    ) -> RecordedConsultation:
        """Register ``request`` and close the service (the dialog's worker thread). Raises
        ConsultationError."""
        return consultation.record(
            self.ctx.db,
            request,
            dossier_id=self.view.id,
            workplace=self.ctx.workplace,
            visit_id=self.visit_id,
        )

    def _consultation_recorded(self, recorded: RecordedConsultation | None) -> None:
        self.query_one(CatalogueTable).focus()
        if recorded is None:
            return
        self.show_message(_("Consultation registered. End the service: F4; next applicant: F2."))

    # -- 补登 / 认定 ---------------------------------------------------------------------------

    def action_supplement(self) -> None:
        """a: add a material to the catalogue (补登)."""
        self.app.push_screen(MaterialDialog(self.view, self.add_material), self._material_added)

    def action_correct(self) -> None:
        """r: add a correction (认定) of the material under the cursor."""
        row = self.query_one(CatalogueTable).current_material()
        if row is None:
            self.show_message(_("Put the cursor on the material to correct."), level="warning")
            return
        self.app.push_screen(
            MaterialDialog(self.view, self.add_material, corrects=row), self._material_added
        )

    def add_material(self, fields: dict[str, Any]) -> MaterialRow:
        """Add a material to this dossier (the dialog's worker thread). Raises SupplementError."""
        return supplement.add_material(
            self.ctx.db, dossier_id=self.view.id, workplace=self.ctx.workplace, **fields
        )

    def _material_added(self, row: MaterialRow | None) -> None:
        self.query_one(CatalogueTable).focus()
        if row is not None:
            self.reload(row.number)

    @work(thread=True, group="open")
    def reload(self, number: str) -> None:
        """Read the catalogue again after an addition (worker thread)."""
        shown = self.view
        try:
            view = viewing.load_view(self.ctx.db, shown.id, self.ctx.workplace)
        except Exception as exc:  # noqa: BLE001
            self.post_for(shown, ServiceFailed(failure_message(self, exc)))
            return
        self.post_for(shown, MaterialAdded(view, number))

    @on(MaterialAdded)
    def material_added(self, event: MaterialAdded) -> None:
        if not self.shows(event):
            return
        self.view = event.view
        table = self.query_one(CatalogueTable)
        table.load(self.view.materials)
        self.show_message(
            _("Material {number} added to the catalogue.").format(number=event.number)
        )

    # -- rare actions (command palette) --------------------------------------------------------

    def palette_commands(self) -> list[tuple[str, Any, str]]:
        """The command palette's entries on this screen: (name, callback, help)."""
        return [
            (
                _("Reveal full resident ID (logged)"),
                self.reveal_id,
                _("Shows the whole ID number; an access event records who revealed it."),
            ),
            (
                _("Certificate history: print, reprint (补打), void (作废)"),
                self.action_certificate_history,
                _("Every certificate issued from this dossier, with its status (key h)."),
            ),
            (
                _("Print the certificate just issued"),
                self.action_print_certificate,
                _("Sends it to the printer, or opens it in the viewer (key p)."),
            ),
        ]

    def reveal_id(self) -> None:
        """Command palette: show the full resident ID (the reveal is logged)."""
        self.reveal_worker()

    @work(thread=True, group="write")
    def reveal_worker(self) -> None:
        """Log the reveal and fetch the full number (worker thread)."""
        view = self.view
        try:
            number = viewing.reveal_id(self.ctx.db, view.id, self.ctx.workplace)
        except Exception as exc:  # noqa: BLE001
            self.post_for(view, ServiceFailed(failure_message(self, exc)))
            return
        self.post_for(view, IdRevealed(number))

    @on(IdRevealed)
    def id_revealed(self, event: IdRevealed) -> None:
        if not self.shows(event):
            return
        self.show_message(
            _("Full resident ID (this reveal is logged): {id}").format(id=event.number or "—"),
            level="warning",
        )
        # Shown long enough to copy it onto a form, then masked again (unless the screen
        # shows another dossier by then).
        view = self.view
        self.set_timer(REVEAL_SECONDS, lambda: self.view is view and self.show_message(""))
