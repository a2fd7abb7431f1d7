"""Authorization inside the services: every service called directly as every role, refusals
logged; inactive accounts, dossiers held elsewhere and one's own dossier refused; the table in
docs/SECURITY.md is the one in the code."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import col, select

from counter_tui.db.models import AccessEvent, Clerk, Institution
from counter_tui.read_models import ClerkRef, NearbyDossier, Workplace
from counter_tui.services import (
    audit_log,
    auth,
    authorization,
    certificate_events,
    certificate_verify,
    consultation,
    intake,
    issuance,
    lookup,
    nearby,
    receipt,
    reports,
    supplement,
    viewing,
)
from counter_tui.services.authorization import RULES, Forbidden
from counter_tui.services.workplace import institution_ref
from tests.services.test_receipt import authorization_call as _receive
from tests.support.factories import PASSWORD_HASH, TinyArchive, tiny_archive

REPO = Path(__file__).resolve().parents[2]
USERS = {
    "clerk": "clerk1",
    "supervisor": "super1",
    "archivist": "arch1",
    "auditor": "audit1",
    "admin": "admin1",
}
NOW = dt.datetime(2026, 6, 30, 2, 0, tzinfo=dt.UTC)


@dataclass
class Place:
    """The archive and a workplace per username (built from the account rows: no log-in)."""

    archive: TinyArchive
    tmp: Path

    def workplace(self, username: str, institution: str = "here") -> Workplace:
        with self.archive.db.read() as s:
            clerk = s.exec(select(Clerk).where(Clerk.username == username)).one()
            inst = s.get(Institution, self.archive.ids[institution])
            assert inst is not None
            return Workplace(
                institution_ref(inst),
                ClerkRef(clerk.id, clerk.username, clerk.name, clerk.role),
                "1",
            )


def _add_accounts(archive: TinyArchive) -> None:
    with archive.db.write() as s:
        for username, name, role in (("arch1", "陈刚", "archivist"), ("admin1", "陈静", "admin")):
            s.add(
                Clerk(
                    username=username,
                    name=name,
                    role=role,
                    institution_id=archive.ids["here"],
                    password_hash=PASSWORD_HASH,
                )
            )


def make_place(tmp: Path) -> Place:
    archive = tiny_archive(tmp)
    _add_accounts(archive)
    return Place(archive, tmp)


@pytest.fixture
def place(tmp_path: Path) -> Place:
    return make_place(tmp_path)


def refusals(place: Place) -> list[AccessEvent]:
    with place.archive.db.read() as s:
        return list(
            s.exec(
                select(AccessEvent)
                .where(AccessEvent.kind == "refused")
                .order_by(col(AccessEvent.seq))
            )
        )


def place_events(place: Place) -> list[AccessEvent]:
    with place.archive.db.read() as s:
        return list(s.exec(select(AccessEvent)))


# -- one call per action, on DA00000001 (held here, nobody's own) ----------------------------


def _issue(place: Place, wp: Workplace, dossier: str = "DA00000001") -> object:
    return issuance.issue(
        place.archive.db,
        issuance.CertificateRequest("custody", "办理生育服务证"),
        dossier_id=place.archive.ids[dossier],
        workplace=wp,
        visit_id=None,
        certificates_dir=place.archive.settings.certificates_dir,
        now=NOW,
    )


def _serial(place: Place) -> str:
    """The serial of a certificate clerk1 issued (issued once per test, on first need)."""
    if not hasattr(place, "serial"):
        place.serial = _issue(place, place.workplace("clerk1")).serial  # type: ignore[attr-defined]
    return place.serial  # type: ignore[attr-defined]


def _scan_batch(place: Place, wp: Workplace, dossier: str = "DA00000002") -> object:
    from tests.services.test_intake import _batch

    batch = _batch(place.tmp / f"batch-{uuid.uuid4().hex[:6]}", dossier, 0)
    return intake.ingest_scan_batch(
        place.archive.db,
        batch_dir=batch,
        archive_root=place.archive.settings.archive_dir,
        clerk_id=wp.clerk.id if wp.clerk else None,
    )


def _consult(place: Place, wp: Workplace, dossier: str = "DA00000001") -> object:
    request = consultation.ConsultationRequest(
        "朝阳区委组织部", "组审〔2026〕15号", "政审", "张三、李四", (place.archive.ids["m_cv"],)
    )
    return consultation.record(
        place.archive.db,
        request,
        dossier_id=place.archive.ids[dossier],
        workplace=wp,
        visit_id=None,
    )


def _add(place: Place, wp: Workplace, dossier: str = "DA00000001") -> object:
    return supplement.add_material(
        place.archive.db,
        dossier_id=place.archive.ids[dossier],
        category=10,
        subcategory=None,
        title="报到证",
        formed_on=dt.date(2000, 7, 1),
        page_count=1,
        workplace=wp,
        today=dt.date(2026, 6, 30),
    )


def _pages(place: Place, wp: Workplace) -> object:
    return viewing.open_material_pages(
        place.archive.db,
        place.archive.ids["m_cv"],
        wp,
        None,
        archive_root=place.archive.settings.archive_dir,
        private_dir=place.tmp / "view",
    )


CALLS: dict[str, Callable[[Place, Workplace], object]] = {
    "lookup": lambda p, wp: lookup.find(p.archive.db, "DA00000001", wp),
    "open_dossier": lambda p, wp: viewing.open_dossier(
        p.archive.db, p.archive.ids["DA00000001"], wp
    ),
    "view_pages": _pages,
    "reveal_id": lambda p, wp: viewing.reveal_id(p.archive.db, p.archive.ids["DA00000001"], wp),
    "record_consultation": _consult,
    "add_material": _add,
    "issue_certificate": _issue,
    "certificate_history": lambda p, wp: certificate_events.history(
        p.archive.db, p.archive.ids["DA00000001"], workplace=wp
    ),
    "print_certificate": lambda p, wp: certificate_events.print_certificate(
        p.archive.db, _serial(p), workplace=wp, print_command=["true"], viewer=["true"]
    ),
    "reprint_certificate": lambda p, wp: certificate_events.reprint(
        p.archive.db, _serial(p), workplace=wp, print_command=["true"], viewer=["true"], now=NOW
    ),
    "void_certificate": lambda p, wp: certificate_events.void(
        p.archive.db, _serial(p), workplace=wp, reason="打印错误", now=NOW
    ),
    "verify_certificate": lambda p, wp: certificate_verify.verify(
        p.archive.db, "ABCD-EFGH-JKL", workplace=wp
    ),
    "intake": _scan_batch,
    "read_access_log": lambda p, wp: audit_log.recent_events(p.archive.db, wp, limit=1),
    "read_reports": lambda p, wp: reports.day_figures(
        p.archive.db, day=dt.date(2026, 6, 30), institution_id=p.archive.ids["here"], workplace=wp
    ),
    "receive": _receive,
    "receipt_deadlines": lambda p, wp: receipt.pending(p.archive.db, wp),
    "serve_nearby": lambda p, wp: _without_central(
        lambda: nearby.open_nearby(p.archive.db, None, wp, "110105199001010010", None)
    ),
    "issue_nearby": lambda p, wp: _without_central(
        lambda: nearby.issue_nearby(
            p.archive.db,
            None,
            issuance.CertificateRequest("custody", "落户"),
            _served_elsewhere(p),
            workplace=wp,
            visit_id=None,
            certificates_dir=p.archive.settings.certificates_dir,
        )
    ),
}


def _without_central(call: Callable[[], object]) -> None:
    """Call a 就近办理 service on an office without a central database: allowed, it gets as
    far as saying that central is needed (not_configured); refused, Forbidden leaves."""
    with pytest.raises(nearby.NearbyError) as caught:
        call()
    if isinstance(caught.value, Forbidden):
        raise caught.value
    assert caught.value.reason == "not_configured"


def _served_elsewhere(p: Place) -> NearbyDossier:
    view = viewing.load_view(p.archive.db, p.archive.ids["DA00000003"])
    return NearbyDossier(
        view=view,
        holder_id=p.archive.ids["there"],
        holder_code="CY-JY",
        holder_address="",
        holder_phone="",
        record_id=uuid.uuid4(),
        read_at=dt.datetime.now(dt.UTC),
    )


def test_every_action_of_the_table_is_called_here() -> None:
    assert set(CALLS) == set(RULES)


def _cases() -> list:
    cases = []
    for action in RULES:
        for role in USERS:
            cases.append(pytest.param(action, role, id=f"{action}-{role}"))
    return cases


@pytest.mark.usefixtures("memory_keyring")
@pytest.mark.parametrize(("action", "role"), _cases())
def test_every_service_as_every_role(place: Place, action: str, role: str) -> None:
    wp = place.workplace(USERS[role])
    before = len(refusals(place))
    if role in RULES[action].roles:
        CALLS[action](place, wp)
        assert len(refusals(place)) == before
        return
    with pytest.raises(Forbidden) as refused:
        CALLS[action](place, wp)
    assert refused.value.why == "role" and refused.value.action == action
    assert str(refused.value)
    logged = refusals(place)[before:]
    assert [e.reason for e in logged] == [f"{action}: role"]
    assert logged[0].clerk_id == wp.clerk.id  # type: ignore[union-attr]


# -- inactive accounts ------------------------------------------------------------------------


@pytest.mark.parametrize("action", list(RULES), ids=lambda a: str(a))
def test_a_disabled_account_is_refused_at_its_next_action(place: Place, action: str) -> None:
    role = next(r for r in USERS if r in RULES[action].roles)
    wp = place.workplace(USERS[role])
    if action in ("print_certificate", "reprint_certificate", "void_certificate"):
        _serial(place)  # the certificate exists before the account is disabled
    with place.archive.db.write() as s:
        s.exec(select(Clerk).where(Clerk.id == wp.clerk.id)).one().active = False  # type: ignore[union-attr]
    with pytest.raises(Forbidden) as refused:
        CALLS[action](place, wp)
    assert refused.value.why == "inactive" and authorization.ends_session(refused.value)
    assert [e.reason for e in refusals(place)] == [f"{action}: inactive"]


def test_nobody_logged_in_is_refused_and_logged(place: Place) -> None:
    anonymous = Workplace(place.workplace("clerk1").institution, None, "1")
    for action in ("lookup", "reveal_id", "read_access_log"):
        with pytest.raises(Forbidden) as refused:
            CALLS[action](place, anonymous)
        assert refused.value.why == "no_account"
        assert not authorization.ends_session(refused.value)
    assert [e.reason for e in refusals(place)] == [
        "lookup: no_account",
        "reveal_id: no_account",
        "read_access_log: no_account",
    ]
    assert all(e.clerk_id is None for e in refusals(place))


def test_a_changed_role_takes_effect_at_once(place: Place) -> None:
    wp = place.workplace("clerk1")
    viewing.reveal_id(place.archive.db, place.archive.ids["DA00000001"], wp)
    with place.archive.db.write() as s:
        s.exec(select(Clerk).where(Clerk.username == "clerk1")).one().role = "auditor"
    with pytest.raises(Forbidden):
        viewing.reveal_id(place.archive.db, place.archive.ids["DA00000001"], wp)


# -- dossiers held elsewhere: only the where-is lookup ---------------------------------------


ELSEWHERE = {
    "open_dossier": lambda p, wp: viewing.open_dossier(
        p.archive.db, p.archive.ids["DA00000003"], wp
    ),
    "reveal_id": lambda p, wp: viewing.reveal_id(p.archive.db, p.archive.ids["DA00000003"], wp),
    "record_consultation": lambda p, wp: _consult(p, wp, "DA00000003"),
    "add_material": lambda p, wp: _add(p, wp, "DA00000003"),
    "load_view": lambda p, wp: viewing.load_view(p.archive.db, p.archive.ids["DA00000003"], wp),
    "intake": lambda p, wp: _scan_batch(p, wp, "DA00000003"),
}


@pytest.mark.parametrize("action", list(ELSEWHERE))
def test_a_dossier_held_elsewhere_is_refused_and_logged(place: Place, action: str) -> None:
    wp = place.workplace("arch1")  # a counter role that may also attach scans
    with pytest.raises((Forbidden, viewing.ViewingError)) as refused:
        ELSEWHERE[action](place, wp)
    assert refused.value.reason == "not_held"
    logged = refusals(place)
    assert len(logged) == 1 and logged[0].dossier_id == place.archive.ids["DA00000003"]
    assert logged[0].reason.endswith("not_held")


def test_pages_of_a_dossier_held_elsewhere_are_refused(place: Place) -> None:
    # Hand DA00000001 (with scanned pages) over to CY-JY: its pages are no longer shown here.
    from counter_tui.db.models import CustodyEvent

    with place.archive.db.write() as s:
        s.add(
            CustodyEvent(
                dossier_id=place.archive.ids["DA00000001"],
                kind="received",
                holder_institution_id=place.archive.ids["there"],
                at=NOW,
            )
        )
    with pytest.raises(Forbidden) as refused:
        _pages(place, place.workplace("clerk1"))
    assert refused.value.why == "not_held"
    assert [e.reason for e in refusals(place)] == ["view_pages: not_held"]
    assert not (place.tmp / "view").exists() or not any((place.tmp / "view").rglob("*.png"))


@pytest.mark.parametrize("typed", ["DA00000003", "110105198001010024"])
def test_the_where_is_lookup_tells_only_holder_and_date_and_is_logged(
    place: Place, typed: str
) -> None:
    outcome = lookup.find(place.archive.db, typed, place.workplace("clerk1"))
    assert outcome.status == "held_elsewhere" and outcome.reason == "in_transit"
    assert "北京市朝阳区职业介绍服务中心" in outcome.message and "2024-03-01" in outcome.message
    assert "李娜" not in outcome.message
    [told] = outcome.matches
    assert (told.person_name, told.id_masked, told.gender, told.birth_date_recorded) == (
        "",
        "",
        "",
        "",
    )
    assert told.dossier_no == ("DA00000003" if typed.startswith("DA") else "")
    [event] = refusals(place)
    assert event.reason == "lookup: in_transit"
    assert event.dossier_id == place.archive.ids["DA00000003"]


def test_a_scan_of_a_dossier_held_elsewhere_is_logged_in_its_one_write(place: Place) -> None:
    from counter_tui.read_models import Visit

    outcome = lookup.scan(place.archive.db, "DA00000003", place.workplace("clerk1"), Visit())
    assert outcome.status == "held_elsewhere" and outcome.view is None
    assert [e.reason for e in refusals(place)] == ["lookup: in_transit"]


def test_a_name_search_lists_only_dossiers_held_here_and_counts_the_others(place: Place) -> None:
    wp = place.workplace("clerk1")
    there = lookup.find(place.archive.db, "/李娜", wp)  # DA00000003: in transit to CY-JY
    assert there.status == "held_elsewhere" and there.matches == []
    assert "李娜" in there.message and "1" in there.message and "DA00000003" not in there.message
    both = lookup.find(place.archive.db, "/张", wp)  # both held here
    assert [m.dossier_no for m in both.matches] == ["DA00000001", "DA00000002"]
    assert "其他机构" not in both.message
    everyone = lookup.find(place.archive.db, "/李", wp)
    assert everyone.status == "held_elsewhere" and not everyone.matches
    assert refusals(place) == []  # a name search tells no dossier: nothing to log


# -- one's own dossier ------------------------------------------------------------------------


OWN = {
    "open_dossier": lambda p, wp: viewing.open_dossier(
        p.archive.db, p.archive.ids["DA00000002"], wp
    ),
    "reveal_id": lambda p, wp: viewing.reveal_id(p.archive.db, p.archive.ids["DA00000002"], wp),
    "record_consultation": lambda p, wp: _consult(p, wp, "DA00000002"),
    "add_material": lambda p, wp: _add(p, wp, "DA00000002"),
    "load_view": lambda p, wp: viewing.load_view(p.archive.db, p.archive.ids["DA00000002"], wp),
}


@pytest.mark.parametrize("action", list(OWN))
def test_ones_own_dossier_is_refused_and_logged(place: Place, action: str) -> None:
    wp = place.workplace("clerk2")  # clerk2's own ID is DA00000002's
    with pytest.raises((Forbidden, viewing.ViewingError)) as refused:
        OWN[action](place, wp)
    assert refused.value.reason == "own_dossier"
    [event] = refusals(place)
    assert event.dossier_id == place.archive.ids["DA00000002"]
    assert event.reason.endswith("own_dossier")


def test_a_refusal_inside_a_write_stays_logged_after_the_rollback(place: Place) -> None:
    from counter_tui.db.models import Material

    with place.archive.db.read() as s:
        materials = len(s.exec(select(Material)).all())
    with pytest.raises(supplement.SupplementRefused) as refused:
        _add(place, place.workplace("clerk2"), "DA00000002")
    assert refused.value.field == "dossier" and isinstance(refused.value, Forbidden)
    with place.archive.db.read() as s:
        assert len(s.exec(select(Material)).all()) == materials
    assert [e.reason for e in refusals(place)] == ["add_material: own_dossier"]
    # The chain stays whole: the refusal was appended after the rolled-back write.
    from counter_tui.services import fixity

    report = fixity.verify(place.archive.db)
    # (The two accounts this test added behind the application's back are reported, rightly.)
    assert [p for p in report.problems if p.table != "clerk"] == []
    assert report.events == len(place_events(place))


# -- reports: the supervisor's own institution -------------------------------------------------


def test_a_supervisor_reads_only_their_own_institutions_figures(place: Place) -> None:
    wp = place.workplace("super1")
    reports.day_figures(
        place.archive.db, day=dt.date(2026, 6, 30), institution_id=wp.institution.id, workplace=wp
    )
    for other in (place.archive.ids["there"], None):
        with pytest.raises(Forbidden) as refused:
            reports.range_figures(
                place.archive.db,
                start=dt.date(2026, 6, 1),
                end=dt.date(2026, 6, 30),
                institution_id=other,
                workplace=wp,
            )
        assert refused.value.why == "out_of_scope"
    assert [e.reason for e in refusals(place)] == ["read_reports: out_of_scope"] * 2


# -- the table in docs/SECURITY.md is the code's ------------------------------------------------


def test_the_security_doc_shows_the_table_of_the_code() -> None:
    text = (REPO / "docs" / "SECURITY.md").read_text(encoding="utf-8")
    start = "<!-- authorization-table:start -->\n"
    end = "<!-- authorization-table:end -->"
    assert start in text and end in text
    shown = text.split(start, 1)[1].split(end, 1)[0]
    assert shown == authorization.markdown_table(), (
        "docs/SECURITY.md's authorization table differs from services/authorization.RULES; "
        "paste authorization.markdown_table() between the markers"
    )


def test_roles_of_the_table_are_the_accounts_roles() -> None:
    assert authorization.ROLE_ORDER == tuple(auth.ROLES)
    for rule in RULES.values():
        assert rule.roles <= set(auth.ROLES) and rule.scope in authorization.SCOPES
    # Auditors and administrators do no counter work.
    counter_work = {a for a, r in RULES.items() if r.scope != "none"}
    assert all(not ({"auditor", "admin"} & RULES[a].roles) for a in counter_work)
