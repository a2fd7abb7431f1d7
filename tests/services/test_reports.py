"""Supervisor figures (services.reports): a hand-built day with known times, every figure
asserted against hand-computed values and against an independent computation; generated
history checked the same way; the same day on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import gc
import math
import sys
import uuid
from collections import Counter
from dataclasses import dataclass

import pytest
from sqlmodel import select

from counter_tui.db import migrate
from counter_tui.db.engine import Database
from counter_tui.db.models import (
    Certificate,
    Clerk,
    Dossier,
    Institution,
    ServiceEvent,
    ServiceVisit,
)
from counter_tui.demo import service_history
from counter_tui.domain import clock, statistics
from counter_tui.domain.clock import BEIJING
from counter_tui.services import reports
from tests.support.factories import TinyArchive, tiny_archive

DAY = dt.date(2026, 11, 17)  # a Tuesday


def bj(day: dt.date, clock: str) -> dt.datetime:
    """Beijing wall-clock time "HH:MM:SS[.fff]" on ``day`` as aware UTC."""
    t = dt.time.fromisoformat(clock)
    return dt.datetime.combine(day, t, tzinfo=BEIJING).astimezone(dt.UTC)


@dataclass
class Places:
    here: uuid.UUID
    there: uuid.UUID
    clerk1: uuid.UUID  # 王芳
    clerk2: uuid.UUID  # 李强
    dossier: uuid.UUID


_serials = iter(range(1, 10_000))


def add_visit(
    db: Database,
    places: Places,
    *,
    counter: str,
    clerk: uuid.UUID | None,
    start: dt.datetime,
    events: list[tuple[str, dt.datetime]] = (),
    certificates: list[str] = (),
    institution: uuid.UUID | None = None,
) -> uuid.UUID:
    """One visit with a started event, ``events`` and ``certificates`` (kinds) issued at the
    time of the visit's last event."""
    with db.write() as s:
        visit = ServiceVisit(
            institution_id=institution or places.here,
            counter=counter,
            clerk_id=clerk,
            started_at=start,
        )
        s.add(visit)
        s.flush()
        s.add(ServiceEvent(visit_id=visit.id, kind="started", at=start))
        for kind, at in events:
            s.add(
                ServiceEvent(
                    visit_id=visit.id,
                    kind=kind,
                    at=at,
                    dossier_id=places.dossier if kind == "dossier_opened" else None,
                )
            )
        issued = max((at for _k, at in events), default=start)
        for kind in certificates:
            s.add(
                Certificate(
                    serial=f"CY-2026-{next(_serials):06d}",
                    kind=kind,
                    dossier_id=places.dossier,
                    visit_id=visit.id,
                    institution_id=institution or places.here,
                    applicant_kind="self",
                    purpose="办理退休",
                    text_path="",
                    text_sha256="",
                    issued_by=clerk,
                    issued_at=issued,
                )
            )
        return visit.id


def seed_day(db: Database, places: Places) -> dict[str, uuid.UUID]:
    """The hand-built day (Beijing times); service times in the comments."""
    p, d = places, DAY
    v = {}
    c1, c2 = p.clerk1, p.clerk2
    # Counter 1, 王芳
    v["v1"] = add_visit(
        db,
        p,
        counter="1",
        clerk=c1,
        start=bj(d, "09:00:00"),
        events=[
            ("dossier_opened", bj(d, "09:00:20")),
            ("certificate_issued", bj(d, "09:02:30")),
            ("closed", bj(d, "09:02:30")),
        ],
        certificates=["custody"],
    )  # 150 s
    v["v2"] = add_visit(
        db,
        p,
        counter="1",
        clerk=c1,
        start=bj(d, "09:10:00"),
        events=[("dossier_opened", bj(d, "09:10:10")), ("closed", bj(d, "09:10:45"))],
    )  # 45 s
    v["v3"] = add_visit(
        db,
        p,
        counter="1",
        clerk=c1,
        start=bj(d, "10:05:00"),
        events=[
            ("dossier_opened", bj(d, "10:05:30")),
            ("consultation_recorded", bj(d, "10:09:50")),
            ("closed", bj(d, "10:10:00")),
        ],
    )  # 300 s: exactly 5 min is not "within 5"
    v["v4"] = add_visit(
        db,
        p,
        counter="1",
        clerk=c1,
        start=bj(d, "10:20:00"),
        events=[("abandoned", bj(d, "10:21:00"))],
    )  # 60 s, abandoned
    v["v5"] = add_visit(
        db,
        p,
        counter="1",
        clerk=c1,
        start=bj(d, "14:00:00"),
        events=[
            ("dossier_opened", bj(d, "14:00:30")),
            ("certificate_issued", bj(d, "14:03:00")),
            ("closed", bj(d, "14:03:00")),
        ],
        certificates=["kinship", "experience"],
    )  # 180 s
    # Counter 2, 李强
    v["v6"] = add_visit(
        db,
        p,
        counter="2",
        clerk=c2,
        start=bj(d, "09:30:00"),
        events=[("dossier_opened", bj(d, "09:30:15")), ("closed", bj(d, "09:31:59.500"))],
        certificates=["custody"],
    )  # 119.5 s
    v["v7"] = add_visit(
        db,
        p,
        counter="2",
        clerk=c2,
        start=bj(d, "11:00:00"),
        events=[("dossier_opened", bj(d, "11:01:00")), ("closed", bj(d, "11:12:00"))],
    )  # 720 s
    v["v8"] = add_visit(
        db,
        p,
        counter="2",
        clerk=c2,
        start=bj(d, "16:50:00"),
        events=[("dossier_opened", bj(d, "16:50:30"))],
    )  # open
    v["v9"] = add_visit(
        db,
        p,
        counter="2",
        clerk=c2,
        start=bj(d, "16:55:00"),
        events=[("dossier_opened", bj(d, "16:55:40")), ("closed", bj(d, "16:59:00"))],
        certificates=["work_start"],
    )  # 240 s
    # Counter 3, nobody logged in
    v["v10"] = add_visit(
        db,
        p,
        counter="3",
        clerk=None,
        start=bj(d, "15:00:00"),
        events=[("closed", bj(d, "15:00:59.999"))],
    )  # 59.999 s
    v["v11"] = add_visit(
        db,
        p,
        counter="3",
        clerk=None,
        start=bj(d, "00:00:00"),
        events=[("closed", bj(d, "00:01:30"))],
    )  # 90 s, first instant of the day
    # Outside the day, and another institution.
    v["before"] = add_visit(
        db,
        p,
        counter="1",
        clerk=c1,
        start=bj(d - dt.timedelta(days=1), "23:59:59.999"),
        events=[("closed", bj(d, "00:02:00"))],
    )
    v["after"] = add_visit(
        db,
        p,
        counter="1",
        clerk=c1,
        start=bj(d + dt.timedelta(days=1), "00:00:00"),
        events=[("closed", bj(d + dt.timedelta(days=1), "00:01:00"))],
    )
    v["there"] = add_visit(
        db,
        p,
        counter="1",
        clerk=None,
        start=bj(d, "10:00:00"),
        events=[("closed", bj(d, "10:02:00"))],
        institution=p.there,
    )
    # A certificate issued outside any service, at noon, by 王芳.
    with db.write() as s:
        s.add(
            Certificate(
                serial="CY-2026-900001",
                kind="education",
                dossier_id=p.dossier,
                visit_id=None,
                institution_id=p.here,
                applicant_kind="self",
                purpose="入职（录用）",
                text_path="",
                text_sha256="",
                issued_by=c1,
                issued_at=bj(d, "12:00:00"),
            )
        )
    return v


def archive_places(tmp_path) -> tuple[TinyArchive, Places]:  # noqa: ANN001
    """tests.factories.tiny_archive and the ids the hand-built day needs."""
    archive = tiny_archive(tmp_path)
    with archive.db.read() as s:
        clerk2 = s.exec(select(Clerk).where(Clerk.username == "clerk2")).one().id
    return archive, Places(
        here=archive.ids["here"],
        there=archive.ids["there"],
        clerk1=archive.ids["clerk"],
        clerk2=clerk2,
        dossier=archive.ids["DA00000001"],
    )


def plain_places(db: Database) -> Places:
    """Minimal rows for the hand-built day on any backend."""
    with db.write() as s:
        here = Institution(
            code="CY-RC", name="北京市朝阳区人才服务中心", kind="district", serial_prefix="CY"
        )
        there = Institution(
            code="CY-JY", name="北京市朝阳区职业介绍服务中心", kind="district", serial_prefix="CJ"
        )
        s.add_all([here, there])
        s.flush()
        c1 = Clerk(username="clerk1", name="王芳", role="clerk", institution_id=here.id)
        c2 = Clerk(username="clerk2", name="李强", role="clerk", institution_id=here.id)
        dossier = Dossier(dossier_no="DA00000001", person_name="张伟")
        s.add_all([c1, c2, dossier])
        s.flush()
        return Places(here.id, there.id, c1.id, c2.id, dossier.id)


# --------------------------------------------------------------------------------------------
# An independent computation: plain ORM rows, datetime arithmetic, percentiles by definition


def nearest_rank_by_definition(values: list[float], p: float) -> float | None:
    """The smallest observed value v with at least p % of the values ≤ v."""
    if not values:
        return None
    return min(v for v in values if sum(1 for x in values if x <= v) * 100 >= p * len(values))


def independent(db: Database, day: dt.date, institution_id: uuid.UUID | None) -> dict:
    with db.read() as s:
        visits = [
            v
            for v in s.exec(select(ServiceVisit)).all()
            if v.started_at.astimezone(BEIJING).date() == day
            and (institution_id is None or v.institution_id == institution_id)
        ]
        events = s.exec(select(ServiceEvent)).all()
        certs = s.exec(select(Certificate)).all()
        clerks = {c.id: c.name for c in s.exec(select(Clerk))}
        codes = {i.id: i.code for i in s.exec(select(Institution))}
    ids = {v.id for v in visits}
    ends: dict[uuid.UUID, list[ServiceEvent]] = {}
    consulted = set()
    for e in events:
        if e.visit_id in ids and e.kind in ("closed", "abandoned"):
            ends.setdefault(e.visit_id, []).append(e)
        if e.visit_id in ids and e.kind == "consultation_recorded":
            consulted.add(e.visit_id)
    kinds: dict[uuid.UUID, list[str]] = {}
    unlinked = []
    for c in certs:
        if c.visit_id in ids:
            kinds.setdefault(c.visit_id, []).append(c.kind)
        elif (
            c.visit_id is None
            and c.issued_at.astimezone(BEIJING).date() == day
            and (institution_id is None or c.institution_id == institution_id)
        ):
            unlinked.append(c)

    def seconds(v: ServiceVisit) -> float | None:
        if v.id not in ends:
            return None
        first = min(ends[v.id], key=lambda e: e.at)
        return max(0.0, (first.at - v.started_at).total_seconds())

    def summary(group: list[ServiceVisit], extra_kinds: list[str] = ()) -> dict:
        times = [t for t in (seconds(v) for v in group) if t is not None]
        k = Counter(kind for v in group for kind in kinds.get(v.id, []))
        k.update(extra_kinds)
        return {
            "arrivals": len(group),
            "closed": sum(
                1
                for v in group
                if v.id in ends and min(ends[v.id], key=lambda e: e.at).kind == "closed"
            ),
            "open": sum(1 for v in group if v.id not in ends),
            "certificates": sum(k.values()),
            "by_kind": dict(k),
            "median": nearest_rank_by_definition(times, 50),
            "p90": nearest_rank_by_definition(times, 90),
            "max": max(times, default=None),
            "bands": [
                sum(1 for t in times if lo <= t < hi)
                for lo, hi in (
                    (0, 60),
                    (60, 120),
                    (120, 180),
                    (180, 300),
                    (300, 600),
                    (600, math.inf),
                )
            ],
            "within3": sum(1 for t in times if t < 180),
            "within5": sum(1 for t in times if t < 300),
        }

    def counter_key(v_inst: uuid.UUID, counter: str) -> str:
        return counter if institution_id else f"{codes[v_inst]}/{counter}"

    by_counter: dict[str, list] = {}
    by_clerk: dict[str, list] = {}
    by_type: dict[str, list] = {}
    for v in visits:
        by_counter.setdefault(counter_key(v.institution_id, v.counter), []).append(v)
        by_clerk.setdefault(clerks.get(v.clerk_id, "?"), []).append(v)
        ks = kinds.get(v.id)
        order = [k.code for k in reports.CERTIFICATE_KINDS]
        type_key = (
            "+".join(sorted(set(ks), key=order.index))
            if ks
            else "consultation"
            if v.id in consulted
            else "lookup"
        )
        by_type.setdefault(type_key, []).append(v)
    extra_counter: dict[str, list[str]] = {}
    extra_clerk: dict[str, list[str]] = {}
    for c in unlinked:
        extra_counter.setdefault(counter_key(c.institution_id, "—"), []).append(c.kind)
        extra_clerk.setdefault(clerks.get(c.issued_by, "?"), []).append(c.kind)
    hours = [0] * 24
    for v in visits:
        hours[v.started_at.astimezone(BEIJING).hour] += 1
    return {
        "total": summary(visits, [c.kind for c in unlinked]),
        "counters": {
            k: summary(by_counter.get(k, []), extra_counter.get(k, []))
            for k in set(by_counter) | set(extra_counter)
        },
        "clerks": {
            k: summary(by_clerk.get(k, []), extra_clerk.get(k, []))
            for k in set(by_clerk) | set(extra_clerk)
        },
        "types": {k: summary(g) for k, g in by_type.items()},
        "hours": hours,
        "slowest": sorted((t for t in (seconds(v) for v in visits) if t is not None), reverse=True)[
            : reports.SLOWEST_COUNT
        ],
    }


def as_summary(t: reports.Tally) -> dict:
    return {
        "arrivals": t.arrivals,
        "closed": t.closed,
        "open": t.open,
        "certificates": t.certificates,
        "by_kind": dict(t.certificates_by_kind),
        "median": t.times.median_s,
        "p90": t.times.p90_s,
        "max": t.times.max_s,
        "bands": list(t.times.bands),
        "within3": t.times.within_target,
        "within5": t.times.within_complex,
    }


def assert_matches_independent(
    db: Database, figures: reports.DayFigures, institution_id: uuid.UUID | None
) -> None:
    expected = independent(db, figures.day, institution_id)
    # Exact equality: times are whole milliseconds on both sides.
    assert as_summary(figures.total) == expected["total"]
    assert {t.key: as_summary(t) for t in figures.counters} == expected["counters"]
    clerks = {t.label if t.key else "?": as_summary(t) for t in figures.clerks}
    assert clerks == expected["clerks"]
    assert {t.key: as_summary(t) for t in figures.types} == expected["types"]
    assert list(figures.arrivals_by_hour) == expected["hours"]
    assert [s.seconds for s in figures.slowest] == expected["slowest"]


# --------------------------------------------------------------------------------------------
# The hand-built day


def check_hand_built_day(db: Database, places: Places, visits: dict[str, uuid.UUID]) -> None:
    f = reports.day_figures(db, day=DAY, institution_id=places.here)
    assert f.day == DAY and f.institution.code == "CY-RC" and f.grouping == "counter"

    # Timed (sorted): 45, 59.999, 60, 90, 119.5, 150, 180, 240, 300, 720 — n = 10.
    total = f.total
    assert (total.arrivals, total.closed, total.abandoned, total.open) == (11, 9, 1, 1)
    assert total.certificates == 6
    assert total.certificates_by_kind == (
        ("custody", 2),
        ("experience", 1),
        ("kinship", 1),
        ("work_start", 1),
        ("education", 1),
    )
    t = total.times
    assert t.timed == 10
    assert t.median_s == 119.5  # rank ⌈0.5·10⌉ = 5
    assert t.p90_s == 300.0  # rank ⌈0.9·10⌉ = 9
    assert t.max_s == 720.0
    assert t.bands == (2, 3, 1, 2, 1, 1)  # 59.999 in 0–1; 60, 180, 300 open their bands
    assert (t.within_target, t.within_complex) == (6, 8)
    assert (t.share_within_target, t.share_within_complex) == (0.6, 0.8)

    counters = {c.key: c for c in f.counters}
    assert [c.key for c in f.counters] == ["1", "2", "3", "—"]
    one, two, three, none = (counters[k] for k in ("1", "2", "3", "—"))
    # Counter 1: 45, 60, 150, 180, 300.
    assert (one.arrivals, one.closed, one.abandoned, one.open, one.certificates) == (5, 4, 1, 0, 3)
    assert (one.times.median_s, one.times.p90_s, one.times.max_s) == (150.0, 300.0, 300.0)
    assert (one.times.share_within_target, one.times.share_within_complex) == (0.6, 0.8)
    assert one.times.bands == (1, 1, 1, 1, 1, 0)
    # Counter 2: 119.5, 240, 720 and one open.
    assert (two.arrivals, two.closed, two.open, two.certificates) == (4, 3, 1, 2)
    assert (two.times.median_s, two.times.p90_s, two.times.max_s) == (240.0, 720.0, 720.0)
    assert two.times.share_within_target == pytest.approx(1 / 3)
    # Counter 3: 59.999, 90.
    assert (three.arrivals, three.times.median_s, three.times.p90_s) == (2, 59.999, 90.0)
    assert three.times.bands == (1, 1, 0, 0, 0, 0)
    # The certificate issued outside a service.
    assert (none.arrivals, none.certificates, none.certificates_by_kind) == (
        0,
        1,
        (("education", 1),),
    )
    assert none.times.timed == 0 and none.times.median_s is None
    assert none.times.share_within_target is None
    assert f.groups == f.counters

    clerks = [(c.key, c.label, c.arrivals, c.certificates) for c in f.clerks]
    assert clerks == [
        ("clerk2", "李强", 4, 2),
        ("clerk1", "王芳", 5, 4),
        ("", "（无经办人）", 2, 0),
    ]

    types = [(t.key, t.arrivals, t.times.median_s) for t in f.types]
    assert types == [
        ("lookup", 6, 60.0),  # v2 45, v4 60, v7 720, v10 59.999, v11 90 (v8 open)
        ("custody", 2, 119.5),  # v1 150, v6 119.5
        ("consultation", 1, 300.0),
        ("experience+kinship", 1, 180.0),
        ("work_start", 1, 240.0),
    ]
    labels = {t.key: t.label for t in f.types}
    assert labels["custody"] == "存档证明"
    assert labels["experience+kinship"] == "经历证明 + 亲属关系证明"

    finding, at_dossier = f.stages
    # finding: 10, 15, 20, 30, 30, 40, 60; at the dossier: 35, 104.5, 130, 150, 200, 270, 660.
    assert (finding.times.timed, finding.times.median_s, finding.times.p90_s) == (7, 30.0, 60.0)
    assert (at_dossier.times.median_s, at_dossier.times.p90_s) == (150.0, 660.0)

    hours = [0] * 24
    hours[0], hours[9], hours[10], hours[11], hours[14], hours[15], hours[16] = 1, 3, 2, 1, 1, 1, 2
    assert list(f.arrivals_by_hour) == hours

    assert [s.seconds for s in f.slowest] == [
        720.0,
        300.0,
        240.0,
        180.0,
        150.0,
        119.5,
        90.0,
        60.0,
        59.999,
        45.0,
    ]
    slowest = f.slowest[0]
    assert slowest.visit_id == visits["v7"]
    assert slowest.started_at == dt.datetime(2026, 11, 17, 11, 0, tzinfo=BEIJING)
    assert (slowest.counter, slowest.clerk, slowest.ended, slowest.type_key) == (
        "2",
        "李强",
        "closed",
        "lookup",
    )
    assert f.slowest[1].type_key == "consultation"
    assert f.slowest[3].type_key == "experience+kinship"
    assert f.slowest[7].ended == "abandoned"

    assert_matches_independent(db, f, places.here)

    by_clerk = reports.day_figures(db, day=DAY, institution_id=places.here, grouping="clerk")
    assert by_clerk.groups == by_clerk.clerks

    # All institutions: CY-JY's 120 s service joins; counters are keyed by institution.
    everything = reports.day_figures(db, day=DAY, institution_id=None)
    assert everything.institution is None
    assert everything.total.arrivals == 12
    assert everything.total.times.median_s == 120.0  # rank ⌈5.5⌉ = 6 of 11: 45 … 119.5, 120
    assert [c.key for c in everything.counters] == [
        "CY-JY/1",
        "CY-RC/1",
        "CY-RC/2",
        "CY-RC/3",
        "CY-RC/—",
    ]
    assert_matches_independent(db, everything, None)
    assert_rows_untracked(db)


def assert_rows_untracked(db: Database) -> None:
    """The per-service rows hold only text, numbers and None (no uuid.UUID, no nested tuple),
    so the garbage collector untracks them at its first look: thousands of tracked rows per
    refresh set off full collections of the heap, the PostgreSQL dashboard's p95 at city
    scale (issue 13)."""
    lo, hi = clock.day_bounds(DAY)
    with db.read() as session:
        rows = reports._visit_rows(session.connection(), lo, hi, None)
    assert len(rows) == 12
    assert {type(value) for row in rows for value in row} == {str, int, type(None)}
    if sys.implementation.name == "cpython":
        gc.collect(0)
        assert not any(gc.is_tracked(row) for row in rows)


def test_hand_built_day_on_sqlite(tmp_path) -> None:  # noqa: ANN001
    archive, places = archive_places(tmp_path)
    db = archive.db
    visits = seed_day(db, places)
    check_hand_built_day(db, places, visits)


@pytest.mark.postgres
def test_hand_built_day_on_postgresql(postgres_url: str) -> None:
    db = Database(postgres_url)
    try:
        migrate.upgrade(db)
        places = plain_places(db)
        visits = seed_day(db, places)
        check_hand_built_day(db, places, visits)
        report = reports.range_figures(
            db,
            start=DAY - dt.timedelta(days=1),
            end=DAY + dt.timedelta(days=1),
            institution_id=places.here,
        )
        assert [d.total.arrivals for d in report.days] == [1, 11, 1]
    finally:
        db.dispose()


def test_empty_day_and_bad_arguments(tmp_path) -> None:  # noqa: ANN001
    archive, places = archive_places(tmp_path)
    db = archive.db
    f = reports.day_figures(db, day=DAY, institution_id=places.here, grouping="clerk")
    assert f.total.arrivals == 0 and f.total.times.median_s is None
    assert f.counters == () and f.slowest == () and sum(f.arrivals_by_hour) == 0
    with pytest.raises(ValueError):
        reports.day_figures(db, day=DAY, grouping="window")
    with pytest.raises(reports.ReportError):
        reports.day_figures(db, day=DAY, institution_id=uuid.uuid4())
    with pytest.raises(reports.ReportError):
        reports.range_figures(db, start=DAY, end=DAY - dt.timedelta(days=1))


def test_range_figures_are_true_period_figures(tmp_path) -> None:  # noqa: ANN001
    archive, places = archive_places(tmp_path)
    db = archive.db
    seed_day(db, places)
    r = reports.range_figures(
        db,
        start=DAY - dt.timedelta(days=1),
        end=DAY + dt.timedelta(days=1),
        institution_id=places.here,
    )
    assert [d.day for d in r.days] == [DAY - dt.timedelta(days=1), DAY, DAY + dt.timedelta(days=1)]
    assert [d.total.arrivals for d in r.days] == [1, 11, 1]
    # The day inside the range equals the day on its own (apart from the clock).
    alone = reports.day_figures(db, day=DAY, institution_id=places.here)
    inside = r.days[1]
    for name in ("total", "counters", "clerks", "types", "stages", "arrivals_by_hour", "slowest"):
        assert getattr(inside, name) == getattr(alone, name), name
    # The period: 13 services; times 45 … 720 plus "before" (120.001 s) and "after" (60 s).
    assert r.total.arrivals == 13
    assert r.total.times.timed == 12
    # 45, 59.999, 60, 60, 90, 119.5, 120.001, 150, 180, 240, 300, 720: rank ⌈6⌉ = 6.
    assert r.total.times.median_s == 119.5
    assert r.total.times.p90_s == 300.0  # rank 11 of 12
    assert r.total.times.bands == (2, 4, 2, 2, 1, 1)


def test_percentile_is_nearest_rank() -> None:
    assert statistics.percentile([], 50) is None
    assert statistics.percentile([7], 90) == 7
    assert statistics.percentile([1, 2, 3, 4], 50) == 2  # lower middle, not 2.5
    assert statistics.percentile(list(range(1, 11)), 90) == 9  # exactly 9.0, not 9.000…1 → 10
    assert statistics.percentile(list(range(1, 21)), 90) == 18
    assert statistics.percentile([1, 2, 3], 90) == 3
    with pytest.raises(ValueError):
        statistics.percentile([1], 0)
    stats = statistics.time_stats(
        [-5_000, 0, 59_999, 60_000, 179_999, 180_000, 299_999, 300_000, 600_000]
    )
    assert stats.bands == (3, 1, 1, 2, 1, 1)  # a negative time counts as 0
    assert stats.median_s == 179.999 and stats.max_s == 600.0  # rank 5 of 9
    assert (stats.within_target, stats.within_complex) == (5, 7)


# --------------------------------------------------------------------------------------------
# Generated history


def test_generated_history_matches_independent_computation(tmp_path) -> None:  # noqa: ANN001
    archive, places = archive_places(tmp_path)
    db = archive.db
    now = bj(dt.date(2026, 11, 27), "10:30:00")  # a Friday morning: the last day is live
    made = service_history.generate_history(
        db,
        institution_ids=[places.here, places.there],
        counters=3,
        clerks=[places.clerk1, places.clerk2],
        start=dt.date(2026, 11, 9),
        days=19,
        seed=7,
        now=now,
    )
    assert made > 0
    with db.read() as s:
        visits = s.exec(select(ServiceVisit)).all()
        certs = s.exec(select(Certificate)).all()
        events = s.exec(select(ServiceEvent)).all()
    assert len(visits) == made
    local = [v.started_at.astimezone(BEIJING) for v in visits]
    assert all(t.weekday() < 5 for t in local)  # Monday–Friday
    assert all(t <= now for t in visits for t in [t.started_at])
    assert min(t.time() for t in local) >= dt.time(9, 0)
    # Serials continue one yearly sequence per institution, in issue order.
    numbers = sorted(int(c.serial.rsplit("-", 1)[1]) for c in certs)
    assert numbers == list(range(1, len(certs) + 1))
    assert {c.serial.split("-")[0] for c in certs} == {"CY"}  # only CY-RC holds dossiers
    kinds = Counter(e.kind for e in events)
    assert kinds["started"] == made
    assert kinds["certificate_issued"] == len(certs) > 0
    assert kinds["consultation_recorded"] > 0 and kinds["abandoned"] > 0
    # The live day has open services (started before now, not ended yet) or at least none
    # ending after now.
    assert all(e.at <= now for e in events)
    # Two clerks at CY-RC: two counters open there; CY-JY (no clerks listed) opens all three.
    here_counters = {v.counter for v in visits if v.institution_id == places.here}
    there_counters = {v.counter for v in visits if v.institution_id == places.there}
    assert here_counters == {"1", "2"} and there_counters == {"1", "2", "3"}
    for day in (dt.date(2026, 11, 9), dt.date(2026, 11, 18), dt.date(2026, 11, 27)):
        for inst in (places.here, None):
            figures = reports.day_figures(db, day=day, institution_id=inst)
            assert figures.total.arrivals > 0
            assert_matches_independent(db, figures, inst)
    # Weekends are empty.
    assert reports.day_figures(db, day=dt.date(2026, 11, 14)).total.arrivals == 0

    # A second run continues the serial sequence instead of repeating it.
    service_history.generate_history(
        db,
        institution_ids=[places.here],
        counters=["A"],
        clerks=[places.clerk1],
        start=dt.date(2026, 11, 30),
        days=1,
        seed=8,
        now=bj(dt.date(2026, 12, 1), "00:00:00"),
    )
    with db.read() as s:
        serials = [c.serial for c in s.exec(select(Certificate))]
    assert len(serials) == len(set(serials))


def test_generated_history_is_realistic(tmp_path) -> None:  # noqa: ANN001
    archive, places = archive_places(tmp_path)
    db = archive.db
    service_history.generate_history(
        db,
        institution_ids=[places.here],
        counters=2,
        clerks=[places.clerk1, places.clerk2],
        start=dt.date(2026, 9, 7),
        days=28,
        seed=3,
        now=bj(dt.date(2026, 12, 1), "00:00:00"),
    )
    r = reports.range_figures(
        db, start=dt.date(2026, 9, 7), end=dt.date(2026, 10, 4), institution_id=places.here
    )
    times = r.total.times
    assert 100 <= times.median_s <= 180  # mostly 1–4 minutes …
    assert times.max_s > 600  # … with a long tail
    assert 0.5 < times.share_within_target < 0.9
    hours = r.arrivals_by_hour
    assert hours[12] + hours[13] < hours[10] / 2  # lunch break (only queue spill-over)
    assert hours[10] > hours[9] and hours[15] > hours[17]  # mid-morning and afternoon peaks
    assert {t.key for t in r.types} >= {"custody", "consultation", "lookup"}
    assert 0.03 < r.total.abandoned / r.total.arrivals < 0.12
