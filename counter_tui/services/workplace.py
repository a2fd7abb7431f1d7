"""Who is serving where: the institution, clerk and counter a session works for."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import Session, select

from counter_tui.db.models import Institution


@dataclass(frozen=True)
class InstitutionRef:
    """Read model of an institution."""

    id: uuid.UUID
    code: str
    name: str
    serial_prefix: str


@dataclass(frozen=True)
class ClerkRef:
    """Read model of a clerk account."""

    id: uuid.UUID
    username: str
    name: str
    role: str


@dataclass(frozen=True)
class Workplace:
    """The institution, clerk and counter (window number) of this session."""

    institution: InstitutionRef
    clerk: ClerkRef | None
    counter: str


def institution_ref(row: Institution) -> InstitutionRef:
    """Read model of an Institution row."""
    return InstitutionRef(row.id, row.code, row.name, row.serial_prefix)


def institution_names(session: Session) -> dict[uuid.UUID, str]:
    """Map of every institution's id to its name."""
    return {i.id: i.name for i in session.exec(select(Institution))}
