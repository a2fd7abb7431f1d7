"""A dossier transferred between two offices (each with its own database and its own keyring)
arrives with its history: materials, certificates and their events, consultations, and what
they refer to — the accounts that made them, as inactive stubs without any secret, and the
service visits they were made in. Certificates issued at one office verify at the other."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from sqlalchemy import text
from sqlmodel import func, select

from counter_tui.db.engine import Database
from counter_tui.db.models import (
    Certificate,
    CertificateEvent,
    Clerk,
    Consultation,
    CustodyEvent,
    Dossier,
    Institution,
    Material,
    ServiceVisit,
    SigningKeyList,
    SyncOutbox,
    SyncState,
)
from counter_tui.domain import clock
from counter_tui.services import (
    access_log,
    auth,
    central,
    certificate_events,
    certificate_verify,
    consultation,
    custody,
    fixity,
    issuance,
    reports,
    supplement,
    sync,
    visits,
)
from tests.services.test_sync import City, tiny_archive_empty
from tests.support.factories import PASSWORD, PASSWORD_HASH, logged_in, tiny_archive
from tests.support.keyrings import MemoryKeyring

pytestmark = pytest.mark.postgres

NOW = dt.datetime(2026, 5, 6, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing


@contextlib.contextmanager
def computer(backend: MemoryKeyring) -> Iterator[None]:
    """Act on the computer whose keyring is ``backend`` (each office has its own)."""
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield
    finally:
        keyring.set_keyring(previous)


@dataclasses.dataclass
class Offices:
    """Office A (CY-RC: tiny_archive, its keyring ``a_keys``) and office B (CY-JY: a new
    database that has pulled its scope once, keyring ``b_keys``), both synced with central."""

    city: City
    a_keys: MemoryKeyring
    b: Database
    b_keys: MemoryKeyring
    b_central: Database
    jy: uuid.UUID
    b_folder: Path
    made: dict[str, object] = dataclasses.field(default_factory=dict)

    @property
    def a(self) -> Database:
        return self.city.office.db

    def sync_a(self) -> sync.SyncResult:
        with computer(self.a_keys):
            return sync.sync_once(self.a, self.city.central, self.city.origin)

    def sync_b(self) -> sync.SyncResult:
        with computer(self.b_keys):
            return sync.sync_once(self.b, self.b_central, self.jy)


@pytest.fixture
def offices(tmp_path: Path, postgres_url: str) -> Iterator[Offices]:
    a_keys = MemoryKeyring()
    with computer(a_keys):
        archive = tiny_archive(tmp_path / "a")
        city = City(postgres_url, archive)
    password = central.add_office(postgres_url, "CY-JY")
    b_central = Database(central.office_url(postgres_url, "CY-JY").replace("@", f":{password}@", 1))
    with archive.db.read() as s:
        jy = s.exec(select(Institution).where(Institution.code == "CY-JY")).one().id
    b = tiny_archive_empty(tmp_path / "b", city)
    here = Offices(city, a_keys, b, MemoryKeyring(), b_central, jy, tmp_path / "b")
    here.sync_a()
    here.sync_b()  # B's cursor is now past DA00000001's old rows
    yield here
    b_central.dispose()
    city.central.dispose()
    city.admin.dispose()


def work_at_a(offices: Offices, *, send: bool = True) -> None:
    """At A, clerk1 serves an applicant on DA00000001 (a visit with two certificates, one
    voided, and a consultation), adds a material, and (``send``) sends the dossier to B."""
    archive = offices.city.office
    dossier = archive.ids["DA00000001"]
    with computer(offices.a_keys):
        place = logged_in(archive)
        visit_id, _started = visits.start(archive.db, place, at=NOW)
        kept = issuance.issue(
            archive.db,
            issuance.CertificateRequest("custody", "办理生育服务证"),
            dossier_id=dossier,
            workplace=place,
            visit_id=visit_id,
            certificates_dir=archive.settings.certificates_dir,
            now=NOW,
        )
        voided = issuance.issue(
            archive.db,
            issuance.CertificateRequest("custody", "入职"),
            dossier_id=dossier,
            workplace=place,
            visit_id=visit_id,
            certificates_dir=archive.settings.certificates_dir,
            now=NOW + dt.timedelta(minutes=1),
        )
        certificate_events.void(
            archive.db,
            voided.serial,
            workplace=place,
            reason="用途填错",
            now=NOW + dt.timedelta(minutes=2),
        )
        consultation.record(
            archive.db,
            consultation.ConsultationRequest(
                requesting_unit="北京市朝阳区人力资源和社会保障局",
                approval_no="CY-2026-0042",
                purpose="政审",
                readers="张三",
                shown_material_ids=(archive.ids["m_cv"],),
            ),
            dossier_id=dossier,
            workplace=place,
            visit_id=visit_id,
        )
        supplement.add_material(
            archive.db,
            dossier_id=dossier,
            category=3,
            subcategory=None,
            title="2025年度考核登记表",
            formed_on=dt.date(2025, 12, 20),
            page_count=2,
            workplace=place,
        )
        if send:
            transfer(archive.db, dossier, to=offices.jy, clerk_id=archive.ids["clerk"])
    offices.made.update(kept=kept, voided=voided, visit=visit_id, dossier=dossier)


def transfer(db: Database, dossier: object, *, to: uuid.UUID, clerk_id: object) -> None:
    """Record the transfer of ``dossier`` to ``to`` (sealed as the application seals it)."""
    with db.write() as s:
        event = CustodyEvent(
            dossier_id=dossier,
            kind="transferred_out",
            holder_institution_id=to,
            at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
            clerk_id=clerk_id,
        )
        s.add(event)
        s.flush()
        custody.register_event(access_log.Chain(s), event)


def test_a_transferred_dossier_arrives_with_its_materials_certificates_and_consultations(
    offices: Offices,
) -> None:
    work_at_a(offices)
    offices.sync_a()
    result = offices.sync_b()
    assert (result.quarantined, result.refused) == (0, 0)
    dossier = offices.made["dossier"]
    with offices.b.read() as s:
        assert set(s.exec(select(Dossier.dossier_no))) == {"DA00000001", "DA00000003"}
        titles = set(s.exec(select(Material.title).where(Material.dossier_id == dossier)))
        serials = set(s.exec(select(Certificate.serial)))
        voids = s.exec(select(CertificateEvent).where(CertificateEvent.kind == "voided")).all()
        consulted = s.exec(select(Consultation)).all()
        visit = s.get(ServiceVisit, offices.made["visit"])
    assert {"干部履历表", "2025年度考核登记表"} <= titles
    assert serials == {offices.made["kept"].serial, offices.made["voided"].serial}
    assert [v.clerk_id for v in voids] == [offices.city.office.ids["clerk"]]
    assert [c.approval_no for c in consulted] == ["CY-2026-0042"]
    assert visit is not None and visit.institution_id == offices.city.origin
    with computer(offices.b_keys):
        report = fixity.verify(offices.b)
    assert report.ok, report.problems


def test_accounts_of_another_office_arrive_as_stubs_that_never_log_in_or_travel_back(
    offices: Offices,
) -> None:
    work_at_a(offices)
    offices.sync_a()
    offices.sync_b()
    with offices.b.read() as s:
        stubs = s.exec(select(Clerk)).all()
        pending = s.exec(
            select(func.count()).select_from(SyncOutbox).where(SyncOutbox.table_name == "clerk")
        ).one()
    assert [(c.username, c.name, c.role) for c in stubs] == [("clerk1@CY-RC", "王芳", "clerk")]
    assert all(
        (c.active, c.password_hash, c.id_number_hash, c.institution_id)
        == (False, None, None, offices.city.origin)
        for c in stubs
    )
    assert pending == 0  # not this office's to push
    with computer(offices.b_keys):
        for username in ("clerk1@CY-RC", "clerk1"):
            with pytest.raises(auth.AuthError):
                auth.authenticate(offices.b, username, PASSWORD)
        assert not auth.has_accounts(offices.b)
    # B syncs again (its own log-in attempts): central's accounts are unchanged.
    result = offices.sync_b()
    assert (result.refused, result.quarantined) == (0, 0)
    assert offices.city.count("SELECT count(*) FROM clerk WHERE username LIKE '%@%'") == 0
    assert offices.city.count("SELECT count(*) FROM clerk") == 4


def test_the_receiving_offices_figures_leave_out_the_senders_visits(offices: Offices) -> None:
    work_at_a(offices)
    offices.sync_a()
    offices.sync_b()
    day = clock.today(NOW)
    at_b = reports.day_figures(offices.b, day=day, institution_id=offices.jy)
    at_a = reports.day_figures(offices.a, day=day, institution_id=offices.city.origin)
    assert (at_b.total.arrivals, at_b.total.certificates) == (0, 0)
    assert at_a.total.arrivals == 1


def test_a_certificate_issued_at_one_office_verifies_at_the_other(offices: Offices) -> None:
    work_at_a(offices)
    offices.sync_a()
    offices.sync_b()
    kept, voided = offices.made["kept"], offices.made["voided"]
    with offices.b.read() as s:
        payload = s.exec(select(Certificate.payload).where(Certificate.serial == kept.serial)).one()
    with computer(offices.b_keys):  # B's keyring holds no key list of CY-RC
        valid = certificate_verify.verify(offices.b, payload)
        void = certificate_verify.verify(offices.b, voided.verification_code)
    assert valid.outcome is certificate_verify.Outcome.VALID, valid.message
    assert void.outcome is certificate_verify.Outcome.VOIDED, void.message


def test_a_certificate_issued_at_the_receiver_verifies_at_the_sender_when_the_dossier_returns(
    offices: Offices,
) -> None:
    work_at_a(offices)
    offices.sync_a()
    offices.sync_b()
    dossier = offices.made["dossier"]
    # B: an account of its own receives the dossier, issues a certificate, sends it back.
    with computer(offices.b_keys):
        with offices.b.write() as s:
            account = Clerk(
                username="jy1",
                name="孙丽",
                role="clerk",
                institution_id=offices.jy,
                password_hash=PASSWORD_HASH,
            )
            s.add(account)
            s.flush()
            auth.register_account(access_log.Chain(s), account, kind="account_added", clerk_id=None)
            received = CustodyEvent(
                dossier_id=dossier,
                kind="received",
                holder_institution_id=offices.jy,
                at=dt.datetime(2026, 6, 2, tzinfo=dt.UTC),
                clerk_id=account.id,
            )
            s.add(received)
            s.flush()
            custody.register_event(access_log.Chain(s), received)
        place = auth.authenticate(offices.b, "jy1", PASSWORD)
        issued = issuance.issue(
            offices.b,
            issuance.CertificateRequest("custody", "落户"),
            dossier_id=dossier,
            workplace=place,
            visit_id=None,
            certificates_dir=offices.b_folder / "certificates",
            now=dt.datetime(2026, 6, 3, tzinfo=dt.UTC),
        )
        with offices.b.write() as s:
            back = CustodyEvent(
                dossier_id=dossier,
                kind="transferred_out",
                holder_institution_id=offices.city.origin,
                at=dt.datetime(2026, 6, 4, tzinfo=dt.UTC),
                clerk_id=account.id,
            )
            s.add(back)
            s.flush()
            custody.register_event(access_log.Chain(s), back)
    offices.sync_b()
    offices.sync_a()
    with offices.a.read() as s:
        stub = s.get(Clerk, account.id)
    assert (stub.username, stub.active, stub.password_hash) == ("jy1@CY-JY", False, None)
    with computer(offices.a_keys):  # A's keyring holds CY-RC's list, not CY-JY's
        verdict = certificate_verify.verify(offices.a, issued.verification_code)
        report = fixity.verify(offices.a)
    assert verdict.outcome is certificate_verify.Outcome.VALID, verdict.message
    assert report.ok, report.problems


def test_an_office_reads_other_offices_accounts_only_through_their_public_fields(
    offices: Offices,
) -> None:
    work_at_a(offices, send=False)
    offices.sync_a()
    clerk = offices.city.office.ids["clerk"]
    with offices.b_central.read() as remote:
        assert remote.execute(text("SELECT count(*) FROM clerk")).scalar() == 0
        rows = (
            remote.execute(
                text("SELECT * FROM public_accounts(CAST(:ids AS uuid[]))"), {"ids": [str(clerk)]}
            )
            .mappings()
            .all()
        )
        visits_seen = remote.execute(text("SELECT id FROM service_visit")).scalars().all()
        events_seen = remote.execute(text("SELECT count(*) FROM service_event")).scalar()
        lists = remote.execute(text("SELECT count(*) FROM signing_key_list")).scalar()
    assert [set(r) for r in rows] == [
        {"id", "institution_id", "username", "name", "role", "created_at"}
    ]
    assert rows[0]["username"] == "clerk1"
    # A's visit is readable where a certificate B may see refers to it (none yet: the dossier
    # is still A's); its steps never are. Key lists are public.
    assert visits_seen == [] and events_seen == 0 and lists == 1
    with computer(offices.a_keys):
        transfer(offices.a, offices.made["dossier"], to=offices.jy, clerk_id=clerk)
    offices.sync_a()
    with offices.b_central.read() as remote:
        visits_seen = remote.execute(text("SELECT id FROM service_visit")).scalars().all()
        events_seen = remote.execute(text("SELECT count(*) FROM service_event")).scalar()
    assert visits_seen == [offices.made["visit"]] and events_seen == 0


def test_key_lists_logged_before_the_pull_cursor_are_caught_up(offices: Offices) -> None:
    # An office whose cursor went past another institution's key list while central still
    # kept key lists to their own institution: the next pull stores it all the same.
    work_at_a(offices, send=False)
    offices.sync_a()
    with offices.city.admin.read() as remote:
        xid, last = remote.execute(
            text("SELECT xid::text, id FROM central_log ORDER BY xid DESC, id DESC LIMIT 1")
        ).one()
    with offices.b.write() as s:
        s.merge(SyncState(key="pull_cursor", value=f"{xid}:{last}"))
    result = offices.sync_b()
    with offices.b.read() as s:
        lists = s.exec(select(func.count()).select_from(SigningKeyList)).one()
    assert lists == 1 and result.pulled == 1
    with computer(offices.a_keys):
        transfer(offices.a, offices.made["dossier"], to=offices.jy, clerk_id=None)
    offices.sync_a()
    offices.sync_b()
    with computer(offices.b_keys):
        verdict = certificate_verify.verify(offices.b, offices.made["kept"].verification_code)
        report = fixity.verify(offices.b)
    assert verdict.outcome is certificate_verify.Outcome.VALID, verdict.message
    assert report.ok, report.problems


def test_a_dossier_sent_back_brings_what_the_other_office_added_meanwhile(
    offices: Offices,
) -> None:
    work_at_a(offices)
    offices.sync_a()
    offices.sync_b()
    dossier = offices.made["dossier"]
    # B receives it and adds a material; A pulls meanwhile (its cursor passes B's rows, which
    # it may not see while the dossier is B's).
    with computer(offices.b_keys), offices.b.write() as s:
        received = CustodyEvent(
            dossier_id=dossier,
            kind="received",
            holder_institution_id=offices.jy,
            at=dt.datetime(2026, 6, 2, tzinfo=dt.UTC),
        )
        s.add(received)
        s.flush()
        custody.register_event(access_log.Chain(s), received)
        added = Material(
            dossier_id=dossier, category=3, item_no=9, title="2026年度考核登记表", page_count=1
        )
        s.add(added)
        s.flush()
        fixity.register_material(
            access_log.Chain(s), added, clerk_id=None, institution_id=offices.jy
        )
    offices.sync_b()
    offices.sync_a()
    with offices.a.read() as s:
        assert s.get(Material, added.id) is None
    with computer(offices.b_keys), offices.b.write() as s:
        back = CustodyEvent(
            dossier_id=dossier,
            kind="transferred_out",
            holder_institution_id=offices.city.origin,
            at=dt.datetime(2026, 6, 5, tzinfo=dt.UTC),
        )
        s.add(back)
        s.flush()
        custody.register_event(access_log.Chain(s), back)
    offices.sync_b()
    offices.sync_a()
    with offices.a.read() as s:
        assert s.get(Material, added.id).title == "2026年度考核登记表"
    with computer(offices.a_keys):
        report = fixity.verify(offices.a)
    assert report.ok, report.problems
