"""Benchmark: the supervisor dashboard and the monthly report on a year of service history.

Usage:
  python scripts/bench_dashboard.py [--db PATH] [--reuse] [--per-counter-day N] [--runs N]

Builds (unless --reuse and the file exists) an SQLite archive with 5 institutions × 10
counters = 50 counters, 50 clerks, 1,000 dossiers per institution, and one year (2025) of
generated service history (demo.service_history, ≥ 2.5 million services at the default 196 per
counter and working day), then times:

* ``reports.day_figures`` for a busy Monday, one institution (10 counters) and all 50 counters:
  the first run and the median of ``--runs`` further runs (for a cold first run, drop the OS
  page cache before: ``sync; echo 3 > /proc/sys/vm/drop_caches`` as root);
* ``reports.range_figures`` for one month (October 2025), one institution and all.

Prints the build time, row counts, file size and timings as a Markdown table for BENCHMARKS.md.
Never imported by the app.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import func, insert, select

from counter_tui.db import migrate
from counter_tui.db.engine import Database
from counter_tui.db.models import (
    Certificate,
    Clerk,
    CustodyEvent,
    Dossier,
    Institution,
    ServiceEvent,
    ServiceVisit,
    new_id,
)
from counter_tui.demo import service_history
from counter_tui.services import reports

INSTITUTIONS = (
    ("BJ-CY", "朝阳区人才服务中心", "CY"),
    ("BJ-HD", "海淀区人才服务中心", "HD"),
    ("BJ-DC", "东城区人才服务中心", "DC"),
    ("BJ-XC", "西城区人才服务中心", "XC"),
    ("BJ-FT", "丰台区人才服务中心", "FT"),
)
COUNTERS = 10
DOSSIERS_PER_INSTITUTION = 1000
YEAR_START = dt.date(2025, 1, 1)
DAYS = 365
BUSY_DAY = dt.date(2025, 6, 16)  # a Monday
MONTH = (dt.date(2025, 10, 1), dt.date(2025, 10, 31))


def build(db: Database, per_counter_day: float, days: int) -> tuple[list, float]:
    """Create institutions, clerks, dossiers and a year of history; returns (institution ids,
    seconds taken by the history)."""
    migrate.upgrade(db)
    at = dt.datetime(2024, 12, 1, tzinfo=dt.UTC)
    inst_ids, clerk_ids = [], []
    with db.begin_write_connection() as conn:
        for n, (code, name, prefix) in enumerate(INSTITUTIONS):
            iid = new_id()
            inst_ids.append(iid)
            conn.execute(
                insert(Institution.__table__),
                [
                    {
                        "id": iid,
                        "code": code,
                        "name": name,
                        "kind": "district",
                        "parent_code": None,
                        "serial_prefix": prefix,
                    }
                ],
            )
            clerks = [
                {
                    "id": new_id(),
                    "username": f"{code.lower()}-{c}",
                    "name": f"窗口{c}号",
                    "role": "clerk",
                    "institution_id": iid,
                    "password_hash": None,
                    "id_number_hash": None,
                    "active": True,
                    "created_at": at,
                }
                for c in range(1, COUNTERS + 1)
            ]
            conn.execute(insert(Clerk.__table__), clerks)
            clerk_ids += [c["id"] for c in clerks]
            dossiers = [
                {
                    "id": new_id(),
                    "dossier_no": f"{n + 1}{d:07d}",
                    "barcode": None,
                    "person_name": f"测试{d}",
                    "id_number": None,
                    "gender": "",
                    "birth_date_recorded": "",
                    "created_at": at,
                    "origin_institution_id": iid,
                }
                for d in range(DOSSIERS_PER_INSTITUTION)
            ]
            conn.execute(insert(Dossier.__table__), dossiers)
            conn.execute(
                insert(CustodyEvent.__table__),
                [
                    {
                        "id": new_id(),
                        "dossier_id": d["id"],
                        "kind": "received",
                        "holder_institution_id": iid,
                        "shelf_location": "",
                        "at": at,
                        "clerk_id": None,
                        "remark": "",
                    }
                    for d in dossiers
                ],
            )
    started = time.perf_counter()

    def progress(day: dt.date, total: int) -> None:
        if day.day <= 5:
            print(
                f"  {day}  {total:>10,} services  {time.perf_counter() - started:7.0f} s",
                file=sys.stderr,
                flush=True,
            )

    service_history.generate_history(
        db,
        institution_ids=inst_ids,
        counters=COUNTERS,
        clerks=clerk_ids,
        start=YEAR_START,
        days=days,
        seed=2025,
        per_counter_day=per_counter_day,
        now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        progress=progress,
    )
    return inst_ids, time.perf_counter() - started


def timed(fn, runs: int) -> tuple[float, float, object]:  # noqa: ANN001
    """(cold ms, median warm ms, last result) of ``fn()``."""
    t = time.perf_counter()
    result = fn()
    cold = (time.perf_counter() - t) * 1000
    warm = []
    for _n in range(runs):
        t = time.perf_counter()
        result = fn()
        warm.append((time.perf_counter() - t) * 1000)
    return cold, statistics.median(warm), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="/tmp/counter-tui-bench/archive.db")
    parser.add_argument("--reuse", action="store_true", help="reuse an existing file")
    parser.add_argument("--per-counter-day", type=float, default=196.0)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--days", type=int, default=DAYS, help="days of history from 2025-01-01")
    args = parser.parse_args(argv)

    path = Path(args.db)
    url = f"sqlite:///{path}"
    build_s = None
    if not (args.reuse and path.exists()):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        db = Database(url)
        print(f"building {path} …", file=sys.stderr)
        _ids, build_s = build(db, args.per_counter_day, args.days)
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.exec_driver_sql("ANALYZE")
        db.dispose()
    db = Database(url)
    with db.read() as session:
        one = session.execute(select(Institution).order_by(Institution.code)).scalars().first()
    size_mb = os.path.getsize(path) / 1e6

    rows = []
    for label, inst in (("one institution (10 counters)", one.id), ("all 50 counters", None)):
        cold, warm, fig = timed(
            lambda inst=inst: reports.day_figures(db, day=BUSY_DAY, institution_id=inst), args.runs
        )
        rows.append((f"day_figures {BUSY_DAY}, {label}", fig.total.arrivals, cold, warm))
    for label, inst in (("one institution", one.id), ("all institutions", None)):
        cold, warm, fig = timed(
            lambda inst=inst: reports.range_figures(
                db, start=MONTH[0], end=MONTH[1], institution_id=inst
            ),
            max(1, args.runs // 3),
        )
        rows.append(
            (f"range_figures {MONTH[0]}…{MONTH[1]}, {label}", fig.total.arrivals, cold, warm)
        )
    # Counted last: counting reads whole indexes into the page cache, which would warm the
    # "first run" figures above.
    with db.read() as session:
        counts = {
            t.__tablename__: session.execute(select(func.count()).select_from(t)).scalar()
            for t in (ServiceVisit, ServiceEvent, Certificate)
        }
    db.dispose()

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, SQLite {__import__('sqlite3').sqlite_version}"
    )
    if build_s is not None:
        print(f"history generated and inserted in {build_s:.0f} s")
    print(
        f"rows: {counts['service_visit']:,} services, {counts['service_event']:,} events, "
        f"{counts['certificate']:,} certificates; file {size_mb:,.0f} MB"
    )
    print()
    print("| query | services | first run (ms) | median of warm runs (ms) |")
    print("|---|---:|---:|---:|")
    for name, n, cold, warm in rows:
        print(f"| {name} | {n:,} | {cold:.0f} | {warm:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
