"""Who is serving where: the institution, clerk and counter a session works for."""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from counter_tui.db.engine import Database
from counter_tui.db.models import Institution
from counter_tui.i18n import _
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


def institution_id(db: Database, code: str) -> uuid.UUID:
    """The id of the institution ``code`` (e.g. ``CY-RC``, any case). Raises LookupError with
    a message for the operator when ``code`` is empty or unknown."""
    if not code.strip():
        raise LookupError(
            _(
                "Say which institution this office is: --institution CODE or institution in settings.toml."
            )
        )
    with db.read() as session:
        row = session.exec(
            select(Institution).where(Institution.code == code.strip().upper())
        ).first()
    if row is None:
        raise LookupError(_("No institution {code} in this archive.").format(code=code))
    return row.id


def institution_codes(db: Database) -> list[str]:
    """Every institution's code, sorted."""
    with db.read() as session:
        return sorted(i.code for i in session.exec(select(Institution)))
