"""就近办理: the read-only catalogue of a dossier another office holds, read from the city's
central database for the applicant standing at this counter (services.nearby).

The dossier screen without what only the holder may do: no page images (they stay with the
holder), no consultation, no material added or corrected, no certificate history. Space marks
materials, ``c`` issues a certificate under this office's serial naming the holder (online
only), ``p`` prints it. The banner says whose dossier it is and that the view is recorded for
the holder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Static

from counter_tui.context import AppContext
from counter_tui.i18n import _
from counter_tui.read_models import IssuedCertificate, NearbyDossier, Visit
from counter_tui.screens.dossier import DossierScreen
from counter_tui.services import issuance, nearby
from counter_tui.widgets.catalogue_table import CatalogueTable

if TYPE_CHECKING:
    from counter_tui.context import Database


class NearbyOpened(Message):
    """A worker read a dossier held elsewhere from central (services.nearby.open_nearby)."""

    def __init__(self, served: NearbyDossier, central: Database) -> None:
        super().__init__()
        self.served = served
        self.central = central


class NearbyScreen(DossierScreen, inherit_bindings=False):
    """A dossier held elsewhere, served here: catalogue read-only, certificates issued here
    (none of the dossier screen's other keys: no consultation, no material added)."""

    BINDINGS = [
        Binding("c", "certificate", _("Certificate"), id="nearby.certificate"),
        Binding("p", "print_certificate", _("Print"), id="nearby.print", show=False),
        Binding("f2", "next_applicant", _("Next applicant"), id="nearby.next_applicant"),
        Binding("f4", "end_service", _("End service"), id="nearby.end_service"),
        Binding("escape", "back", _("Back"), id="nearby.back"),
    ]

    def __init__(
        self,
        ctx: AppContext,
        served: NearbyDossier,
        central: Database | None,
        visit: Visit | None = None,
    ) -> None:
        super().__init__(ctx, served.view, visit)
        self.served = served
        self.central = central

    def on_mount(self) -> None:
        # (DossierScreen.on_mount runs too: Textual calls each class's handler.)
        served = self.served
        contact = " · ".join(
            part
            for part in (
                served.holder_address,
                _("Phone: {phone}").format(phone=served.holder_phone)
                if served.holder_phone
                else "",
            )
            if part
        )
        banner = (
            _(
                "就近办理 — held by {holder} ({contact}). Catalogue read from the city's "
                "central database, read-only; this view is recorded for the holder. Page "
                "images stay there."
            )
            if contact
            else _(
                "就近办理 — held by {holder}. Catalogue read from the city's central database, "
                "read-only; this view is recorded for the holder. Page images stay there."
            )
        ).format(holder=served.view.holder_name, contact=contact)
        self.mount(Static(banner, id="nearby-banner"), before=self.query_one(CatalogueTable))
        self.show_message(
            _(
                "Space: mark · c: certificate (this office's serial, naming the holder) · "
                "p: print · Esc: back"
            )
        )

    @on(CatalogueTable.MaterialChosen)
    def material_chosen(self, event: CatalogueTable.MaterialChosen) -> None:
        event.stop()
        event.prevent_default()  # not DossierScreen's: no pages to open here
        self.show_message(
            _(
                "The page images of this dossier are kept by {holder}; here only its catalogue "
                "is shown."
            ).format(holder=self.served.view.holder_name),
            level="warning",
        )

    def issue_certificate(self, request: issuance.CertificateRequest) -> IssuedCertificate:
        """Issue ``request`` under this office's serial, naming the holder (the dialog's worker
        thread; services.nearby.issue_nearby). Raises NearbyError, IssuanceError."""
        return nearby.issue_nearby(
            self.ctx.db,
            self.central,
            request,
            self.served,
            workplace=self.ctx.workplace,
            visit_id=self.visit_id,
            certificates_dir=self.ctx.settings.certificates_dir,
            templates_dir=self.ctx.settings.templates_dir,
        )

    def action_print_certificate(self) -> None:
        """p: print the certificate just issued here."""
        if self.last_issued is None:
            self.show_message(_("No certificate has been issued here yet: c issues one."))
            return
        super().action_print_certificate()
