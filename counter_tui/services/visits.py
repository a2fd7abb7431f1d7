"""Service visits: one applicant at one counter, timed by its events.

Events: started (first lookup or "next applicant"), dossier_opened, material_viewed,
certificate_issued, consultation_recorded, closed, abandoned. Service time = closed/abandoned
minus started, in seconds.

A visit is one applicant: it may hold several certificates and consultations, and it ends
once, with an outcome (:data:`OUTCOMES`): on F2 (next applicant), when a different person's
dossier is opened at the same counter (:func:`successor_needed`), explicitly (F4), on quitting,
or at the next log-in if it was left open. Ending it without a stated outcome takes the
outcome from what was done (:func:`outcome_of`): a certificate, else a consultation, else
"answered" when a dossier was opened for the applicant, else abandoned (nothing was done).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, or_, select

from counter_tui.db.engine import Database
from counter_tui.db.models import ServiceEvent, ServiceVisit, utcnow
from counter_tui.read_models import Visit, Workplace

EVENT_KINDS = (
    "started",
    "dossier_opened",
    "material_viewed",
    "certificate_issued",
    "consultation_recorded",
    "closed",
    "abandoned",
)
END_KINDS = ("closed", "abandoned")
OUTCOMES = ("certificate", "consultation", "answered", "abandoned")
"""How a visit ended: served with a certificate, with a consultation, by answering the
applicant (a dossier was opened, nothing issued), or abandoned. The first three are stored as
a ``closed`` event with the outcome as its detail, the last as an ``abandoned`` event."""


def ensure_started(session: Session, workplace: Workplace, visit: Visit) -> bool:
    """Store ``visit`` with its ``started`` event unless a row with its id exists, inside the
    caller's transaction; returns True when it was stored now.

    Idempotent by the visit's id (chosen on the UI thread, see read_models.Visit): the F2
    worker and a scan's worker may both call it for the same applicant and exactly one row
    results. Uses ``INSERT … ON CONFLICT DO NOTHING`` (SQLite and PostgreSQL).
    """
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    result = session.execute(
        insert(ServiceVisit)
        .values(
            id=visit.id,
            institution_id=workplace.institution.id,
            counter=workplace.counter,
            clerk_id=workplace.clerk.id if workplace.clerk else None,
            ticket=visit.ticket,
            started_at=visit.started_at,
        )
        .on_conflict_do_nothing(index_elements=["id"])
    )
    if result.rowcount != 1:
        return False
    session.add(ServiceEvent(visit_id=visit.id, kind="started", at=visit.started_at))
    session.flush()
    return True


def start(
    db: Database,
    workplace: Workplace,
    *,
    ticket: str | None = None,
    at: dt.datetime | None = None,
) -> tuple[uuid.UUID, dt.datetime]:
    """Open a new visit at this counter in its own transaction; returns (visit id, start time
    as aware UTC). (The counter screen makes its :class:`Visit` on the UI thread and stores it
    with :func:`ensure_started` instead.)"""
    visit = Visit(started_at=at or utcnow(), ticket=ticket)
    with db.write() as session:
        ensure_started(session, workplace, visit)
    return visit.id, visit.started_at


def record(
    session: Session,
    visit_id: uuid.UUID,
    kind: str,
    *,
    dossier_id: uuid.UUID | None = None,
    detail: str = "",
    at: dt.datetime | None = None,
) -> ServiceEvent:
    """Add an event to a visit inside the caller's transaction. Raises ValueError for an
    unknown kind."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown service event kind {kind!r}")
    event = ServiceEvent(
        visit_id=visit_id, kind=kind, at=at or utcnow(), dossier_id=dossier_id, detail=detail[:255]
    )
    session.add(event)
    session.flush()
    return event


def finish(
    session: Session,
    visit_id: uuid.UUID,
    kind: str = "closed",
    *,
    at: dt.datetime | None = None,
    detail: str = "",
) -> float:
    """End a visit (``closed`` or ``abandoned``) inside the caller's transaction; returns the
    service time in seconds. A visit already ended is not ended twice (returns its time)."""
    if kind not in END_KINDS:
        raise ValueError(f"a visit ends as closed or abandoned, not {kind!r}")
    visit = session.get(ServiceVisit, visit_id)
    if visit is None:
        raise LookupError(f"no service visit {visit_id}")
    ended = session.exec(
        select(ServiceEvent).where(
            ServiceEvent.visit_id == visit_id, ServiceEvent.kind.in_(END_KINDS)
        )  # type: ignore[attr-defined]
    ).first()
    if ended is None:
        ended = record(session, visit_id, kind, at=at, detail=detail)
    return (ended.at - visit.started_at).total_seconds()


def outcome_of(session: Session, visit_id: uuid.UUID) -> str:
    """The outcome a visit has earned by its events (see :data:`OUTCOMES`): ``certificate``
    if one was issued, else ``consultation``, else ``answered`` if a dossier was opened or
    pages were shown, else ``abandoned``."""
    kinds = set(
        session.exec(select(ServiceEvent.kind).where(ServiceEvent.visit_id == visit_id)).all()
    )
    if "certificate_issued" in kinds:
        return "certificate"
    if "consultation_recorded" in kinds:
        return "consultation"
    if kinds & {"dossier_opened", "material_viewed"}:
        return "answered"
    return "abandoned"


def close(
    session: Session,
    workplace: Workplace,
    visit: Visit,
    outcome: str | None = None,
    *,
    at: dt.datetime | None = None,
) -> tuple[str, float]:
    """End ``visit`` inside the caller's transaction (storing it first if its start has not
    reached the database yet); returns (outcome, service seconds). ``outcome`` None: what the
    visit earned (:func:`outcome_of`); ``"served"``: the same, but ``answered`` rather than
    abandoned when nothing was recorded (the clerk says the applicant was helped); or one of
    :data:`OUTCOMES`. A visit already ended keeps its end and outcome. A visit never stored
    (nothing was looked up for it and it has no ticket) is not stored now, except when the
    clerk says it was served. Raises ValueError for an unknown outcome."""
    if outcome is not None and outcome != "served" and outcome not in OUTCOMES:
        raise ValueError(f"unknown visit outcome {outcome!r}")
    if outcome != "served" and session.get(ServiceVisit, visit.id) is None:
        # Never stored: F2 without a ticket and then nothing (nobody came). Not an applicant.
        return "abandoned", 0.0
    ensure_started(session, workplace, visit)
    ended = session.exec(
        select(ServiceEvent).where(
            ServiceEvent.visit_id == visit.id,
            ServiceEvent.kind.in_(END_KINDS),  # type: ignore[attr-defined]
        )
    ).first()
    if ended is not None:
        seconds = finish(session, visit.id, ended.kind)
        earlier = "abandoned" if ended.kind == "abandoned" else ended.detail
        return (earlier if earlier in OUTCOMES else "answered"), seconds
    earned = outcome_of(session, visit.id)
    if outcome == "served":
        outcome = "answered" if earned == "abandoned" else earned
    elif outcome is None:
        outcome = earned
    kind = "abandoned" if outcome == "abandoned" else "closed"
    detail = "" if outcome == "abandoned" else outcome
    return outcome, finish(session, visit.id, kind, at=at, detail=detail)


def end_visit(
    db: Database, workplace: Workplace, visit: Visit, outcome: str | None = None
) -> tuple[str, float]:
    """:func:`close` in its own write transaction (F4, quitting)."""
    with db.write() as session:
        return close(session, workplace, visit, outcome)


def successor_needed(session: Session, visit: Visit, dossier_id: uuid.UUID) -> bool:
    """True when opening ``dossier_id`` means a different applicant: ``visit`` already opened
    another person's dossier (one dossier per person) and has not ended."""
    others = session.exec(
        select(ServiceEvent.id).where(
            ServiceEvent.visit_id == visit.id,
            ServiceEvent.kind == "dossier_opened",
            ServiceEvent.dossier_id != dossier_id,
        )
    ).first()
    return others is not None


def next_applicant(
    db: Database, workplace: Workplace, previous: Visit | None, new: Visit | None
) -> None:
    """F2: end ``previous`` with the outcome it earned (:func:`close`) and store ``new`` if it
    has a queue ticket (a called ticket is an applicant even if nobody comes; without one the
    counter starts no visit: the next lookup does), in one write transaction. Visits are
    stored idempotently by id, so a scan's worker racing this one adds no second visit."""
    with db.write() as session:
        if previous is not None:
            close(session, workplace, previous)
        if new is not None and new.ticket:
            ensure_started(session, workplace, new)


OPEN_WINDOW = dt.timedelta(days=30)
"""How far back :func:`abandon_open` looks for visits left open (a bounded index range on a
city's year of visits; older open visits are already out of every day's figures)."""


def _open_visit_ids(
    session: Session,
    workplace: Workplace,
    clerk_id: uuid.UUID | None,
    before: dt.datetime,
    stale_after: dt.timedelta,
) -> list[uuid.UUID]:
    """Ids of this counter's visits that :func:`abandon_open` ends (read only)."""
    return list(
        session.exec(
            select(ServiceVisit.id).where(
                ServiceVisit.institution_id == workplace.institution.id,
                ServiceVisit.started_at >= before - OPEN_WINDOW,
                ServiceVisit.started_at < before,
                ServiceVisit.counter == workplace.counter,
                or_(
                    ServiceVisit.clerk_id == clerk_id,
                    ServiceVisit.started_at < before - stale_after,
                ),
                ~select(ServiceEvent.id)
                .where(
                    ServiceEvent.visit_id == ServiceVisit.id,
                    ServiceEvent.kind.in_(END_KINDS),  # type: ignore[attr-defined]
                )
                .exists(),
            )
        )
    )


def abandon_open(
    db: Database,
    workplace: Workplace,
    *,
    before: dt.datetime,
    stale_after: dt.timedelta = dt.timedelta(hours=12),
) -> int:
    """End visits left open by a crash, a closed terminal or a power cut at the time of their
    last event, with the outcome they earned (:func:`outcome_of`: a visit that issued a
    certificate was served); returns how many.

    Only visits of this counter started before ``before`` (aware), within
    :data:`OPEN_WINDOW` of it, that have no end event, and either belong to the clerk now logging in (their own earlier session) or started
    more than ``stale_after`` before ``before`` (anyone's, e.g. yesterday's). A colleague's
    service in progress at the same counter number is never touched. Called at log-in so
    that the dashboard does not count them as still being served.
    """
    clerk_id = workplace.clerk.id if workplace.clerk else None
    # Found in a read transaction (no write lock while a year of visits is looked at), over
    # the last OPEN_WINDOW of visits (an index range); ended in a short write transaction.
    with db.read() as session:
        found = _open_visit_ids(session, workplace, clerk_id, before, stale_after)
    if not found:
        return 0
    with db.write() as session:
        open_visits = session.exec(
            select(ServiceVisit).where(
                col(ServiceVisit.id).in_(found),
                ServiceVisit.started_at < before,
                or_(
                    ServiceVisit.clerk_id == clerk_id,
                    ServiceVisit.started_at < before - stale_after,
                ),
                ~select(ServiceEvent.id)
                .where(
                    ServiceEvent.visit_id == ServiceVisit.id,
                    ServiceEvent.kind.in_(END_KINDS),  # type: ignore[attr-defined]
                )
                .exists(),
            )
        ).all()
        for visit in open_visits:
            last = session.exec(
                select(ServiceEvent)
                .where(ServiceEvent.visit_id == visit.id)
                .order_by(ServiceEvent.at.desc())
                .limit(1)
            ).first()
            earned = outcome_of(session, visit.id)
            record(
                session,
                visit.id,
                "abandoned" if earned == "abandoned" else "closed",
                at=last.at if last else visit.started_at,
                detail="left open" if earned == "abandoned" else earned,
            )
        return len(open_visits)
