"""Issue 11's done criterion: two offices, each on its own SQLite archive with its own keyring,
and one central PostgreSQL database. Both serve applicants offline through the services the
app uses (log-in, lookup, viewing, a consultation, a 存档证明, the end of a visit, a transfer of
a dossier from one office to the other and its receipt there), sign checkpoints, then sync in
an interleaved order; afterwards central holds exactly the union of both offices' facts, each
office holds its own facts plus exactly its scope, nothing is quarantined or left unsynced,
and every chain, seal and checkpoint verifies, locally and against central. Also: both keep
serving while central is unreachable and drain when it is back."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import keyring
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel, col, select

from counter_tui.config import Settings
from counter_tui.context import open_central
from counter_tui.db import migrate
from counter_tui.db.engine import Database
from counter_tui.db.models import (
    AccessEvent,
    Certificate,
    ChainCheckpoint,
    Consultation,
    CustodyEvent,
    Dossier,
    Institution,
    Material,
    Page,
    ServiceVisit,
    SyncQuarantine,
)
from counter_tui.read_models import Visit
from counter_tui.services import (
    access_log,
    auth,
    central,
    central_audit,
    checkpoints,
    consultation,
    custody,
    fixity,
    issuance,
    lookup,
    receipt,
    seals,
    secrets,
    sync,
    visits,
)
from counter_tui.services.workplace import Workplace
from tests.support.factories import PASSWORD, tiny_archive, write_page
from tests.support.keyrings import MemoryKeyring

pytestmark = pytest.mark.postgres

CITY_KEYS = (secrets.HOLDER_INDEX_KEY,)
"""Keyring entries every office of the city shares (the administrator copies them);
everything else in an office's keyring is its own (password, chain key, signing key …)."""


@dataclass
class Office:
    """One office: its own archive (SQLite file, page folder, certificates), its own keyring,
    its institution on central (``code``, ``origin``) and its central connection."""

    code: str
    settings: Settings
    db: Database
    origin: uuid.UUID
    keys: MemoryKeyring = field(default_factory=MemoryKeyring)
    central: Database | None = None

    @contextlib.contextmanager
    def at(self) -> Iterator[Office]:
        """Work at this office's computer: its keyring is the one the services see."""
        previous = keyring.get_keyring()
        keyring.set_keyring(self.keys)
        try:
            yield self
        finally:
            keyring.set_keyring(previous)

    @property
    def root(self) -> Path:
        return self.settings.archive_dir

    def sync(self, url: str | None = None) -> sync.SyncResult:
        """What ``counter-tui sync`` does: sign the chain's head, then push and pull."""
        with self.at():
            checkpoints.sign_held(self.db)
            target = self.central if url is None else open_central(self.settings, url)
            try:
                return sync.sync_once(self.db, target, self.origin, archive_root=self.root)
            finally:
                if url is not None:
                    target.dispose()

    def login(self, username: str) -> Workplace:
        with self.at():
            return auth.authenticate(self.db, username, PASSWORD)


@dataclass
class City:
    admin_url: str
    admin: Database
    a: Office
    b: Office

    @property
    def offices(self) -> tuple[Office, Office]:
        return (self.a, self.b)


def _connect(office: Office, admin_url: str) -> None:
    """``central add-office URL CODE --store-password`` run on the office's computer, and the
    ``central`` setting: the office reaches central with the password of its own keyring."""
    with office.at():
        secrets.set_secret(secrets.DB_PASSWORD, central.add_office(admin_url, office.code))
        office.settings = dataclasses.replace(
            office.settings, central=central.office_url(admin_url, office.code)
        )
        office.central = open_central(office.settings)


def _share_city_keys(source: Office, target: Office) -> None:
    """The administrator copies the city-wide keyring entries (``keyring get`` there,
    ``keyring set`` here)."""
    for name in CITY_KEYS:
        with source.at():
            value = secrets.get_secret(name)
        if value is not None:
            with target.at():
                secrets.set_secret(name, value)


@pytest.fixture
def city(tmp_path: Path, postgres_url: str) -> Iterator[City]:
    """Central prepared; CY-RC's archive (the tiny archive: 3 dossiers, DA00000003 on its way
    to CY-JY) and CY-JY's new, empty archive, each with its own keyring and central role."""
    archive = tiny_archive(tmp_path / "a")
    a = Office(
        "CY-RC",
        archive.settings,
        archive.db,
        archive.ids["here"],  # type: ignore[arg-type]
        keys=keyring.get_keyring(),  # the keyring the archive was built with (its chain key)
    )
    settings_b = Settings(
        db=f"sqlite:///{tmp_path / 'b' / 'archive.db'}",
        data_dir=tmp_path / "b" / "data",
        archive_root=tmp_path / "b" / "archive",
        viewer=["true"],
    )
    (tmp_path / "b").mkdir()
    db_b = Database(settings_b.db_url)
    migrate.upgrade(db_b)
    b = Office("CY-JY", settings_b, db_b, archive.ids["there"])  # type: ignore[arg-type]
    central.init_central(postgres_url)
    admin = central.admin_database(postgres_url)
    # Registering the city's institutions on central: the rows (and ids) of the archive that
    # already has them.
    with a.db.read() as s, admin.write() as remote:
        for row in s.exec(select(Institution)):
            remote.merge(Institution.model_validate(row.model_dump()))
    for office in (a, b):
        _connect(office, postgres_url)
    yield City(postgres_url, admin, a, b)
    for office in (a, b):
        if office.central is not None:
            office.central.dispose()
    admin.dispose()


def _first_sync_and_accounts(city: City) -> None:
    """CY-RC sends its archive; CY-JY gets the city's keys, pulls (institutions, the dossier
    on its way to it) and creates its accounts, as an administrator does on a new office."""
    a, b = city.offices
    a.sync()
    _share_city_keys(a, b)
    b.sync()
    with b.at():
        auth.add_user(
            b.db,
            username="admin_jy",
            name="周婷",
            role="admin",
            institution_code="CY-JY",
            password=PASSWORD,
        )
        admin = auth.authenticate(b.db, "admin_jy", PASSWORD)
        for username, name, role in (
            ("clerk_jy", "孙丽", "clerk"),
            ("arch_jy", "吴刚", "archivist"),
        ):
            auth.add_user(
                b.db,
                username=username,
                name=name,
                role=role,
                institution_code="CY-JY",
                password=PASSWORD,
                actor=admin,
            )


def _serve(office: Office, place: Workplace, query: str, *, certify: bool) -> tuple[str, ...]:
    """One applicant at the counter: the scan opens the dossier, a 存档证明 is issued (or a
    consultation registered), F4 ends the visit. Returns the serials issued."""
    serials: tuple[str, ...] = ()
    with office.at():
        outcome = lookup.scan(office.db, query, place, Visit())
        assert outcome.status == "found", outcome.message
        assert outcome.view is not None and outcome.visit is not None
        if certify:
            issued = issuance.issue(
                office.db,
                issuance.CertificateRequest("custody", "办理退休手续"),
                dossier_id=outcome.view.id,
                workplace=place,
                visit_id=outcome.visit.id,
                certificates_dir=office.settings.certificates_dir,
            )
            serials = (issued.serial,)
        else:
            with office.db.read() as s:
                shown = s.exec(
                    select(Material.id).where(Material.dossier_id == outcome.view.id).limit(1)
                ).all()
            consultation.record(
                office.db,
                consultation.ConsultationRequest(
                    requesting_unit="北京市朝阳区人力资源和社会保障局",
                    approval_no="CY-2026-0042",
                    purpose="政审",
                    readers="张三",
                    shown_material_ids=tuple(shown),
                ),
                dossier_id=outcome.view.id,
                workplace=place,
                visit_id=outcome.visit.id,
            )
        assert visits.end_visit(office.db, place, outcome.visit)[0] in (
            "certificate",
            "consultation",
        )
    return serials


def _send(office: Office, place: Workplace, dossier_id: uuid.UUID, to: uuid.UUID) -> None:
    """The sender records the transfer (转出): a custody event naming the receiver, sealed as
    every custody event (no service writes a transfer yet; this is what one would store)."""
    with office.at(), office.db.write() as s:
        event = CustodyEvent(
            dossier_id=dossier_id,
            kind="transferred_out",
            holder_institution_id=to,
            at=dt.datetime.now(dt.UTC),
            clerk_id=place.clerk.id if place.clerk else None,
            remark="调档函 朝人才〔2026〕7号",
        )
        s.add(event)
        s.flush()
        custody.register_event(access_log.Chain(s), event, clerk_id=event.clerk_id)


def _receive(office: Office, place: Workplace, dossier_no: str, scans: list[Path]) -> None:
    """接收比对 of a dossier arriving on paper (its receipt recorded), then accepted."""
    folder = office.settings.data_dir / f"scan-{dossier_no}"
    folder.mkdir(parents=True)
    for n, path in enumerate(scans, 1):
        shutil.copyfile(path, folder / f"p{n:02d}.png")
    with office.at():
        report = receipt.compare(
            office.db,
            place,
            dossier_no=dossier_no,
            scan_dir=folder,
            archive_root=office.root,
            report_dir=office.settings.data_dir / "receipts",
        )
        receipt.decide(
            office.db,
            place,
            report_path=report.folder,
            accept=True,
            reason="" if report.consistent else "纸质材料已逐页核对",
        )


def _pages_of(office: Office, dossier_id: uuid.UUID) -> list[Path]:
    with office.db.read() as s:
        materials = list(s.exec(select(Material.id).where(Material.dossier_id == dossier_id)))
        pages = s.exec(select(Page).where(col(Page.material_id).in_(materials))).all()
    return [office.root / p.rel_path for p in sorted(pages, key=lambda p: p.rel_path)]


# --- what each side holds ---------------------------------------------------------------------


def _hashes(session, model: type[SQLModel]) -> dict[uuid.UUID, str]:  # noqa: ANN001
    return {r.id: seals.row_content_hash(r) for r in session.exec(select(model))}  # type: ignore[attr-defined]


def _tables() -> dict[str, type[SQLModel]]:
    tables = dict(sync.PUSHED)
    tables.update(sync.PULLED)
    del tables["access_event"]
    return tables


def _assert_exact_union(city: City) -> None:
    """Central holds exactly the union of both offices' rows, with the same content; every
    office's access chain once under its origin, the same numbers and hashes."""
    problems = []
    with city.admin.read() as remote:
        for table, model in _tables().items():
            there = _hashes(remote, model)
            union: dict[uuid.UUID, str] = {}
            for office in city.offices:
                with office.db.read() as s:
                    here = _hashes(s, model)
                for key, value in here.items():
                    if key not in there:
                        problems.append(f"{office.code} {table} {key} not on central")
                    elif table not in sync.MUTABLE and there[key] != value:
                        problems.append(f"{office.code} {table} {key} differs from central")
                union.update(here)
            extra = set(there) - set(union)
            if extra:
                problems.append(f"central {table}: {len(extra)} rows no office holds")
        for office in city.offices:
            with office.db.read() as s:
                chain = {e.seq: e.hash for e in s.exec(select(AccessEvent))}
            copied = dict(
                remote.execute(
                    text("SELECT seq, hash FROM office_chain_event WHERE origin = :o"),
                    {"o": office.origin},
                ).all()
            )
            if chain != copied:
                problems.append(f"{office.code}: access chain differs from central's copy")
        origins = set(
            remote.execute(text("SELECT DISTINCT origin FROM office_chain_event")).scalars()
        )
        if origins != {o.origin for o in city.offices}:
            problems.append(f"central holds chains of {origins}")
    assert not problems, problems


def _scope_on_central(office: Office) -> set[uuid.UUID]:
    """The dossiers central says are the office's scope, asked through its own role."""
    with office.central.read() as remote:  # type: ignore[union-attr]
        return set(remote.execute(text("SELECT office_scope(current_office())")).scalars())


def _assert_scope(office: Office, expected_dossiers: set[str]) -> None:
    """The office holds exactly the dossiers it made or held and its scope, and of every one
    of them everything its role on central can see (nothing less, nothing of other dossiers)."""
    with office.db.read() as s:
        here = {d.dossier_no: d.id for d in s.exec(select(Dossier))}
    assert set(here) == expected_dossiers
    assert _scope_on_central(office) <= set(here.values())
    missing = []
    with office.central.read() as remote, office.db.read() as s:  # type: ignore[union-attr]
        for table, model in sync.PULLED.items():
            visible = _hashes(remote, model)
            held = _hashes(s, model)
            for key in visible.keys() - held.keys():
                row = remote.get(model, key)
                dossier = getattr(row, "dossier_id", None)
                if table == "page":
                    dossier = remote.get(Material, row.material_id).dossier_id  # type: ignore[union-attr]
                if dossier is None or dossier in here.values():
                    missing.append(f"{table} {key}")
    assert not missing, f"{office.code} lacks rows of its scope: {missing}"


def _assert_clean(city: City) -> None:
    """Nothing quarantined or unsynced; chains, seals, page files, certificates and
    checkpoints verify at each office; each chain agrees with central's copy."""
    assert city_count(city, "SELECT count(*) FROM sync_quarantine") == 0
    for office in city.offices:
        state = sync.status(office.db)
        assert (state.unsynced, state.quarantined, state.last_error) == (0, 0, ""), office.code
        with office.db.read() as s:
            assert s.exec(select(SyncQuarantine)).all() == [], office.code
            own = s.exec(
                select(ChainCheckpoint).where(ChainCheckpoint.institution_id == office.origin)
            ).all()
        assert own, f"{office.code} signed no checkpoint"
        with office.at():
            report = fixity.verify(office.db, archive_root=office.root)
            audit = central_audit.compare(office.db, office.central, office.origin)  # type: ignore[arg-type]
        assert report.ok, (office.code, [p.message for p in report.problems])
        assert report.checkpoints >= len(own) and report.mac_key_id, office.code
        assert audit.ok, (office.code, audit.findings)
        assert audit.checkpoints >= len(own) and audit.not_sent == 0, office.code


def city_count(city: City, sql: str) -> int:
    with city.admin.read() as remote:
        return remote.execute(text(sql)).scalar()


def _serials(city: City) -> list[str]:
    with city.admin.read() as remote:
        return list(remote.exec(select(Certificate.serial)))


# --- the scenario -----------------------------------------------------------------------------


def test_two_offices_serving_offline_sync_to_the_exact_union(city: City) -> None:
    a, b = city.offices
    _first_sync_and_accounts(city)
    with a.db.read() as s:
        ids = {d.dossier_no: d.id for d in s.exec(select(Dossier))}
    # Offline from here on. CY-RC: a consultation of DA00000001 and 存档证明 for the holders of
    # DA00000001 and DA00000002, then DA00000001 is sent to CY-JY (with that history).
    clerk_rc = a.login("clerk1")
    _serve(a, clerk_rc, "DA00000001", certify=False)
    serials = list(_serve(a, clerk_rc, "11010519491231002X", certify=True))
    serials += _serve(a, clerk_rc, "440524188001010014", certify=True)
    _send(a, clerk_rc, ids["DA00000001"], b.origin)
    # CY-JY: DA00000003 arrives on paper (a cover sheet), is received and accepted; its holder
    # gets a 存档证明; an applicant whose dossier CY-RC holds is told where it is (from the
    # holder index, offline).
    cover = b.settings.data_dir / "cover.png"
    write_page(cover, "DA00000003")
    _receive(b, b.login("arch_jy"), "DA00000003", [cover])
    clerk_jy = b.login("clerk_jy")
    serials += _serve(b, clerk_jy, "110105198001010024", certify=True)
    with b.at():
        told = lookup.find(b.db, "440524188001010014", clerk_jy)
    assert told.status == "held_elsewhere", told
    assert "北京市朝阳区人才服务中心" in told.message, told.message
    # Checkpoints, then the syncs, interleaved: CY-JY first (CY-RC's transfer not yet there),
    # CY-RC, then CY-JY again, which now receives DA00000001 with its history and page files.
    for office in (a, b):
        with office.at():
            assert checkpoints.sign_held(office.db) == [office.code]
    for office in (b, a, b):
        result = office.sync()
        assert result.quarantined == result.refused == 0, (office.code, result)
    with b.db.read() as s:
        assert custody.states(s, [ids["DA00000001"]])[ids["DA00000001"]].in_transit
    # Offline again: DA00000001's paper arrives at CY-JY and is compared with the copy pulled
    # from central (page files included); CY-JY issues for it, CY-RC serves again.
    _receive(b, b.login("arch_jy"), "DA00000001", _pages_of(b, ids["DA00000001"]))
    serials += _serve(b, clerk_jy, "11010519491231002X", certify=True)
    serials += _serve(a, a.login("clerk1"), "DA00000002", certify=True)
    for office in (a, b, b, a, a, b):
        result = office.sync()
        assert result.quarantined == result.refused == 0, (office.code, result)

    _assert_exact_union(city)
    _assert_scope(a, {"DA00000001", "DA00000002", "DA00000003"})
    _assert_scope(b, {"DA00000001", "DA00000003"})
    _assert_clean(city)
    with a.db.read() as s:
        assert {v.institution_id for v in s.exec(select(ServiceVisit))} == {a.origin}
        assert not custody.states(s, [ids["DA00000001"]])[ids["DA00000001"]].held_by(a.origin)
    with b.db.read() as s:
        # Another office's visits only as the context of DA00000001's certificates and
        # consultations, which came with the dossier.
        cited = {
            r.visit_id
            for model in (Certificate, Consultation)
            for r in s.exec(select(model).where(model.dossier_id == ids["DA00000001"]))
        }
        theirs = {
            v.id
            for v in s.exec(select(ServiceVisit).where(ServiceVisit.institution_id != b.origin))
        }
        assert theirs and theirs <= cited
        held = custody.states(s, list(ids.values()))
    assert held[ids["DA00000001"]].held_by(b.origin) and held[ids["DA00000003"]].held_by(b.origin)
    # Serials: each office's own prefix, never the same twice.
    assert sorted(_serials(city)) == sorted(serials)
    assert len(set(serials)) == len(serials) == 5
    assert [s[:2] for s in serials] == ["CY", "CY", "CJ", "CJ", "CY"]
    # Both offices numbered from 1 offline: the prefix alone keeps them apart.
    numbers = {office: {s[2:] for s in serials if s.startswith(office)} for office in ("CY", "CJ")}
    assert numbers["CJ"] < numbers["CY"]


def test_both_offices_keep_serving_while_central_is_unreachable_and_drain_after(
    city: City, capsys: pytest.CaptureFixture[str]
) -> None:
    from counter_tui import cli

    a, b = city.offices
    _first_sync_and_accounts(city)
    # Central moved, or the line is down: a port where nothing listens.
    dead = str(make_url(a.settings.central).set(port=1))
    for office in (a, b):
        with office.at():
            checkpoints.sign_held(office.db)
    serials = []
    for round_no in range(2):
        # Serving goes on: log-in, lookup, a certificate, the end of the visit.
        serials += _serve(a, a.login("clerk1"), "DA00000002", certify=True)
        if round_no == 0:
            cover = b.settings.data_dir / "cover.png"
            write_page(cover, "DA00000003")
            _receive(b, b.login("arch_jy"), "DA00000003", [cover])
        serials += _serve(b, b.login("clerk_jy"), "DA00000003", certify=True)
        for office in (a, b):
            url = str(make_url(office.settings.central).set(port=1))
            with pytest.raises(sync.SyncError) as failed:
                office.sync(url)
            assert failed.value.reason == "unreachable"
            state = sync.status(office.db)
            assert state.unsynced > 0
            line = sync.status_text(state, online=False)
            assert "离线" in line or "无法连接" in line, line
            assert state.last_error.startswith("无法连接中心数据库"), state.last_error
            assert "Error" not in state.last_error, state.last_error
    # The command says so in plain words, exit 1, and the office's archive is untouched.
    with a.db.read() as s:
        before = s.exec(select(AccessEvent.seq).order_by(col(AccessEvent.seq).desc())).first()
    with a.at():
        status = cli.main(
            [
                "--db",
                a.settings.db,
                "--archive-root",
                str(a.root),
                "--data-dir",
                str(a.settings.data_dir),
                "--institution",
                "CY-RC",
                "sync",
                "--central",
                dead,
            ]
        )
    err = capsys.readouterr().err
    assert status == 1 and "Traceback" not in err and "无法连接" in err, err
    # Central is back: with no new local writes the backlogs drain. (A sync seals what it
    # receives in the office's own chain, to be sent by the next one: what one office sent
    # reaches the other a round later.)
    pending = {o.code: sync.status(o.db).unsynced for o in (a, b)}
    assert all(pending.values()), pending
    for _round in range(3):
        received = 0
        for office in (b, a):
            with office.at():
                done = sync.sync_once(
                    office.db,
                    office.central,  # type: ignore[arg-type]
                    office.origin,
                    archive_root=office.root,
                )
            received += done.pulled
        if not received:
            break
    for office in (a, b):
        state = sync.status(office.db)
        assert (state.unsynced, state.last_error) == (0, ""), office.code
        assert sync.status_text(state, online=True).startswith("中心库：在线 · 待同步 0 条")
    with a.db.read() as s:
        after = s.exec(select(AccessEvent.seq).order_by(col(AccessEvent.seq).desc())).first()
    assert after is not None and before is not None and after > before  # sealed what it got
    _assert_exact_union(city)
    assert sorted(_serials(city)) == sorted(serials)
    assert len(set(serials)) == len(serials) == 4


def test_a_new_office_makes_its_first_sync_with_the_command(
    city: City, capsys: pytest.CaptureFixture[str]
) -> None:
    from counter_tui import cli

    a, b = city.offices
    a.sync()
    _share_city_keys(a, b)
    with b.at():
        status = cli.main(
            [
                "--db",
                b.settings.db,
                "--archive-root",
                str(b.root),
                "--data-dir",
                str(b.settings.data_dir),
                "--institution",
                "CY-JY",
                "sync",
                "--central",
                b.settings.central,
            ]
        )
    assert status == 0, capsys.readouterr().err
    with b.db.read() as s:
        assert {i.code for i in s.exec(select(Institution))} == {"CY-RC", "CY-JY"}
        assert set(s.exec(select(Dossier.dossier_no))) == {"DA00000003"}


def test_two_offices_may_each_have_a_clerk1(city: City) -> None:
    a, b = city.offices
    _first_sync_and_accounts(city)
    with b.at():
        admin = auth.authenticate(b.db, "admin_jy", PASSWORD)
        auth.add_user(
            b.db,
            username="clerk1",
            name="钱进",
            role="clerk",
            institution_code="CY-JY",
            password=PASSWORD,
            actor=admin,
        )
    cover = b.settings.data_dir / "cover.png"
    write_page(cover, "DA00000003")
    _receive(b, b.login("arch_jy"), "DA00000003", [cover])
    _serve(b, b.login("clerk1"), "DA00000003", certify=True)
    _serve(a, a.login("clerk1"), "DA00000002", certify=True)
    # The last sync of A sends the seals of what its previous pull received.
    results = [office.sync() for office in (a, b, a, b, a)]
    assert [(r.quarantined, r.refused) for r in results] == [(0, 0)] * 5
    with city.admin.read() as remote:
        owners = set(
            remote.execute(text("SELECT institution_id FROM clerk WHERE username = 'clerk1'"))
        )
    assert len(owners) == 2
    _assert_exact_union(city)


def test_a_new_office_joins_after_another_has_issued_certificates(city: City) -> None:
    a, b = city.offices
    _serve(a, a.login("clerk1"), "DA00000002", certify=True)  # CY-RC's key list exists now
    a.sync()
    _share_city_keys(a, b)
    result = b.sync()
    assert result.quarantined == 0
    with b.db.read() as s:
        assert {i.code for i in s.exec(select(Institution))} == {"CY-RC", "CY-JY"}
        assert set(s.exec(select(Dossier.dossier_no))) == {"DA00000003"}
    with b.at():
        assert fixity.verify(b.db, archive_root=b.root).ok
