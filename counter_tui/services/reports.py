"""Supervisor figures: throughput and service times per day, counter and clerk (headless).

The dashboard (screens/dashboard.py), ``counter-tui report`` and the tests all use these
functions, so every figure has one definition, stated here:

* **Day.** A service (one ``service_visit``) belongs to the Asia/Shanghai calendar day (UTC+8,
  no daylight saving) of its ``started_at`` and to its institution. *Arrivals* are the services
  started that day; *arrivals per hour* counts them by their Beijing-time hour (0–23).
* **Service time.** A service ends at its first ``closed`` or ``abandoned`` event (the earlier of
  the two should both exist). Service time = end − ``started_at``, kept in whole milliseconds
  and reported in seconds; a negative time (clock skew between counters) counts as 0. A service
  without an end event is *open*: it counts as an arrival and is left out of every time figure.
  Abandoned services are timed like closed ones (the applicant waited that long too).
* **Percentiles: nearest rank.** For n service times sorted ascending x₁ ≤ … ≤ xₙ, the P-th
  percentile is x_k with k = ⌈P/100 · n⌉ (k ≥ 1). The median is the 50th percentile: for an even
  n the lower of the two middle times, never an average, so every figure is a time that was
  actually observed. P90 likewise. No figure exists (None) for n = 0.
* **Bands** are half-open, in seconds: [0, 60) [60, 120) [120, 180) [180, 300) [300, 600)
  [600, ∞). *Within 3 minutes* means < 180 s (the first three bands), *within 5 minutes* < 300 s
  (the 2–3 minute promise, 5 for complex cases: domain.service_time). Shares are fractions
  (0–1) of the timed services.
* **Service type.** The kinds of certificate issued in the service (``certificate.visit_id``),
  sorted and joined with "+" (e.g. ``custody+kinship``); otherwise ``consultation`` when a
  ``consultation_recorded`` event exists; otherwise ``lookup`` (lookup only).
* **Certificates** count with the service they were issued in (its day, counter and clerk).
  Certificates issued outside any service (``visit_id`` NULL) count on their Beijing-time issue
  day for the issuing institution, under counter "—" and the issuing clerk.
* **Stages** (where the time goes): *finding the dossier* = first ``dossier_opened`` − start;
  *at the dossier* = end − first ``dossier_opened``; over the ended services that opened one.

The per-service facts (start, first end events, certificate kinds) are computed by the database
in one indexed query (indexes of migration 0004); counting and percentiles are done in Python
over those rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import heapq
import io
import json
import re
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    bindparam,
    cast,
    extract,
    func,
    select,
    type_coerce,
)
from sqlalchemy.engine import Connection

from counter_tui.db.engine import Database
from counter_tui.db.models import Certificate, Clerk, Institution, ServiceEvent, ServiceVisit
from counter_tui.domain import clock, service_time
from counter_tui.domain.certificates import CERTIFICATE_KINDS, KINDS_BY_CODE
from counter_tui.domain.statistics import (
    BAND_BOUNDS_S,
    BAND_KEYS,
    BAND_LABELS,
    TimeStats,
    time_stats,
)
from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.read_models import Workplace
from counter_tui.services import authorization
from counter_tui.services.workplace import InstitutionRef, institution_ref

GROUPINGS = ("counter", "clerk")
TARGET_S = service_time.ALERT_AFTER_S  # 180: the 3-minute promise
COMPLEX_S = service_time.COMPLEX_LIMIT_S  # 300: complex cases
SLOWEST_COUNT = 10
NO_COUNTER = "—"
TYPE_CONSULTATION = "consultation"
TYPE_LOOKUP = "lookup"

_MS_PER_DAY = 86_400_000
_MS_PER_HOUR = 3_600_000
_EPOCH = dt.date(1970, 1, 1)
_UNIX_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class ReportError(CounterError, ValueError):
    """A report request that cannot be answered (bad range, unknown institution); the message
    is for the user."""


# --------------------------------------------------------------------------------------------
# Read models


@dataclass(frozen=True)
class Tally:
    """Counts and service times of one group of services: a counter, a clerk, a service type,
    or everything (``key`` "" for a total).

    ``arrivals`` = services started; ``closed`` + ``abandoned`` + ``open`` = ``arrivals``.
    ``certificates_by_kind`` lists (kind code, count) with count > 0, in the order of
    domain.certificates.CERTIFICATE_KINDS (unknown codes last, by code).
    """

    key: str
    label: str
    arrivals: int
    closed: int
    abandoned: int
    open: int
    certificates: int
    certificates_by_kind: tuple[tuple[str, int], ...]
    times: TimeStats

    def certificates_of(self, kind_code: str) -> int:
        """How many certificates of ``kind_code`` this group issued."""
        return dict(self.certificates_by_kind).get(kind_code, 0)


@dataclass(frozen=True)
class Stage:
    """One stage of a service (``finding`` the dossier, ``at_dossier``) and its times."""

    key: str
    label: str
    times: TimeStats


@dataclass(frozen=True)
class SlowService:
    """One of the slowest services: when (aware, Asia/Shanghai), where, who, how long, what."""

    visit_id: uuid.UUID
    started_at: dt.datetime
    institution_code: str
    counter: str
    clerk: str
    seconds: float
    ended: str  # closed | abandoned
    type_key: str
    type_label: str


@dataclass(frozen=True)
class DayFigures:
    """Everything the supervisor dashboard shows for one day (see the module doc for the
    definitions). ``institution`` None means all institutions; ``grouping`` chooses which of
    ``counters`` / ``clerks`` :attr:`groups` returns. ``arrivals_by_hour`` has 24 entries
    (Beijing-time hours 0–23). ``computed_at`` is aware UTC; ``elapsed_ms`` the time taken."""

    day: dt.date
    institution: InstitutionRef | None
    grouping: str
    total: Tally
    counters: tuple[Tally, ...]
    clerks: tuple[Tally, ...]
    types: tuple[Tally, ...]
    stages: tuple[Stage, ...]
    arrivals_by_hour: tuple[int, ...]
    slowest: tuple[SlowService, ...]
    computed_at: dt.datetime
    elapsed_ms: float = 0.0

    @property
    def groups(self) -> tuple[Tally, ...]:
        """The rows of the chosen grouping (counters or clerks)."""
        return self.clerks if self.grouping == "clerk" else self.counters


@dataclass(frozen=True)
class RangeFigures:
    """The figures of every day from ``start`` to ``end`` (both inclusive, every calendar day,
    empty ones too) and of the whole period (``total``, ``counters`` … computed over all its
    services, so the period's median is a true median, not a median of medians)."""

    start: dt.date
    end: dt.date
    institution: InstitutionRef | None
    total: Tally
    counters: tuple[Tally, ...]
    clerks: tuple[Tally, ...]
    types: tuple[Tally, ...]
    stages: tuple[Stage, ...]
    arrivals_by_hour: tuple[int, ...]
    slowest: tuple[SlowService, ...]
    days: tuple[DayFigures, ...]
    computed_at: dt.datetime
    elapsed_ms: float = 0.0


# --------------------------------------------------------------------------------------------
# Pure figures


def type_label(type_key: str) -> str:
    """The UI-language label of a service type key (``custody+kinship``, ``consultation``,
    ``lookup``)."""
    if type_key == TYPE_CONSULTATION:
        return _("Consultation")
    if type_key == TYPE_LOOKUP:
        return _("Lookup only")
    return " + ".join(
        KINDS_BY_CODE[c].label() if c in KINDS_BY_CODE else c for c in type_key.split("+")
    )


def _natural_key(text: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


_KIND_ORDER = {k.code: i for i, k in enumerate(CERTIFICATE_KINDS)}


def _kind_sort(code: str) -> tuple[int, str]:
    return (_KIND_ORDER.get(code, len(_KIND_ORDER)), code)


# --------------------------------------------------------------------------------------------
# Institutions a supervisor may look at


def scope_for(db: Database, institution_id: uuid.UUID) -> tuple[InstitutionRef | None, ...]:
    """The institutions a supervisor of ``institution_id`` may choose, in cycling order.

    A city-level institution (kind ``city``) sees all institutions together (None, first) and
    then each one by code; any other institution sees only itself. Raises ReportError for an
    unknown id.
    """
    with db.read() as session:
        own = session.get(Institution, institution_id)
        if own is None:
            raise ReportError(_("No such institution."))
        if own.kind != "city":
            return (institution_ref(own),)
        rows = session.execute(select(Institution).order_by(Institution.code)).scalars().all()
        return (None, *(institution_ref(r) for r in rows))


def check_reader(db: Database, workplace: Workplace, institution_id: uuid.UUID | None) -> None:
    """Refuse unless ``workplace``'s account may read the figures of ``institution_id`` (None:
    all institutions): rule ``read_reports`` of services.authorization (an active supervisor),
    and an institution of :func:`scope_for` of the account's institution (its own; any from a
    city-level one). Raises authorization.Forbidden (``out_of_scope`` for another
    institution), written to the access log."""
    authorization.check(db, workplace, "read_reports")
    scope = scope_for(db, workplace.institution.id)
    allowed = {ref.id if ref else None for ref in scope}
    if institution_id not in allowed:
        with db.read() as session:
            other = session.get(Institution, institution_id) if institution_id else None
        name = other.name if other else _("all institutions")
        refusal = authorization.out_of_scope(workplace, "read_reports", name)
        authorization.log_refusal(db, workplace, refusal)
        raise refusal


def find_institution(db: Database, code: str) -> InstitutionRef:
    """The institution with ``code``; raises ReportError naming the code when there is none."""
    with db.read() as session:
        row = session.execute(select(Institution).where(Institution.code == code)).scalar()
        if row is None:
            raise ReportError(
                _("No institution with code {code} in this database.").format(code=code)
            )
        return institution_ref(row)


# --------------------------------------------------------------------------------------------
# The query

# A service as read from the database, a plain tuple for speed (10,000+ per day). Times are
# integer milliseconds since the Unix epoch; ids are text (hex on SQLite, the canonical form
# on PostgreSQL) and only turned into UUIDs where shown; _KINDS is the certificate kinds
# issued, comma-separated, or None. Only text, numbers and None, so that the garbage
# collector untracks these tuples at its first look: tuples holding tracked objects (a
# uuid.UUID, a tuple) stayed tracked, were promoted to the oldest generation and, thousands
# per refresh, set off a full collection of the heap every few refreshes (50–150 ms, the
# PostgreSQL dashboard's p95 at city scale; issue 13).
_VID, _INST, _COUNTER, _CLERK, _START, _END, _ENDED, _OPENED, _TYPE, _KINDS = range(10)


def _epoch_ms(expr: Any, dialect: str) -> Any:
    """SQL for an UTCDateTime expression as integer milliseconds since the Unix epoch."""
    if dialect == "sqlite":
        # SQLite stores "YYYY-MM-DD HH:MM:SS.ffffff" (UTC); julianday is exact to ~50 µs here.
        return cast(func.round((func.julianday(expr) - 2440587.5) * 86_400_000.0), Integer)
    return cast(func.round(extract("epoch", expr) * 1000), BigInteger)


def _raw(column: Any, dialect: str) -> Any:
    """A UUID column as text, without a uuid.UUID per value (see _VID … _KINDS).

    SQLite stores 32 hex digits, returned as they are; PostgreSQL's ``uuid`` is cast to text
    (psycopg would build a uuid.UUID, an object the garbage collector tracks)."""
    if dialect == "sqlite":
        return type_coerce(column, String)
    return cast(column, String)


def _first_event_ms(kind: str, dialect: str) -> Any:
    event = ServiceEvent.__table__.alias()
    visit = ServiceVisit.__table__
    first = (
        select(func.min(event.c.at))
        .where(event.c.visit_id == visit.c.id, event.c.kind == kind)
        .scalar_subquery()
    )
    return _epoch_ms(first, dialect)


def _type_key(kinds: tuple[str, ...], consulted: bool) -> str:
    if kinds:
        return "+".join(sorted(set(kinds), key=_kind_sort))
    return TYPE_CONSULTATION if consulted else TYPE_LOOKUP


@functools.cache
def _visit_statement(dialect: str, one_institution: bool) -> Any:
    """The visit query of :func:`_visit_rows` for ``dialect``, built once (parameters ``lo``,
    ``hi`` and, for ``one_institution``, ``institution_id``): building it anew each refresh
    made ~300 short-lived objects with reference cycles for the garbage collector."""
    visit = ServiceVisit.__table__
    cert = Certificate.__table__.alias()
    if dialect == "sqlite":
        kinds_agg = func.group_concat(cert.c.kind)
    else:
        kinds_agg = func.string_agg(cert.c.kind, ",")
    kinds = select(kinds_agg).where(cert.c.visit_id == visit.c.id).scalar_subquery()
    firsts = ("closed", "abandoned", "dossier_opened", "consultation_recorded")
    if dialect == "sqlite":
        # SQLite: one covering-index probe per visit and kind (it would run a GROUP BY over
        # the join below by scanning every visit in key order: 0.2 s at city scale).
        stmt = select(
            _raw(visit.c.id, dialect),
            _raw(visit.c.institution_id, dialect),
            visit.c.counter,
            _raw(visit.c.clerk_id, dialect),
            _epoch_ms(visit.c.started_at, dialect),
            *(_first_event_ms(kind, dialect) for kind in firsts),
            kinds,
        )
    else:
        # PostgreSQL: the day's visits joined once to all their events (index-only) and
        # grouped, instead of four probes per visit: 21 ms instead of 35 ms of execution for
        # the city's 3,851 services of a day (1.71 M dossiers, issue 13).
        event = ServiceEvent.__table__.alias()
        stmt = (
            select(
                _raw(visit.c.id, dialect),
                _raw(visit.c.institution_id, dialect),
                visit.c.counter,
                _raw(visit.c.clerk_id, dialect),
                _epoch_ms(visit.c.started_at, dialect),
                *(
                    _epoch_ms(func.min(event.c.at).filter(event.c.kind == kind), dialect)
                    for kind in firsts
                ),
                kinds,
            )
            .select_from(visit.outerjoin(event, event.c.visit_id == visit.c.id))
            .group_by(visit.c.id)
        )
    stmt = stmt.where(visit.c.started_at >= bindparam("lo"), visit.c.started_at < bindparam("hi"))
    if one_institution:
        stmt = stmt.where(visit.c.institution_id == bindparam("institution_id"))
    return stmt


def _visit_rows(
    connection: Connection, lo: dt.datetime, hi: dt.datetime, institution_id: uuid.UUID | None
) -> list[tuple]:
    """One tuple per service started in [lo, hi) (see _VID … _KINDS)."""
    stmt = _visit_statement(connection.dialect.name, institution_id is not None)
    params = {"lo": lo, "hi": hi, "institution_id": institution_id}
    rows = []
    append = rows.append
    types: dict[tuple, str] = {}
    for (
        vid,
        inst,
        counter,
        clerk,
        start,
        closed,
        abandoned,
        opened,
        consulted,
        kind_text,
    ) in connection.execute(stmt, params):
        if closed is not None and (abandoned is None or closed <= abandoned):
            end, ended = closed, "closed"
        elif abandoned is not None:
            end, ended = abandoned, "abandoned"
        else:
            end, ended = None, None
        type_id = (kind_text, consulted is not None)
        type_key = types.get(type_id)
        if type_key is None:
            kind_list = tuple(kind_text.split(",")) if kind_text else ()
            type_key = types[type_id] = _type_key(kind_list, consulted is not None)
        append((vid, inst, counter, clerk, start, end, ended, opened, type_key, kind_text or None))
    return rows


def _unlinked_certificates(
    connection: Connection, lo: dt.datetime, hi: dt.datetime, institution_id: uuid.UUID | None
) -> list[tuple]:
    """(institution id, issuing clerk id, kind, issued ms) of certificates outside any visit."""
    stmt = _unlinked_statement(connection.dialect.name, institution_id is not None)
    params = {"lo": lo, "hi": hi, "institution_id": institution_id}
    return [tuple(r) for r in connection.execute(stmt, params)]


@functools.cache
def _unlinked_statement(dialect: str, one_institution: bool) -> Any:
    cert = Certificate.__table__
    stmt = select(
        _raw(cert.c.institution_id, dialect),
        _raw(cert.c.issued_by, dialect),
        cert.c.kind,
        _epoch_ms(cert.c.issued_at, dialect),
    ).where(
        cert.c.visit_id.is_(None),
        cert.c.issued_at >= bindparam("lo"),
        cert.c.issued_at < bindparam("hi"),
    )
    if one_institution:
        stmt = stmt.where(cert.c.institution_id == bindparam("institution_id"))
    return stmt


# --------------------------------------------------------------------------------------------
# Aggregation


@dataclass
class _Names:
    """Institutions and clerks by raw id (as the visit query returns them)."""

    institutions: dict[Any, InstitutionRef]
    clerks: dict[Any, tuple[str, str]]  # raw id → (username, name)
    all_institutions: bool

    def counter_key(self, institution_raw: Any, counter: str) -> tuple[str, str]:
        if not self.all_institutions:
            return counter, counter
        inst = self.institutions.get(institution_raw)
        code = inst.code if inst else "?"
        return f"{code}/{counter}", f"{code} · {counter}"

    def clerk_key(self, clerk_raw: Any) -> tuple[str, str]:
        if clerk_raw is None or clerk_raw not in self.clerks:
            return "", _("(no clerk)")
        return self.clerks[clerk_raw]


def _tally(key: str, label: str, rows: Sequence[tuple], extra_kinds: Sequence[str] = ()) -> Tally:
    ended = Counter(map(itemgetter(_ENDED), rows))
    kinds: Counter[str] = Counter()
    for text, n in Counter(map(itemgetter(_KINDS), rows)).items():
        if text:
            for kind in text.split(","):
                kinds[kind] += n
    kinds.update(extra_kinds)
    by_kind = tuple((k, kinds[k]) for k in sorted(kinds, key=_kind_sort) if kinds[k])
    return Tally(
        key=key,
        label=label,
        arrivals=len(rows),
        closed=ended["closed"],
        abandoned=ended["abandoned"],
        open=ended[None],
        certificates=sum(kinds.values()),
        certificates_by_kind=by_kind,
        times=time_stats([r[_END] - r[_START] for r in rows if r[_END] is not None]),
    )


def _grouped(rows: Iterable[tuple], key: Callable[[tuple], Any]) -> dict[Any, list[tuple]]:
    groups: dict[Any, list[tuple]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return groups


class _Period:
    """The services (and certificates outside services) of one period: a day or a range."""

    def __init__(self, names: _Names) -> None:
        self.names = names
        self.rows: list[tuple] = []
        self.unlinked: list[tuple] = []  # (institution raw id, clerk raw id, kind)

    def parts(self) -> dict[str, Any]:
        """The DayFigures / RangeFigures fields computed from the rows."""
        names, rows = self.names, self.rows
        extra_counter: dict[tuple[str, str], list[str]] = defaultdict(list)
        extra_clerk: dict[tuple[str, str], list[str]] = defaultdict(list)
        for inst, clerk, kind in self.unlinked:
            extra_counter[names.counter_key(inst, NO_COUNTER)].append(kind)
            extra_clerk[names.clerk_key(clerk)].append(kind)

        counter_rows: dict[tuple[str, str], list[tuple]] = defaultdict(list)
        for (inst, counter), group in _grouped(rows, itemgetter(_INST, _COUNTER)).items():
            counter_rows[names.counter_key(inst, counter)] += group
        clerk_rows: dict[tuple[str, str], list[tuple]] = defaultdict(list)
        for clerk, group in _grouped(rows, itemgetter(_CLERK)).items():
            clerk_rows[names.clerk_key(clerk)] += group
        for key in extra_counter:
            counter_rows.setdefault(key, [])
        for key in extra_clerk:
            clerk_rows.setdefault(key, [])

        counters = tuple(
            _tally(k, label, group, extra_counter.get((k, label), ()))
            for (k, label), group in sorted(
                counter_rows.items(), key=lambda kv: _natural_key(kv[0][0])
            )
        )
        clerks = tuple(
            _tally(k, label, group, extra_clerk.get((k, label), ()))
            for (k, label), group in sorted(
                clerk_rows.items(), key=lambda kv: (kv[0][0] == "", kv[0][1], kv[0][0])
            )
        )
        types = tuple(
            _tally(k, type_label(k), group)
            for k, group in sorted(
                _grouped(rows, itemgetter(_TYPE)).items(), key=lambda kv: (-len(kv[1]), kv[0])
            )
        )
        hours = [0] * 24
        for hour, n in Counter(
            ((r[_START] + clock.OFFSET_MS) // _MS_PER_HOUR) % 24 for r in rows
        ).items():
            hours[hour] = n
        opened = [r for r in rows if r[_OPENED] is not None and r[_END] is not None]
        return {
            "total": _tally("", _("Total"), rows, [kind for _i, _c, kind in self.unlinked]),
            "counters": counters,
            "clerks": clerks,
            "types": types,
            "stages": (
                Stage(
                    "finding",
                    _("Finding the dossier"),
                    time_stats([r[_OPENED] - r[_START] for r in opened]),
                ),
                Stage(
                    "at_dossier",
                    _("At the dossier"),
                    time_stats([r[_END] - r[_OPENED] for r in opened]),
                ),
            ),
            "arrivals_by_hour": tuple(hours),
            "slowest": self._slowest(),
        }

    def _slowest(self) -> tuple[SlowService, ...]:
        ended = (r for r in self.rows if r[_END] is not None)
        # Longest first; among equal times the earlier start first.
        slow = heapq.nlargest(SLOWEST_COUNT, ended, key=lambda r: (r[_END] - r[_START], -r[_START]))
        out = []
        for row in slow:
            inst = self.names.institutions.get(row[_INST])
            vid = row[_VID]
            out.append(
                SlowService(
                    visit_id=vid if isinstance(vid, uuid.UUID) else uuid.UUID(str(vid)),
                    started_at=(_UNIX_EPOCH + dt.timedelta(milliseconds=row[_START])).astimezone(
                        clock.BEIJING
                    ),
                    institution_code=inst.code if inst else "",
                    counter=row[_COUNTER],
                    clerk=self.names.clerk_key(row[_CLERK])[1],
                    seconds=max(0, row[_END] - row[_START]) / 1000,
                    ended=row[_ENDED],
                    type_key=row[_TYPE],
                    type_label=type_label(row[_TYPE]),
                )
            )
        return tuple(out)


@functools.cache
def _names_statements(dialect: str) -> tuple[Any, Any]:
    inst_table, clerk_table = Institution.__table__, Clerk.__table__
    return (
        select(
            _raw(inst_table.c.id, dialect),
            inst_table.c.code,
            inst_table.c.name,
            inst_table.c.serial_prefix,
        ),
        select(_raw(clerk_table.c.id, dialect), clerk_table.c.username, clerk_table.c.name),
    )


def _names(connection: Connection, institution_id: uuid.UUID | None) -> _Names:
    institutions_stmt, clerks_stmt = _names_statements(connection.dialect.name)
    institutions = {
        raw: InstitutionRef(
            uuid.UUID(str(raw)) if not isinstance(raw, uuid.UUID) else raw, code, name, prefix
        )
        for raw, code, name, prefix in connection.execute(institutions_stmt)
    }
    clerks = {raw: (username, name) for raw, username, name in connection.execute(clerks_stmt)}
    return _Names(institutions=institutions, clerks=clerks, all_institutions=institution_id is None)


def _institution(names: _Names, institution_id: uuid.UUID | None) -> InstitutionRef | None:
    if institution_id is None:
        return None
    for ref in names.institutions.values():
        if ref.id == institution_id:
            return ref
    raise ReportError(_("No such institution."))


def _collect(
    db: Database, lo: dt.datetime, hi: dt.datetime, institution_id: uuid.UUID | None
) -> tuple[_Names, list[tuple], list[tuple]]:
    with db.read() as session:
        connection = session.connection()
        names = _names(connection, institution_id)
        _institution(names, institution_id)  # unknown institution: fail before the big query
        rows = _visit_rows(connection, lo, hi, institution_id)
        unlinked = _unlinked_certificates(connection, lo, hi, institution_id)
    return names, rows, unlinked


def _check_grouping(grouping: str) -> None:
    if grouping not in GROUPINGS:
        raise ValueError(f"grouping must be one of {GROUPINGS}, not {grouping!r}")


def day_figures(
    db: Database,
    *,
    day: dt.date,
    institution_id: uuid.UUID | None = None,
    grouping: str = "counter",
    workplace: Workplace | None = None,
) -> DayFigures:
    """The dashboard figures of ``day`` (an Asia/Shanghai calendar date) for one institution
    (``institution_id``) or all of them (None), grouped by ``counter`` or ``clerk``.

    Both groupings are computed (``counters`` and ``clerks``); ``grouping`` only selects
    :attr:`DayFigures.groups`. Read-only. ``workplace``: the account asking (the dashboard),
    checked by :func:`check_reader`; None for the operator's ``counter-tui report``. Raises
    ValueError for an unknown grouping, ReportError for an unknown institution,
    authorization.Forbidden (logged) for an account that may not read these figures,
    StorageBusyError / SQLAlchemy errors for database failures.
    """
    _check_grouping(grouping)
    if workplace is not None:
        check_reader(db, workplace, institution_id)
    started = time.perf_counter()
    lo, hi = clock.day_bounds(day)
    names, rows, unlinked = _collect(db, lo, hi, institution_id)
    period = _Period(names)
    period.rows = rows
    period.unlinked = [(inst, clerk, kind) for inst, clerk, kind, _ms in unlinked]
    parts = period.parts()
    return DayFigures(
        day=day,
        institution=_institution(names, institution_id),
        grouping=grouping,
        computed_at=dt.datetime.now(dt.UTC),
        elapsed_ms=(time.perf_counter() - started) * 1000,
        **parts,
    )


def range_figures(
    db: Database,
    *,
    start: dt.date,
    end: dt.date,
    institution_id: uuid.UUID | None = None,
    workplace: Workplace | None = None,
) -> RangeFigures:
    """The figures of each Asia/Shanghai day from ``start`` to ``end`` (inclusive) and of the
    whole period, for one institution or all (None). One query for the whole period.
    ``workplace``: the account asking, checked by :func:`check_reader`; None for the
    operator's ``counter-tui report``.

    Raises ReportError when ``end`` is before ``start`` or the institution is unknown,
    authorization.Forbidden (logged) for an account that may not read these figures,
    StorageBusyError / SQLAlchemy errors for database failures.
    """
    if end < start:
        raise ReportError(
            _("The end date {end} is before the start date {start}.").format(
                start=start.isoformat(), end=end.isoformat()
            )
        )
    if workplace is not None:
        check_reader(db, workplace, institution_id)
    started = time.perf_counter()
    lo, hi = clock.day_bounds(start)[0], clock.day_bounds(end)[1]
    names, rows, unlinked = _collect(db, lo, hi, institution_id)
    institution = _institution(names, institution_id)
    whole = _Period(names)
    whole.rows = rows
    per_day: dict[int, _Period] = defaultdict(lambda: _Period(names))
    for row in rows:
        per_day[(row[_START] + clock.OFFSET_MS) // _MS_PER_DAY].rows.append(row)
    for inst, clerk, kind, issued_ms in unlinked:
        whole.unlinked.append((inst, clerk, kind))
        per_day[(issued_ms + clock.OFFSET_MS) // _MS_PER_DAY].unlinked.append((inst, clerk, kind))
    now = dt.datetime.now(dt.UTC)
    days = []
    for offset in range((end - start).days + 1):
        day = start + dt.timedelta(days=offset)
        period = per_day.get((day - _EPOCH).days) or _Period(names)
        days.append(
            DayFigures(
                day=day,
                institution=institution,
                grouping="counter",
                computed_at=now,
                **period.parts(),
            )
        )
    return RangeFigures(
        start=start,
        end=end,
        institution=institution,
        days=tuple(days),
        computed_at=now,
        elapsed_ms=(time.perf_counter() - started) * 1000,
        **whole.parts(),
    )


# --------------------------------------------------------------------------------------------
# Writing: CSV (for a spreadsheet) and JSON


def _fmt_s(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _fmt_share(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}"


def csv_header() -> list[str]:
    """The CSV column titles in the UI language."""
    return [
        _("Date"),
        _("Institution code"),
        _("Institution"),
        _("Scope"),
        _("Counter / clerk / type"),
        _("Services"),
        _("Closed"),
        _("Abandoned"),
        _("Open"),
        _("Certificates"),
        _("Median (s)"),
        _("P90 (s)"),
        _("Max (s)"),
        _("Within 3 min (%)"),
        _("Within 5 min (%)"),
        *(_(label) for label in BAND_LABELS),
        *(kind.label() for kind in CERTIFICATE_KINDS),
    ]


def _cell_text(text: str) -> str:
    """Text for a spreadsheet cell: a leading = + - @ would start a formula in Excel
    (OWASP "CSV injection"), so such text is prefixed with an apostrophe."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_row(
    period: str,
    institution: InstitutionRef | None,
    scope: str,
    tally: Tally,
    *,
    label: str | None = None,
) -> list[str]:
    t = tally.times
    return [
        period,
        _cell_text(institution.code) if institution else "",
        _cell_text(institution.name) if institution else _("All institutions"),
        scope,
        _cell_text(tally.label if label is None else label),
        str(tally.arrivals),
        str(tally.closed),
        str(tally.abandoned),
        str(tally.open),
        str(tally.certificates),
        _fmt_s(t.median_s),
        _fmt_s(t.p90_s),
        _fmt_s(t.max_s),
        _fmt_share(t.share_within_target),
        _fmt_share(t.share_within_complex),
        *(str(n) for n in t.bands),
        *(str(tally.certificates_of(kind.code)) for kind in CERTIFICATE_KINDS),
    ]


def _period_rows(
    period: str,
    institution: InstitutionRef | None,
    total: Tally,
    counters: Sequence[Tally],
    clerks: Sequence[Tally],
    types: Sequence[Tally],
) -> list[list[str]]:
    rows = [_csv_row(period, institution, _("Total"), total, label="")]
    rows += [_csv_row(period, institution, _("Counter"), t) for t in counters]
    rows += [_csv_row(period, institution, _("Clerk"), t) for t in clerks]
    rows += [_csv_row(period, institution, _("Service type"), t) for t in types]
    return rows


def csv_rows(figures: DayFigures | RangeFigures) -> list[list[str]]:
    """The report as rows (header first): per day a total row, one row per counter, per clerk
    and per service type; for a range, the same for the whole period (its date column reads
    "START/END", ISO 8601 interval). Times in seconds (one decimal), shares in percent."""
    rows = [csv_header()]
    days = figures.days if isinstance(figures, RangeFigures) else (figures,)
    for day in days:
        rows += _period_rows(
            day.day.isoformat(), day.institution, day.total, day.counters, day.clerks, day.types
        )
    if isinstance(figures, RangeFigures):
        rows += _period_rows(
            f"{figures.start.isoformat()}/{figures.end.isoformat()}",
            figures.institution,
            figures.total,
            figures.counters,
            figures.clerks,
            figures.types,
        )
    return rows


def write_csv(figures: DayFigures | RangeFigures, target: str | Path | IO) -> None:
    """Write the report as CSV, UTF-8 with a byte-order mark (so that Excel reads the Chinese
    text correctly), CRLF line ends (RFC 4180), headers in the UI language.

    ``target`` is a path, a binary stream (e.g. ``sys.stdout.buffer``) or a text stream (which
    then receives the BOM as U+FEFF). Raises OSError when the file cannot be written.
    """
    buffer = io.StringIO()
    csv.writer(buffer).writerows(csv_rows(figures))
    text = "\ufeff" + buffer.getvalue()
    if isinstance(target, (str, Path)):
        Path(target).write_bytes(text.encode("utf-8"))
    elif isinstance(target, io.TextIOBase) or hasattr(target, "encoding"):
        target.write(text)
    else:
        target.write(text.encode("utf-8"))


def _times_dict(t: TimeStats) -> dict[str, Any]:
    return {
        "timed": t.timed,
        "median_s": t.median_s,
        "p90_s": t.p90_s,
        "max_s": t.max_s,
        "within_3min": t.within_target,
        "within_5min": t.within_complex,
        "share_within_3min": t.share_within_target,
        "share_within_5min": t.share_within_complex,
        "bands": dict(zip(BAND_KEYS, t.bands, strict=True)),
    }


def _tally_dict(t: Tally) -> dict[str, Any]:
    return {
        "key": t.key,
        "label": t.label,
        "services": t.arrivals,
        "closed": t.closed,
        "abandoned": t.abandoned,
        "open": t.open,
        "certificates": t.certificates,
        "certificates_by_kind": dict(t.certificates_by_kind),
        "times": _times_dict(t.times),
    }


def _slow_dict(s: SlowService) -> dict[str, Any]:
    return {
        "visit_id": str(s.visit_id),
        "started_at": s.started_at.isoformat(),
        "institution": s.institution_code,
        "counter": s.counter,
        "clerk": s.clerk,
        "seconds": s.seconds,
        "ended": s.ended,
        "type": s.type_key,
        "type_label": s.type_label,
    }


def _period_dict(f: DayFigures | RangeFigures) -> dict[str, Any]:
    return {
        "total": _tally_dict(f.total),
        "counters": [_tally_dict(t) for t in f.counters],
        "clerks": [_tally_dict(t) for t in f.clerks],
        "types": [_tally_dict(t) for t in f.types],
        "stages": [
            {"key": s.key, "label": s.label, "times": _times_dict(s.times)} for s in f.stages
        ],
        "arrivals_by_hour": list(f.arrivals_by_hour),
        "slowest": [_slow_dict(s) for s in f.slowest],
    }


def _institution_dict(ref: InstitutionRef | None) -> dict[str, str] | None:
    return None if ref is None else {"code": ref.code, "name": ref.name}


DEFINITIONS = {
    "timezone": "Asia/Shanghai",
    "percentile": "nearest-rank",
    "bands_s": [[lo, hi] for lo, hi in zip(BAND_BOUNDS_S, (*BAND_BOUNDS_S[1:], None), strict=True)],
    "target_s": TARGET_S,
    "complex_s": COMPLEX_S,
}


def to_dict(figures: DayFigures | RangeFigures) -> dict[str, Any]:
    """The figures as JSON-ready data: seconds as numbers, shares as fractions 0–1, times
    ISO 8601 with offset, keys in English, labels in the UI language."""
    if isinstance(figures, DayFigures):
        return {
            "date": figures.day.isoformat(),
            "institution": _institution_dict(figures.institution),
            "definitions": DEFINITIONS,
            **_period_dict(figures),
        }
    return {
        "from": figures.start.isoformat(),
        "to": figures.end.isoformat(),
        "institution": _institution_dict(figures.institution),
        "definitions": DEFINITIONS,
        **_period_dict(figures),
        "days": [{"date": d.day.isoformat(), **_period_dict(d)} for d in figures.days],
    }


def write_json(figures: DayFigures | RangeFigures, target: str | Path | IO) -> None:
    """Write :func:`to_dict` as UTF-8 JSON (Chinese kept readable, not \\u-escaped, 2-space
    indent) to a path, a binary stream or a text stream. Raises OSError on write failure."""
    text = json.dumps(to_dict(figures), ensure_ascii=False, indent=2) + "\n"
    if isinstance(target, (str, Path)):
        Path(target).write_text(text, encoding="utf-8")
    elif isinstance(target, io.TextIOBase) or hasattr(target, "encoding"):
        target.write(text)
    else:
        target.write(text.encode("utf-8"))
