"""Bad input at the counter: each gives a message, keeps the text, and the app stays usable."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events
from textual.widgets import Static

from counter_tui.app import CounterApp
from counter_tui.screens.counter import CounterScreen
from counter_tui.screens.dossier import DossierScreen
from counter_tui.widgets.catalogue_table import CatalogueTable
from counter_tui.widgets.scan_input import ScanInput
from tests.support.factories import counter_app, tiny_archive
from tests.support.pilot import burst, type_slowly, wait_for


def message_text(app: CounterApp) -> str:
    return str(app.screen.query_one("#message", Static).render())


async def submit_and_wait(app: CounterApp, pilot, *, keys=(), paste: str | None = None) -> str:  # noqa: ANN001
    screen = app.screen
    scan = screen.query_one(ScanInput)
    before = message_text(app)
    if paste is not None:
        scan.post_message(events.Paste(paste))
        await pilot.pause()
    await pilot.press(*keys, "enter")
    await wait_for(lambda: message_text(app) not in (before, "正在查找…"), pilot)
    return message_text(app)


@pytest.fixture
async def running(tmp_path: Path):
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        yield app, pilot


async def still_usable(app: CounterApp, pilot) -> None:  # noqa: ANN001
    """After any bad input a scan still opens the dossier."""
    scan = app.screen.query_one(ScanInput)
    assert scan.has_focus
    scan.clear()
    await pilot.press(*"DA00000001", "enter")
    await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)


async def test_empty_enter(running) -> None:
    app, pilot = running
    await pilot.press("enter")
    await pilot.pause()
    assert "扫描" in message_text(app)
    assert app.screen.query_one("#message").has_class("-warning")
    assert app.ctx.visit is None  # an empty Enter does not start a service
    await still_usable(app, pilot)


async def test_two_hundred_pasted_characters(running) -> None:
    app, pilot = running
    pasted = "档案" * 40 + "x" * 120
    message = await submit_and_wait(app, pilot, paste=pasted)
    assert "200" in message
    assert app.screen.query_one(ScanInput).value == pasted  # nothing lost
    await still_usable(app, pilot)


async def test_multi_line_paste(running) -> None:
    app, pilot = running
    message = await submit_and_wait(app, pilot, paste="DA00000001\r\nDA00000002\n")
    assert "多行" in message
    assert app.screen.query_one(ScanInput).value == "DA00000001 ↵ DA00000002"
    await still_usable(app, pilot)


async def test_wrong_check_digit_keeps_the_typed_text(running) -> None:
    app, pilot = running
    message = await submit_and_wait(app, pilot, keys=tuple("110105194912310021"))
    assert "校验" in message and "X" in message
    assert app.screen.query_one(ScanInput).value == "110105194912310021"
    assert app.screen.query_one("#message").has_class("-error")
    await still_usable(app, pilot)


async def test_half_typed_id(running) -> None:
    app, pilot = running
    message = await submit_and_wait(app, pilot, keys=tuple("1101051949123"))
    assert "18" in message and "13" in message
    await still_usable(app, pilot)


async def test_unknown_dossier_number(running) -> None:
    app, pilot = running
    message = await submit_and_wait(app, pilot, keys=tuple("DA99999999"))
    assert "DA99999999" in message and "未找到" in message
    await still_usable(app, pilot)


async def test_dossier_held_elsewhere_names_holder_and_date(running) -> None:
    app, pilot = running
    message = await submit_and_wait(app, pilot, keys=tuple("DA00000003"))
    assert "北京市朝阳区职业介绍服务中心" in message and "2024-03-01" in message
    assert isinstance(app.screen, CounterScreen)
    await still_usable(app, pilot)


async def test_name_search_gives_a_pick_list(running) -> None:
    app, pilot = running
    await submit_and_wait(app, pilot, keys=("/", "张"))
    from textual.widgets import OptionList

    choices = app.screen.query_one("#choices", OptionList)
    assert choices.display and choices.option_count == 2
    await pilot.press("down", "enter")
    await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
    assert app.screen.view.dossier_no == "DA00000002"


async def test_double_enter_opens_the_dossier_once(running) -> None:
    app, pilot = running
    await pilot.press(*"DA00000001", "enter", "enter")
    await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
    await pilot.pause(0.3)
    assert sum(isinstance(s, DossierScreen) for s in app.screen_stack) == 1
    from sqlmodel import select

    from counter_tui.db.models import AccessEvent

    with app.ctx.db.read() as s:
        opened = s.exec(select(AccessEvent).where(AccessEvent.kind == "dossier")).all()
    assert len(opened) == 1


async def test_a_scan_during_a_lookup_waits_its_turn(running) -> None:
    app, pilot = running
    screen = app.screen
    # Simulate the race deterministically: the first lookup is still in flight.
    screen.busy = "DA00000001"
    scan = screen.query_one(ScanInput)
    await pilot.press(*"DA00000002", "enter")
    assert app.ctx.scans == ["DA00000002"] and scan.value == ""
    await pilot.press("enter")  # a stray Enter while busy changes nothing
    assert app.ctx.scans == ["DA00000002"]
    screen.busy = None
    screen.reset("")
    assert scan.value == "DA00000002"
    assert "DA00000002" in message_text(app)
    await pilot.press("enter")
    await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
    assert app.screen.view.dossier_no == "DA00000002"


async def test_after_a_failed_lookup_the_next_scan_replaces_the_text(running) -> None:
    app, pilot = running
    await submit_and_wait(app, pilot, keys=tuple("DA99999999"))
    scan = app.screen.query_one(ScanInput)
    assert scan.value == "DA99999999"
    await pilot.press(*"DA00000001", "enter")
    await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)


@pytest.mark.parametrize("gap_ms", [0, 10, 25, 40])
async def test_a_scan_at_the_open_dossier_waits_for_the_next_applicant(running, gap_ms) -> None:  # noqa: ANN001
    app, pilot = running
    await pilot.press(*"DA00000001", "enter")
    await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
    dossier = app.screen
    table = dossier.query_one(CatalogueTable)
    row = table.cursor_row
    # c would open the certificate dialog, digits would jump categories, Enter open pages.
    await burst(pilot, "CDA00000002", gap_ms)
    assert app.screen is dossier and table.cursor_row == row
    assert app.ctx.scans == ["CDA00000002"]
    await pilot.press("escape")
    await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
    assert app.screen.query_one(ScanInput).value == "CDA00000002"
    from sqlmodel import select

    from counter_tui.db.models import AccessEvent

    with app.ctx.db.read() as s:  # the scan's Enter opened no pages
        assert s.exec(select(AccessEvent).where(AccessEvent.kind == "page")).all() == []


async def test_a_person_typing_at_the_catalogue_is_not_a_scan(running) -> None:
    app, pilot = running
    await pilot.press(*"DA00000001", "enter")
    await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
    table = app.screen.query_one(CatalogueTable)
    await type_slowly(pilot, "94")  # category 9, then 4: the cursor follows each key
    assert table.current_material().number.startswith("4-")
    assert app.ctx.scans == []


async def test_two_scans_in_one_terminal_read_stay_apart(running) -> None:
    from textual import events

    app, pilot = running
    screen = app.screen
    scan = screen.query_one(ScanInput)
    # Everything arrives before the screen handles the first Enter: queue the keys at once.
    for ch in "DA00000001\rDA00000002\r":
        key = events.Key("enter", None) if ch == "\r" else events.Key(ch, ch)
        app.post_message(key)  # as the terminal driver does
    await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
    assert app.screen.view.dossier_no == "DA00000001"
    await pilot.press("escape")
    await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
    assert scan.value == "DA00000002"  # the second scan, offered back whole
    assert "DA00000002" in message_text(app)
