"""Who is serving where: the institution, clerk and counter a session works for."""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from counter_tui.db.models import Institution
from counter_tui.read_models import ClerkRef, InstitutionRef, Workplace  # noqa: F401 - re-exported


def institution_ref(row: Institution) -> InstitutionRef:
    """Read model of an Institution row."""
    return InstitutionRef(
        row.id,
        row.code,
        row.name,
        row.serial_prefix,
        uscc=row.uscc or "",
        address=row.address or "",
    )


def institution_names(session: Session) -> dict[uuid.UUID, str]:
    """Map of every institution's id to its name."""
    return {i.id: i.name for i in session.exec(select(Institution))}
