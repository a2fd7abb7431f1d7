"""End to end at the counter through Textual's Pilot: scan → catalogue → pages → certificate."""

from __future__ import annotations

import hashlib
from pathlib import Path

from PIL import Image
from sqlmodel import select

from counter_tui.app import CounterApp
from counter_tui.context import build_context
from counter_tui.db.models import (
    AccessEvent,
    Certificate,
    ServiceEvent,
    ServiceVisit,
    SigningKeyList,
)
from counter_tui.dialogs.certificate import CertificateDialog
from counter_tui.screens.counter import CounterScreen
from counter_tui.screens.dossier import DossierScreen
from counter_tui.widgets.catalogue_table import CatalogueTable
from tests.services.test_issuance import pdf_text
from tests.support.factories import counter_app, logged_in, tiny_archive
from tests.support.pilot import recording_viewer, wait_for


async def test_scan_to_certificate(tmp_path: Path) -> None:
    viewer, viewer_log = recording_viewer(tmp_path)
    archive = tiny_archive(tmp_path, viewer=viewer)
    app = counter_app(archive)
    ctx = app.ctx
    keys_after_scan = 0

    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        # A keyboard-wedge scanner: the code, key by key, then Enter.
        await pilot.press(*"DA00000001", "enter")
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
        screen = app.screen
        table = screen.query_one(CatalogueTable)
        assert table.current_material().number == "1-1"

        # Open the first material's pages in the (recording) viewer.
        await pilot.press("enter")
        keys_after_scan += 1
        await wait_for(viewer_log.exists, pilot)
        received = [line.split() for line in viewer_log.read_text().splitlines()]
        pages = {p: archive.ids[f"m_cv_p{p}"] for p in (1, 2)}
        assert len(received) == 2
        with archive.db.read() as s:
            from counter_tui.db.models import Page

            expected = [s.get(Page, pages[n]) for n in (1, 2)]
        assert [r[0] for r in received] == [Path(p.rel_path).name for p in expected]
        # The viewer gets watermarked copies, never the archive files themselves.
        assert all(r[1] != p.sha256 for r, p in zip(received, expected))
        copies = sorted((ctx.private_dir / str(archive.ids["m_cv"])).iterdir())
        assert [c.name for c in copies] == [r[0] for r in received]
        for copy, page in zip(copies, expected):
            with Image.open(copy) as im:
                assert im.size == (page.width, page.height)
            assert copy.stat().st_mode & 0o777 == 0o600

        # Mark 1-1 for citing, issue a 存档证明 for the person, purpose 1.
        await pilot.press("space")
        keys_after_scan += 1
        await pilot.press("c")
        keys_after_scan += 1
        await wait_for(lambda: isinstance(app.screen, CertificateDialog), pilot)
        await pilot.press("1", "1", "enter")
        keys_after_scan += 3
        # The certificate is issued; the applicant's service goes on (another certificate
        # could follow) and the clerk is told where the certificate file is.
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
        await wait_for(lambda: "CY-" in str(screen.query_one("#message").render()), pilot)
        message = str(screen.query_one("#message").render())
        with archive.db.read() as s:
            path = s.exec(select(Certificate)).one().text_path
        assert path in message.replace("\n", "")
        assert ctx.visit is not None
        # F4, 1: the service ends as served.
        await pilot.press("f4")
        await pilot.press("1")
        keys_after_scan += 2
        await wait_for(lambda: isinstance(app.screen, CounterScreen) and ctx.visit is None, pilot)
        await wait_for(
            lambda: "已出具证明" in str(app.screen.query_one("#message").render()), pilot
        )
        scan = app.screen.query_one("#scan")
        assert scan.value == "" and scan.has_focus

    # After the scan: Enter (pages), Space (cite), c, 1 (kind), 1 (purpose), Enter, F4, 1 = 8;
    # a standard certificate without viewing and citing is c 1 1 Enter F4 1 = 6 (or the next
    # applicant's scan ends the service instead of F4 1).
    assert keys_after_scan == 8

    with archive.db.read() as s:
        certs = s.exec(select(Certificate)).all()
        assert len(certs) == 1
        cert = certs[0]
        assert cert.serial == f"CY-{cert.issued_at.year}-000001"
        assert cert.kind == "custody"
        assert cert.purpose == "办理生育服务证"
        assert cert.applicant_kind == "self"
        assert cert.cited_material_ids == str(archive.ids["m_cv"])
        data = Path(cert.text_path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == cert.text_sha256
        text = pdf_text(Path(cert.text_path))
        assert "存档证明" in text and "张伟" in text and "干部履历表" in text
        assert cert.verification_code in text

        visit = s.exec(select(ServiceVisit)).one()
        events = s.exec(
            select(ServiceEvent)
            .where(ServiceEvent.visit_id == visit.id)
            .order_by(ServiceEvent.at, ServiceEvent.id)
        ).all()
        assert [e.kind for e in events] == [
            "started",
            "dossier_opened",
            "material_viewed",
            "certificate_issued",
            "closed",
        ]
        assert events[-1].detail == "certificate"
        duration = (events[-1].at - visit.started_at).total_seconds()
        assert 0 < duration < 60

        chain = s.exec(select(AccessEvent).order_by(AccessEvent.seq)).all()
        assert all(a.prev_hash == b.hash for a, b in zip(chain[1:], chain))
        assert [a.seq for a in chain] == list(range(1, len(chain) + 1))
        # After the factory's sealing events and the log-in, the views in order:
        login = next(i for i, a in enumerate(chain) if a.kind == "login")
        access = chain[login + 1 :]
        assert [(a.kind, a.target_id) for a in access] == [
            ("dossier", archive.ids["DA00000001"]),
            ("material", archive.ids["m_cv"]),
            ("page", pages[1]),
            ("page", pages[2]),
            ("key_list_added", s.exec(select(SigningKeyList)).one().id),
            ("certificate", cert.id),
            ("certificate_added", cert.id),
        ]
        assert all(a.clerk_id == archive.ids["clerk"] for a in access)


async def test_digits_after_the_purpose_never_change_the_kind(tmp_path: Path) -> None:
    from counter_tui.services import viewing

    archive = tiny_archive(tmp_path)
    ctx = build_context(archive.settings)
    ctx.workplace = logged_in(archive)
    view = viewing.load_view(archive.db, archive.ids["DA00000001"])
    app = CounterApp(ctx)
    async with app.run_test(size=(120, 45)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        results = []
        dialog = CertificateDialog(view, [], lambda request: request)
        await app.push_screen(dialog, results.append)
        await pilot.press("1", *"2024", "enter")  # a fast typist: purpose 2, then stray digits
        await wait_for(lambda: results, pilot)
        assert (results[0].kind_code, results[0].purpose) == ("custody", "办理户口（落户）")
        # Tab first types a purpose that starts with a digit.
        results.clear()
        dialog = CertificateDialog(view, [], lambda request: request)
        await app.push_screen(dialog, results.append)
        await pilot.press("1", "tab", *"2024", "enter", "enter")
        await wait_for(lambda: results, pilot)
        assert (results[0].kind_code, results[0].purpose) == ("custody", "2024")


async def test_reveal_full_id_from_the_command_palette_is_logged(tmp_path: Path) -> None:
    from textual.command import CommandPalette

    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        await pilot.press(*"DA00000001", "enter")
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
        dossier = app.screen
        header = str(dossier.query_one("#header").render())
        assert "110105********002X" in header and "11010519491231002X" not in header
        await pilot.press("ctrl+p")
        await wait_for(lambda: isinstance(app.screen, CommandPalette), pilot)
        await pilot.press(*"显示完整")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(
            lambda: "11010519491231002X" in str(dossier.query_one("#message").render()), pilot
        )
    with archive.db.read() as s:
        reveals = s.exec(select(AccessEvent).where(AccessEvent.kind == "reveal_id")).all()
    assert [r.target_id for r in reveals] == [archive.ids["DA00000001"]]


async def test_a_scan_after_f2_while_the_database_is_locked_is_one_visit(tmp_path: Path) -> None:
    # Regression: the F2 worker and the scan's worker both stored "the current visit" when the
    # first write waited on the database lock: two visits for one applicant, one left open (a
    # phantom abandoned service on the dashboard). The visit id is now made on the UI thread.
    import asyncio
    import sqlite3

    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    with archive.db.read() as s:
        before = {v.id for v in s.exec(select(ServiceVisit))}
    blocker = sqlite3.connect(tmp_path / "archive.db", isolation_level=None, timeout=5)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        blocker.execute("BEGIN IMMEDIATE")  # another counter writing: our writes wait
        await pilot.press("f2", *"A017", "enter")
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        await pilot.press(*"DA00000001", "enter")
        await asyncio.sleep(0.5)  # both writes are now waiting on the lock
        blocker.execute("COMMIT")
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
        await app.workers.wait_for_complete()
    blocker.close()
    with archive.db.read() as s:
        new = [v for v in s.exec(select(ServiceVisit)) if v.id not in before]
        events = s.exec(
            select(ServiceEvent).where(ServiceEvent.visit_id.in_([v.id for v in new]))
        ).all()
    assert len(new) == 1
    assert new[0].ticket == "A017"
    kinds = sorted(e.kind for e in events)
    assert kinds == ["dossier_opened", "started"]


async def test_a_binding_remapped_in_settings(tmp_path: Path) -> None:
    from counter_tui.dialogs.next_applicant import NextApplicantDialog

    archive = tiny_archive(tmp_path)
    archive.settings.keymap = {"counter.next_applicant": "f4", "no.such_binding": "f9"}
    app = counter_app(archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        await pilot.press("f2")  # no longer F2
        await pilot.pause()
        assert isinstance(app.screen, CounterScreen)
        await pilot.press("f4")
        await wait_for(lambda: isinstance(app.screen, NextApplicantDialog), pilot)
        notices = [n.message for n in app._notifications]
        assert any("no.such_binding" in m for m in notices)
