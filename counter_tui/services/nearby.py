"""就近办理: serving an applicant at the nearest office when another office holds the dossier.

The policy (docs/SECURITY.md, "Serving at the nearest office"):

- **Who and when.** A counter clerk or supervisor (rule ``serve_nearby``) of office B, with the
  applicant present: the applicant's full resident ID (GB 11643, typed or read from the card)
  is the key, never a name or a dossier number, and never the clerk's own ID. Only online:
  the catalogue is read from the city's central database at that moment; offline it is
  refused with the reason (:class:`NearbyError` ``offline`` / ``not_configured``).
- **What B sees.** The dossier's header, custody and catalogue (材料目录), read-only, through
  central's SECURITY DEFINER function ``nearby_view`` (services.central_nearby_sql), which in
  the same statement records the view in central's ``nearby_access`` naming B, the clerk and
  the holder A. Page images stay with A. B keeps a sealed copy of the dossier's header and
  custody events (they name A as the holder, so nothing at B may add to, receive or serve it
  as its own, and B never sends them back); the catalogue is not stored at B.
- **What B may issue.** A 存档证明 or a certificate citing materials of that catalogue (rule
  ``issue_nearby``), under B's serial, the certified text naming A as the institution holding
  the dossier (services.issuance ``nearby``), within :data:`VIEW_VALID` of the view and only
  while central is reachable; central records the issue (``nearby_issue``) beside the view.
- **Logged for both.** B's access chain has ``nearby_view`` and ``certificate``; A pulls
  central's records of its dossiers into its own
  chain as ``nearby_viewed_elsewhere`` / ``nearby_issued_elsewhere`` naming B, the clerk and
  the serial (services.nearby_records, run by every sync), and pulls B's certificate itself
  with the dossier's other facts (services.sync).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from counter_tui.db.engine import DATABASE_ERRORS, Database, explain
from counter_tui.db.models import (
    CustodyEvent,
    Dossier,
    Institution,
    Material,
    new_id,
    utcnow,
)
from counter_tui.domain import resident_id
from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.read_models import DossierView, IssuedCertificate, NearbyDossier, Visit
from counter_tui.services import access_log, auth, authorization, custody, issuance, sync, visits
from counter_tui.services.central_nearby_sql import VIEW_VALID_HOURS
from counter_tui.services.viewing import catalogue_rows
from counter_tui.services.workplace import Workplace

log = logging.getLogger(__name__)

VIEW_VALID = dt.timedelta(hours=VIEW_VALID_HOURS) - dt.timedelta(minutes=5)
"""How long after the view a certificate may be issued from it here (central allows
:data:`~counter_tui.services.central_nearby_sql.VIEW_VALID_HOURS`; a margin for clocks)."""


class NearbyError(CounterError):
    """就近办理 is not possible now; ``str()`` says why in the UI language. ``reason``:
    ``invalid_id`` (not a valid resident ID), ``not_configured`` (no central database set),
    ``offline`` (central cannot be reached), ``not_found`` (central knows no dossier of that
    ID), ``held_here`` (this office holds it: serve it normally), ``in_transit`` (between two
    institutions), ``expired`` (the view is too old: look it up again), ``own_dossier``."""


class NearbyRefused(authorization.Forbidden, NearbyError):
    """Refused by the authorization rules (role, account, the clerk's own dossier)."""


def open_nearby(
    db: Database,
    central: Database | None,
    workplace: Workplace,
    id_text: str,
    visit: Visit | None,
) -> NearbyDossier:
    """Read from central the dossier of the resident ID ``id_text`` held by another office,
    for serving it here (module docstring): checks the rule ``serve_nearby`` and the clerk's
    own ID, calls central's ``nearby_view`` (which records the view for the holder), then
    stores here, in one write transaction, the visit (if new), a sealed copy of the dossier's
    header and custody events, the access event ``nearby_view`` and the service event
    ``dossier_opened``. Returns the read-only view. Raises NearbyError / NearbyRefused (a
    refusal is logged) and StorageBusyError for a locked office database."""
    try:
        number = resident_id.parse(id_text)
    except resident_id.ResidentIdError as exc:
        raise NearbyError(str(exc), reason="invalid_id") from None
    with authorization.refusals_logged(db, workplace), db.read() as session:
        clerk = authorization.require(session, workplace, "serve_nearby", error=NearbyRefused)
        if auth.is_own_id_number(session, clerk.id, number):
            raise NearbyRefused(
                "own_dossier",
                _("This is your own dossier: you may not {what}. Ask a colleague.").format(
                    what=_("serve at the nearest office")
                ),
                action="serve_nearby",
                clerk_id=clerk.id,
            )
    remote = _require_central(central)
    record = new_id()
    answer = _ask_central(
        remote,
        "SELECT nearby_view(:n, :r, :u, :name)",
        {"n": number, "r": record, "u": clerk.username, "name": clerk.name},
    )
    status = answer.get("status")
    if status != "ok":
        raise _status_error(db, status, answer)
    holder = answer["holder"]
    dossier = Dossier.model_validate(answer["dossier"])
    events = [CustodyEvent.model_validate(e) for e in answer["custody"]]
    materials = [Material.model_validate(m) for m in answer["materials"]]
    scanned = {
        m.id: int(raw.get("scanned_pages") or 0)
        for m, raw in zip(materials, answer["materials"], strict=True)
    }
    holder_id = uuid.UUID(holder["id"])
    with db.write() as session:
        _keep_copy(session, remote, dossier, events, workplace.institution.id)
        if visit is not None:
            visits.ensure_started(session, workplace, visit)
            visits.record(session, visit.id, "dossier_opened", dossier_id=dossier.id)
        access_log.Chain(session).append(
            kind="nearby_view",
            clerk_id=clerk.id,
            institution_id=workplace.institution.id,
            dossier_id=dossier.id,
            target_id=record,
            reason=f"held by {holder.get('code', '')}",
        )
        state = custody.states(session, [dossier.id])[dossier.id]
    rows = catalogue_rows(materials, scanned)
    view = DossierView(
        id=dossier.id,
        dossier_no=dossier.dossier_no,
        person_name=dossier.person_name,
        id_masked=resident_id.mask(dossier.id_number or ""),
        gender=dossier.gender,
        birth_date_recorded=dossier.birth_date_recorded,
        holder_name=str(holder.get("name", "")),
        held_since=state.since,
        shelf_location="",
        digitised=any(r.scanned_pages for r in rows),
        materials=rows,
    )
    return NearbyDossier(
        view=view,
        holder_id=holder_id,
        holder_code=str(holder.get("code", "")),
        holder_address=str(holder.get("address") or ""),
        holder_phone=str(holder.get("phone") or ""),
        record_id=record,
        read_at=utcnow(),
    )


def issue_nearby(
    db: Database,
    central: Database | None,
    request: issuance.CertificateRequest,
    nearby: NearbyDossier,
    *,
    workplace: Workplace,
    visit_id: uuid.UUID | None,
    certificates_dir: Any,
    templates_dir: Any = None,
    now: dt.datetime | None = None,
) -> IssuedCertificate:
    """Issue ``request`` from a dossier served here (module docstring): refused when the view
    is older than :data:`VIEW_VALID` (``expired``) or central cannot be reached (``offline``);
    then services.issuance.issue with the holder named, and central's ``nearby_issue`` record
    (should central fail between the two, the certificate still reaches the holder with the
    next sync, and the failure is logged). Raises NearbyError, IssuanceError and what
    issuance.issue raises."""
    # Who may: before anything else (a refusal is logged), as issuance.issue checks again.
    authorization.check(db, workplace, "issue_nearby", error=issuance.IssuanceRefused)
    moment = now or utcnow()
    if moment - nearby.read_at > VIEW_VALID:
        raise NearbyError(
            _(
                "The catalogue was read from the central database more than {hours} hours ago; "
                "look the resident ID up again."
            ).format(hours=VIEW_VALID_HOURS),
            reason="expired",
        )
    remote = _require_central(central)
    _ask_central(remote, "SELECT 1", {}, expect_json=False)
    issued = issuance.issue(
        db,
        request,
        dossier_id=nearby.view.id,
        workplace=workplace,
        visit_id=visit_id,
        certificates_dir=certificates_dir,
        templates_dir=templates_dir,
        now=now,
        nearby=issuance.NearbySource(
            holder_id=nearby.holder_id,
            holder_name=nearby.view.holder_name,
            held_since=nearby.view.held_since,
            materials=tuple(nearby.view.materials),
        ),
    )
    clerk = workplace.clerk
    try:
        _ask_central(
            remote,
            "SELECT nearby_issue(:r, :v, :s, :u, :name)",
            {
                "r": new_id(),
                "v": nearby.record_id,
                "s": issued.serial,
                "u": clerk.username if clerk else "",
                "name": clerk.name if clerk else "",
            },
            expect_json=False,
        )
    except NearbyError:
        log.warning(
            "certificate %s issued; central did not record it now (it arrives with the next sync)",
            issued.serial,
            exc_info=True,
        )
    return issued


# --- helpers -------------------------------------------------------------------------------


def _require_central(central: Database | None) -> Database:
    if central is None:
        raise NearbyError(
            _(
                "This office is not connected to the city's central database (setting "
                "central); a dossier held elsewhere can only be served online."
            ),
            reason="not_configured",
        )
    return central


def _offline(exc: BaseException, central: Database) -> NearbyError:
    return NearbyError(
        _(
            "The city's central database cannot be used now ({error}); a dossier held "
            "elsewhere can only be served online. Tell the applicant where it is held."
        ).format(error=str(explain(exc, central.url)).splitlines()[0]),
        reason="offline",
    )


def _ask_central(
    central: Database, query: str, params: dict[str, Any], *, expect_json: bool = True
) -> dict[str, Any]:
    """Run ``query`` in a write transaction of central and return its JSON answer (``{}``
    when not ``expect_json``); a database failure is NearbyError ``offline``."""
    try:
        with central.write() as remote:
            value = remote.execute(text(query), params).scalar()
    except DATABASE_ERRORS as exc:
        raise _offline(exc, central) from exc
    if not expect_json:
        return {}
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, dict) else {}


def _status_error(db: Database, status: object, answer: dict[str, Any]) -> NearbyError:
    if status == "held_here":
        return NearbyError(
            _("This office holds that dossier: scan it or type its number to serve it."),
            reason="held_here",
        )
    if status == "in_transit":
        with db.read() as session:
            holder = session.get(Institution, uuid.UUID(str(answer.get("holder"))))
        return NearbyError(
            _(
                "That dossier is on its way to {holder} (转出待接收); it cannot be served until it "
                "is received."
            ).format(holder=holder.name if holder else "?"),
            reason="in_transit",
        )
    return NearbyError(
        _("The central database holds no dossier of that resident ID."), reason="not_found"
    )


def _keep_copy(
    session: Session,
    central: Database,
    dossier: Dossier,
    events: list[CustodyEvent],
    origin: uuid.UUID,
) -> None:
    """Store the dossier's header and custody events as pulled rows (sealed, never pushed
    back; services.sync), unless already here, with stand-ins of the accounts they name
    (public fields only, services.sync.account_stub)."""
    rows: list[tuple[str, Any]] = [("dossier", dossier)]
    rows += [("custody_event", e) for e in events]
    try:
        with central.read() as remote:
            sync.apply_rows(session, rows, origin, central=remote)
    except DATABASE_ERRORS as exc:
        raise _offline(exc, central) from exc
