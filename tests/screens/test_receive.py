"""The 接收比对 screen in the real app, with real keys: CY-JY's archivist compares the forged paper
copy of DA00000009 (the seed case), sees 9-1-1 and 9-1-3 不一致, opens the altered page side by
side in the viewer, and refuses the dossier with a reason and ctrl+s. A cover-barcode burst
fills the dossier number but never starts, confirms or cancels anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select
from textual.widgets import DataTable, Input

from counter_tui.db.models import CustodyEvent
from counter_tui.dialogs.receipt_decision import ReceiptDecisionDialog
from counter_tui.screens.intake import IntakeScreen
from counter_tui.screens.receive import ReceiveScreen
from tests.services.test_receipt import DOSSIER_NO, build_receiving, draw, forged_copy
from tests.support.factories import counter_app
from tests.support.pilot import burst, recording_viewer, wait_for


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    return draw(tmp_path_factory.mktemp("drawn"))


def decisions(app) -> list[CustodyEvent]:  # noqa: ANN001
    with app.ctx.db.read() as s:
        return list(
            s.exec(
                select(CustodyEvent).where(
                    CustodyEvent.kind.in_(("receipt_accepted", "receipt_refused"))  # type: ignore[attr-defined]
                )
            )
        )


async def test_the_archivist_finds_the_forgery_opens_it_and_refuses(
    tmp_path: Path,
    drawn,  # noqa: ANN001
) -> None:
    viewer, log = recording_viewer(tmp_path)
    place = build_receiving(tmp_path, drawn, viewer=viewer)
    folder, catalogue, _how = forged_copy(place)
    app = counter_app(place.archive, "arch_jy")
    async with app.run_test(size=(150, 50)) as pilot:
        await wait_for(lambda: isinstance(app.screen, IntakeScreen), pilot)  # archivists' home
        screen = ReceiveScreen(app.ctx, report_dir=tmp_path / "reports")
        app.push_screen(screen)
        await wait_for(lambda: bool(screen.query("#pending-title")), pilot)
        # Nothing awaits a decision yet (DA00000009 is still in transit).
        await wait_for(lambda: "0" in str(screen.query_one("#pending-title").render()), pilot)
        # The cover barcode, scanned: it fills the number and moves on; nothing starts.
        await burst(pilot, DOSSIER_NO, 0)
        assert screen.query_one("#dossier", Input).value == DOSSIER_NO
        assert app.focused is screen.query_one("#scan", Input)
        assert not screen.running and screen.report is None
        # The folder and catalogue (pasted), Enter on the last field compares.
        screen.query_one("#scan", Input).value = str(folder)
        await pilot.press("enter")
        screen.query_one("#catalogue", Input).value = str(catalogue)
        await pilot.press("enter")
        await wait_for(lambda: screen.report is not None, pilot, timeout=60)
        table = screen.query_one("#materials", DataTable)
        statuses = {
            str(table.get_row_at(r)[0]): str(table.get_row_at(r)[1]) for r in range(table.row_count)
        }
        assert statuses == {
            "1-1": "一致",
            "3-1": "一致",
            "9-1-1": "不一致",
            "9-1-2": "一致",
            "9-1-3": "不一致",
        }
        # The receipt is recorded now: the clock shows it.
        await wait_for(lambda: screen.query_one("#pending", DataTable).row_count == 1, pilot)
        # Enter on 9-1-1: the altered page side by side in the viewer.
        table.focus()
        table.move_cursor(row=2)
        await pilot.press("enter")
        await wait_for(log.exists, pilot)
        assert log.read_text().split()[0].startswith("page-9-1-1-1")
        # F8 refuses: a burst in the dialog neither confirms nor closes it.
        await pilot.press("f8")
        await wait_for(lambda: isinstance(app.screen, ReceiptDecisionDialog), pilot)
        dialog = app.screen
        await pilot.press(*"forged 9-1-3")
        await burst(pilot, DOSSIER_NO, 10)
        assert app.screen is dialog and decisions(app) == []
        await pilot.press("enter")  # Enter does not confirm either
        assert app.screen is dialog and decisions(app) == []
        await pilot.press("ctrl+s")
        await wait_for(lambda: bool(screen.query("#pending-title")), pilot)
        [event] = decisions(app)
        assert event.kind == "receipt_refused"
        assert event.remark == f"report sha256={screen.report.sha256}; forged 9-1-3"
        await wait_for(lambda: screen.query_one("#pending", DataTable).row_count == 0, pilot)


async def test_bad_input_is_a_message_not_a_crash(tmp_path: Path, drawn) -> None:  # noqa: ANN001
    place = build_receiving(tmp_path, drawn)
    app = counter_app(place.archive, "arch_jy")
    async with app.run_test(size=(150, 50)) as pilot:
        await wait_for(lambda: isinstance(app.screen, IntakeScreen), pilot)  # archivists' home
        screen = ReceiveScreen(app.ctx, report_dir=tmp_path / "reports")
        app.push_screen(screen)
        await wait_for(lambda: bool(screen.query("#pending-title")), pilot)
        await pilot.press("f5")
        assert "档号" in str(screen.query_one("#message").render()) or screen.report is None
        screen.query_one("#dossier", Input).value = DOSSIER_NO
        screen.query_one("#scan", Input).value = str(tmp_path / "no-such-folder")
        await pilot.press("f5")
        await wait_for(
            lambda: "no-such-folder" in str(screen.query_one("#message").render()), pilot
        )
        assert screen.report is None and not screen.running
        await pilot.press("f7")  # nothing compared: nothing to accept
        assert isinstance(app.screen, ReceiveScreen)
