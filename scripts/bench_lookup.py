"""Benchmark: counter lookup and dossier opening on a large archive.

Fills a SQLite file with N dossiers (default 200,000; Beijing holds ~1.71 million across all
institutions, a district centre 100–300 thousand) with custody events and 30 materials each for
a sample, then times services.lookup.find for a resident ID, a dossier number and a name, and
services.viewing.open_dossier (catalogue read + access event + service event).

    python scripts/bench_lookup.py [--dossiers 200000] [--runs 200]

Prints the median and p95 in milliseconds for each. Results go into BENCHMARKS.md by hand.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from counter_tui.db import migrate
from counter_tui.db.engine import Database
from counter_tui.db.models import Clerk, CustodyEvent, Dossier, Institution, Material, new_id
from counter_tui.domain import resident_id
from counter_tui.services import auth, lookup, viewing, visits
from counter_tui.services.workplace import ClerkRef, Workplace, institution_ref

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"


def fill(db: Database, n: int, rng: random.Random) -> tuple[Workplace, list[tuple[str, str, str]]]:
    """Insert ``n`` dossiers held by one institution; return the workplace and samples."""
    with db.write() as s:
        inst = Institution(
            code="CY-RC", name="北京市朝阳区人才服务中心", kind="district", serial_prefix="CY"
        )
        s.add(inst)
        s.flush()
        # A real clerk account carries their own ID (argon2id), checked on every open.
        clerk = Clerk(
            username="bench",
            name="基准",
            role="clerk",
            institution_id=inst.id,
            id_number_hash=auth.hash_id_number("11010519491231002X"),
        )
        s.add(clerk)
        s.flush()
        place = Workplace(institution_ref(inst), ClerkRef(clerk.id, "bench", "基准", "clerk"), "1")
    samples = []
    at = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    batch = 20_000
    for start in range(0, n, batch):
        dossiers, custody, materials = [], [], []
        for i in range(start, min(n, start + batch)):
            born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 19000))
            first17 = f"110105{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
            number = first17 + resident_id.check_character(first17)
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
            did = new_id()
            no = f"CY{i:08d}"
            dossiers.append(
                dict(
                    id=did,
                    dossier_no=no,
                    barcode=no,
                    person_name=name,
                    id_number=number,
                    gender="M",
                    birth_date_recorded="",
                    created_at=at,
                )
            )
            custody.append(
                dict(
                    id=new_id(),
                    dossier_id=did,
                    kind="shelved",
                    holder_institution_id=place.institution.id,
                    shelf_location=f"{i % 9 + 1}库-{i % 97:02d}架",
                    at=at,
                    remark="",
                )
            )
            if i % 100 == 0:
                samples.append((number, no, name))
                for k in range(30):
                    materials.append(
                        dict(
                            id=new_id(),
                            dossier_id=did,
                            category=k % 10 + 1,
                            subcategory=1 if k % 10 + 1 in (4, 9) else None,
                            item_no=k // 10 + 1,
                            title="干部履历表",
                            formed_on=dt.date(1990, 1, 1),
                            page_count=2,
                            remark="",
                            created_at=at,
                        )
                    )
        with db.begin_write_connection() as c:
            c.execute(insert(Dossier), dossiers)
            c.execute(insert(CustodyEvent), custody)
            if materials:
                c.execute(insert(Material), materials)
    return place, samples


def timed(fn, runs: int) -> tuple[float, float]:  # noqa: ANN001
    """Median and p95 of ``fn()`` in milliseconds over ``runs`` calls."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dossiers", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    # The own-ID key lives in the keyring (services.auth.own_id_key): an in-memory one here,
    # the demo's file keyring when PYTHON_KEYRING_BACKEND names it.
    import keyring
    from keyring.backends import fail

    if isinstance(keyring.get_keyring(), fail.Keyring):
        sys.path.insert(0, str(Path(__file__).parent))
        from bench_certificates import _MemoryKeyring

        keyring.set_keyring(_MemoryKeyring())
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrate.upgrade(db)
        t0 = time.perf_counter()
        place, samples = fill(db, args.dossiers, rng)
        print(f"filled {args.dossiers} dossiers in {time.perf_counter() - t0:.1f} s")
        pick = lambda i: samples[i % len(samples)]  # noqa: E731
        counter = iter(range(10**9))
        for label, fn in [
            ("lookup by resident ID", lambda: lookup.find(db, pick(next(counter))[0], place)),
            ("lookup by dossier no.", lambda: lookup.find(db, pick(next(counter))[1], place)),
            ("lookup by /name", lambda: lookup.find(db, "/" + pick(next(counter))[2], place)),
        ]:
            med, p95 = timed(fn, args.runs)
            print(f"{label:24} median {med:6.2f} ms   p95 {p95:6.2f} ms")
        visit_id, _ = visits.start(db, place)
        ids = []
        for i in range(args.runs):
            outcome = lookup.find(db, pick(i)[1], place)
            ids.append(outcome.matches[0].id)
        it = iter(ids)
        med, p95 = timed(lambda: viewing.open_dossier(db, next(it), place, visit_id), args.runs)
        print(f"{'open dossier (30 mat.)':24} median {med:6.2f} ms   p95 {p95:6.2f} ms")
        db.dispose()


if __name__ == "__main__":
    main()
