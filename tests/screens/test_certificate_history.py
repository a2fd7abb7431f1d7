"""The dossier screen after issuing: p prints, h shows the history, b reprints, v voids —
real key presses through Pilot, a real print command (a script) and real PDFs."""

from __future__ import annotations

import os
from pathlib import Path

from textual.widgets import OptionList

from counter_tui.dialogs.certificate import CertificateDialog
from counter_tui.dialogs.certificate_history import CertificateHistoryDialog
from counter_tui.screens.counter import CounterScreen
from counter_tui.screens.dossier import DossierScreen
from counter_tui.services import certificate_events
from tests.services.test_certificate_events import script
from tests.services.test_issuance import pdf_text
from tests.support.factories import counter_app, tiny_archive
from tests.support.pilot import wait_for


def message(screen) -> str:  # noqa: ANN001
    return str(screen.query_one("#message").render()).replace("\n", "")


async def open_and_issue(app, pilot) -> DossierScreen:  # noqa: ANN001
    await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
    await pilot.press(*"DA00000001", "enter")
    await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
    screen = app.screen
    await pilot.press("c")
    await wait_for(lambda: isinstance(app.screen, CertificateDialog), pilot)
    await pilot.press("1", "1", "enter")
    await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
    await wait_for(lambda: "查验码" in message(screen), pilot)
    return screen


async def test_print_reprint_and_void_from_the_dossier_screen(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    spool = tmp_path / "spool"
    spool.mkdir()
    archive.settings.print_command = script(
        tmp_path / "lp", f'cp "$1" {spool}/ && echo "request id is P-7"'
    )
    app = counter_app(archive)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_and_issue(app, pilot)
        [record] = certificate_events.history(archive.db, archive.ids["DA00000001"])
        assert record.verification_code in message(screen) and record.serial in message(screen)

        # p: the certificate just issued goes to the printer; the clerk is told.
        await pilot.press("p")
        await wait_for(lambda: (spool / f"{record.serial}.pdf").exists(), pilot)
        await wait_for(lambda: "打印机" in message(screen), pilot)

        # h: the history; b: a 补打 copy, printed.
        await pilot.press("h")
        await wait_for(lambda: isinstance(app.screen, CertificateHistoryDialog), pilot)
        dialog = app.screen
        await wait_for(lambda: dialog.query_one(OptionList).option_count == 1, pilot)
        await pilot.press("b")
        reprint = spool / f"{record.serial}.reprint-1.pdf"
        await wait_for(reprint.exists, pilot)
        assert "补打" in pdf_text(reprint)
        await wait_for(lambda: "补打" in str(dialog.query_one("#error").render()), pilot)

        # v: the reason is typed (a "p" or "b" in it is text, not a print), Enter voids.
        await pilot.press("v")
        await pilot.press(*"bp", "space")
        await pilot.press(*"用途填错", "enter")
        await wait_for(
            lambda: certificate_events.find(archive.db, record.serial).status == "voided", pilot
        )
        voided = certificate_events.find(archive.db, record.serial)
        assert voided.void_reason == "bp 用途填错"
        assert (voided.prints, voided.reprints) == (2, 1)
        await wait_for(
            lambda: "作废" in str(dialog.query_one(OptionList).get_option_at_index(0).prompt), pilot
        )
        # A voided certificate is not printed again: the refusal is shown, nothing printed.
        await pilot.press("p")
        await wait_for(lambda: "作废" in str(dialog.query_one("#error").render()), pilot)
        assert sorted(p.name for p in spool.iterdir()) == [
            f"{record.serial}.pdf",
            f"{record.serial}.reprint-1.pdf",
        ]
        await pilot.press("escape")
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)


async def test_no_printer_opens_the_viewer_and_says_so(tmp_path: Path) -> None:
    opened = tmp_path / "opened.txt"
    viewer = script(tmp_path / "viewer", f'echo "$1" >> {opened}')
    archive = tiny_archive(tmp_path, viewer=viewer)
    archive.settings.print_command = [str(tmp_path / "no-such-lp")]
    app = counter_app(archive)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_and_issue(app, pilot)
        await pilot.press("p")
        await wait_for(opened.exists, pilot)
        await wait_for(lambda: "no-such-lp" in message(screen), pilot)
        assert opened.read_text().strip().endswith(".pdf")


async def test_a_pdf_left_by_a_crashed_issue_is_moved_aside_and_reported_at_start(
    tmp_path: Path,
) -> None:
    archive = tiny_archive(tmp_path)
    leftover = archive.settings.certificates_dir / "2026" / "CY-2026-000009.pdf"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"%PDF-1.4 never committed")
    an_hour_ago = leftover.stat().st_mtime - 3600
    os.utime(leftover, (an_hour_ago, an_hour_ago))
    app = counter_app(archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: not leftover.exists(), pilot)
        await wait_for(lambda: any("orphans" in str(n.message) for n in app._notifications), pilot)
    moved = list((archive.settings.certificates_dir / "orphans").iterdir())
    assert [m.read_bytes() for m in moved] == [b"%PDF-1.4 never committed"]
