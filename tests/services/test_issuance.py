"""Certificate issuance: per-institution yearly serials, validation, the text file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlmodel import select

from counter_tui.db.models import Certificate, CustodyEvent
from counter_tui.services import issuance
from counter_tui.services.workplace import Workplace
from tests.support.factories import logged_in, tiny_archive

REQUEST = issuance.CertificateRequest("custody", "办理生育服务证")


def issue(archive, place: Workplace, now: dt.datetime, request=REQUEST, dossier="DA00000001"):  # noqa: ANN001, ANN201
    return issuance.issue(
        archive.db,
        request,
        dossier_id=archive.ids[dossier],
        workplace=place,
        visit_id=None,
        certificates_dir=archive.settings.certificates_dir,
        now=now,
    )


def test_serials_run_per_institution_and_beijing_year(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    place = logged_in(archive)
    t = dt.datetime(2026, 12, 31, 15, 0, tzinfo=dt.UTC)  # 23:00 in Beijing, still 2026
    first = issue(archive, place, t)
    assert first.serial == "CY-2026-000001"
    assert first.text_path.stat().st_mode & 0o777 == 0o600  # personal data
    assert issue(archive, place, t).serial == "CY-2026-000002"
    # 16:00 UTC on 31 December is already 1 January in Beijing: a new sequence.
    assert issue(archive, place, t + dt.timedelta(hours=1)).serial == "CY-2027-000001"
    assert issue(archive, place, t).serial == "CY-2026-000003"
    # Another institution keeps its own sequence: hand DA00000002 over to CY-JY.
    with archive.db.write() as s:
        s.add(
            CustodyEvent(
                dossier_id=archive.ids["DA00000002"],
                kind="received",
                holder_institution_id=archive.ids["there"],
                at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
            )
        )
    from counter_tui.services.workplace import InstitutionRef

    there = Workplace(
        InstitutionRef(archive.ids["there"], "CY-JY", "北京市朝阳区职业介绍服务中心", "CJ"),
        place.clerk,
        "1",
    )
    assert issue(archive, there, t, dossier="DA00000002").serial == "CJ-2026-000001"
    with archive.db.read() as s:
        serials = sorted(c.serial for c in s.exec(select(Certificate)))
    assert serials == [
        "CJ-2026-000001",
        "CY-2026-000001",
        "CY-2026-000002",
        "CY-2026-000003",
        "CY-2027-000001",
    ]


def test_agent_request_is_validated_and_written(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    place = logged_in(archive)
    now = dt.datetime(2026, 5, 6, 2, 0, tzinfo=dt.UTC)
    bad = issuance.CertificateRequest("custody", "入职", "agent", "李四", "11010519491231003X")
    with pytest.raises(issuance.IssuanceError) as info:
        issue(archive, place, now, bad)
    assert info.value.field == "agent_id" and "校验" in str(info.value)
    good = issuance.CertificateRequest(
        "experience",
        "  入职\t（录用） ",
        "agent",
        "李四",
        "110105 19491231 002x",
        cited_material_ids=(archive.ids["m_cv"],),
    )
    issued = issue(archive, place, now, good)
    text = issued.text_path.read_text(encoding="utf-8")
    assert "经历证明" in text and "李四（代理人，110105********002X）" in text
    assert "用途：入职 （录用）" in text  # full-width brackets kept, whitespace collapsed
    assert "2026年5月6日" in text
    with archive.db.read() as s:
        cert = s.exec(select(Certificate)).one()
    assert (cert.agent_name, cert.agent_id_number, cert.purpose) == (
        "李四",
        "11010519491231002X",
        "入职 （录用）",
    )


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (issuance.CertificateRequest("", "入职"), "kind"),
        (issuance.CertificateRequest("custody", ""), "purpose"),
        (issuance.CertificateRequest("custody", "\x00\x1b\r\n\t"), "purpose"),
        (issuance.CertificateRequest("custody", "用" * 61), "purpose"),
        (
            issuance.CertificateRequest("custody", "入职", "agent", "", "11010519491231002X"),
            "agent_name",
        ),
        (
            issuance.CertificateRequest("custody", "入职", "agent", "27", "11010519491231002X"),
            "agent_name",
        ),
        (issuance.CertificateRequest("custody", "入职", "boss"), "kind"),
    ],
)
def test_bad_requests_name_the_field_and_write_nothing(tmp_path: Path, request_, field) -> None:  # noqa: ANN001
    archive = tiny_archive(tmp_path)
    with pytest.raises(issuance.IssuanceError) as info:
        issue(archive, logged_in(archive), dt.datetime(2026, 5, 6, tzinfo=dt.UTC), request_)
    assert info.value.field == field
    with archive.db.read() as s:
        assert s.exec(select(Certificate)).all() == []
    assert not archive.settings.certificates_dir.exists() or not any(
        archive.settings.certificates_dir.rglob("*.txt")
    )


def test_sql_looking_purpose_is_stored_as_text(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    purpose = "x'); DROP TABLE certificate; --"
    issued = issue(
        archive,
        logged_in(archive),
        dt.datetime(2026, 5, 6, tzinfo=dt.UTC),
        issuance.CertificateRequest("custody", purpose),
    )
    with archive.db.read() as s:
        assert s.exec(select(Certificate)).one().purpose == purpose
    assert issued.serial.endswith("000001")


def test_a_file_left_by_a_crashed_issue_does_not_block_the_next(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    now = dt.datetime(2026, 5, 6, 2, 0, tzinfo=dt.UTC)
    leftover = archive.settings.certificates_dir / "2026" / "CY-2026-000001.txt"
    leftover.parent.mkdir(parents=True)
    leftover.write_text("half-written", encoding="utf-8")
    issued = issue(archive, logged_in(archive), now)
    assert issued.serial == "CY-2026-000001"
    assert issued.text_path.read_text(encoding="utf-8") == issued.text
    orphans = list(leftover.parent.glob("CY-2026-000001.orphan-*.txt"))
    assert [o.read_text(encoding="utf-8") for o in orphans] == ["half-written"]


def test_non_custody_certificates_must_cite_their_source(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    now = dt.datetime(2026, 5, 6, 2, 0, tzinfo=dt.UTC)
    with pytest.raises(issuance.IssuanceError) as info:
        issue(archive, logged_in(archive), now, issuance.CertificateRequest("work_start", "退休"))
    assert info.value.field == "cited"
    cited = issuance.CertificateRequest(
        "work_start", "退休", cited_material_ids=(archive.ids["m_hire"],)
    )
    assert "9-2-1  录用审批表" in issue(archive, logged_in(archive), now, cited).text


def _forge(archive, serial: str) -> None:  # noqa: ANN001
    """Insert a certificate row behind the application's back (raw SQL on the file)."""
    import sqlite3
    import uuid

    connection = sqlite3.connect(archive.settings.db_url.removeprefix("sqlite:///"))
    with connection:
        connection.execute(
            "INSERT INTO certificate (id, serial, kind, dossier_id, institution_id, "
            "applicant_kind, purpose, cited_material_ids, text_path, text_sha256, issued_by, "
            "issued_at) VALUES (?, ?, 'custody', ?, ?, 'self', 'x', '', '', '', NULL, "
            "'2026-06-01 00:00:00.000000')",
            (
                uuid.uuid4().hex,
                serial,
                archive.ids["DA00000001"].hex,
                archive.ids["here"].hex,
            ),
        )
    connection.close()


def test_forged_or_malformed_serials_never_stop_issuing(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    place = logged_in(archive)
    t = dt.datetime(2026, 7, 1, 2, 0, tzinfo=dt.UTC)
    assert issue(archive, place, t).serial == "CY-2026-000001"
    # Rows inserted behind the application's back: far ahead, malformed, and the next number.
    for serial in ("CY-2026-999999", "CY-2026-ABCDEF", "CY-2026-1", "CY-2026-000002"):
        _forge(archive, serial)
    # The counter goes on; the forged next number is skipped, the others are ignored.
    assert issue(archive, place, t).serial == "CY-2026-000003"
    assert issue(archive, place, t).serial == "CY-2026-000004"


def test_the_counter_starts_from_the_well_formed_serials_already_stored(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    place = logged_in(archive)
    # Two older rows (e.g. issued before the counter existed), one malformed, one far ahead.
    for serial in ("CY-2026-000001", "CY-2026-000002", "CY-2026-XYZ", "CY-2026-900000"):
        _forge(archive, serial)
    t = dt.datetime(2026, 7, 1, 2, 0, tzinfo=dt.UTC)
    # 3 well-formed rows: the counter starts at 3, skips nothing (000004 is free).
    assert issue(archive, place, t).serial == "CY-2026-000004"
