"""就近办理 (services.nearby): office CY-JY serves the person of a dossier CY-RC holds — online
only, read-only catalogue from central, a certificate under CY-JY's serial naming CY-RC as the
holder — and both offices' chains say who looked (a real PostgreSQL central, two SQLite
offices, each through its own role and row-level security)."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import func, select

from counter_tui.db.engine import Database
from counter_tui.db.models import (
    AccessEvent,
    Certificate,
    Clerk,
    CustodyEvent,
    Dossier,
    Institution,
    Material,
    SyncQuarantine,
)
from counter_tui.read_models import Visit
from counter_tui.services import (
    access_log,
    auth,
    central,
    certificate_verify,
    custody,
    fixity,
    issuance,
    nearby,
    sync,
)
from tests.services.test_sync import City, tiny_archive_empty
from tests.support.factories import PASSWORD, PASSWORD_HASH, logged_in, tiny_archive

pytestmark = pytest.mark.postgres

ZHANG_WEI = "11010519491231002X"  # DA00000001, held by CY-RC


class Office:
    """Office CY-JY: its own SQLite archive, its central role, one logged-in clerk."""

    def __init__(self, city: City, folder: Path, *, role: str = "clerk", own_id: str = "") -> None:
        self.password = central.add_office(city.admin_url, "CY-JY")
        self.url = central.office_url(city.admin_url, "CY-JY")
        self.central = Database(self.url.replace("@", f":{self.password}@", 1))
        with city.office.db.read() as s:
            self.origin = s.exec(select(Institution).where(Institution.code == "CY-JY")).one().id
        self.db = tiny_archive_empty(folder, city)
        sync.pull(self.db, self.central, self.origin)  # the institutions come down
        with self.db.write() as s:
            clerk = Clerk(
                username="jy1",
                name="孙丽",
                role=role,
                institution_id=self.origin,
                password_hash=PASSWORD_HASH,
                id_number_hash=auth.hash_id_number(own_id) if own_id else None,
            )
            s.add(clerk)
            s.flush()
            auth.register_account(access_log.Chain(s), clerk, kind="account_added", clerk_id=None)
        self.workplace = auth.authenticate(self.db, "jy1", PASSWORD)
        self.folder = folder

    def events(self, kind: str) -> list[AccessEvent]:
        with self.db.read() as s:
            return list(s.exec(select(AccessEvent).where(AccessEvent.kind == kind)))


@pytest.fixture
def city(tmp_path: Path, postgres_url: str) -> City:
    archive = tiny_archive(tmp_path / "rc")
    with archive.db.write() as s:
        # CY-RC's clerk1 reshelved DA00000001: the copy at CY-JY names an account it lacks.
        event = CustodyEvent(
            dossier_id=archive.ids["DA00000001"],
            kind="shelved",
            holder_institution_id=archive.ids["here"],
            shelf_location="1库-02架-1层-004",
            clerk_id=archive.ids["clerk"],
            at=dt.datetime(2025, 1, 6, 2, 0, tzinfo=dt.UTC),
        )
        s.add(event)
        s.flush()
        custody.register_event(access_log.Chain(s), event, clerk_id=archive.ids["clerk"])
    city = City(postgres_url, archive)
    sync.sync_once(city.office.db, city.central, city.origin)
    yield city
    city.central.dispose()
    city.admin.dispose()


@pytest.fixture
def jy(city: City, tmp_path: Path) -> Office:
    office = Office(city, tmp_path / "jy")
    yield office
    office.central.dispose()


def _custody_request() -> issuance.CertificateRequest:
    return issuance.CertificateRequest(kind_code="custody", purpose="办理退休")


def test_a_dossier_held_elsewhere_is_served_here_and_both_offices_see_it(
    city: City, jy: Office, tmp_path: Path
) -> None:
    visit = Visit()
    served = nearby.open_nearby(jy.db, jy.central, jy.workplace, ZHANG_WEI, visit)
    view = served.view
    assert view.dossier_no == "DA00000001"
    assert view.holder_name == "北京市朝阳区人才服务中心"
    assert served.holder_code == "CY-RC"
    assert [m.number for m in view.materials] == ["1-1", "4-1-1", "9-2-1"]
    assert [m.scanned_pages for m in view.materials] == [2, 0, 1]
    assert view.held_since is not None
    with jy.db.read() as s:
        # The header and custody are kept (sealed), the catalogue is not; the holder is CY-RC.
        assert s.exec(select(func.count()).select_from(Material)).one() == 0
        assert s.get(Dossier, view.id) is not None
        state = custody.states(s, [view.id])[view.id]
        assert state.held_by(city.origin) and not state.held_by(jy.origin)
        # The account the copy names is a stand-in without secrets that cannot log in.
        stub = s.get(Clerk, city.office.ids["clerk"])
        assert (stub.username, stub.active, stub.password_hash) == ("clerk1@CY-RC", False, None)
    [seen] = jy.events("nearby_view")
    assert seen.dossier_id == view.id and seen.target_id == served.record_id

    issued = nearby.issue_nearby(
        jy.db,
        jy.central,
        _custody_request(),
        served,
        workplace=jy.workplace,
        visit_id=visit.id,
        certificates_dir=tmp_path / "jy-certificates",
    )
    assert issued.serial.startswith("CJ-")
    assert "存放于北京市朝阳区人才服务中心" in issued.text
    assert issued.path.is_file()
    assert fixity.verify(jy.db).ok

    # What central recorded, for the holder's eyes: the view and the issue, by CY-JY's clerk.
    with city.admin.read() as remote:
        records = remote.execute(
            text("SELECT action, clerk_username, serial FROM nearby_access ORDER BY action DESC")
        ).all()
    assert [tuple(r) for r in records] == [("view", "jy1", ""), ("issue", "jy1", issued.serial)]

    # CY-JY syncs: its certificate goes up; the copy of CY-RC's dossier does not, nothing refused.
    sync.sync_once(jy.db, jy.central, jy.origin)
    assert city.count(f"SELECT count(*) FROM certificate WHERE serial = '{issued.serial}'") == 1
    with jy.db.read() as s:
        assert s.exec(select(func.count()).select_from(SyncQuarantine)).one() == 0

    # CY-RC syncs: its auditors see who looked and what was issued, in its own chain.
    sync.sync_once(city.office.db, city.central, city.origin)
    with city.office.db.read() as s:
        elsewhere = {
            e.kind: e
            for e in s.exec(
                select(AccessEvent).where(
                    AccessEvent.kind.in_(["nearby_viewed_elsewhere", "nearby_issued_elsewhere"])  # type: ignore[attr-defined]
                )
            )
        }
    assert set(elsewhere) == {"nearby_viewed_elsewhere", "nearby_issued_elsewhere"}
    assert elsewhere["nearby_viewed_elsewhere"].institution_id == jy.origin
    assert elsewhere["nearby_viewed_elsewhere"].dossier_id == view.id
    assert "jy1" in elsewhere["nearby_viewed_elsewhere"].reason
    assert issued.serial in elsewhere["nearby_issued_elsewhere"].reason
    assert fixity.verify(city.office.db).ok
    # A second sync copies nothing twice.
    sync.sync_once(city.office.db, city.central, city.origin)
    with city.office.db.read() as s:
        assert (
            s.exec(
                select(func.count())
                .select_from(AccessEvent)
                .where(AccessEvent.kind == "nearby_viewed_elsewhere")
            ).one()
            == 1
        )


def test_the_holder_pulls_the_certificate_issued_elsewhere_and_verifies_it(
    city: City, jy: Office, tmp_path: Path
) -> None:
    visit = Visit()
    served = nearby.open_nearby(jy.db, jy.central, jy.workplace, ZHANG_WEI, visit)
    issued = nearby.issue_nearby(
        jy.db,
        jy.central,
        issuance.CertificateRequest(
            kind_code="custody",
            purpose="办理退休",
            cited_material_ids=(served.view.materials[0].id,),
        ),
        served,
        workplace=jy.workplace,
        visit_id=visit.id,
        certificates_dir=tmp_path / "jy-certificates",
    )
    sync.sync_once(jy.db, jy.central, jy.origin)
    sync.sync_once(city.office.db, city.central, city.origin)
    with city.office.db.read() as s:
        cert = s.exec(select(Certificate).where(Certificate.serial == issued.serial)).one()
    assert cert.institution_id == jy.origin
    result = certificate_verify.verify(city.office.db, issued.verification_code)
    assert result.outcome is certificate_verify.Outcome.VALID, result.message


def test_offline_or_without_central_it_is_refused_and_nothing_is_written(
    city: City, jy: Office
) -> None:
    before = _count(jy.db, AccessEvent), _count(jy.db, Dossier)
    dead = Database("postgresql+psycopg://office@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(nearby.NearbyError) as caught:
        nearby.open_nearby(jy.db, dead, jy.workplace, ZHANG_WEI, Visit())
    assert caught.value.reason == "offline"
    assert "联网" in str(caught.value) or "中心" in str(caught.value)
    with pytest.raises(nearby.NearbyError) as caught:
        nearby.open_nearby(jy.db, None, jy.workplace, ZHANG_WEI, Visit())
    assert caught.value.reason == "not_configured"
    assert (_count(jy.db, AccessEvent), _count(jy.db, Dossier)) == before


def test_an_issue_needs_central_at_that_moment_and_a_recent_view(
    city: City, jy: Office, tmp_path: Path
) -> None:
    served = nearby.open_nearby(jy.db, jy.central, jy.workplace, ZHANG_WEI, Visit())
    dead = Database("postgresql+psycopg://office@127.0.0.1:1/none?connect_timeout=2")
    kwargs = {"workplace": jy.workplace, "visit_id": None, "certificates_dir": tmp_path / "c"}
    with pytest.raises(nearby.NearbyError) as caught:
        nearby.issue_nearby(jy.db, dead, _custody_request(), served, **kwargs)
    assert caught.value.reason == "offline"
    later = served.read_at + dt.timedelta(hours=5)
    with pytest.raises(nearby.NearbyError) as caught:
        nearby.issue_nearby(jy.db, jy.central, _custody_request(), served, now=later, **kwargs)
    assert caught.value.reason == "expired"
    assert _count(jy.db, Certificate) == 0
    # Citing a material of another dossier is refused like at the holder.
    with pytest.raises(issuance.IssuanceError) as refused:
        nearby.issue_nearby(
            jy.db,
            jy.central,
            issuance.CertificateRequest(
                kind_code="custody", purpose="办理退休", cited_material_ids=(uuid.uuid4(),)
            ),
            served,
            **kwargs,
        )
    assert refused.value.field == "cited"


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("440524188001010014", "held_here"),  # DA00000002: asked by its holder, CY-RC
        ("110105198001010024", "in_transit"),  # DA00000003: sent to CY-JY, not yet received
        ("110105199001010010", "not_found"),
        ("11010519491231002", "invalid_id"),
    ],
)
def test_what_central_cannot_serve_is_said(city: City, number: str, reason: str) -> None:
    office = city.office
    workplace = logged_in(office)
    with pytest.raises(nearby.NearbyError) as caught:
        nearby.open_nearby(office.db, city.central, workplace, number, Visit())
    assert caught.value.reason == reason
    assert str(caught.value)


def test_the_clerks_own_dossier_and_other_roles_are_refused(city: City, tmp_path: Path) -> None:
    own = Office(city, tmp_path / "own", own_id=ZHANG_WEI)
    try:
        with pytest.raises(nearby.NearbyRefused) as caught:
            nearby.open_nearby(own.db, own.central, own.workplace, ZHANG_WEI, Visit())
        assert caught.value.reason == "own_dossier"
        assert own.events("refused")
    finally:
        own.central.dispose()
    auditor = Office(city, tmp_path / "audit", role="auditor")
    try:
        with pytest.raises(nearby.NearbyRefused) as caught:
            nearby.open_nearby(auditor.db, auditor.central, auditor.workplace, ZHANG_WEI, Visit())
        assert caught.value.reason == "role"
    finally:
        auditor.central.dispose()
    with city.admin.read() as remote:
        assert remote.execute(text("SELECT count(*) FROM nearby_access")).scalar() == 0


def test_offices_can_neither_write_the_record_nor_issue_without_a_view(
    city: City, jy: Office
) -> None:
    with jy.central.write() as remote, pytest.raises(Exception, match="permission denied"):
        remote.execute(
            text(
                "INSERT INTO nearby_access (id, action, dossier_id, holder_institution_id, "
                "office_institution_id, clerk_username, clerk_name) VALUES "
                "(gen_random_uuid(), 'view', :d, :h, :o, 'x', 'x')"
            ),
            {"d": city.office.ids["DA00000001"], "h": city.origin, "o": jy.origin},
        )
    with jy.central.write() as remote, pytest.raises(Exception, match="no nearby view"):
        remote.execute(
            text("SELECT nearby_issue(gen_random_uuid(), gen_random_uuid(), 'CJ-1', 'x', 'x')")
        )
    # Without nearby_view, CY-RC's dossier stays invisible to CY-JY.
    with jy.central.read() as remote:
        assert (
            remote.execute(
                text("SELECT count(*) FROM dossier WHERE id = :d"),
                {"d": city.office.ids["DA00000001"]},
            ).scalar()
            == 0
        )
    # CY-RC reads the record of CY-JY's view of its dossier; a third office would not.
    nearby.open_nearby(jy.db, jy.central, jy.workplace, ZHANG_WEI, Visit())
    with city.central.read() as remote:
        assert remote.execute(text("SELECT count(*) FROM nearby_access")).scalar() == 1


def _count(db: Database, model: type) -> int:
    with db.read() as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_a_dossier_served_here_and_later_sent_here_arrives_with_its_catalogue(
    city: City, jy: Office
) -> None:
    nearby.open_nearby(jy.db, jy.central, jy.workplace, ZHANG_WEI, Visit())
    sync.sync_once(jy.db, jy.central, jy.origin)  # the cursor passes CY-RC's old rows
    with city.office.db.write() as s:
        event = CustodyEvent(
            dossier_id=city.office.ids["DA00000001"],
            kind="transferred_out",
            holder_institution_id=jy.origin,
            at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
        )
        s.add(event)
        s.flush()
        custody.register_event(access_log.Chain(s), event)
    sync.sync_once(city.office.db, city.central, city.origin)
    sync.sync_once(jy.db, jy.central, jy.origin)
    with jy.db.read() as s:
        titles = set(
            s.exec(
                select(Material.title).where(Material.dossier_id == city.office.ids["DA00000001"])
            )
        )
    assert titles == {"干部履历表", "高等学校毕业生登记表", "录用审批表"}
    assert fixity.verify(jy.db).ok


def test_an_administrator_cannot_revive_another_offices_stand_in_account(
    city: City, tmp_path: Path
) -> None:
    admin = Office(city, tmp_path / "adm", role="admin")
    try:
        with admin.db.write() as s:
            account = Clerk(
                username="jy2",
                name="周强",
                role="clerk",
                institution_id=admin.origin,
                password_hash=PASSWORD_HASH,
            )
            s.add(account)
            s.flush()
            auth.register_account(access_log.Chain(s), account, kind="account_added", clerk_id=None)
        place = auth.authenticate(admin.db, "jy2", PASSWORD)
        nearby.open_nearby(admin.db, admin.central, place, ZHANG_WEI, Visit())
        for change in (
            lambda: auth.set_active(admin.db, "clerk1@CY-RC", True, actor=admin.workplace),
            lambda: auth.set_password(
                admin.db, "clerk1@CY-RC", "a-new-long-password-1", actor=admin.workplace
            ),
        ):
            with pytest.raises(auth.AuthError) as refused:
                change()
            assert "另一机构" in str(refused.value) or "其他机构" in str(refused.value)
        with pytest.raises(auth.AuthError):
            auth.authenticate(admin.db, "clerk1@CY-RC", PASSWORD)
    finally:
        admin.central.dispose()
