"""Print, reprint (补打) and void (作废): real print commands (scripts), real PDFs, the events
sealed in the access chain, and who may do what."""

from __future__ import annotations

import datetime as dt
import sqlite3
import stat
import uuid
from pathlib import Path

import pytest
from sqlmodel import select

from counter_tui.db.models import CertificateEvent
from counter_tui.services import certificate_events as events
from counter_tui.services import fixity, issuance
from tests.services.test_issuance import pdf_text, qr_texts
from tests.support.factories import logged_in, tiny_archive

NOW = dt.datetime(2026, 5, 6, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing


def script(path: Path, body: str) -> list[str]:
    """An executable shell script standing in for lp or a viewer."""
    path.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return [str(path)]


@pytest.fixture
def setup(tmp_path: Path):  # noqa: ANN201
    archive = tiny_archive(tmp_path)
    issued = issuance.issue(
        archive.db,
        issuance.CertificateRequest("custody", "办理生育服务证"),
        dossier_id=archive.ids["DA00000001"],
        workplace=logged_in(archive),
        visit_id=None,
        certificates_dir=archive.settings.certificates_dir,
        now=NOW,
    )
    spool = tmp_path / "spool"
    spool.mkdir()
    printer = script(tmp_path / "lp", f'cp "$1" {spool}/ && echo "request id is PDF-1 (1 file(s))"')
    opened = tmp_path / "opened.txt"
    viewer = script(tmp_path / "viewer", f'echo "$1" >> {opened}')
    return archive, issued, spool, printer, viewer, opened


def test_print_hands_the_pdf_to_the_print_command_and_records_it(setup) -> None:  # noqa: ANN001
    archive, issued, spool, printer, viewer, _opened = setup
    outcome = events.print_certificate(
        archive.db,
        issued.serial,
        workplace=logged_in(archive),
        print_command=printer,
        viewer=viewer,
    )
    assert outcome.destination == "printed" and "PDF-1" in outcome.detail
    assert (spool / issued.path.name).read_bytes() == issued.path.read_bytes()
    [record] = events.history(archive.db, archive.ids["DA00000001"])
    assert (record.serial, record.status, record.prints, record.reprints) == (
        issued.serial,
        "valid",
        1,
        0,
    )
    assert fixity.verify(archive.db, archive_root=archive.settings.archive_dir).ok


def test_no_printer_opens_the_viewer_and_says_why(setup, tmp_path: Path) -> None:  # noqa: ANN001
    archive, issued, _spool, _printer, viewer, opened = setup
    missing = [str(tmp_path / "no-such-lp")]
    outcome = events.print_certificate(
        archive.db,
        issued.serial,
        workplace=logged_in(archive),
        print_command=missing,
        viewer=viewer,
    )
    assert outcome.destination == "viewer" and "no-such-lp" in outcome.detail
    refusing = script(
        tmp_path / "lp-refuses", 'echo "lp: Error - no default destination available." >&2; exit 1'
    )
    outcome = events.print_certificate(
        archive.db,
        issued.serial,
        workplace=logged_in(archive),
        print_command=refusing,
        viewer=viewer,
    )
    assert outcome.destination == "viewer" and "no default destination" in outcome.detail
    _wait_for(lambda: opened.exists() and len(opened.read_text().splitlines()) == 2)
    assert opened.read_text().splitlines() == [str(issued.path)] * 2
    # Neither works: the clerk is told both reasons, nothing is recorded.
    with pytest.raises(events.CertificateActionError) as info:
        events.print_certificate(
            archive.db,
            issued.serial,
            workplace=logged_in(archive),
            print_command=missing,
            viewer=[str(tmp_path / "no-viewer")],
        )
    assert info.value.reason == "print_failed" and "no-such-lp" in str(info.value)
    assert events.find(archive.db, issued.serial).prints == 2


def _wait_for(condition, seconds: float = 5.0) -> None:  # noqa: ANN001
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_reprint_is_the_same_certificate_marked_and_counted(setup) -> None:  # noqa: ANN001
    archive, issued, spool, printer, viewer, _opened = setup
    first = events.reprint(
        archive.db,
        issued.serial,
        workplace=logged_in(archive),
        print_command=printer,
        viewer=viewer,
    )
    second = events.reprint(
        archive.db,
        issued.serial,
        workplace=logged_in(archive),
        print_command=printer,
        viewer=viewer,
    )
    assert first.path.name == f"{issued.serial}.reprint-1.pdf"
    assert second.path.name == f"{issued.serial}.reprint-2.pdf"
    text = pdf_text(second.path)
    assert "补打" in text and issued.serial in text and issued.verification_code in text
    assert qr_texts(second.path) == qr_texts(issued.path)  # same signed payload
    assert issued.path.read_bytes() != second.path.read_bytes()
    record = events.find(archive.db, issued.serial)
    assert (record.reprints, record.prints) == (2, 2)
    assert sorted(p.name for p in spool.iterdir()) == [first.path.name, second.path.name]
    report = fixity.verify(archive.db, archive_root=archive.settings.archive_dir)
    assert report.ok, report.problems
    assert report.certificate_files == 3  # the original and two reprints


def test_void_rules_and_a_voided_certificate_is_never_reprinted(setup) -> None:  # noqa: ANN001
    archive, issued, _spool, printer, viewer, _opened = setup
    with pytest.raises(events.CertificateActionError) as info:
        events.void(archive.db, issued.serial, workplace=logged_in(archive), reason="  ", now=NOW)
    assert info.value.reason == "reason_missing"
    # Another clerk may not; the issuing clerk may not the next day; auditors never.
    for who, when in (("clerk2", NOW), ("clerk1", NOW + dt.timedelta(days=1)), ("audit1", NOW)):
        with pytest.raises(events.CertificateActionError) as info:
            events.void(
                archive.db,
                issued.serial,
                workplace=logged_in(archive, who),
                reason="错填",
                now=when,
            )
        assert info.value.reason == "not_allowed", who
    record = events.void(
        archive.db, issued.serial, workplace=logged_in(archive), reason="用途填错", now=NOW
    )
    assert (record.status, record.void_reason, record.voided_by) == ("voided", "用途填错", "王芳")
    with pytest.raises(events.CertificateActionError) as info:
        events.void(archive.db, issued.serial, workplace=logged_in(archive, "super1"), reason="x")
    assert info.value.reason == "voided"
    for action in (events.reprint, events.print_certificate):
        with pytest.raises(events.CertificateActionError) as info:
            action(
                archive.db,
                issued.serial,
                workplace=logged_in(archive),
                print_command=printer,
                viewer=viewer,
            )
        assert info.value.reason == "voided"
    assert fixity.verify(archive.db, archive_root=archive.settings.archive_dir).ok


def test_a_supervisor_voids_any_day(setup) -> None:  # noqa: ANN001
    archive, issued, *_ = setup
    record = events.void(
        archive.db,
        issued.serial,
        workplace=logged_in(archive, "super1"),
        reason="申请人撤回",
        now=NOW + dt.timedelta(days=30),
    )
    assert record.status == "voided" and record.voided_by == "赵敏"


def test_unknown_serial_is_said(setup) -> None:  # noqa: ANN001
    archive, *_ = setup
    with pytest.raises(events.CertificateActionError) as info:
        events.find(archive.db, "CY-2026-999999")
    assert info.value.reason == "unknown_serial" and "CY-2026-999999" in str(info.value)


def test_an_event_inserted_behind_the_applications_back_is_named(setup) -> None:  # noqa: ANN001
    archive, issued, *_ = setup
    connection = sqlite3.connect(archive.settings.db_url.removeprefix("sqlite:///"))
    forged = uuid.uuid4()
    with connection:
        connection.execute(
            "INSERT INTO certificate_event (id, certificate_id, kind, at, reason) "
            "VALUES (?, ?, 'voided', '2026-05-06 03:00:00.000000', 'forged')",
            (forged.hex, issued.id.hex),
        )
    connection.close()
    with archive.db.read() as s:
        assert s.exec(select(CertificateEvent)).one().reason == "forged"
    report = fixity.verify(archive.db, archive_root=archive.settings.archive_dir)
    assert [(p.table, p.row_id, p.what) for p in report.problems] == [
        ("certificate_event", str(forged), "unsealed")
    ]
