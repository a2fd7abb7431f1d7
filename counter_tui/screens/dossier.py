"""The dossier screen: header, catalogue by category, pages in the viewer, certificates."""

from __future__ import annotations

import uuid

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Static

from counter_tui.commands import DossierCommands
from counter_tui.context import AppContext
from counter_tui.domain import service_time
from counter_tui.domain.clock import local_date
from counter_tui.errors import user_message
from counter_tui.i18n import _
from counter_tui.messages import (
    CertificateIssued,
    ConsultationRecorded,
    IdRevealed,
    MaterialAdded,
    PagesOpened,
    ServiceFailed,
)
from counter_tui.services import consultation, issuance, viewing
from counter_tui.services.viewing import DossierView
from counter_tui.widgets.catalogue_table import CatalogueTable
from counter_tui.widgets.message_line import MessageLine
from counter_tui.widgets.service_timer import ServiceTimer


def gender_label(code: str) -> str:
    """ "M"/"F" in the UI language."""
    return {"M": _("male"), "F": _("female")}.get(code, "—")


REVEAL_SECONDS = 30.0


class DossierScreen(Screen):
    """Shows one dossier; Enter opens a material's pages, Space marks, c issues a certificate."""

    CSS_PATH = "../styles/dossier.tcss"
    COMMANDS = Screen.COMMANDS | {DossierCommands}
    BINDINGS = [
        Binding("c", "certificate", _("Certificate"), id="dossier.certificate"),
        Binding("q", "consultation", _("Consultation"), id="dossier.consultation"),
        Binding("a", "supplement", _("Add material"), id="dossier.supplement"),
        Binding("r", "correct", _("Correct material"), id="dossier.correct"),
        Binding("escape", "back", _("Back"), id="dossier.back"),
    ]

    def __init__(self, ctx: AppContext, view: DossierView) -> None:
        super().__init__()
        self.ctx = ctx
        self.view = view

    def compose(self) -> ComposeResult:
        v = self.view
        with Horizontal(id="topbar"):
            yield Static(f"{v.person_name}  ·  {v.dossier_no}", id="title")
            yield ServiceTimer(id="timer")
        status = _("digitised") if v.digitised else _("paper only")
        yield Static(
            "\n".join(
                [
                    _(
                        "Name: {name}   ID: {id}   Gender: {gender}   Born (as recorded): {born}"
                    ).format(
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
            ),
            id="header",
        )
        yield CatalogueTable(id="catalogue")
        yield MessageLine(
            _(
                "Enter: open pages · Space: mark for citing · 1–9, 0: jump to "
                "category · c: certificate · Esc: back"
            ),
            id="message",
        )
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(CatalogueTable)
        table.load(self.view.materials)
        if self.view.materials:
            table.action_jump(self.view.materials[0].category)
        table.focus()
        self.query_one(ServiceTimer).started = self.ctx.visit.started if self.ctx.visit else None

    def show_message(self, text: str, *, level: str = "info") -> None:
        """Show ``text`` in the message line (level: info, warning, error)."""
        self.query_one("#message", MessageLine).show(text, level=level)

    @on(CatalogueTable.MaterialChosen)
    def material_chosen(self, event: CatalogueTable.MaterialChosen) -> None:
        self.show_message(_("Opening pages…"))
        self.open_pages(event.material_id)

    @on(CatalogueTable.ScanReceived)
    def scan_received(self, event: CatalogueTable.ScanReceived) -> None:
        """Another barcode was scanned while this dossier is open: keep it for the counter."""
        from counter_tui.screens.counter import CounterScreen

        counter = next((s for s in self.app.screen_stack if isinstance(s, CounterScreen)), None)
        if counter is not None:
            counter.pending.append(event.text)
        self.show_message(
            _(
                "A scan ({text}) arrived while this dossier is open; it waits at the "
                "counter input for the next applicant."
            ).format(text=event.text),
            level="warning",
        )

    @on(CatalogueTable.MarksChanged)
    def marks_changed(self, event: CatalogueTable.MarksChanged) -> None:
        self.show_message(_("{n} material(s) marked for citing.").format(n=len(event.marked)))

    @work(thread=True, group="viewer")
    def open_pages(self, material_id: uuid.UUID) -> None:
        """Copy the pages, log the views and start the viewer (worker thread)."""
        try:
            visit_id = self.ctx.visit.id if self.ctx.visit else None
            viewing.check_viewer(self.ctx.settings.viewer)
            files = viewing.open_material_pages(
                self.ctx.db,
                material_id,
                self.ctx.workplace,
                visit_id,
                archive_root=self.ctx.settings.archive_dir,
                private_dir=self.ctx.private_dir,
            )
            viewing.launch_viewer(self.ctx.settings.viewer, files)
        except Exception as exc:  # noqa: BLE001
            self.post_message(ServiceFailed(user_message(exc)))
            return
        self.post_message(PagesOpened(len(files)))

    @on(PagesOpened)
    def pages_opened(self, event: PagesOpened) -> None:
        self.show_message(_("{n} page(s) opened in the viewer.").format(n=event.count))

    @on(ServiceFailed)
    def service_failed(self, event: ServiceFailed) -> None:
        self.show_message(event.message, level="error")

    def action_back(self) -> None:
        """Esc: back to the counter; the service goes on (F2 there ends it)."""
        self.app.pop_screen()

    def action_certificate(self) -> None:
        """c: the certificate dialog, citing the marked materials."""
        from counter_tui.screens.certificate import IssueCertificateScreen

        table = self.query_one(CatalogueTable)
        cited = [m for m in self.view.materials if m.id in table.marked]
        self.app.push_screen(IssueCertificateScreen(self.view, cited), self._certificate_chosen)

    def _certificate_chosen(self, request: issuance.CertificateRequest | None) -> None:
        if request is None:
            self.query_one(CatalogueTable).focus()
            return
        self.show_message(_("Issuing…"))
        self.issue(request)

    @work(thread=True, group="write")
    def issue(self, request: issuance.CertificateRequest) -> None:
        """Issue the certificate and close the service (worker thread)."""
        try:
            visit_id = self.ctx.visit.id if self.ctx.visit else None
            issued = issuance.issue(
                self.ctx.db,
                request,
                dossier_id=self.view.id,
                workplace=self.ctx.workplace,
                visit_id=visit_id,
                certificates_dir=self.ctx.settings.certificates_dir,
            )
        except issuance.IssuanceError as exc:
            self.post_message(ServiceFailed(str(exc)))
            return
        except Exception as exc:  # noqa: BLE001
            self.post_message(ServiceFailed(user_message(exc)))
            return
        self.post_message(CertificateIssued(issued))

    @on(CertificateIssued)
    def certificate_issued(self, event: CertificateIssued) -> None:
        issued = event.issued
        took = service_time.format_elapsed(issued.service_seconds or 0)
        self.service_closed(
            _(
                "Certificate {serial} issued; service time {time}. Ready for the next applicant."
            ).format(serial=issued.serial, time=took),
            _("Certificate issued"),
        )

    def service_closed(self, text: str, title: str) -> None:
        """The service ended: back to an empty counter showing ``text``."""
        from counter_tui.screens.counter import CounterScreen

        self.ctx.visit = None
        self.app.pop_screen()
        counter = self.app.screen
        if isinstance(counter, CounterScreen):
            counter.reset(text)
        self.app.notify(text, title=title)

    def action_consultation(self) -> None:
        """q: register a consultation (查阅) showing the marked materials."""
        from counter_tui.screens.consultation import ConsultationScreen

        table = self.query_one(CatalogueTable)
        shown = [m for m in self.view.materials if m.id in table.marked]
        self.app.push_screen(ConsultationScreen(self.view, shown), self._consultation_chosen)

    def _consultation_chosen(self, request: consultation.ConsultationRequest | None) -> None:
        if request is None:
            self.query_one(CatalogueTable).focus()
            return
        self.show_message(_("Recording…"))
        self.record_consultation(request)

    @work(thread=True, group="write")
    def record_consultation(self, request: consultation.ConsultationRequest) -> None:
        """Register the consultation and close the service (worker thread)."""
        try:
            visit_id = self.ctx.visit.id if self.ctx.visit else None
            recorded = consultation.record(
                self.ctx.db,
                request,
                dossier_id=self.view.id,
                workplace=self.ctx.workplace,
                visit_id=visit_id,
            )
        except consultation.ConsultationError as exc:
            self.post_message(ServiceFailed(str(exc)))
            return
        except Exception as exc:  # noqa: BLE001
            self.post_message(ServiceFailed(user_message(exc)))
            return
        self.post_message(ConsultationRecorded(recorded.service_seconds))

    @on(ConsultationRecorded)
    def consultation_recorded(self, event: ConsultationRecorded) -> None:
        took = service_time.format_elapsed(event.service_seconds or 0)
        self.service_closed(
            _("Consultation registered; service time {time}. Ready for the next applicant.").format(
                time=took
            ),
            _("Consultation registered"),
        )

    def action_supplement(self) -> None:
        """a: add a material to the catalogue (补登)."""
        from counter_tui.screens.supplement import SupplementScreen

        self.app.push_screen(SupplementScreen(self.ctx, self.view), self._material_added)

    def action_correct(self) -> None:
        """r: add a correction (认定) of the material under the cursor."""
        from counter_tui.screens.supplement import SupplementScreen

        row = self.query_one(CatalogueTable).current_material()
        if row is None:
            self.show_message(_("Put the cursor on the material to correct."), level="warning")
            return
        self.app.push_screen(
            SupplementScreen(self.ctx, self.view, corrects=row), self._material_added
        )

    def _material_added(self, number: str | None) -> None:
        self.query_one(CatalogueTable).focus()
        if number is not None:
            self.reload(number)

    @work(thread=True, group="open")
    def reload(self, number: str) -> None:
        """Read the catalogue again after an addition (worker thread)."""
        try:
            view = viewing.load_view(self.ctx.db, self.view.id)
        except Exception as exc:  # noqa: BLE001
            self.post_message(ServiceFailed(user_message(exc)))
            return
        self.post_message(MaterialAdded(view, number))

    @on(MaterialAdded)
    def material_added(self, event: MaterialAdded) -> None:
        self.view = event.view
        table = self.query_one(CatalogueTable)
        table.load(self.view.materials)
        self.show_message(
            _("Material {number} added to the catalogue.").format(number=event.number)
        )

    def reveal_id(self) -> None:
        """Command palette: show the full resident ID (the reveal is logged)."""
        self.reveal_worker()

    @work(thread=True, group="write")
    def reveal_worker(self) -> None:
        """Log the reveal and fetch the full number (worker thread)."""
        try:
            number = viewing.reveal_id(self.ctx.db, self.view.id, self.ctx.workplace)
        except Exception as exc:  # noqa: BLE001
            self.post_message(ServiceFailed(user_message(exc)))
            return
        self.post_message(IdRevealed(number))

    @on(IdRevealed)
    def id_revealed(self, event: IdRevealed) -> None:
        self.show_message(
            _("Full resident ID (this reveal is logged): {id}").format(id=event.number or "—"),
            level="warning",
        )
        # Shown long enough to copy it onto a form, then masked again.
        self.set_timer(REVEAL_SECONDS, lambda: self.show_message(""))
