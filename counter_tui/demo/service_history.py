"""Generated service history: weeks or a year of counter services for demos and benchmarks.

Used by the demo builder (:func:`counter_tui.demo.build.build_demo`), the report tests and
scripts/bench_dashboard.py; never by the app's services.

Each working day (Monday–Friday) every open counter of an institution serves a queue of
applicants arriving between 9:00–12:00 and 14:00–17:45 Beijing time, most in the mid-morning
(mode 10:00) and mid-afternoon (mode 15:00). A counter serves one applicant at a time: a
service starts when the applicant arrives or when the previous one is done, whichever is later
(a busy counter's queue may run past closing time). Outcomes and times:

=============  ======  ==========================================  =========================
outcome        share   events                                      service time (median)
=============  ======  ==========================================  =========================
certificate    55 %    started, dossier_opened, material_viewed×   ~2.5 min, log-normal
                       0–2, certificate_issued, closed
consultation   10 %    started, dossier_opened, material_viewed×   ~4 min
                       1–3, consultation_recorded, closed
lookup only    28 %    started, dossier_opened (most), closed      ~1.2 min
abandoned       7 %    started, (dossier_opened), abandoned        ~1 min
=============  ======  ==========================================  =========================

plus a long tail: 4 % of services take 2.5–6 times as long. Certificates get kinds in
proportions typical of a district centre (存档证明 most) and serials continuing each
institution's yearly sequence (``PREFIX-YEAR-NNNNNN``, domain.certificates). Consultations
also get a ``consultation`` row. Certificates of generated history have no document
(``text_path`` and ``text_sha256`` are empty, no payload or 查验码); each is sealed in the
access chain (``certificate_added``, services.fixity) as every certificate is. No other access
events are written: the access log records real views only.

Rows are appended with bulk Core ``INSERT … executemany`` in one write transaction per batch
of days (fact tables are append-only). Services that would start after ``now`` are not
generated; services running at ``now`` are left open (no end event), as on a live day.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection
from sqlmodel import Session

from counter_tui.db.engine import Database
from counter_tui.db.models import (
    Certificate,
    Clerk,
    Consultation,
    CustodyEvent,
    Institution,
    ServiceEvent,
    ServiceVisit,
    new_id,
)
from counter_tui.domain import clock
from counter_tui.domain.certificates import PURPOSES, format_serial, parse_serial
from counter_tui.services import access_log, certificate_audit, consultation, custody

# Beijing-time working sessions: (start, end, mode of the arrival density), seconds after 0:00.
SESSIONS = ((9 * 3600, 12 * 3600, 10 * 3600), (14 * 3600, 17 * 3600 + 45 * 60, 15 * 3600))
MORNING_SHARE = 0.55
WEEKDAY_FACTOR = (1.15, 1.0, 1.0, 0.95, 0.9)  # Monday … Friday
OUTCOMES = (("certificate", 0.55), ("consultation", 0.10), ("lookup", 0.28), ("abandoned", 0.07))
# (median seconds, log-normal sigma) of the service time by outcome.
DURATION = {
    "certificate": (150, 0.35),
    "consultation": (240, 0.4),
    "lookup": (75, 0.45),
    "abandoned": (60, 0.6),
}
TAIL_SHARE = 0.04
MAX_SERVICE_S = 40 * 60
CERTIFICATE_MIX = (
    ("custody", 0.40),
    ("experience", 0.20),
    ("work_start", 0.12),
    ("education", 0.10),
    ("kinship", 0.10),
    ("political_review", 0.08),
)
CONSULTING_UNITS = (
    "区委组织部",
    "区人力资源和社会保障局",
    "市公安局政治部",
    "北京某科技有限公司",
    "区教育委员会",
    "某街道办事处",
)
CONSULTING_PURPOSES = ("政审", "考察", "录用", "干部任免")
DOSSIER_POOL_LIMIT = 5000
DEFAULT_PER_COUNTER_DAY = 40.0


@dataclass
class _Place:
    """One institution's generation state."""

    id: uuid.UUID
    code: str
    serial_prefix: str
    counters: list[str]
    clerks: list[uuid.UUID]
    dossiers: list[uuid.UUID]
    approvals: int = 0


@dataclass
class _Batch:
    visits: list[dict]
    events: list[dict]
    certificates: list[dict]
    consultations: list[dict]

    @classmethod
    def empty(cls) -> _Batch:
        return cls([], [], [], [])


def _counter_names(counters: int | Sequence[str]) -> list[str]:
    if isinstance(counters, int):
        if counters < 1:
            raise ValueError("counters must be at least 1")
        return [str(n) for n in range(1, counters + 1)]
    names = [str(c) for c in counters]
    if not names:
        raise ValueError("counters must name at least one counter")
    return names


def _held_dossiers(connection: Connection, institution_id: uuid.UUID) -> list[uuid.UUID]:
    """Up to DOSSIER_POOL_LIMIT dossiers whose current holder is the institution."""
    candidates = [
        r[0]
        for r in connection.execute(
            select(CustodyEvent.__table__.c.dossier_id)
            .where(CustodyEvent.__table__.c.holder_institution_id == institution_id)
            .distinct()
            .limit(DOSSIER_POOL_LIMIT)
        )
    ]
    if not candidates:
        return []
    with Session(bind=connection) as session:
        states = custody.states(session, candidates)
    return sorted(
        (d for d, s in states.items() if s.held_by(institution_id)),
        key=str,
    )


def _serial_start(connection: Connection, prefix: str, year: int) -> int:
    cert = Certificate.__table__
    last = connection.execute(
        select(func.max(cert.c.serial)).where(cert.c.serial.startswith(f"{prefix}-{year:04d}-"))
    ).scalar()
    return parse_serial(last)[2] + 1 if last else 1


def _places(
    connection: Connection,
    institution_ids: Sequence[uuid.UUID],
    counters: int | Sequence[str],
    clerk_ids: Sequence[uuid.UUID],
) -> list[_Place]:
    names = _counter_names(counters)
    inst_table = Institution.__table__
    clerk_table = Clerk.__table__
    rows = {
        r.id: r
        for r in connection.execute(
            select(inst_table).where(inst_table.c.id.in_(list(institution_ids)))
        )
    }
    missing = [str(i) for i in institution_ids if i not in rows]
    if missing:
        raise LookupError(f"no institution with id {', '.join(missing)}")
    clerk_home = (
        {
            r.id: r.institution_id
            for r in connection.execute(
                select(clerk_table.c.id, clerk_table.c.institution_id).where(
                    clerk_table.c.id.in_(list(clerk_ids))
                )
            )
        }
        if clerk_ids
        else {}
    )
    unknown = [str(c) for c in clerk_ids if c not in clerk_home]
    if unknown:
        raise LookupError(f"no clerk with id {', '.join(unknown)}")
    places = []
    for inst_id in institution_ids:
        row = rows[inst_id]
        places.append(
            _Place(
                id=inst_id,
                code=row.code,
                serial_prefix=row.serial_prefix,
                counters=names,
                clerks=[c for c in clerk_ids if clerk_home[c] == inst_id],
                dossiers=_held_dossiers(connection, inst_id),
            )
        )
    return places


def _choose(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    x = rng.random()
    for value, weight in weighted:
        x -= weight
        if x < 0:
            return value
    return weighted[-1][0]


def _arrivals(rng: random.Random, count: int) -> list[float]:
    """``count`` arrival times, seconds after Beijing midnight, ascending."""
    times = []
    for _n in range(count):
        low, high, mode = SESSIONS[0] if rng.random() < MORNING_SHARE else SESSIONS[1]
        times.append(rng.triangular(low, high, mode))
    times.sort()
    return times


def _service_seconds(rng: random.Random, outcome: str) -> float:
    median, sigma = DURATION[outcome]
    seconds = median * math.exp(rng.gauss(0.0, sigma))
    if rng.random() < TAIL_SHARE:
        seconds *= rng.uniform(2.5, 6.0)
    return max(15.0, min(seconds, MAX_SERVICE_S))


class _Generator:
    def __init__(
        self,
        rng: random.Random,
        places: list[_Place],
        per_counter_day: float,
        now: dt.datetime,
        connection_for_serials: Callable[[str, int], int],
    ) -> None:
        self.rng = rng
        self.places = places
        self.per_counter_day = per_counter_day
        self.now = now
        self.serial_start = connection_for_serials
        self.next_serial: dict[tuple[str, int], int] = {}  # (prefix, year) → next number

    def day(self, day: dt.date, batch: _Batch) -> int:
        """Generate one calendar day into ``batch``; returns the number of services."""
        if day.weekday() >= 5:
            return 0
        midnight, _next_midnight = clock.day_bounds(day)
        mean = self.per_counter_day * WEEKDAY_FACTOR[day.weekday()]
        made = 0
        for place in self.places:
            staffed = place.counters
            clerks: list[uuid.UUID | None] = [None] * len(staffed)
            if place.clerks:
                # A clerk staffs one counter a day; the rota turns daily.
                staffed = place.counters[: len(place.clerks)]
                shift = day.toordinal() % len(place.clerks)
                rota = place.clerks[shift:] + place.clerks[:shift]
                clerks = list(rota[: len(staffed)])
            for counter, clerk in zip(staffed, clerks, strict=True):
                count = max(0, round(self.rng.gauss(mean, math.sqrt(mean))))
                made += self._counter_day(place, counter, clerk, midnight, day, count, batch)
        return made

    def _counter_day(
        self,
        place: _Place,
        counter: str,
        clerk: uuid.UUID | None,
        midnight: dt.datetime,
        day: dt.date,
        count: int,
        batch: _Batch,
    ) -> int:
        rng = self.rng
        free_at = 0.0
        made = 0
        for arrival in _arrivals(rng, count):
            start_s = max(arrival, free_at + rng.uniform(5, 25)) if free_at else arrival
            outcome = _choose(rng, OUTCOMES)
            duration = _service_seconds(rng, outcome)
            free_at = start_s + duration
            started = midnight + dt.timedelta(seconds=round(start_s, 3))
            if started > self.now:
                break
            made += 1
            ended = started + dt.timedelta(seconds=round(duration, 3))
            self._service(place, counter, clerk, day, started, ended, outcome, batch)
        return made

    def _service(
        self,
        place: _Place,
        counter: str,
        clerk: uuid.UUID | None,
        day: dt.date,
        started: dt.datetime,
        ended: dt.datetime,
        outcome: str,
        batch: _Batch,
    ) -> None:
        rng = self.rng
        now = self.now
        visit_id = new_id()
        batch.visits.append(
            {
                "id": visit_id,
                "institution_id": place.id,
                "counter": counter,
                "clerk_id": clerk,
                "ticket": None,
                "started_at": started,
            }
        )
        events = batch.events

        def event(
            kind: str, at: dt.datetime, dossier_id: uuid.UUID | None = None, detail: str = ""
        ) -> bool:
            if at > now:
                return False
            events.append(
                {
                    "id": new_id(),
                    "visit_id": visit_id,
                    "kind": kind,
                    "at": at,
                    "dossier_id": dossier_id,
                    "detail": detail,
                }
            )
            return True

        event("started", started)
        dossier = rng.choice(place.dossiers) if place.dossiers else None
        if dossier is None and outcome in ("certificate", "consultation"):
            outcome = "lookup"
        total = (ended - started).total_seconds()
        opens = dossier is not None and (
            outcome in ("certificate", "consultation")
            or (outcome == "lookup" and rng.random() < 0.9)
            or (outcome == "abandoned" and rng.random() < 0.5)
        )
        if opens:
            finding = min(total * 0.4, max(3.0, 20 * math.exp(rng.gauss(0.0, 0.5))))
            opened = started + dt.timedelta(seconds=round(finding, 3))
            event("dossier_opened", opened, dossier)
            views = {
                "certificate": rng.randint(0, 2),
                "consultation": rng.randint(1, 3),
                "lookup": rng.randint(0, 1),
                "abandoned": 0,
            }[outcome]
            span = (ended - opened).total_seconds()
            for at_s in sorted(rng.uniform(0.1, 0.8) * span for _v in range(views)):
                event("material_viewed", opened + dt.timedelta(seconds=round(at_s, 3)), dossier)
        if outcome == "certificate":
            if ended <= now:
                serial = self._serial(place, day.year)
                kind = _choose(rng, CERTIFICATE_MIX)
                batch.certificates.append(
                    {
                        "id": new_id(),
                        "serial": serial,
                        "kind": kind,
                        "dossier_id": dossier,
                        "visit_id": visit_id,
                        "institution_id": place.id,
                        "applicant_kind": "self",
                        "agent_name": None,
                        "agent_id_number": None,
                        "purpose": rng.choice(PURPOSES)[0],
                        "cited_material_ids": "",
                        "text_path": "",
                        "text_sha256": "",
                        "issued_by": clerk,
                        "issued_at": ended,
                    }
                )
                event("certificate_issued", ended, dossier, serial)
        elif outcome == "consultation":
            recorded = ended - dt.timedelta(seconds=round(rng.uniform(3, 15), 3))
            if event("consultation_recorded", recorded, dossier):
                place.approvals += 1
                batch.consultations.append(
                    {
                        "id": new_id(),
                        "dossier_id": dossier,
                        "visit_id": visit_id,
                        "institution_id": place.id,
                        "requesting_unit": rng.choice(CONSULTING_UNITS),
                        "approval_no": f"{place.serial_prefix}-SP-{day.year}-{place.approvals:05d}",
                        "purpose": rng.choice(CONSULTING_PURPOSES),
                        "readers": "",
                        "shown_material_ids": "",
                        "recorded_by": clerk,
                        "recorded_at": recorded,
                    }
                )
        if outcome == "abandoned":
            event("abandoned", ended)
        else:  # the outcome as services.visits.close stores it
            event("closed", ended, None, "answered" if outcome == "lookup" else outcome)

    def _serial(self, place: _Place, year: int) -> str:
        key = (place.serial_prefix, year)
        number = self.next_serial.get(key)
        if number is None:
            number = self.serial_start(place.serial_prefix, year)
        self.next_serial[key] = number + 1
        return format_serial(place.serial_prefix, year, number)


def _flush(db: Database, batch: _Batch) -> None:
    if not batch.visits:
        return
    with db.begin_write_connection() as connection:
        for table, rows in (
            (ServiceVisit.__table__, batch.visits),
            (ServiceEvent.__table__, batch.events),
            (Certificate.__table__, batch.certificates),
            (Consultation.__table__, batch.consultations),
        ):
            if rows:
                connection.execute(insert(table), rows)
        if batch.certificates or batch.consultations:
            # Certificates and consultations are facts sealed in the access chain
            # (services.fixity), generated ones too, or `audit verify` would rightly name
            # them as forged.
            with Session(bind=connection) as session:
                chain = access_log.Chain(session)
                for row in batch.certificates:
                    certificate_audit.register_certificate(
                        chain,
                        Certificate(**row),
                        clerk_id=row["issued_by"],
                        institution_id=row["institution_id"],
                    )
                for row in batch.consultations:
                    consultation.register(chain, Consultation(**row))
                session.flush()


def generate_history(
    db: Database,
    *,
    institution_ids: Sequence[uuid.UUID],
    counters: int | Sequence[str],
    clerks: Sequence[uuid.UUID],
    start: dt.date,
    days: int,
    seed: int,
    per_counter_day: float = DEFAULT_PER_COUNTER_DAY,
    now: dt.datetime | None = None,
    batch_days: int = 5,
    progress: Callable[[dt.date, int], None] | None = None,
) -> int:
    """Append generated service visits, events, certificates and consultations.

    ``institution_ids``: institutions whose counters serve. ``counters``: counters per
    institution, a number (named "1" … "n") or the names. ``clerks``: clerk ids; each serves at
    a counter of their own institution, one counter per clerk per day (an institution with
    fewer clerks than counters opens only as many counters; one with no clerks listed opens
    all, clerk unknown). ``start``, ``days``: the Beijing-time calendar days to fill
    (weekends stay empty). ``seed``: the random seed (same seed, same history apart from the
    random UUIDv7 keys). ``per_counter_day``: mean services per counter and working day
    (Monday busiest). ``now`` (aware; default the clock): nothing is generated after it.
    ``progress(day, services so far)`` is called after each written batch.

    Dossiers come from those each institution currently holds (custody events); an
    institution holding none gets lookups and abandoned services only. Returns the number of
    services (visits) inserted. Raises LookupError for an unknown institution or clerk,
    ValueError for bad counts or a yearly serial sequence past 999999, StorageBusyError when
    the database stays locked.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    if per_counter_day < 0:
        raise ValueError("per_counter_day must not be negative")
    now = now or clock.utcnow()
    with db.read() as session:
        places = _places(session.connection(), institution_ids, counters, clerks)

    def serial_start(prefix: str, year: int) -> int:
        with db.read() as session:
            return _serial_start(session.connection(), prefix, year)

    generator = _Generator(random.Random(seed), places, per_counter_day, now, serial_start)
    total = 0
    batch = _Batch.empty()
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        total += generator.day(day, batch)
        if (offset + 1) % max(1, batch_days) == 0 or offset == days - 1:
            _flush(db, batch)
            batch = _Batch.empty()
            if progress is not None:
                progress(day, total)
    return total
