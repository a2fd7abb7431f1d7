"""The access log: every view of a dossier, material or page, chained by SHA-256.

Each access_event row carries ``hash`` = SHA-256 (hex) of the RFC 8785 (JSON Canonicalization
Scheme) serialisation of its content — seq, time, clerk, institution, kind, dossier, target,
reason — together with ``prev_hash``, the previous row's hash ("" for the first). Editing,
deleting or reordering rows behind the application's back therefore breaks the chain. Each
event also carries ``mac``, an HMAC of its hash under the keyring's chain key
(services.chain_key), so an event appended by someone without the key is told apart.

Auditors and administrators read the log through services.audit_log.recent_events.
"""

from __future__ import annotations

import hashlib
import logging
import uuid

from sqlalchemy import text
from sqlmodel import Session, select

from counter_tui.db.models import AccessEvent, utcnow
from counter_tui.domain import canonical
from counter_tui.i18n import N_
from counter_tui.services import chain_key

log = logging.getLogger(__name__)

KIND_LABELS: dict[str, str] = {
    "dossier": N_("dossier opened"),
    "material": N_("material viewed"),
    "page": N_("page viewed"),
    "export": N_("exported"),
    "refused": N_("access refused"),
    "certificate": N_("certificate issued"),
    "login": N_("logged in"),
    "login_failed": N_("log-in failed"),
    "login_throttled": N_("log-in refused during the delay after failures"),
    "login_locked": N_("log-in refused: locked after failures"),
    "account_added": N_("account added (sealed)"),
    "account_password_changed": N_("account password changed (sealed)"),
    "account_disabled": N_("account disabled (sealed)"),
    "account_enabled": N_("account enabled or unlocked (sealed)"),
    "account_changed": N_("account's own ID changed (sealed)"),
    "reveal_id": N_("full ID revealed"),
    "material_added": N_("material added (sealed)"),
    "page_added": N_("page added (sealed)"),
    "consultation": N_("consultation registered"),
    "certificate_added": N_("certificate added (sealed)"),
    "certificate_event_added": N_("certificate printed, reprinted or voided (sealed)"),
    "key_list_added": N_("signing key list stored (sealed)"),
    "custody_event_added": N_("custody event recorded (sealed)"),
    "consultation_added": N_("consultation registered (sealed)"),
    "dossier_added": N_("dossier registered (sealed)"),
    "institution_changed": N_("institution recorded or changed (sealed)"),
    "nearby_view": N_("dossier held elsewhere viewed here (就近办理)"),
    "nearby_viewed_elsewhere": N_("dossier held here viewed at another office (就近办理)"),
    "nearby_issued_elsewhere": N_("certificate issued at another office from a dossier held here"),
}
"""Each access event kind with its label for auditors (a msgid; translate when shown)."""
KINDS = tuple(KIND_LABELS)


def canonical_content(event: AccessEvent) -> dict[str, object]:
    """The fields an access event's hash covers, as a JSON-ready dict (UUIDs and times as text)."""
    at = event.at
    return {
        "seq": event.seq,
        "at": at.isoformat(timespec="microseconds") if at else None,
        "clerk_id": str(event.clerk_id) if event.clerk_id else None,
        "institution_id": str(event.institution_id) if event.institution_id else None,
        "kind": event.kind,
        "dossier_id": str(event.dossier_id) if event.dossier_id else None,
        "target_id": str(event.target_id) if event.target_id else None,
        "reason": event.reason,
        "prev_hash": event.prev_hash,
    }


def compute_hash(event: AccessEvent) -> str:
    """SHA-256 hex digest of the RFC 8785 canonical JSON of :func:`canonical_content`."""
    return hashlib.sha256(canonical.dumps(canonical_content(event))).hexdigest()


class Chain:
    """Appends several events in one write transaction without re-reading the head each time.

    Create it inside the caller's write transaction (it takes the PostgreSQL advisory lock and
    reads the current head once), then call :meth:`append` as often as needed.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(4711)"))
        last = session.exec(select(AccessEvent).order_by(AccessEvent.seq.desc()).limit(1)).first()
        self.seq = last.seq if last else 0
        self.head = last.hash if last else ""
        self.key = chain_key.for_appending(self.seq + 1)

    def append(
        self,
        *,
        kind: str,
        clerk_id: uuid.UUID | None,
        institution_id: uuid.UUID | None,
        dossier_id: uuid.UUID | None = None,
        target_id: uuid.UUID | None = None,
        reason: str = "",
    ) -> AccessEvent:
        """Add one event after the current head. Raises ValueError for an unknown kind."""
        if kind not in KINDS:
            raise ValueError(f"unknown access event kind {kind!r}")
        event = AccessEvent(
            seq=self.seq + 1,
            at=utcnow(),
            clerk_id=clerk_id,
            institution_id=institution_id,
            kind=kind,
            dossier_id=dossier_id,
            target_id=target_id,
            reason=reason[:255],
            prev_hash=self.head,
        )
        event.hash = compute_hash(event)
        event.mac = self.key.mac(event.hash) if self.key else ""
        self.session.add(event)
        self.seq, self.head = event.seq, event.hash
        return event


def append(
    session: Session,
    *,
    kind: str,
    clerk_id: uuid.UUID | None,
    institution_id: uuid.UUID | None,
    dossier_id: uuid.UUID | None = None,
    target_id: uuid.UUID | None = None,
    reason: str = "",
) -> AccessEvent:
    """Append one access event to the chain inside the caller's write transaction.

    ``kind`` is one of :data:`KINDS`. On PostgreSQL a transaction-level advisory lock serialises
    writers; on SQLite the caller's BEGIN IMMEDIATE already does. Raises ValueError for an
    unknown kind.
    """
    event = Chain(session).append(
        kind=kind,
        clerk_id=clerk_id,
        institution_id=institution_id,
        dossier_id=dossier_id,
        target_id=target_id,
        reason=reason,
    )
    session.flush()
    return event
