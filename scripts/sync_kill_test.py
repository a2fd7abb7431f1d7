"""Kill `counter-tui sync` of two offices at random moments, again and again, then check the
exact union on the offices and central.

    .venv/bin/python scripts/sync_kill_test.py [--kills 50] [--offices 2] [--dossiers 40] [--seed 1]

Starts a throwaway PostgreSQL server (tests/support/pg.py) and prepares it as the central
database (services.central). Office CY-RC is a demo archive (the demo generator); with
``--offices 2`` (the default) office CY-JY starts from an empty archive of its own. Each office
has its own SQLite file, page folder, settings file and keyring file (the demo keyring
backend), and its own central role whose password is in its own keyring; the holder-index key
is copied from CY-RC's keyring to CY-JY's, as an administrator would.

Then, until ``--kills`` syncs have been killed: every round each office records new facts (a
log-in and dossier openings; CY-RC sends a dossier to CY-JY every third round, CY-JY records
the receipt of every dossier it has learnt is on its way to it), then ``counter-tui sync`` is
started as a separate process for one office or for both at once, and each is killed (SIGKILL)
after a random time up to 1.5 times how long that office's sync last took to finish (so about
a third finish by themselves) — before connecting, mid-batch, between central's commit and the
local acknowledgement, during the pull.

Finally every office syncs to its end (twice each, interleaved), and the script checks, for
every table: every row an office holds that is its to send is on central, every row both hold
has the same content hash (services.seals.row_content_hash), central holds no row that no
office holds, and each office holds every row of its scope that its own role can read on
central; every office's access chain is on central once, the same numbers and hashes; nothing
is quarantined or left unsynced; each office's archive verifies (services.fixity.verify: chain,
chain-key MACs, seals, page files, certificates, signed checkpoints) and agrees with central
(services.central_audit, `audit verify --central`). Prints what it did; exit status 0 when
everything holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

CODES = ("CY-RC", "CY-JY")
PASSWORD = "kill-test-pass-1"


class Office:
    """One office's files, environment (keyring file, settings file) and database."""

    def __init__(self, code: str, work: Path) -> None:
        self.code = code
        self.dir = work / code.lower()
        self.dir.mkdir()
        self.env = dict(os.environ)
        self.env.update(
            PYTHON_KEYRING_BACKEND="counter_tui.demo.keyring_file.DemoFileKeyring",
            COUNTER_TUI_DEMO_KEYRING=str(self.dir / "keyring.json"),
            COUNTER_TUI_CONFIG=str(self.dir / "settings.toml"),
            COUNTER_TUI_LANG="en",
        )
        self.db_url = f"sqlite:///{self.dir / 'office.db'}"
        self.archive = self.dir / "archive"
        self.base = [
            str(REPO / ".venv/bin/counter-tui"),
            "--db",
            self.db_url,
            "--archive-root",
            str(self.archive),
            "--data-dir",
            str(self.dir / "data"),
            "--institution",
            code,
        ]
        self.db = None
        self.origin: uuid.UUID | None = None
        self.central_url = ""
        self.typical = 0.0
        self.kills = self.finished = 0

    @contextlib.contextmanager
    def here(self):  # noqa: ANN201 - a context manager
        """Work in this process as this office's computer (its keyring and settings)."""
        import keyring

        from counter_tui.demo.keyring_file import DemoFileKeyring

        saved = {k: os.environ.get(k) for k in ("COUNTER_TUI_DEMO_KEYRING", "COUNTER_TUI_CONFIG")}
        os.environ["COUNTER_TUI_DEMO_KEYRING"] = self.env["COUNTER_TUI_DEMO_KEYRING"]
        os.environ["COUNTER_TUI_CONFIG"] = self.env["COUNTER_TUI_CONFIG"]
        # A backend object of its own: the services cache keys per backend object.
        self.keyring = getattr(self, "keyring", None) or DemoFileKeyring()
        previous = keyring.get_keyring()
        keyring.set_keyring(self.keyring)
        try:
            yield self
        finally:
            keyring.set_keyring(previous)
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def keyring_file(self) -> dict[str, str]:
        path = Path(self.env["COUNTER_TUI_DEMO_KEYRING"])
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def sync_command(self, batch: int | None) -> list[str]:
        extra = ["--batch", str(batch)] if batch else []
        return [*self.base, "sync", "--central", self.central_url, *extra]


def main() -> int:  # noqa: C901, PLR0915 - one scenario, told in order
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--offices", type=int, choices=(1, 2), default=2)
    parser.add_argument("--dossiers", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-delay", type=float, default=20.0)
    parser.add_argument("--verbose", action="store_true", help="one line per sync started")
    parser.add_argument("--keep", action="store_true", help="keep the offices' folders")
    parser.add_argument(
        "--batch", type=int, default=25, help="rows per transaction of the killed syncs"
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)

    work = Path(tempfile.mkdtemp(prefix="sync-kill-"))
    offices = [Office(code, work) for code in CODES[: args.offices]]
    first, second = offices[0], (offices[1] if len(offices) > 1 else None)
    os.environ.update(first.env)  # the keyring backend for this process (files per office)

    from sqlalchemy import text
    from sqlmodel import select

    from counter_tui.db import migrate
    from counter_tui.db.engine import Database
    from counter_tui.db.models import (
        AccessEvent,
        Clerk,
        CustodyEvent,
        Dossier,
        Institution,
        Material,
        SyncQuarantine,
    )
    from counter_tui.services import (
        access_log,
        auth,
        central,
        central_audit,
        custody,
        fixity,
        seals,
        secrets,
        sync,
        viewing,
    )
    from tests.support.pg import running_server

    started = time.perf_counter()
    subprocess.run(
        [*first.base, "demo", "build", "--dossiers", str(args.dossiers)], env=first.env, check=True
    )
    first.db = Database(first.db_url)
    problems: list[str] = []
    rounds = sent = received = 0
    with running_server() as server:
        with server.connect() as connection:
            connection.autocommit = True
            connection.execute("CREATE DATABASE central")
        admin_url = server.url("central")
        central.init_central(admin_url)
        admin = central.admin_database(admin_url)
        # The city's institutions, registered on central with the ids the first archive has.
        with first.db.read() as s, admin.write() as remote:
            for row in s.exec(select(Institution)):
                remote.merge(Institution.model_validate(row.model_dump()))
        with admin.read() as remote:
            ids = {i.code: i.id for i in remote.exec(select(Institution))}
        for office in offices:
            office.origin = ids[office.code]
            office.central_url = central.office_url(admin_url, office.code)
            with office.here():  # `central add-office … --store-password` at the office
                secrets.set_secret(secrets.DB_PASSWORD, central.add_office(admin_url, office.code))

        def office_central(office: Office) -> Database:
            with office.here():
                password = secrets.get_secret(secrets.DB_PASSWORD)
            return Database(office.central_url.replace("@", f":{password}@", 1))

        # CY-RC's first sync sends its archive and creates the city's holder-index key.
        subprocess.run(first.sync_command(None), env=first.env, check=True, capture_output=True)
        if second is not None:
            key = f"{secrets.SERVICE}\x1f{secrets.HOLDER_INDEX_KEY}"
            value = first.keyring_file().get(key)
            with second.here():
                if value:
                    secrets.set_secret(secrets.HOLDER_INDEX_KEY, value)
                second.db = Database(second.db_url)
                migrate.upgrade(second.db)
                # The new office's first pull (institutions, dossiers on their way to it) runs
                # in this process: `counter-tui sync` cannot yet start on an empty archive.
                bootstrap = office_central(second)
                try:
                    sync.sync_once(second.db, bootstrap, second.origin, archive_root=second.archive)
                finally:
                    bootstrap.dispose()
                auth.add_user(
                    second.db,
                    username="jy_admin",
                    name="周婷",
                    role="admin",
                    institution_code=second.code,
                    password=PASSWORD,
                )
                actor = auth.authenticate(second.db, "jy_admin", PASSWORD)
                for username, name, role in (
                    ("jy_clerk", "孙丽", "clerk"),
                    ("jy_arch", "吴刚", "archivist"),
                ):
                    auth.add_user(
                        second.db,
                        username=username,
                        name=name,
                        role=role,
                        institution_code=second.code,
                        password=PASSWORD,
                        actor=actor,
                    )
            # The institution's signing key moves to its own office (the demo made it in
            # CY-RC's keyring): `keyring get` there, `keyring set` here. A key made afresh
            # would start a second key list that CY-RC's copy of the demo's list does not
            # endorse. Every sync signs CY-JY's checkpoints with it from now on.
            moved = {
                name.split("\x1f", 1)[1]: value
                for name, value in first.keyring_file().items()
                if name.split("\x1f", 1)[1].startswith(
                    (f"signing-key:{second.code}:", f"signing-key-list:{second.code}")
                )
            }
            with second.here():
                for user, value in moved.items():
                    second.keyring.set_password(secrets.SERVICE, user, value)
        for office in offices:
            office.typical = args.max_delay

        def held_by(office: Office) -> list[uuid.UUID]:
            with office.db.read() as s:
                every = list(s.exec(select(Dossier.id)))
                states = custody.states(s, every)
            return [d for d in every if states[d].held_by(office.origin)]

        def new_facts(round_no: int) -> None:
            nonlocal sent, received
            with first.here():
                place = auth.authenticate(first.db, "clerk1", "clerk1-demo")
                mine = held_by(first)
                for dossier_id in mine[:5]:
                    with contextlib.suppress(Exception):  # a refusal is a fact too
                        viewing.open_dossier(first.db, dossier_id, place, None)
                if second is not None and round_no % 3 == 0 and len(mine) > 5:
                    # 转出: CY-RC sends one dossier to CY-JY (what a transfer stores).
                    with first.db.write() as s:
                        event = CustodyEvent(
                            dossier_id=rng.choice(mine[5:]),
                            kind="transferred_out",
                            holder_institution_id=second.origin,
                            at=dt.datetime.now(dt.UTC),
                            clerk_id=place.clerk.id if place.clerk else None,
                            remark=f"调档函 {round_no}",
                        )
                        s.add(event)
                        s.flush()
                        custody.register_event(access_log.Chain(s), event, clerk_id=event.clerk_id)
                    sent += 1
            if second is None:
                return
            with second.here():
                archivist = auth.authenticate(second.db, "jy_arch", PASSWORD)
                with second.db.write() as s:
                    every = list(s.exec(select(Dossier.id)))
                    states = custody.states(s, every)
                    for dossier_id in every:
                        state = states[dossier_id]
                        if state.in_transit and state.destination_id == second.origin:
                            event = CustodyEvent(
                                dossier_id=dossier_id,
                                kind="received",
                                holder_institution_id=second.origin,
                                at=dt.datetime.now(dt.UTC),
                                clerk_id=archivist.clerk.id if archivist.clerk else None,
                            )
                            s.add(event)
                            s.flush()
                            custody.register_event(
                                access_log.Chain(s), event, clerk_id=event.clerk_id
                            )
                            received += 1
                place = auth.authenticate(second.db, "jy_clerk", PASSWORD)
                for dossier_id in held_by(second)[:5]:
                    with contextlib.suppress(Exception):
                        viewing.open_dossier(second.db, dossier_id, place, None)

        kills = 0
        killed_after: list[float] = []
        concurrent = 0
        while kills < args.kills and rounds < 4 * args.kills:
            rounds += 1
            new_facts(rounds)
            if second is None:
                chosen = [first]
            else:
                chosen = rng.choice([[first], [second], [first, second], [first, second]])
            running = []
            concurrent += len(chosen) > 1
            for office in chosen:
                process = subprocess.Popen(
                    office.sync_command(args.batch),
                    env=office.env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                running.append((office, process, rng.uniform(0, 1.5 * office.typical)))
            begun = time.perf_counter()
            while any(p.poll() is None for _o, p, _d in running):
                elapsed = time.perf_counter() - begun
                for office, process, delay in running:
                    if process.poll() is None and elapsed >= delay:
                        process.send_signal(signal.SIGKILL)
                        process.wait()
                        office.kills += 1
                        kills += 1
                        killed_after.append(delay)
                        if args.verbose:
                            print(f"  round {rounds}: {office.code} killed after {delay:.2f} s")
                time.sleep(0.01)
            for office, process, _delay in running:
                if process.returncode == -signal.SIGKILL:
                    continue
                office.finished += 1
                took = time.perf_counter() - begun
                office.typical = min(args.max_delay, max(0.2, 0.9 * took))
                if args.verbose:
                    print(
                        f"  round {rounds}: {office.code} finished (exit {process.returncode}) "
                        f"in {took:.2f} s"
                    )
        # Every office syncs to its end, interleaved, twice: what one sends the other receives,
        # and the checkpoint each sync signs first travels with the next.
        for office in [*offices, *offices[::-1], *offices]:
            final = subprocess.run(
                office.sync_command(None), env=office.env, capture_output=True, text=True
            )
            print(f"{office.code}: {final.stdout.strip() or final.stderr.strip()}")
            if final.returncode != 0:
                problems.append(f"{office.code}: final sync exited {final.returncode}")

        # --- the checks --------------------------------------------------------------------
        tables = dict(sync.PUSHED)
        tables.update(sync.PULLED)
        del tables["access_event"]
        refused_at: dict[str, set[uuid.UUID]] = {}
        with admin.read() as remote:
            for office in offices:
                with office.db.read() as s:
                    quarantined = s.exec(select(SyncQuarantine)).all()
                refused_at[office.code] = {
                    q.row_id for q in quarantined if q.direction == "refused"
                }
                suspicious = [q for q in quarantined if q.direction != "refused"]
                if suspicious:
                    problems.append(f"{office.code}: {len(suspicious)} rows quarantined")
            if remote.execute(text("SELECT count(*) FROM sync_quarantine")).scalar():
                problems.append("central: rows quarantined")
            for table, model in tables.items():
                there = {
                    r.id: seals.row_content_hash(r)  # type: ignore[attr-defined]
                    for r in remote.exec(select(model))
                }
                anywhere: set[uuid.UUID] = set()
                for office in offices:
                    with office.db.read() as s:
                        rows = [(table, r) for r in s.exec(select(model))]
                        ours = sync.ours_filter(s, rows, office.origin)
                        for _t, row in rows:
                            key, digest = row.id, seals.row_content_hash(row)  # type: ignore[attr-defined]
                            anywhere.add(key)
                            if key in there:
                                if table not in sync.MUTABLE and there[key] != digest:
                                    problems.append(f"{office.code} {table} {key}: differs")
                            elif ours(table, row) and key not in refused_at[office.code]:
                                problems.append(f"{office.code} {table} {key}: not on central")
                if set(there) - anywhere:
                    problems.append(
                        f"central {table}: {len(set(there) - anywhere)} rows no office holds"
                    )
            for office in offices:
                with office.db.read() as s:
                    chain = {e.seq: e.hash for e in s.exec(select(AccessEvent))}
                copied = dict(
                    remote.execute(
                        text("SELECT seq, hash FROM office_chain_event WHERE origin = :o"),
                        {"o": office.origin},
                    ).all()
                )
                if chain != copied:
                    problems.append(
                        f"{office.code} access chain: {len(chain)} here, {len(copied)} on "
                        f"central, {sum(1 for k in chain if copied.get(k) != chain[k])} differ"
                    )
                office.events = len(chain)
        for office in offices:
            # Its scope: every row its own role reads on central, of a dossier it holds.
            role = office_central(office)
            try:
                with role.read() as remote, office.db.read() as s:
                    dossiers = set(s.exec(select(Dossier.id)))
                    for table, model in sync.PULLED.items():
                        held = set(s.exec(select(model.id)))  # type: ignore[attr-defined]
                        lacking = 0
                        for row in remote.exec(select(model)):
                            if row.id in held:  # type: ignore[attr-defined]
                                continue
                            dossier = getattr(row, "dossier_id", None)
                            if table == "page":
                                dossier = remote.get(Material, row.material_id).dossier_id  # type: ignore[union-attr, attr-defined]
                            if dossier is None or dossier in dossiers:
                                lacking += 1
                        if lacking:
                            problems.append(
                                f"{office.code} lacks {lacking} {table} rows of its scope"
                            )
                with office.here():
                    compared = central_audit.compare(office.db, role, office.origin)
            finally:
                role.dispose()
            if not compared.ok:
                problems.append(f"{office.code} against central: {compared.findings}")
            with office.here():
                report = fixity.verify(office.db, archive_root=office.archive)
            if not report.ok:
                problems.append(
                    f"{office.code} audit verify: "
                    + "; ".join(p.message for p in report.problems[:5])
                )
            if not report.checkpoints:
                problems.append(f"{office.code}: no signed checkpoint verified")
            office.checkpoints = report.checkpoints
            state = sync.status(office.db)
            if state.unsynced:
                problems.append(f"{office.code}: {state.unsynced} left unsynced")
            with office.db.read() as s:
                office.dossiers = len(held_by(office))
                office.accounts = len(s.exec(select(Clerk)).all())
        admin.dispose()
    print(
        f"{rounds} rounds, {sum(o.kills for o in offices)} syncs killed at random, "
        f"{sum(o.finished for o in offices)} finished by themselves; {sent} dossiers sent "
        f"CY-RC → CY-JY, {received} receipts recorded; checked in "
        f"{time.perf_counter() - started:.0f} s"
    )
    if killed_after:
        killed_after.sort()
        print(
            f"  {len(killed_after)} kills after 0–{killed_after[-1]:.2f} s (median "
            f"{killed_after[len(killed_after) // 2]:.2f} s); {concurrent} rounds synced both "
            f"offices at once"
        )
    for office in offices:
        print(
            f"  {office.code}: {office.kills} killed, {office.finished} finished, "
            f"{getattr(office, 'events', 0)} access events, {getattr(office, 'checkpoints', 0)} "
            f"checkpoints verified, {getattr(office, 'dossiers', 0)} dossiers held, "
            f"{len(refused_at.get(office.code, ()))} rows not its to send (refused, kept)"
        )
    for problem in problems:
        print("PROBLEM:", problem)
    print("exact union, every chain and checkpoint verifies" if not problems else "NOT exact")
    if args.keep:
        print(f"offices' folders kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
