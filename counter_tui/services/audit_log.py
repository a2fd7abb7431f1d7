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
from counter_tui.read_models import Workplace
from counter_tui.services import auth, authorization

log = logging.getLogger(__name__)

LOG_READERS = authorization.RULES["read_access_log"].roles
"""Roles (services.auth.ROLES) that may read the access log (services.authorization)."""


class AccessLogRefused(authorization.Forbidden, auth.AuthError):
    """Reading the log refused by the rule ``read_access_log`` (logged in the access log
    itself): both an authorization.Forbidden (``why``: ``no_account``, ``inactive``, ``role``)
    and, as before, an auth.AuthError whose ``reason`` is ``forbidden`` (nobody, or another
    role) or ``disabled``."""

    def __init__(self, reason: str, message: str, **kwargs: object) -> None:
        super().__init__(reason, message, **kwargs)  # type: ignore[arg-type]
        self.reason = "disabled" if reason == "inactive" else "forbidden"
        self.delay_s = 0.0


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
    log (services.authorization rule ``read_access_log``); the role and the active flag are
    read from the database, so a change takes effect at once. Raises AccessLogRefused (an
    ``auth.AuthError`` ``forbidden`` — nobody logged in, or another role — or ``disabled``),
    written to the access log as a refusal. Raises ValueError for ``limit`` < 1.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    with authorization.refusals_logged(db, workplace), db.read() as session:
        authorization.require(session, workplace, "read_access_log", error=AccessLogRefused)
        rows = session.exec(
            select(
                AccessEvent.seq,
                AccessEvent.at,
                Clerk.name,
                AccessEvent.kind,
                Dossier.dossier_no,
                AccessEvent.reason,
                AccessEvent.target_id,
            )
            .select_from(AccessEvent)
            .outerjoin(Clerk, col(Clerk.id) == col(AccessEvent.clerk_id))
            .outerjoin(Dossier, col(Dossier.id) == col(AccessEvent.dossier_id))
            .order_by(col(AccessEvent.seq).desc())
            .limit(limit)
        ).all()
        # An account change names the account, not its content hash (the seal).
        targets = {t for _s, _a, _n, kind, _d, _r, t in rows if kind in auth.ACCOUNT_KINDS}
        usernames = (
            {
                c.id: c.username
                for c in session.exec(select(Clerk).where(col(Clerk.id).in_(list(targets))))
            }
            if targets
            else {}
        )
    return [
        AccessLogRow(
            seq=seq,
            at=at if at.tzinfo else at.replace(tzinfo=dt.UTC),  # SQLite keeps no offset
            clerk_name=name or "",
            kind=kind,
            dossier_no=dossier_no or "",
            reason=usernames.get(target, reason) if kind in auth.ACCOUNT_KINDS else reason,
        )
        for seq, at, name, kind, dossier_no, reason, target in rows
    ]
