"""Certificate issuance: per-institution yearly serials, validation, the signed PDF: its text,
its QR (rendered and decoded), the row, the seals, and what a failure or a crash leaves."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
from pathlib import Path

import pypdfium2
import pytest
import zxingcpp
from sqlmodel import select

from counter_tui.db.models import (
    AccessEvent,
    Certificate,
    CertificateEvent,
    CustodyEvent,
    SigningKeyList,
)
from counter_tui.services import certificate_signing as cs
from counter_tui.services import fixity, issuance, secrets
from counter_tui.services.workplace import Workplace
from tests.support.factories import logged_in, tiny_archive

REQUEST = issuance.CertificateRequest("custody", "办理生育服务证")


def pdf_text(path: Path) -> str:
    """All text of a PDF, extracted as a reader's copy-and-paste would (pypdfium2)."""
    document = pypdfium2.PdfDocument(path)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def qr_texts(path: Path, dpi: float = 150) -> list[str]:
    """The QR codes on the PDF's pages, rendered at ``dpi`` and decoded with zxing-cpp."""
    document = pypdfium2.PdfDocument(path)
    try:
        found = []
        for page in document:
            image = page.render(scale=dpi / 72).to_pil()
            found += [
                r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
            ]
        return found
    finally:
        document.close()


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
    assert first.path.stat().st_mode & 0o777 == 0o600  # personal data
    assert first.path.name == "CY-2026-000001.pdf"
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
    good = dataclasses.replace(
        good, facts=(("period_1", "1972-03 1980-12 北京市第一机床厂 技术员"),)
    )
    issued = issue(archive, place, now, good)
    text = pdf_text(issued.path)
    assert "经历证明" in text and "北京市第一机床厂" in text and "1972年3月" in text
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
        archive.settings.certificates_dir.rglob("*.pdf")
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
    leftover = archive.settings.certificates_dir / "2026" / "CY-2026-000001.pdf"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"%PDF-1.4 half-written")
    issued = issue(archive, logged_in(archive), now)
    assert issued.serial == "CY-2026-000001"
    assert issued.path == leftover and issued.path.read_bytes().startswith(b"%PDF")
    assert issued.path.read_bytes() != b"%PDF-1.4 half-written"
    orphans = list(
        (archive.settings.certificates_dir / "orphans").glob("CY-2026-000001.orphan-*.pdf")
    )
    assert [o.read_bytes() for o in orphans] == [b"%PDF-1.4 half-written"]


def test_non_custody_certificates_must_cite_their_source(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    now = dt.datetime(2026, 5, 6, 2, 0, tzinfo=dt.UTC)
    with pytest.raises(issuance.IssuanceError) as info:
        issue(archive, logged_in(archive), now, issuance.CertificateRequest("work_start", "退休"))
    assert info.value.field == "cited"
    cited = issuance.CertificateRequest(
        "work_start", "退休", cited_material_ids=(archive.ids["m_hire"],)
    )
    # The fact must be given (the dialog prefills it; the service checks it again).
    with pytest.raises(issuance.IssuanceError) as info:
        issue(archive, logged_in(archive), now, cited)
    assert info.value.field == "fact:date"
    issued = issue(
        archive,
        logged_in(archive),
        now,
        dataclasses.replace(cited, facts=(("date", "1972-02-01"), ("source", "9-2-1"))),
    )
    assert "1972年2月1日" in issued.text and "9-2-1" in issued.text and "录用审批表" in issued.text
    with archive.db.read() as s:
        stored = s.exec(select(Certificate).where(Certificate.serial == issued.serial)).one()
    assert json.loads(stored.facts) == {
        "kind": "work_start",
        "facts": {"date": "1972-02-01", "source": "9-2-1"},
    }


def test_the_pdf_states_everything_and_its_qr_verifies(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    now = dt.datetime(2026, 5, 6, 2, 0, tzinfo=dt.UTC)
    issued = issue(archive, logged_in(archive), now)
    text = pdf_text(issued.path)
    for expected in (
        "北京市朝阳区人才服务中心",
        "12110105MB0123456C",  # 统一社会信用代码 in the header
        "北京市朝阳区示例路 1 号",
        "存档证明",
        "CY-2026-000001",
        "张伟",
        "11010519491231002X",  # the full ID is the default on paper
        "办理生育服务证",
        "王芳",
        "2026年5月6日",
        issued.verification_code,
    ):
        assert expected in text, expected
    # The identifier may be broken over two lines by the layout: compare without blanks.
    assert issued.identifier in "".join(text.split())
    assert issued.identifier.startswith(
        "1.2.156.3005.2.RSDA01.12110105MB0123456C.CY-2026-000001.1."
    )
    with archive.db.read() as s:
        row = s.exec(select(Certificate)).one()
        key_list = cs.load_key_list(s.exec(select(SigningKeyList)).one().key_list)
    assert row.text_sha256 == hashlib.sha256(issued.path.read_bytes()).hexdigest()
    assert (
        row.verification_code == issued.verification_code == cs.verification_code_for(row.payload)
    )
    assert row.certified_text == issued.text
    # Render the page at 150 dpi, read the QR back, verify it against the stored key list.
    [payload] = qr_texts(issued.path)
    assert payload == row.payload
    verified = cs.verify_payload(payload, key_list, now=now)
    assert (verified.claims.serial, verified.claims.kind) == ("CY-2026-000001", "custody")
    assert cs.text_matches(verified, issued.text)
    assert cs.holder_matches(verified, "11010519491231002X")
    assert not cs.holder_matches(verified, "110105194912310038")


def test_issuing_seals_the_certificate_and_audit_verify_passes(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    issued = issue(archive, logged_in(archive), dt.datetime(2026, 5, 6, 2, 0, tzinfo=dt.UTC))
    report = fixity.verify(archive.db, archive_root=archive.settings.archive_dir)
    assert report.ok, report.problems
    assert (report.certificates, report.certificate_files) == (1, 1)
    with archive.db.read() as s:
        kinds = [e.kind for e in s.exec(select(AccessEvent).order_by(AccessEvent.seq))]
    assert kinds[-3:] == ["key_list_added", "certificate", "certificate_added"]
    # An edited PDF is named.
    data = bytearray(issued.path.read_bytes())
    data[len(data) // 2] ^= 1
    issued.path.write_bytes(bytes(data))
    report = fixity.verify(archive.db, archive_root=archive.settings.archive_dir)
    assert [(p.table, p.what) for p in report.problems] == [("certificate", "file_changed")]


def test_a_failure_after_the_pdf_is_written_leaves_no_file_and_no_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tiny_archive(tmp_path)

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OSError("disk full")

    monkeypatch.setattr(issuance.certificate_audit, "register_certificate", broken)
    with pytest.raises(OSError, match="disk full"):
        issue(archive, logged_in(archive), dt.datetime(2026, 5, 6, 2, 0, tzinfo=dt.UTC))
    with archive.db.read() as s:
        assert s.exec(select(Certificate)).all() == []
    assert list(archive.settings.certificates_dir.rglob("*.pdf")) == []


def test_a_crash_between_the_pdf_and_the_commit_is_reconciled_at_start(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    issued = issue(archive, logged_in(archive), dt.datetime(2026, 5, 6, 2, 0, tzinfo=dt.UTC))
    # What a crash after the fsync and before the commit leaves: a PDF no row names.
    orphan = issued.path.with_name("CY-2026-000002.pdf")
    orphan.write_bytes(b"%PDF-1.4 never committed")
    # Just written: it may be another counter's, between its fsync and its commit.
    assert issuance.reconcile_orphans(archive.db, archive.settings.certificates_dir) == []
    an_hour_ago = orphan.stat().st_mtime - 3600
    # Both old enough now: the committed one is found by its serial and stays; so does a
    # reprint document its event names.
    reprint = issued.path.with_name(f"{issued.serial}.reprint-1.pdf")
    reprint.write_bytes(b"%PDF-1.4 reprint")
    with archive.db.write() as s:
        s.add(
            CertificateEvent(
                certificate_id=issued.id, kind="reprinted", copy_no=1, document_path=str(reprint)
            )
        )
    for path in (orphan, issued.path, reprint):
        os.utime(path, (an_hour_ago, an_hour_ago))
    moved = issuance.reconcile_orphans(archive.db, archive.settings.certificates_dir)
    assert [m.read_bytes() for m in moved] == [b"%PDF-1.4 never committed"]
    assert moved[0].parent == archive.settings.certificates_dir / "orphans"
    assert not orphan.exists() and issued.path.exists() and reprint.exists()
    assert issuance.reconcile_orphans(archive.db, archive.settings.certificates_dir) == []


def test_no_signing_key_and_no_keyring_is_said_before_anything_is_written(
    tmp_path: Path, use_keyring
) -> None:  # noqa: ANN001
    from keyring.backends import fail

    archive = tiny_archive(tmp_path)
    place = logged_in(archive)
    use_keyring(fail.Keyring())  # the keyring goes away (a headless box)
    with pytest.raises(secrets.SecretsUnavailable) as info:
        issue(archive, place, dt.datetime(2026, 5, 6, 2, 0, tzinfo=dt.UTC))
    assert "keyring" in str(info.value).lower() or "密钥" in str(info.value)
    with archive.db.read() as s:
        assert s.exec(select(Certificate)).all() == []


def test_an_institution_override_template_changes_the_wording(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    templates = tmp_path / "certificate-templates"
    templates.mkdir()
    (templates / "custody.txt.j2").write_text(
        "兹证明{{ person_name }}（{{ id_number_masked }}）的档案存放于我中心。\n", encoding="utf-8"
    )
    issued = issuance.issue(
        archive.db,
        REQUEST,
        dossier_id=archive.ids["DA00000001"],
        workplace=logged_in(archive),
        visit_id=None,
        certificates_dir=archive.settings.certificates_dir,
        templates_dir=templates,
        now=dt.datetime(2026, 5, 6, 2, 0, tzinfo=dt.UTC),
    )
    assert issued.text == "兹证明张伟（110105********002X）的档案存放于我中心。\n"
    text = pdf_text(issued.path)
    assert "110105********002X" in text and "11010519491231002X" not in text


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


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        ((("date", "2099-12"), ("source", "9-2-1")), "2099-12"),
        ((("date", "1900-01"), ("source", "9-2-1")), "1949-12-31"),  # born 1949-12-31
    ],
)
def test_an_impossible_date_is_refused(tmp_path: Path, facts, message: str) -> None:  # noqa: ANN001
    archive = tiny_archive(tmp_path)
    request = issuance.CertificateRequest(
        "work_start", "退休", cited_material_ids=(archive.ids["m_hire"],), facts=facts
    )
    with pytest.raises(issuance.IssuanceError) as info:
        issue(archive, logged_in(archive), dt.datetime(2026, 5, 6, 2, 0, tzinfo=dt.UTC), request)
    assert info.value.field == "fact:date" and message in str(info.value)
