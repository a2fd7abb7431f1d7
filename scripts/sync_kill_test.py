"""Kill `counter-tui sync` at random moments, again and again, then check the exact union.

    .venv/bin/python scripts/sync_kill_test.py [--kills 50] [--dossiers 40] [--seed 1]

Starts a throwaway PostgreSQL server (tests/support/pg.py), prepares it as the central
database (services.central), builds an office archive (the demo generator, institution CY-RC)
and then, until it has killed ``--kills`` of them: adds a few facts at the office (log-ins,
dossier views) every round, starts ``counter-tui sync`` as a separate process and kills
it (SIGKILL) after a random time up to how long a sync last took to finish (20 s at first) —
before connecting, mid-batch, between central's commit and the local acknowledgement, during
the pull. Finally one sync runs to its end, and the script checks that central holds exactly
the office's facts of every pushed table (same ids, same content hashes), every access event
once under the office's chain (same seq and hash), nothing quarantined, nothing left unsynced.
Prints what it did; exit status 0 when the union is exact, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> int:  # noqa: C901 - one scenario, told in order
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--dossiers", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-delay", type=float, default=20.0)
    parser.add_argument("--verbose", action="store_true", help="one line per sync started")
    parser.add_argument(
        "--batch", type=int, default=25, help="rows per transaction of the killed syncs"
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)

    from sqlalchemy import text
    from sqlmodel import select

    from counter_tui.db.engine import Database
    from counter_tui.db.models import AccessEvent, Dossier, Institution, SyncQuarantine
    from counter_tui.services import auth, central, seals, sync, viewing
    from tests.support.pg import running_server

    work = Path(tempfile.mkdtemp(prefix="sync-kill-"))
    env = dict(os.environ)
    env.update(
        PYTHON_KEYRING_BACKEND="counter_tui.demo.keyring_file.DemoFileKeyring",
        COUNTER_TUI_DEMO_KEYRING=str(work / "keyring.json"),
        COUNTER_TUI_CONFIG=str(work / "settings.toml"),
    )
    os.environ.update(env)
    db_url = f"sqlite:///{work / 'office.db'}"
    base = [
        str(REPO / ".venv/bin/counter-tui"),
        "--db",
        db_url,
        "--archive-root",
        str(work / "archive"),
        "--data-dir",
        str(work / "data"),
        "--institution",
        "CY-RC",
    ]
    started = time.perf_counter()
    subprocess.run([*base, "demo", "build", "--dossiers", str(args.dossiers)], env=env, check=True)
    office = Database(db_url)
    with running_server() as server:
        with server.connect() as connection:
            connection.autocommit = True
            connection.execute("CREATE DATABASE central")
        admin_url = server.url("central")
        central.init_central(admin_url)
        admin = central.admin_database(admin_url)
        with office.read() as s, admin.write() as remote:
            for row in s.exec(select(Institution)):
                remote.merge(Institution.model_validate(row.model_dump()))
        password = central.add_office(admin_url, "CY-RC")
        from counter_tui.services import secrets

        secrets.set_secret(secrets.DB_PASSWORD, password)
        office_url = central.office_url(admin_url, "CY-RC")
        kills, finished, round_no = 0, 0, -1
        typical = args.max_delay  # how long a sync runs to its end, learnt as they finish
        while kills < args.kills and round_no < 4 * args.kills:
            round_no += 1
            # New facts keep arriving while syncs die: a log-in and five dossier openings.
            place = auth.authenticate(office, "clerk1", "clerk1-demo")
            with office.read() as s:
                dossiers = s.exec(select(Dossier.id).limit(5)).all()
            for dossier_id in dossiers:
                try:
                    viewing.open_dossier(office, dossier_id, place, None)
                except Exception:  # noqa: BLE001 - not held here: a refusal is a fact too
                    pass
            process = subprocess.Popen(
                [*base, "sync", "--central", office_url, "--batch", str(args.batch)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            delay = rng.uniform(0, typical)
            started_at = time.perf_counter()
            while process.poll() is None and time.perf_counter() - started_at < delay:
                time.sleep(0.01)
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
                what = "killed"
            else:
                finished += 1
                what = f"finished (exit {process.returncode})"
                typical = min(args.max_delay, 0.9 * (time.perf_counter() - started_at))
            process.wait()
            if args.verbose:
                print(f"  sync {round_no + 1}: {what} after {delay:.2f} s", flush=True)
        # Two syncs to the end: the first sends everything, and the checkpoint a writing
        # command signs when it finishes goes with the second (which adds nothing new).
        for _final in range(2):
            final = subprocess.run(
                [*base, "sync", "--central", office_url], env=env, capture_output=True, text=True
            )
            print(final.stdout.strip() or final.stderr.strip())
        # The exact union.
        problems: list[str] = []
        with office.read() as s, admin.read() as remote:
            origin = s.exec(select(Institution).where(Institution.code == "CY-RC")).one().id
            quarantined = s.exec(select(SyncQuarantine)).all()
            refused_ids = {q.row_id for q in quarantined if q.direction == "refused"}
            for table, model in sync.PUSHED.items():
                if table == "access_event":
                    continue
                # Every row that is the office's to send, except any central refused.
                rows = [(table, r) for r in s.exec(select(model))]
                ours = sync.ours_filter(s, rows, origin)
                here = {
                    r.id: seals.row_content_hash(r)
                    for t, r in rows
                    if ours(t, r) and r.id not in refused_ids
                }
                there = {
                    r.id: seals.row_content_hash(r)
                    for r in remote.exec(select(model).where(model.id.in_(list(here))))  # type: ignore[attr-defined]
                }
                missing = set(here) - set(there)
                if missing:
                    problems.append(f"{table}: {len(missing)} of {len(here)} not on central")
                if table not in sync.MUTABLE:
                    changed = [i for i in here if i in there and here[i] != there[i]]
                    if changed:
                        problems.append(f"{table}: {len(changed)} differ")
            chain = {e.seq: e.hash for e in s.exec(select(AccessEvent))}
            copied = dict(
                remote.execute(
                    text("SELECT seq, hash FROM office_chain_event WHERE origin = :o"),
                    {"o": origin},
                ).all()
            )
            if chain != copied:
                problems.append(
                    f"access chain: {len(chain)} here, {len(copied)} on central, "
                    f"{sum(1 for k in chain if copied.get(k) != chain[k])} differ"
                )
            if [q for q in quarantined if q.direction != "refused"]:
                problems.append(f"{len(quarantined)} rows quarantined")
        state = sync.status(office)
        if state.unsynced:
            problems.append(f"{state.unsynced} left unsynced")
        admin.dispose()
    print(
        f"{round_no + 1} syncs started, {kills} killed at random, {finished} finished by "
        f"themselves; {len(chain)} access events, checked in {time.perf_counter() - started:.0f} s"
    )
    refused = [q for q in quarantined if q.direction == "refused"]
    if refused:
        print(f"{len(refused)} rows not this office's to send (refused by central, kept)")
    for problem in problems:
        print("PROBLEM:", problem)
    print("exact union" if not problems else "NOT the exact union")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
