"""Sync throughput: push 10,000 facts from an office, pull a 5,000-dossier scope.

    .venv/bin/python scripts/bench_sync.py [--facts 10000] [--scope 5000]

Starts a throwaway PostgreSQL server (tests/support/pg.py), prepares it as the central database
(services.central) with the two institutions of an office archive (tests' tiny archive,
institution CY-RC), then:

1. **push**: the office records ``--facts`` new facts (materials of dossiers it holds, 40 per
   dossier, each dossier with its custody event) and ``sync.push`` sends them; facts/s over the
   outbox entries sent (materials, dossiers, custody events and their seals in the access
   chain).
2. **pull**: a fresh laptop database of the same office (institutions only) pulls its scope of
   ``--scope`` dossiers (each with a custody event and two materials) and seals what it
   receives; rows/s over the rows stored.

Prints the figures; timings are wall-clock on this machine (not asserted anywhere).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, default=10_000)
    parser.add_argument("--scope", type=int, default=5_000)
    parser.add_argument(
        "--batch", type=int, default=None, help="rows per pull transaction (sync.BATCH)"
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="write the pull's cProfile statistics to FILE"
    )
    args = parser.parse_args()

    import keyring
    from sqlalchemy import text
    from sqlmodel import func, select

    from counter_tui.db import migrate
    from counter_tui.db.engine import Database
    from counter_tui.db.models import CustodyEvent, Dossier, Institution, Material, SyncOutbox
    from counter_tui.services import access_log, central, fixity, sync
    from tests.support.factories import tiny_archive
    from tests.support.keyrings import MemoryKeyring
    from tests.support.pg import running_server

    keyring.set_keyring(MemoryKeyring())
    work = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    office = tiny_archive(work / "office")
    with office.db.read() as s:
        here = s.exec(select(Institution).where(Institution.code == "CY-RC")).one()
        origin = here.id

    def add_dossiers(db: Database, count: int, materials: int, prefix: str) -> None:
        at = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        with db.write() as s:
            chain = access_log.Chain(s)
            for n in range(count):
                dossier = Dossier(dossier_no=f"{prefix}{n:07d}", person_name=f"测试{n}")
                s.add(dossier)
                s.flush()
                s.add(
                    CustodyEvent(
                        dossier_id=dossier.id,
                        kind="received",
                        holder_institution_id=origin,
                        at=at,
                    )
                )
                for item in range(materials):
                    material = Material(
                        dossier_id=dossier.id,
                        category=1 + item % 10,
                        item_no=item + 1,
                        title=f"材料{item}",
                        page_count=1,
                    )
                    s.add(material)
                    s.flush()
                    fixity.register_material(chain, material, clerk_id=None, institution_id=origin)

    with running_server() as server:
        with server.connect() as connection:
            connection.autocommit = True
            connection.execute("CREATE DATABASE central")
        admin_url = server.url("central")
        central.init_central(admin_url)
        admin = central.admin_database(admin_url)
        with office.db.read() as s, admin.write() as remote:
            for row in s.exec(select(Institution)):
                remote.merge(Institution.model_validate(row.model_dump()))
        password = central.add_office(admin_url, "CY-RC")
        central_db = Database(
            central.office_url(admin_url, "CY-RC").replace("@", f":{password}@", 1)
        )
        sync.sync_once(office.db, central_db, origin)  # the tiny archive's own facts first

        # 1. push
        per = 40
        add_dossiers(office.db, max(1, args.facts // (2 * per)), per, "PU")
        with office.db.read() as s:
            cursor = int(
                s.exec(text("SELECT value FROM sync_state WHERE key='push_cursor'")).scalar() or 0
            )
            pending = s.exec(
                select(func.count()).select_from(SyncOutbox).where(SyncOutbox.seq > cursor)
            ).one()
        started = time.perf_counter()
        result = sync.push(office.db, central_db, origin)
        took = time.perf_counter() - started
        print(
            f"push: {pending} outbox entries ({result.pushed} new rows on central) in "
            f"{took:.2f} s = {pending / took:,.0f} facts/s"
        )

        # 2. pull
        add_dossiers(office.db, args.scope, 2, "PL")
        sync.push(office.db, central_db, origin)
        laptop = Database(f"sqlite:///{work / 'laptop.db'}")
        migrate.upgrade(laptop)
        profiler = cProfile.Profile() if args.profile else None
        cpu = time.process_time()
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        pulled = sync.pull(laptop, central_db, origin, batch=args.batch or sync.BATCH)
        took = time.perf_counter() - started
        cpu = time.process_time() - cpu
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        with laptop.read() as s:
            dossiers = s.exec(select(func.count()).select_from(Dossier)).one()
        print(
            f"pull: {dossiers} dossiers in scope, {pulled.pulled} rows stored and sealed "
            f"({pulled.skipped} skipped) in {took:.2f} s = {pulled.pulled / took:,.0f} rows/s "
            f"(this process's CPU {cpu:.2f} s; the rest is central's and waiting)"
        )
        central_db.dispose()
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
