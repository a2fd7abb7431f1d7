"""Consultation (查阅): a unit consults a dossier on an approved request.

Rules followed (shared/reference/domain.md §6): consultation is for organisation/HR units on a
《查阅干部人事档案审批表》 (approval form) — recorded with the requesting unit, the approval
document number, the purpose and the readers; the archivist decides which materials are shown
and every consultation is registered. The service visit goes on (services.visits ends it).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass

from sqlmodel import col, select

from counter_tui.db.engine import Database
from counter_tui.db.models import Consultation, Dossier, Material, utcnow
from counter_tui.domain import categories
from counter_tui.domain import text as text_rules
from counter_tui.errors import CounterError
from counter_tui.i18n import N_, _
from counter_tui.read_models import RecordedConsultation  # noqa: F401 - re-exported
from counter_tui.services import access_log, authorization, seals, visits
from counter_tui.services.workplace import Workplace

# Common purposes of a consultation (Chinese as registered, English gloss for --lang en).
CONSULTATION_PURPOSES: tuple[tuple[str, str], ...] = (
    ("政审", N_("Political review")),
    ("考察（任免）", N_("Appointment vetting")),
    ("录用（招聘）", N_("Hiring")),
    ("入党", N_("Party admission")),
    ("参军", N_("Military enlistment")),
    ("出国（境）政审", N_("Going-abroad review")),
)
LIMITS = {"requesting_unit": 100, "approval_no": 64, "purpose": 60, "readers": 60}


class ConsultationError(CounterError, ValueError):
    """A consultation that cannot be recorded; ``field`` names the dialog field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, reason=field, field=field)
        self.field = field


class ConsultationRefused(authorization.Forbidden, ConsultationError):
    """A consultation the authorization rules refuse (services.authorization, rule
    ``record_consultation``; logged): both a Forbidden and a ConsultationError, ``field``
    ``clerk`` (the account) or ``dossier`` (not held here, the clerk's own)."""


@dataclass(frozen=True)
class ConsultationRequest:
    """What the clerk typed (raw text; validated by :func:`validate`)."""

    requesting_unit: str
    approval_no: str
    purpose: str
    readers: str = ""
    shown_material_ids: tuple[uuid.UUID, ...] = ()


def check_shown(shown: Collection[object]) -> None:
    """The materials shown (their rows or ids) must be marked before a consultation is
    registered: checked before the dialog opens, so no field is typed in vain. Raises
    ConsultationError (field ``shown``)."""
    if not shown:
        raise ConsultationError(
            "shown",
            _("Mark the materials shown (Space in the catalogue) before recording a consultation."),
        )


def validate(request: ConsultationRequest) -> ConsultationRequest:
    """Clean and check a request; raises ConsultationError naming the field."""
    check_shown(request.shown_material_ids)
    labels = {
        "requesting_unit": N_("requesting unit"),
        "approval_no": N_("approval number"),
        "purpose": N_("purpose"),
        "readers": N_("readers"),
    }
    cleaned = {}
    for name, limit in LIMITS.items():
        try:
            value = text_rules.collapse(getattr(request, name), limit)
        except ValueError:
            raise ConsultationError(
                name,
                _("The {what} may have at most {n} characters.").format(
                    what=_(labels[name]), n=limit
                ),
            ) from None
        if not value:  # the register says who read, too (domain.md §access, F4)
            raise ConsultationError(
                name, _("Please fill in the {what}.").format(what=_(labels[name]))
            )
        cleaned[name] = value
    return ConsultationRequest(**cleaned, shown_material_ids=tuple(request.shown_material_ids))


def record(
    db: Database,
    request: ConsultationRequest,
    *,
    dossier_id: uuid.UUID,
    workplace: Workplace,
    visit_id: uuid.UUID | None,
) -> RecordedConsultation:
    """Register a consultation of ``dossier_id`` within the visit, in one transaction.

    Raises ConsultationError for bad input or a material from another dossier, and
    ConsultationRefused (logged) when the rule ``record_consultation`` refuses: no active
    account of a counter role, a dossier not held by this institution, the clerk's own.
    """
    request = validate(request)
    now = utcnow()
    clerk_id = workplace.clerk.id if workplace.clerk else None
    with authorization.refusals_logged(db, workplace), db.write() as session:
        authorization.require(
            session,
            workplace,
            "record_consultation",
            dossier_id=dossier_id,
            error=ConsultationRefused,
        )
        if session.get(Dossier, dossier_id) is None:
            raise ConsultationError("dossier", _("This dossier no longer exists."))
        shown = session.exec(
            select(Material).where(col(Material.id).in_(request.shown_material_ids))
        ).all()
        if len(shown) != len(set(request.shown_material_ids)) or any(
            m.dossier_id != dossier_id for m in shown
        ):
            raise ConsultationError("shown", _("A shown material is not in this dossier."))
        ordered = sorted(shown, key=categories.display_key)
        row = Consultation(
            dossier_id=dossier_id,
            visit_id=visit_id,
            institution_id=workplace.institution.id,
            requesting_unit=request.requesting_unit,
            approval_no=request.approval_no,
            purpose=request.purpose,
            readers=request.readers,
            shown_material_ids=",".join(str(m.id) for m in ordered),
            recorded_by=clerk_id,
            recorded_at=now,
        )
        session.add(row)
        session.flush()
        access_log.append(
            session,
            kind="consultation",
            clerk_id=clerk_id,
            institution_id=workplace.institution.id,
            dossier_id=dossier_id,
            target_id=row.id,
            reason=f"{request.requesting_unit} {request.approval_no}",
        )
        register(access_log.Chain(session), row)
        if visit_id:
            visits.record(
                session,
                visit_id,
                "consultation_recorded",
                dossier_id=dossier_id,
                detail=str(row.id),
                at=now,
            )
        return RecordedConsultation(row.id)


def register(chain: access_log.Chain, row: Consultation) -> None:
    """Seal a newly registered consultation into the chain (``consultation_added``, content
    :func:`services.seals.row_content_hash`); call in the transaction that inserts it."""
    chain.append(
        kind="consultation_added",
        clerk_id=row.recorded_by,
        institution_id=row.institution_id,
        dossier_id=row.dossier_id,
        target_id=row.id,
        reason=seals.row_content_hash(row),
    )
