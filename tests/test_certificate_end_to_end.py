"""The issue's "done when": a certificate issued at the counter comes out as a PDF; rendered,
printed and photographed at a slight angle with some blur it verifies as valid from the
command line; an altered payload says altered; a voided one says voided."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pypdfium2
from sqlmodel import select

from counter_tui import cli
from counter_tui.db.models import Certificate
from counter_tui.services import certificate_events, issuance
from tests.services.test_certificate_input import _photo
from tests.support.factories import logged_in, tiny_archive

NOW = dt.datetime(2026, 5, 6, 2, 0, tzinfo=dt.UTC)


def test_issued_rendered_photographed_verified(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    archive = tiny_archive(tmp_path)
    issued = issuance.issue(
        archive.db,
        issuance.CertificateRequest(
            "work_start",
            "办理退休",
            cited_material_ids=(archive.ids["m_hire"],),
            facts=(("date", "1972-02"), ("source", "9-2-1")),
        ),
        dossier_id=archive.ids["DA00000001"],
        workplace=logged_in(archive),
        visit_id=None,
        certificates_dir=archive.settings.certificates_dir,
        now=NOW,
    )
    document = pypdfium2.PdfDocument(issued.path)
    page = document[0].render(scale=150 / 72).to_pil().convert("L")
    document.close()
    render = tmp_path / "render.png"
    page.save(render)
    photo = tmp_path / "photo.jpg"
    _photo(page, angle=4, blur=1.0).save(photo, quality=75)
    argv = ["--db", archive.settings.db_url, "certificate", "verify"]

    for picture in (render, photo):
        assert cli.main([*argv, str(picture)]) == 0, capsys.readouterr()
        out = capsys.readouterr().out
        assert issued.serial in out and "参加工作时间证明" in out and "1972年2月" in out

    with archive.db.read() as s:
        payload = s.exec(select(Certificate.payload)).one()
    position = len(payload) // 2
    altered = (
        payload[:position] + ("A" if payload[position] != "A" else "B") + payload[position + 1 :]
    )
    assert cli.main([*argv, altered]) == 2
    assert cli.main([*argv, issued.verification_code]) == 0
    certificate_events.void(
        archive.db, issued.serial, workplace=logged_in(archive), reason="申请人撤回", now=NOW
    )
    assert cli.main([*argv, str(photo)]) == 3
    assert "申请人撤回" in capsys.readouterr().out
