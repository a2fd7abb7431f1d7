"""Who is serving where: the institution, clerk and counter a session works for."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import Session, select

from counter_tui.db.engine import Database
from counter_tui.db.models import Clerk, Institution
from counter_tui.i18n import _


class WorkplaceError(LookupError):
    """The configured institution or clerk does not exist; the message says which."""


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


def load(db: Database, *, institution_code: str = "", clerk_username: str = "",
         counter: str = "1") -> Workplace:
    """Resolve the settings' institution code and clerk username.

    Empty values pick the first institution (by code) and its first active clerk (by username).
    Raises WorkplaceError when the database has no institution or a named one is missing.
    """
    with db.read() as session:
        stmt = select(Institution).order_by(Institution.code)
        if institution_code:
            stmt = stmt.where(Institution.code == institution_code)
        inst = session.exec(stmt).first()
        if inst is None:
            if institution_code:
                raise WorkplaceError(
                    _("No institution with code {code} in this database.").format(code=institution_code)
                )
            raise WorkplaceError(_("This database has no institution yet; build the demo archive "
                                   "or import institutions first."))
        cstmt = select(Clerk).where(Clerk.active == True).order_by(Clerk.username)  # noqa: E712
        if clerk_username:
            cstmt = cstmt.where(Clerk.username == clerk_username)
        else:
            cstmt = cstmt.where(Clerk.institution_id == inst.id)
        clerk = session.exec(cstmt).first()
        if clerk is None and clerk_username:
            raise WorkplaceError(_("No active account named {name}.").format(name=clerk_username))
        clerk_ref = ClerkRef(clerk.id, clerk.username, clerk.name, clerk.role) if clerk else None
        return Workplace(institution_ref(inst), clerk_ref, counter)
