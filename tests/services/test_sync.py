"""Sync between an office (SQLite) and the central database (a real PostgreSQL server, through
the office's own role and row-level security): push and pull are a set union, repeatable,
resumable after a kill between central's commit and the local acknowledgement, and a key
arriving with other content is quarantined, never applied or dropped."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import func, select

from counter_tui.db.engine import Database
from counter_tui.db.models import (
    AccessEvent,
    Clerk,
    Dossier,
    Institution,
    Material,
    SyncOutbox,
    SyncQuarantine,
)
from counter_tui.services import central, fixity, sync, viewing
from tests.support.factories import TinyArchive, logged_in, tiny_archive

pytestmark = pytest.mark.postgres


class City:
    """A central database with the institutions of an office's archive and that office's
    role; ``office`` is the office's archive (SQLite), ``central`` the office's connection."""

    def __init__(self, admin_url: str, office: TinyArchive, code: str = "CY-RC") -> None:
        self.admin_url = admin_url
        self.office = office
        central.init_central(admin_url)
        self.admin = central.admin_database(admin_url)
        with office.db.read() as s, self.admin.write() as remote:
            for row in s.exec(select(Institution)):
                remote.merge(Institution.model_validate(row.model_dump()))
        password = central.add_office(admin_url, code)
        url = central.office_url(admin_url, code)
        self.central = Database(url.replace("@", f":{password}@", 1))
        with office.db.read() as s:
            self.origin = s.exec(select(Institution).where(Institution.code == code)).one().id

    def count(self, sql: str) -> int:
        with self.admin.read() as remote:
            return remote.execute(text(sql)).scalar()


@pytest.fixture
def city(tmp_path: Path, postgres_url: str) -> City:
    archive = tiny_archive(tmp_path)
    city = City(postgres_url, archive)
    yield city
    city.central.dispose()
    city.admin.dispose()


def outbox(archive: TinyArchive) -> int:
    with archive.db.read() as s:
        return s.exec(select(func.count()).select_from(SyncOutbox)).one()


def test_a_first_sync_pushes_every_fact_once(city: City) -> None:
    office = city.office
    with office.db.read() as s:
        materials = s.exec(select(func.count()).select_from(Material)).one()
        events = s.exec(select(func.count()).select_from(AccessEvent)).one()
    result = sync.sync_once(office.db, city.central, city.origin)
    assert result.quarantined == 0
    assert city.count("SELECT count(*) FROM material") == materials
    assert city.count("SELECT count(*) FROM office_chain_event") == events
    state = sync.status(office.db)
    assert (state.unsynced, state.last_error) == (0, "")
    assert state.last_sync is not None
    # Again: nothing new goes, nothing is duplicated.
    again = sync.sync_once(office.db, city.central, city.origin)
    assert (again.pushed, again.quarantined) == (0, 0)
    assert city.count("SELECT count(*) FROM material") == materials


def test_a_push_killed_after_centrals_commit_is_repeated_without_duplicates(
    city: City,
) -> None:
    office = city.office

    class Killed(Exception):
        pass

    def kill() -> None:
        raise Killed

    with pytest.raises(Killed):
        sync.push(office.db, city.central, city.origin, after_central_commit=kill)
    assert sync.status(office.db).unsynced == outbox(office)  # the cursor did not move
    result = sync.push(office.db, city.central, city.origin)
    assert result.pushed == 0 and result.already_there == outbox(office)
    assert sync.status(office.db).unsynced == 0


def test_new_facts_after_a_sync_are_pushed_in_commit_order(city: City) -> None:
    office = city.office
    sync.sync_once(office.db, city.central, city.origin)
    place = logged_in(office)
    viewing.open_dossier(office.db, office.ids["DA00000001"], place, None)
    assert sync.status(office.db).unsynced > 0
    sync.sync_once(office.db, city.central, city.origin)
    with office.db.read() as s:
        head = s.exec(select(AccessEvent).order_by(AccessEvent.seq.desc())).first()
    assert (
        city.count(
            f"SELECT count(*) FROM office_chain_event WHERE seq = {head.seq} "
            f"AND hash = '{head.hash}'"
        )
        == 1
    )


def test_the_same_key_with_other_content_is_quarantined(city: City) -> None:
    office = city.office
    sync.sync_once(office.db, city.central, city.origin)
    # Central's copy of a material is changed (behind everyone's back, guards dropped) ...
    with city.admin.write() as remote:
        remote.execute(text("ALTER TABLE material DISABLE TRIGGER USER"))
        remote.execute(text("UPDATE material SET title = '伪造' WHERE item_no = 1"))
        remote.execute(text("ALTER TABLE material ENABLE TRIGGER USER"))
    # ... and the office pushes its material again (a rerun from an older cursor).
    with office.db.write() as s:
        from counter_tui.db.models import SyncState

        s.merge(SyncState(key="push_cursor", value="0"))
    result = sync.push(office.db, city.central, city.origin)
    assert result.quarantined >= 1
    with office.db.read() as s:
        held = s.exec(select(SyncQuarantine)).all()
    assert {q.table_name for q in held} == {"material"}
    assert all("伪造" in q.held for q in held)
    assert city.count("SELECT count(*) FROM sync_quarantine") == len(held)


def test_a_second_office_pulls_its_scope_and_seals_it(city: City, tmp_path: Path) -> None:
    # Office A pushes; then a fresh office database for the same institution (a new laptop)
    # pulls its scope and can verify it.
    sync.sync_once(city.office.db, city.central, city.origin)
    laptop = tiny_archive_empty(tmp_path / "laptop", city)
    result = sync.pull(laptop, city.central, city.origin)
    assert result.pulled > 0 and result.quarantined == 0
    with laptop.read() as s:
        materials = s.exec(select(func.count()).select_from(Material)).one()
    assert materials == city.count(
        "SELECT count(*) FROM material m JOIN custody_head h ON h.dossier_id = m.dossier_id "
        f"WHERE h.holder_institution_id = '{city.origin}'"
    )
    report = fixity.verify(laptop)
    assert report.ok, report.problems
    # Pulled rows are not pushed back.
    assert sync.status(laptop).unsynced == _own_events(laptop)


def tiny_archive_empty(folder: Path, city: City) -> Database:
    """An empty office database (a new laptop): even the institutions come with the pull."""
    from counter_tui.db import migrate

    del city
    folder.mkdir(parents=True)
    db = Database(f"sqlite:///{folder / 'archive.db'}")
    migrate.upgrade(db)
    return db


def _own_events(db: Database) -> int:
    with db.read() as s:
        return s.exec(
            select(func.count())
            .select_from(SyncOutbox)
            .where(SyncOutbox.table_name == "access_event")
        ).one()


def test_unreachable_central_is_a_sync_error_and_the_office_keeps_its_backlog(
    city: City,
) -> None:
    dead = Database("postgresql+psycopg://office@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(sync.SyncError) as caught:
        sync.sync_once(city.office.db, dead, city.origin)
    assert caught.value.reason == "unreachable"
    state = sync.status(city.office.db)
    assert state.unsynced == outbox(city.office)
    assert "无法连接" in state.last_error
    assert "无法连接" in sync.status_text(state, online=False)


def test_clerk_rows_are_pushed_once(city: City) -> None:
    sync.sync_once(city.office.db, city.central, city.origin)
    with city.office.db.read() as s:
        clerks = s.exec(select(func.count()).select_from(Clerk)).one()
    assert city.count("SELECT count(*) FROM clerk") == clerks
    assert uuid.UUID(int=0) != city.origin


def test_a_transaction_committing_after_a_later_one_is_still_delivered(city: City) -> None:
    office = city.office
    sync.sync_once(office.db, city.central, city.origin)
    dossier = office.ids["DA00000001"]

    def material(title: str) -> Material:
        return Material(dossier_id=dossier, category=4, item_no=90, title=title, page_count=1)

    first, second = material("先开始后提交"), material("后开始先提交")
    slow = city.admin.engine.connect()
    fast = city.admin.engine.connect()
    try:
        slow_tx = slow.begin()
        slow.execute(
            Material.__table__.insert().values(**first.model_dump()),  # type: ignore[attr-defined]
        )
        with fast.begin():
            fast.execute(
                Material.__table__.insert().values(**second.model_dump()),  # type: ignore[attr-defined]
            )
        # The later transaction is committed, the earlier one not yet: nothing may move the
        # cursor past the earlier one's log entry.
        sync.pull(office.db, city.central, city.origin)
        slow_tx.commit()
    finally:
        slow.close()
        fast.close()
    sync.pull(office.db, city.central, city.origin)
    with office.db.read() as s:
        titles = set(s.exec(select(Material.title).where(Material.dossier_id == dossier)))
    assert {"先开始后提交", "后开始先提交"} <= titles
    # Pulled materials are sealed here: the office's archive still verifies.
    report = fixity.verify(office.db)
    assert report.ok, report.problems


def test_a_pull_killed_midway_is_repeated_without_duplicates(city: City, monkeypatch) -> None:  # noqa: ANN001
    office = city.office
    sync.sync_once(office.db, city.central, city.origin)
    dossier = office.ids["DA00000001"]
    with city.admin.write() as remote:
        for n in range(5):
            remote.add(
                Material(dossier_id=dossier, category=4, item_no=100 + n, title=f"补充材料{n}")
            )
    calls = {"n": 0}
    real_apply = sync._apply

    def dying_apply(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls["n"] += 1
        real_apply(*args, **kwargs)
        raise KeyboardInterrupt  # killed inside the local transaction, before its commit

    monkeypatch.setattr(sync, "_apply", dying_apply)
    with pytest.raises(KeyboardInterrupt):
        sync.pull(office.db, city.central, city.origin, batch=2)
    monkeypatch.setattr(sync, "_apply", real_apply)
    sync.pull(office.db, city.central, city.origin, batch=2)
    with office.db.read() as s:
        titles = list(s.exec(select(Material.title).where(Material.title.like("补充材料%"))))  # type: ignore[attr-defined]
    assert sorted(titles) == [f"补充材料{n}" for n in range(5)]


def test_a_dossier_transferred_to_an_office_arrives_there_with_its_history(
    city: City, tmp_path: Path
) -> None:
    import datetime as dt

    from counter_tui.db.models import CustodyEvent
    from counter_tui.services import access_log, custody

    sync.sync_once(city.office.db, city.central, city.origin)
    password = central.add_office(city.admin_url, "CY-JY")
    jy = Database(central.office_url(city.admin_url, "CY-JY").replace("@", f":{password}@", 1))
    with city.office.db.read() as s:
        jy_id = s.exec(select(Institution).where(Institution.code == "CY-JY")).one().id
    laptop = tiny_archive_empty(tmp_path / "jy", city)
    try:
        sync.pull(laptop, jy, jy_id)  # CY-JY's cursor is now past DA00000001's old rows
        with laptop.read() as s:
            assert set(s.exec(select(Dossier.dossier_no))) == {"DA00000003"}
        # CY-RC sends DA00000001 to CY-JY and syncs.
        with city.office.db.write() as s:
            event = CustodyEvent(
                dossier_id=city.office.ids["DA00000001"],
                kind="transferred_out",
                holder_institution_id=jy_id,
                at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
            )
            s.add(event)
            s.flush()
            custody.register_event(access_log.Chain(s), event)
        sync.sync_once(city.office.db, city.central, city.origin)
        sync.pull(laptop, jy, jy_id)
    finally:
        jy.dispose()
    with laptop.read() as s:
        assert set(s.exec(select(Dossier.dossier_no))) == {"DA00000001", "DA00000003"}
        titles = set(
            s.exec(
                select(Material.title).where(Material.dossier_id == city.office.ids["DA00000001"])
            )
        )
    assert "干部履历表" in titles
    report = fixity.verify(laptop)
    assert report.ok, report.problems


def test_audit_against_central_finds_a_rollback_the_local_check_cannot(city: City) -> None:
    from counter_tui.services import central_audit

    office = city.office
    logged_in(office)
    sync.sync_once(office.db, city.central, city.origin)
    assert central_audit.compare(office.db, city.central, city.origin).ok
    # Someone with the file cuts the synced tail (and nothing local remembers it: no keyring
    # checkpoint was signed in this test).
    import sqlite3

    connection = sqlite3.connect(office.settings.db_url.removeprefix("sqlite:///"))
    with connection:
        connection.execute("DROP TRIGGER IF EXISTS access_event_append_only_delete")
        last = connection.execute("SELECT max(seq) FROM access_event").fetchone()[0]
        connection.execute("DELETE FROM access_event WHERE seq = ?", (last,))
    connection.close()
    assert fixity.verify(office.db).ok  # locally a perfect chain, one event shorter
    result = central_audit.compare(office.db, city.central, city.origin)
    assert [what for what, _m in result.findings] == ["removed_here"]
    assert f"{last}" in central_audit.summary(result)


@pytest.mark.parametrize("first", ["jy", "xx"])
def test_concurrent_transfers_resolve_the_same_way_at_central_and_at_the_office(
    city: City, first: str
) -> None:
    """Two counters of CY-RC, offline, each send DA00000001 away (to CY-JY at 10:00, to CY-XX
    at 09:00); one reaches central first. Rule (services.custody.states): central accepts the
    first; the other is refused there, stays a fact at the office but out of its derived
    state — so central and the office name the same holder."""
    import datetime as dt

    from counter_tui.db.models import CustodyEvent
    from counter_tui.services import access_log, custody

    office = city.office
    with office.db.write() as s:
        xx = Institution(code="CY-XX", name="某街道社保所", kind="sub-district", serial_prefix="XX")
        s.add(xx)
        s.flush()
        fixity.register_institution(access_log.Chain(s), xx, clerk_id=None)
        ids = {
            "xx": xx.id,
            "jy": s.exec(select(Institution).where(Institution.code == "CY-JY")).one().id,
        }
    with office.db.read() as s, city.admin.write() as remote:
        remote.merge(Institution.model_validate(s.get(Institution, ids["xx"]).model_dump()))
    sync.sync_once(office.db, city.central, city.origin)
    dossier = office.ids["DA00000001"]

    def transfer(to: str) -> None:
        with office.db.write() as s:
            event = CustodyEvent(
                dossier_id=dossier,
                kind="transferred_out",
                holder_institution_id=ids[to],
                at=dt.datetime(2026, 6, 1, 10 if to == "jy" else 9, tzinfo=dt.UTC),
            )
            s.add(event)
            s.flush()
            custody.register_event(access_log.Chain(s), event)

    second = "xx" if first == "jy" else "jy"
    transfer(first)
    sync.push(office.db, city.central, city.origin)
    transfer(second)  # the other counter comes back online later
    result = sync.push(office.db, city.central, city.origin)
    assert (result.refused, result.quarantined) == (1, 0)
    with city.admin.read() as remote:
        head = remote.execute(
            text("SELECT holder_institution_id FROM custody_head WHERE dossier_id = :d"),
            {"d": dossier},
        ).scalar()
    with office.db.read() as s:
        here = custody.states(s, [dossier])[dossier]
        refused = s.exec(select(SyncQuarantine).where(SyncQuarantine.direction == "refused")).one()
    assert head == ids[first]
    assert here.in_transit and here.destination_id == ids[first]
    assert refused.table_name == "custody_event"


def test_page_files_travel_with_their_pages_and_are_checked(city: City, tmp_path: Path) -> None:
    import hashlib

    from counter_tui.db.models import Page

    office = city.office
    root = office.settings.archive_dir
    with office.db.read() as s:
        pages = s.exec(select(Page)).all()
    # One file is altered at the office after intake: it is not sent. (Two of the tiny
    # archive's pages are the same image: one file serves both, by its address.)
    hashes = [p.sha256 for p in pages]
    altered = next(p for p in pages if hashes.count(p.sha256) == 1)
    (root / altered.rel_path).write_bytes(b"not the scanned page")
    sent = sync.sync_once(office.db, city.central, city.origin, archive_root=root)
    assert (sent.files, sent.files_missing) == (len(pages) - 1, 1)
    assert city.count("SELECT count(*) FROM page_file") == len(set(hashes)) - 1
    # A new laptop of the office receives the pages and their files, each checked.
    laptop = tiny_archive_empty(tmp_path / "laptop", city)
    other_root = tmp_path / "laptop-archive"
    got = sync.pull(laptop, city.central, city.origin, archive_root=other_root)
    assert (got.files, got.files_missing) == (len(pages) - 1, 1)
    for page in pages:
        copy = other_root / page.rel_path
        if page.id == altered.id:
            assert not copy.exists()
        else:
            assert hashlib.sha256(copy.read_bytes()).hexdigest() == page.sha256
            assert copy.stat().st_mode & 0o777 == 0o600
