"""Reading the access log (the auditor's screen): the newest events with clerk names and
dossier numbers, for roles allowed to read it. (services.access_log writes the chain; this
module only reads it, and checks who asks.)"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlmodel import col, select

from counter_tui.db.engine import Database
from counter_tui.db.models import AccessEvent, Clerk, Dossier
from counter_tui.i18n import _
from counter_tui.read_models import Workplace
from counter_tui.services import auth

log = logging.getLogger(__name__)

LOG_READERS = frozenset({"auditor", "admin"})
"""Roles (services.auth.ROLES) that may read the access log."""


@dataclass(frozen=True)
class AccessLogRow:
    """One access event as an auditor reads it.

    ``at`` is aware UTC; ``clerk_name`` is "" for events no clerk caused (e.g. materials
    sealed by an import); ``kind`` is one of :data:`KINDS` (label: :data:`KIND_LABELS`);
    ``dossier_no`` is "" when the event concerns no dossier; ``reason`` is as recorded (a
    code such as ``counter`` or ``not_held``, a username for log-ins, or free text).
    """

    seq: int
    at: dt.datetime
    clerk_name: str
    kind: str
    dossier_no: str
    reason: str


def recent_events(
    db: Database, workplace: Workplace | None, *, limit: int = 500
) -> list[AccessLogRow]:
    """The newest ``limit`` access events, newest (highest seq) first, in one read transaction.

    Only an active account with a role in :data:`LOG_READERS` (auditor, admin) may read the
    log; the role and the active flag are read from the database, so a change takes effect
    at once. Raises ``auth.AuthError`` ``forbidden`` (nobody logged in, or another role) or
    ``disabled``; the refusal is logged (Python logging). Raises ValueError for ``limit`` < 1.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    with db.read() as session:
        who = workplace.clerk if workplace else None
        clerk = session.get(Clerk, who.id) if who else None
        if clerk is None or clerk.role not in LOG_READERS:
            log.warning(
                "access log refused to %s (role %s)",
                clerk.username if clerk else "nobody",
                clerk.role if clerk else "-",
            )
            raise auth.AuthError(
                "forbidden", _("Only auditors and administrators may read the access log.")
            )
        if not clerk.active:
            log.warning("access log refused to disabled account %s", clerk.username)
            raise auth.AuthError("disabled", _("This account is disabled; ask the administrator."))
        rows = session.exec(
            select(
                AccessEvent.seq,
                AccessEvent.at,
                Clerk.name,
                AccessEvent.kind,
                Dossier.dossier_no,
                AccessEvent.reason,
            )
            .select_from(AccessEvent)
            .outerjoin(Clerk, col(Clerk.id) == col(AccessEvent.clerk_id))
            .outerjoin(Dossier, col(Dossier.id) == col(AccessEvent.dossier_id))
            .order_by(col(AccessEvent.seq).desc())
            .limit(limit)
        ).all()
    return [
        AccessLogRow(
            seq=seq,
            at=at if at.tzinfo else at.replace(tzinfo=dt.UTC),  # SQLite keeps no offset
            clerk_name=name or "",
            kind=kind,
            dossier_no=dossier_no or "",
            reason=reason,
        )
        for seq, at, name, kind, dossier_no, reason in rows
    ]
