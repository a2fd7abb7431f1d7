"""Building the demo archive: a database that looks like the real thing (for trying the
counter, and for benchmarks).

Three Chaoyang institutions, one account per role, a few hundred personnel dossiers planned by
:mod:`counter_tui.demo.people` (catalogues, custody histories, a few transferred out) and, for a
share of the dossiers, page images painted by :mod:`counter_tui.demo.pages` and attached
through the real intake (:func:`counter_tui.services.intake.ingest_scan_batch`), which reads the
dossier number off the cover. A few weeks of counter service history
(:mod:`counter_tui.demo.service_history`) give the supervisor's dashboard figures.
Everything is deterministic for a given seed, except UUIDs, password hashes and the access
log's seals (which cover UUIDs), and the service history, which ends at the real "now".
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import os
import random
import shutil
import tempfile
import time
import uuid
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert
from sqlmodel import col, func, select

from counter_tui.db.engine import Database
from counter_tui.db.models import Clerk, CustodyEvent, Dossier, Institution, Material, new_id
from counter_tui.demo import service_history
from counter_tui.demo.institutions import (
    CLERKS,
    INSTITUTION_DETAILS,
    INSTITUTIONS,
    institution_names,
)
from counter_tui.demo.pages import BatchJob, batch_renderer
from counter_tui.demo.people import DossierPlan, plan_archive
from counter_tui.domain import clock
from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.services import access_log, auth, custody, fixity
from counter_tui.services.intake import ingest_scan_batch

AS_OF = dt.date(2026, 6, 30)
"""The demo archive's "today": no material, custody event or scan is dated later (nor later
than the real Beijing date, whichever comes first)."""


class DemoError(CounterError, RuntimeError):
    """The demo archive cannot be built here (e.g. the database is not empty)."""


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`build_demo` built and what it cost: counts of rows, ``seconds`` of wall
    time, and ``bytes_on_disk`` (page files plus the SQLite database files, in bytes)."""

    institutions: int
    clerks: int
    dossiers: int
    materials: int
    digitised_dossiers: int
    pages: int
    services: int
    seconds: float
    bytes_on_disk: int


def build_demo(
    db: Database,
    archive_root: Path,
    *,
    dossiers: int = 300,
    seed: int = 2026,
    digitised_share: float = 0.1,
    workers: int | None = None,
    history_days: int = 21,
) -> DemoSummary:
    """Fill an empty, migrated database with a demonstration archive and return a summary.

    ``history_days`` (0: none) days of generated counter service history end today (Beijing
    time), so the supervisor's dashboard has figures (:mod:`counter_tui.demo.service_history`).

    ``dossiers`` (≥ 1) personnel dossiers are generated deterministically from ``seed``
    (``random.Random``); about 80 % are held by CY-RC. ``round(dossiers * digitised_share)`` of
    them (``digitised_share`` in 0–1) are digitised: page images are rendered into a temporary
    scan batch per dossier (A4, 150 dpi, bilevel PNG, Code 128 cover label) and attached through
    :func:`counter_tui.services.intake.ingest_scan_batch`, which stores them under
    ``archive_root`` and reads the dossier number off the cover. The rest are paper only.
    ``workers`` is the number of rendering threads working ahead of intake (default: 1 on a
    multi-core machine, else 0, which renders in the calling thread between intakes).

    Institutions: CY-RC, CY-JY, CY-JW (see :data:`~counter_tui.demo.institutions.INSTITUTIONS`);
    accounts: one per role at CY-RC plus ``clerk3`` at CY-JY (see
    :data:`~counter_tui.demo.institutions.CLERKS`), each with the password "<username>-demo".

    Raises :class:`DemoError` if the database already holds dossiers or institutions, ValueError
    for out-of-range arguments, and whatever intake raises if a rendered batch cannot be attached
    (a bug). Sources for the catalogue: shared/reference/domain.md §1 (ten categories, numbering
    in date order), §3 (DA/T 31-2017), §4 (GB 11643-1999), §5 (sequential dossier numbers).
    """
    started = time.perf_counter()
    if dossiers < 1:
        raise ValueError("dossiers must be at least 1")
    if not 0.0 <= digitised_share <= 1.0:
        raise ValueError("digitised_share must be between 0 and 1")
    with db.read() as session:
        held = session.exec(select(func.count()).select_from(Dossier)).one()
        institutions = session.exec(select(func.count()).select_from(Institution)).one()
    if held or institutions:
        raise DemoError(
            _(
                "The database already holds an archive; the demo is built only into an empty "
                "database."
            )
        )
    as_of = min(AS_OF, clock.today())
    plans = plan_archive(random.Random(seed), dossiers, digitised_share, as_of)
    archivist_id = _insert(db, plans)

    archive_root = Path(archive_root)
    archive_root.mkdir(parents=True, exist_ok=True)
    jobs = [_job(plan) for plan in plans if plan.digitised]
    # CY-RC's archivist scans what CY-RC holds; the rest is an operator's import (no account):
    # intake refuses an archivist working on another institution's dossier.
    scanned_by = {
        p.dossier_no: archivist_id if p.custody[-1].holder == "CY-RC" else None
        for p in plans
        if p.digitised
    }
    pages = _digitise(db, archive_root, jobs, scanned_by, workers)
    services = _history(db, history_days, seed) if history_days else 0

    material_count = sum(len(p.materials) for p in plans)
    return DemoSummary(
        institutions=len(INSTITUTIONS),
        clerks=len(CLERKS),
        dossiers=len(plans),
        materials=material_count,
        digitised_dossiers=len(jobs),
        pages=pages,
        services=services,
        seconds=time.perf_counter() - started,
        bytes_on_disk=_bytes_on_disk(db, archive_root),
    )


def _history(db: Database, days: int, seed: int) -> int:
    """A few weeks of counter service history up to now, for the supervisor's dashboard:
    4 counters at each district centre and 2 at the sub-district office, served by the
    clerks and supervisors of each."""
    with db.read() as session:
        institutions = session.exec(select(Institution).order_by(Institution.code)).all()
        staff = session.exec(
            select(Clerk).where(col(Clerk.role).in_(("clerk", "supervisor")))
        ).all()
    counters = {"sub-district": 2}
    total = 0
    today = clock.today()
    for inst in institutions:
        total += service_history.generate_history(
            db,
            institution_ids=[inst.id],
            counters=counters.get(inst.kind, 4),
            clerks=[c.id for c in staff if c.institution_id == inst.id],
            start=today - dt.timedelta(days=days),
            days=days + 1,
            seed=seed,
        )
    return total


# --------------------------------------------------------------------------------------------
# Writing the paper part


def _insert(db: Database, plans: list[DossierPlan]) -> uuid.UUID:
    """Insert institutions, accounts, dossiers, catalogues and custody; return the archivist."""
    now = clock.utcnow()
    with db.write() as session:
        institutions = {}
        for code, name, kind, parent, prefix in INSTITUTIONS:
            uscc, address = INSTITUTION_DETAILS[code]
            institutions[code] = Institution(
                code=code,
                name=name,
                kind=kind,
                parent_code=parent,
                serial_prefix=prefix,
                uscc=uscc,
                address=address,
            )
        session.add_all(institutions.values())
        # No ORM relationships are declared, so the flush order follows these explicit flushes.
        session.flush()
        sealing = access_log.Chain(session)
        for institution in institutions.values():
            fixity.register_institution(sealing, institution, clerk_id=None)
        clerks = {}
        for username, name, role, code in CLERKS:
            # Demo passwords are "<username>-demo" (README); real accounts come from
            # `counter-tui user add` or the first-admin prompt.
            clerks[username] = Clerk(
                username=username,
                name=name,
                role=role,
                institution_id=institutions[code].id,
                password_hash=auth.hash_secret(f"{username}-demo"),
            )
        session.add_all(clerks.values())
        session.flush()
        # Accounts are sealed as `counter-tui user add` seals them (no administrator: built).
        accounts = access_log.Chain(session)
        for account in clerks.values():
            auth.register_account(accounts, account, kind="account_added", clerk_id=None)
        session.flush()
        archivist = clerks["arch1"].id
        holders_clerk = {"CY-RC": archivist, "CY-JY": clerks["clerk3"].id}
        # Plain executemany inserts: ten thousand catalogue rows as ORM objects would cost
        # seconds and a hundred megabytes for nothing.
        dossier_rows, event_rows, material_rows = [], [], []
        for plan in plans:
            dossier_id = new_id()
            dossier_rows.append(
                dict(
                    id=dossier_id,
                    dossier_no=plan.dossier_no,
                    barcode=plan.dossier_no,
                    person_name=plan.name,
                    id_number=plan.id_number,
                    gender=plan.gender,
                    birth_date_recorded=plan.birth_recorded,
                    created_at=plan.received,
                    origin_institution_id=institutions[plan.origin].id,
                )
            )
            for event in plan.custody:
                event_rows.append(
                    dict(
                        id=new_id(),
                        dossier_id=dossier_id,
                        kind=event.kind,
                        holder_institution_id=institutions[event.holder].id,
                        shelf_location=event.shelf,
                        at=event.at,
                        clerk_id=holders_clerk.get(event.recorded_by or event.holder),
                        remark=event.remark,
                    )
                )
            for m in plan.materials:
                # Catalogued on arrival, or within a month of forming for later materials.
                filed = max(plan.received, clock.at(m.formed_on, 10) + dt.timedelta(days=20))
                material_rows.append(
                    dict(
                        id=new_id(),
                        dossier_id=dossier_id,
                        category=m.category,
                        subcategory=m.subcategory,
                        item_no=m.item_no,
                        title=m.title,
                        formed_on=m.formed_on,
                        page_count=m.page_count,
                        remark=m.remark,
                        corrects=None,
                        created_at=min(filed, now),
                        created_by=archivist,
                    )
                )
        session.execute(insert(Dossier), dossier_rows)
        session.execute(insert(CustodyEvent), event_rows)
        session.execute(insert(Material), material_rows)
        # Seal every dossier and catalogue entry in the access chain, as 补登 and intake do.
        chain = access_log.Chain(session)
        for row in dossier_rows:
            fixity.register_dossier(
                chain,
                Dossier(**row),
                clerk_id=archivist,
                institution_id=row["origin_institution_id"],
            )
        for row in material_rows:
            fixity.register_material(
                chain, Material(**row), clerk_id=archivist, institution_id=institutions["CY-RC"].id
            )
        # And every custody event (received, shelved, transferred …): facts too.
        for row in event_rows:
            custody.register_event(chain, CustodyEvent(**row))
    return archivist


# --------------------------------------------------------------------------------------------
# Digitising: rendering scan batches and attaching them through intake


def _job(plan: DossierPlan) -> BatchJob:
    return BatchJob(
        batch_dir="",
        dossier_no=plan.dossier_no,
        person_name=plan.name,
        birth_recorded=plan.birth_recorded,
        institution=institution_names()[plan.origin],
        seed=plan.render_seed,
        materials=tuple(
            (m.catalogue_number, m.title, m.formed_on.isoformat(), m.page_count, m.remark)
            for m in plan.materials
        ),
    )


def _digitise(
    db: Database,
    archive_root: Path,
    jobs: list[BatchJob],
    scanned_by: dict[str, uuid.UUID | None],
    workers: int | None,
) -> int:
    """Render and attach every job's scan batch; returns the number of pages attached."""
    if not jobs:
        return 0
    if workers is None:
        # One thread rendering ahead of intake is the sweet spot on two cores; more threads
        # mostly add memory.
        workers = 1 if (os.cpu_count() or 1) > 1 else 0
    pages = 0
    with tempfile.TemporaryDirectory(prefix="counter-tui-demo-") as tmp:
        staged = [
            dataclasses.replace(job, batch_dir=str(Path(tmp) / job.dossier_no)) for job in jobs
        ]
        # One painter per thread, dropped with its caches when the build ends.
        render = batch_renderer()

        def attach(batch_dir: str) -> None:
            nonlocal pages
            result = ingest_scan_batch(
                db,
                batch_dir=Path(batch_dir),
                archive_root=archive_root,
                clerk_id=scanned_by[Path(batch_dir).name],
            )
            pages += result.pages
            shutil.rmtree(batch_dir, ignore_errors=True)

        if workers <= 0:
            for job in staged:
                attach(render(job))
            return pages
        # Threads suffice: Pillow releases the GIL while packing and compressing a page, which
        # is most of the rendering time, and intake runs meanwhile in this thread.
        with concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="demo-render"
        ) as pool:
            # A bounded window: rendered batches wait on disk only briefly before intake.
            pending: deque[concurrent.futures.Future[str]] = deque()
            queue = deque(staged)
            try:
                while queue or pending:
                    while queue and len(pending) < workers * 2:
                        pending.append(pool.submit(render, queue.popleft()))
                    attach(pending.popleft().result())
            finally:
                for future in pending:
                    future.cancel()
    return pages


def _bytes_on_disk(db: Database, archive_root: Path) -> int:
    """Bytes of the files under ``archive_root`` plus the SQLite database, WAL and SHM files."""
    total = 0
    for folder, _dirs, files in os.walk(archive_root):
        for name in files:
            total += os.path.getsize(os.path.join(folder, name))
    if db.is_sqlite and db.url.database and db.url.database != ":memory:":
        base = Path(db.url.database)
        for suffix in ("", "-wal", "-shm"):
            candidate = base.with_name(base.name + suffix)
            if candidate.exists():
                total += candidate.stat().st_size
    return total
