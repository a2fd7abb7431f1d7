"""The consultation dialog (查阅登记): requesting unit, approval number, purpose, readers,
and the materials shown (those marked in the catalogue). Enter moves to the next field; Enter
on the last one (or ctrl+s anywhere) records, through the ``record`` callable the dossier
screen gives it. Returns the RecordedConsultation, or None on Esc; a refusal keeps the dialog
open with the fields as typed.

Without marked materials the dialog refuses at once (the dossier screen checks the same rule,
:func:`~counter_tui.services.consultation.check_shown`, before opening it): the message stays,
the fields are disabled, Esc goes back to the catalogue."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Label, Static

from counter_tui.dialogs.base import DialogBody, DialogInput, FormDialog
from counter_tui.i18n import _
from counter_tui.read_models import DossierView, MaterialRow, RecordedConsultation
from counter_tui.services import consultation
from counter_tui.widgets.preset_input import PresetInput, presets_text


class ConsultationDialog(FormDialog[RecordedConsultation | None]):
    """Register a consultation of the open dossier."""

    FIELDS = ("requesting_unit", "approval_no", "purpose", "readers")

    BINDINGS = [
        Binding("escape", "cancel", _("Cancel"), id="consultation.cancel"),
        Binding("ctrl+s", "confirm", _("Record"), id="consultation.confirm"),
    ]

    def __init__(
        self,
        view: DossierView,
        shown: list[MaterialRow],
        record: Callable[[consultation.ConsultationRequest], RecordedConsultation],
    ) -> None:
        """``record`` runs in a worker thread with the validated request and returns the
        registered consultation, or raises (ConsultationError names the field)."""
        super().__init__(record, busy_text=_("Recording…"))
        self.view = view
        self.shown = shown

    def compose(self) -> ComposeResult:
        presets = consultation.CONSULTATION_PURPOSES
        with DialogBody(id="dialog"):
            yield Label(
                _("Register a consultation of {name} ({no})").format(
                    name=self.view.person_name, no=self.view.dossier_no
                ),
                id="dialog-title",
            )
            yield DialogInput(id="requesting_unit", placeholder=_("Requesting unit"))
            yield DialogInput(id="approval_no", placeholder=_("Approval form number"))
            yield Static(presets_text(presets), id="purposes")
            yield PresetInput(
                [zh for zh, _en in presets],
                id="purpose",
                placeholder=_("Purpose: a number above, or type it"),
            )
            yield DialogInput(id="readers", placeholder=_("Readers' names"))
            yield Static(self._shown_text(), id="cited")
            yield Static("", id="error")
            yield Static(
                _("Enter: next field · Enter on the last field or ctrl+s: record · Esc: cancel")
            )

    def _shown_text(self) -> str:
        if not self.shown:
            return _("Materials shown: none marked (Space in the catalogue marks them).")
        return "\n".join([_("Materials shown:"), *[f"  {m.number}  {m.title}" for m in self.shown]])

    def on_mount(self) -> None:
        try:
            consultation.check_shown(self.shown)
        except consultation.ConsultationError as exc:
            # Nothing to type in vain: the message stays, Esc goes back to mark the materials.
            for field in self.query(Input):
                field.disabled = True
            self.query_one("#error", Static).update(str(exc))
            return
        self.query_one("#requesting_unit", Input).focus()

    @on(PresetInput.PresetChosen)
    def preset_chosen(self) -> None:
        self.query_one("#readers", Input).focus()

    def action_confirm(self) -> None:
        """Validate and record; a refusal is shown and the fields are kept."""
        try:
            request = consultation.validate(
                consultation.ConsultationRequest(
                    **self.values(), shown_material_ids=tuple(m.id for m in self.shown)
                )
            )
        except consultation.ConsultationError as exc:
            self.fail(exc.field, str(exc))
            return
        self.submit(request)

    def action_cancel(self) -> None:
        """Esc: close without recording."""
        self.close(None)
