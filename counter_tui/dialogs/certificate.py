"""The certificate dialog: kind by number key, what is certified, purpose (用途), applicant,
cited materials.

Keys for a standard 存档证明 for the person themself: ``1`` (kind), ``1`` (first purpose),
Enter (confirm); with a typed purpose, Enter at its end issues. Every other kind shows its
fact fields (domain.certificate_facts.FIELDS) after the kind, prefilled from the marked
materials: Enter confirms each and moves on, Enter on the last goes on to the purpose.
The dialog issues the certificate itself (the ``issue`` callable the dossier screen gives
it) and returns the :class:`~counter_tui.read_models.IssuedCertificate` via ``dismiss``, or
None on Esc; a refusal keeps the dialog open with everything chosen.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Label, Static

from counter_tui.dialogs.base import DialogBody, DialogInput, WriteDialog
from counter_tui.domain import certificate_facts, certificates, clock
from counter_tui.i18n import _
from counter_tui.read_models import DossierView, IssuedCertificate, MaterialRow
from counter_tui.services import issuance
from counter_tui.widgets.preset_input import presets_text


class FactFields(Vertical, can_focus=False):
    """The fact fields of one certificate kind (shown once that kind is chosen)."""

    DEFAULT_CSS = """
    FactFields {
        height: auto;
    }
    """


class CertificateDialog(WriteDialog[IssuedCertificate | None]):
    """Choose what to issue, in steps: a number key picks the kind; then the kind's fact
    fields, prefilled from the marked materials, are confirmed or typed (Enter moves on; an
    empty period line ends the experience periods); then a number key picks a
    listed purpose, or any other key starts typing one (Tab first for a purpose that begins
    with a digit); then Enter on Issue, Enter at the end of a typed purpose (the agent's
    fields first when the agent box is ticked), or ctrl+s anywhere issues. A kind that must
    cite materials is refused as soon as it is chosen when none are marked. Once past a step,
    number keys never change it: a typed purpose or a fast typist cannot switch the kind."""

    BINDINGS = [
        Binding("escape", "cancel", _("Cancel"), id="certificate.cancel"),
        Binding("ctrl+s", "confirm", _("Issue"), id="certificate.confirm"),
    ]

    def __init__(
        self,
        view: DossierView,
        cited: list[MaterialRow],
        issue: Callable[[issuance.CertificateRequest], IssuedCertificate],
    ) -> None:
        """``issue`` runs in a worker thread with the validated request and returns the
        issued certificate, or raises (IssuanceError names the field)."""
        super().__init__(issue, busy_text=_("Issuing…"))
        self.view = view
        self.cited = cited
        self.kind_code: str | None = None
        self.step = "kind"  # kind → facts (kinds with fact fields) → purpose → ready
        self.sources = tuple(
            certificate_facts.SourceMaterial(m.number, m.category, m.title, m.formed_on)
            for m in cited
        )
        self.held_since = clock.today(view.held_since) if view.held_since else None

    def compose(self) -> ComposeResult:
        with DialogBody(id="dialog"):
            yield Label(
                _("Issue a certificate for {name} ({no})").format(
                    name=self.view.person_name, no=self.view.dossier_no
                ),
                id="dialog-title",
            )
            yield Static(self._kinds_text(), id="kinds")
            yield from self._fact_fields()
            yield Static(presets_text(certificates.PURPOSES), id="purposes")
            yield DialogInput(
                id="purpose",
                placeholder=_(
                    "Purpose: a number above, or type it (Tab first if it starts with a digit)"
                ),
            )
            yield Checkbox(_("Applied for by an agent"), id="agent")
            with Vertical(id="agent-fields"):
                yield DialogInput(id="agent_name", placeholder=_("Agent's name"))
                yield DialogInput(id="agent_id", placeholder=_("Agent's resident ID"))
            yield Static(self._cited_text(), id="cited")
            yield Static("", id="error")
            with Horizontal(id="buttons"):
                yield Button(_("Issue (Enter)"), id="confirm", variant="primary")
                yield Button(_("Cancel (Esc)"), id="cancel")

    def on_mount(self) -> None:
        self.query_one("#agent-fields").display = False
        self.set_focus(None)  # nothing focused: the number keys choose the kind

    def on_key(self, event: events.Key) -> None:
        """Number keys for the kind, then for the purpose; other keys start a typed purpose."""
        if self.focused is not None or self.step == "ready":
            return
        char = event.character or ""
        if self.step == "kind":
            if (
                char.isdecimal()
                and char.isascii()
                and 1 <= int(char) <= len(certificates.CERTIFICATE_KINDS)
            ):
                event.stop()
                self.choose_kind(int(char))
            return
        if self.step == "facts":
            return  # the fact fields take typing only when focused; purpose keys come after
        if char.isdecimal() and char.isascii() and 1 <= int(char) <= len(certificates.PURPOSES):
            event.stop()
            purpose = self.query_one("#purpose", Input)
            purpose.value = certificates.PURPOSES[int(char) - 1][0]
            self.purpose_chosen()
        elif event.is_printable:
            event.stop()
            purpose = self.query_one("#purpose", Input)
            purpose.focus()
            purpose.insert_text_at_cursor(char)

    def _fact_fields(self) -> ComposeResult:
        """One hidden group of prefilled fact inputs per kind that has fact fields; experience
        shows its prefilled periods and one empty line more."""
        for kind_code, fields in certificate_facts.FIELDS.items():
            if not fields:
                continue
            prefilled = certificate_facts.prefill(
                kind_code, self.sources, held_since=self.held_since
            )
            inputs = []
            for field in fields:
                fact_input = DialogInput(
                    value=prefilled.get(field.name, ""),
                    placeholder=_(field.hint) if field.hint else "",
                    id=self._fact_id(field.name, kind_code),
                    classes="fact",
                )
                fact_input.border_title = field.title()
                inputs.append(fact_input)
            if kind_code == "experience":
                shown = sum(1 for text in prefilled.values() if text) + 1
                for fact_input in inputs[shown:]:
                    fact_input.display = False
            box = FactFields(
                Label(_("What is certified (Enter: next field):")),
                *inputs,
                id=f"facts-{kind_code}",
            )
            box.display = False
            yield box

    @staticmethod
    def _fact_id(name: str, kind_code: str) -> str:
        return f"fact-{kind_code}-{name}"

    def fact_inputs(self) -> list[Input]:
        """The fact inputs of the chosen kind, in field order (hidden ones included)."""
        if not self.kind_code:
            return []
        return [
            self.query_one(f"#{self._fact_id(f.name, self.kind_code)}", Input)
            for f in certificate_facts.FIELDS[self.kind_code]
        ]

    def _kinds_text(self) -> str:
        lines = [_("Kind (press its number):")]
        for n, kind in enumerate(certificates.CERTIFICATE_KINDS, start=1):
            mark = "▶" if kind.code == self.kind_code else " "
            gloss = "" if kind.label() == kind.title_zh else f"  ({kind.label()})"
            lines.append(f" {mark} {n}  {kind.title_zh}{gloss}")
        return "\n".join(lines)

    def _cited_text(self) -> str:
        if not self.cited:
            return _("Cited materials: none marked (Space in the catalogue marks them).")
        rows = [f"  {m.number}  {m.title}" for m in self.cited]
        return "\n".join([_("Cited materials:"), *rows])

    def choose_kind(self, number: int) -> None:
        """Take kind ``number`` (1-based) and move on to the purpose; a kind that must cite
        materials, with none marked, is refused here (the kind step stays)."""
        kind_code = certificates.CERTIFICATE_KINDS[number - 1].code
        try:
            issuance.check_cited(kind_code, self.cited)
        except issuance.IssuanceError as exc:
            self.query_one("#error", Static).update(str(exc))
            return
        self.kind_code = kind_code
        self.query_one("#kinds", Static).update(self._kinds_text())
        self.query_one("#error", Static).update("")
        for box in self.query(FactFields):
            box.display = box.id == f"facts-{kind_code}"
        inputs = self.fact_inputs()
        if inputs:
            self.step = "facts"
            self._focus_fact(inputs[0])
        else:
            self.step = "purpose"

    def _focus_fact(self, fact_input: Input) -> None:
        fact_input.display = True
        fact_input.focus()
        fact_input.scroll_visible()  # focus alone does not scroll a field just shown

    @on(Input.Submitted, ".fact")
    def fact_submitted(self, event: Input.Submitted) -> None:
        """Enter in a fact field: on to the next one; an empty optional period line, or the
        last field, ends the facts."""
        event.stop()
        inputs = self.fact_inputs()
        if event.input not in inputs:
            return
        index = inputs.index(event.input)
        field = certificate_facts.FIELDS[self.kind_code or ""][index]
        ends_periods = field.kind == "period" and not field.required and not event.value.strip()
        if index + 1 < len(inputs) and not ends_periods:
            self._focus_fact(inputs[index + 1])
        else:
            self.facts_done()

    def facts_done(self) -> None:
        """Enter on the last fact field: the purpose step (nothing focused, so number keys
        pick a purpose), or the Issue button when a purpose is already there (back here
        after a refusal)."""
        if self.query_one("#purpose", Input).value.strip():
            self.step = "ready"
            self.query_one("#confirm", Button).focus()
        else:
            self.step = "purpose"
            self.set_focus(None)

    def purpose_chosen(self) -> None:
        """A listed purpose was picked by its number: Enter on Issue (or the agent's name)
        next."""
        self.step = "ready"
        agent = self.query_one("#agent", Checkbox).value
        (
            self.query_one("#agent_name", Input) if agent else self.query_one("#confirm", Button)
        ).focus()

    @on(Input.Submitted, "#purpose")
    def purpose_submitted(self) -> None:
        """Enter at the end of a typed purpose: issue (validation says what is missing), or
        go on to the agent's name when the agent box is ticked."""
        self.step = "ready"
        if self.query_one("#agent", Checkbox).value:
            self.query_one("#agent_name", Input).focus()
        else:
            self.action_confirm()

    @on(Checkbox.Changed, "#agent")
    def agent_toggled(self, event: Checkbox.Changed) -> None:
        self.query_one("#agent-fields").display = event.value
        if event.value:
            agent_name = self.query_one("#agent_name", Input)
            agent_name.focus()
            agent_name.scroll_visible()  # focus alone does not scroll a field just shown

    @on(Input.Submitted, "#agent_name")
    def agent_name_submitted(self) -> None:
        self.query_one("#agent_id", Input).focus()

    @on(Input.Submitted, "#agent_id")
    def agent_id_submitted(self) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#confirm")
    def confirm_pressed(self) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#cancel")
    def cancel_pressed(self) -> None:
        self.action_cancel()

    def request(self) -> issuance.CertificateRequest:
        """The request as currently filled in (not yet validated)."""
        agent = self.query_one("#agent", Checkbox).value
        return issuance.CertificateRequest(
            kind_code=self.kind_code or "",
            purpose=self.query_one("#purpose", Input).value,
            applicant_kind="agent" if agent else "self",
            agent_name=self.query_one("#agent_name", Input).value if agent else "",
            agent_id_text=self.query_one("#agent_id", Input).value if agent else "",
            cited_material_ids=tuple(m.id for m in self.cited),
            facts=tuple(
                (field.name, fact_input.value)
                for field, fact_input in zip(
                    certificate_facts.FIELDS[self.kind_code], self.fact_inputs(), strict=True
                )
            )
            if self.kind_code
            else (),
        )

    def action_confirm(self) -> None:
        """Validate (the facts first: they come first in the dialog) and issue; a refusal is
        shown and nothing chosen is lost."""
        raw = self.request()
        if self.kind_code:
            try:
                certificate_facts.validate_facts(
                    self.kind_code, dict(raw.facts), self.sources, not_after=clock.today()
                )
            except certificate_facts.FactError as exc:
                self.fail(f"fact:{exc.field}", str(exc))
                return
        try:
            request = issuance.validate(raw)
        except issuance.IssuanceError as exc:
            self.fail(exc.field, str(exc))
            return
        self.submit(request)

    def fail(self, field: str, message: str) -> None:
        """Show the refusal; a wrong kind goes back to the kind step, a wrong text field (a
        fact field: ``fact:<name>``) is focused, anything else leaves focus free for the
        number keys."""
        self.query_one("#error", Static).update(message)
        if field.startswith("fact:") and self.kind_code:
            name = field.removeprefix("fact:")
            found = next(iter(self.query(f"#{self._fact_id(name, self.kind_code)}")), None)
            if isinstance(found, Input):
                self.step = "facts"
                self._focus_fact(found)
            else:
                self.set_focus(None)
        elif field in ("purpose", "agent_name", "agent_id"):
            self.query_one(f"#{field}", Input).focus()
        else:
            self.set_focus(None)
            if field == "kind":
                self.step = "kind"

    def action_cancel(self) -> None:
        """Esc: close without issuing."""
        self.close(None)
