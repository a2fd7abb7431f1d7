"""A visit is one applicant: outcomes, the successor visit for a different person, F4."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlmodel import select

from counter_tui.db.models import ServiceEvent
from counter_tui.read_models import Visit
from counter_tui.services import issuance, lookup, visits
from tests.support.factories import logged_in, tiny_archive


def ends(db, visit: Visit) -> list[tuple[str, str]]:  # noqa: ANN001
    with db.read() as s:
        return [
            (e.kind, e.detail)
            for e in s.exec(
                select(ServiceEvent).where(
                    ServiceEvent.visit_id == visit.id,
                    ServiceEvent.kind.in_(visits.END_KINDS),
                )
            )
        ]


@pytest.fixture
def counter(tmp_path: Path):  # noqa: ANN201
    archive = tiny_archive(tmp_path)
    return archive, logged_in(archive)


def test_opening_another_persons_dossier_ends_the_visit_and_starts_the_successor(counter) -> None:  # noqa: ANN001
    archive, place = counter
    first, successor = Visit(), Visit()
    outcome = lookup.scan(archive.db, "DA00000001", place, first, Visit())
    assert outcome.visit is first  # the first dossier of a visit is its applicant's
    again = lookup.scan(archive.db, "DA00000001", place, first, Visit())
    assert again.visit is first  # the same person again: the same visit
    other = lookup.scan(archive.db, "DA00000002", place, first, successor)
    assert other.visit is successor
    assert ends(archive.db, first) == [("closed", "answered")]
    assert ends(archive.db, successor) == []


def test_a_lookup_that_opens_nothing_stays_in_the_visit(counter) -> None:  # noqa: ANN001
    archive, place = counter
    first = Visit()
    lookup.scan(archive.db, "DA00000001", place, first)
    outcome = lookup.scan(archive.db, "DA99999999", place, first, Visit())
    assert outcome.status == "none" and outcome.visit is first
    assert ends(archive.db, first) == []


def test_several_certificates_keep_the_visit_open_and_it_ends_as_certificate(
    counter, tmp_path: Path
) -> None:  # noqa: ANN001
    archive, place = counter
    visit = Visit()
    view = lookup.scan(archive.db, "DA00000001", place, visit).view
    for purpose in ("办理生育服务证", "社会保险"):
        request = issuance.validate(
            issuance.CertificateRequest(kind_code="custody", purpose=purpose)
        )
        issuance.issue(
            archive.db,
            request,
            dossier_id=view.id,
            workplace=place,
            visit_id=visit.id,
            certificates_dir=tmp_path / "certs",
        )
    assert ends(archive.db, visit) == []
    outcome, seconds = visits.end_visit(archive.db, place, visit, "served")
    assert outcome == "certificate" and seconds >= 0
    assert ends(archive.db, visit) == [("closed", "certificate")]
    # Ending twice keeps the first end.
    assert visits.end_visit(archive.db, place, visit, "abandoned")[0] == "certificate"
    assert ends(archive.db, visit) == [("closed", "certificate")]


@pytest.mark.parametrize(
    ("opened", "asked", "expected"),
    [
        (False, None, ("abandoned", "")),
        (False, "served", ("closed", "answered")),
        (True, None, ("closed", "answered")),
        (True, "abandoned", ("abandoned", "")),
    ],
)
def test_the_outcome_of_an_ended_visit(counter, opened: bool, asked, expected) -> None:  # noqa: ANN001
    archive, place = counter
    visit = Visit()
    lookup.scan(archive.db, "DA00000001" if opened else "DA99999999", place, visit)
    visits.end_visit(archive.db, place, visit, asked)
    assert ends(archive.db, visit) == [expected]


def test_an_unknown_outcome_is_refused(counter) -> None:  # noqa: ANN001
    archive, place = counter
    with pytest.raises(ValueError):
        visits.end_visit(archive.db, place, Visit(), "finished")


def test_f2_without_a_ticket_stores_no_visit_until_something_is_looked_up(counter) -> None:  # noqa: ANN001
    from counter_tui.db.models import ServiceVisit

    archive, place = counter
    first, second, third = Visit(), Visit(), Visit(ticket="A023")
    visits.next_applicant(archive.db, place, None, first)  # F2, nobody comes
    visits.next_applicant(archive.db, place, first, second)  # F2 again
    with archive.db.read() as s:
        assert s.exec(select(ServiceVisit)).all() == []
    visits.next_applicant(archive.db, place, second, third)  # a called ticket is an applicant
    with archive.db.read() as s:
        assert [v.ticket for v in s.exec(select(ServiceVisit))] == ["A023"]


def test_a_consultation_needs_the_readers_names() -> None:
    from counter_tui.services import consultation

    request = consultation.ConsultationRequest(
        requesting_unit="朝阳区委组织部",
        approval_no="组审〔2026〕15号",
        purpose="政审",
        readers="  ",
        shown_material_ids=(uuid.uuid4(),),
    )
    with pytest.raises(consultation.ConsultationError) as refused:
        consultation.validate(request)
    assert refused.value.field == "readers"
