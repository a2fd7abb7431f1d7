"""The counter keeps one dossier screen and shows each next dossier on it (issue 13: building
the screen anew was a third of a scan's wait). Nothing of one applicant's dossier may show on
the next: not the header, rows, marks, message, last certificate, nor a worker's late result.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from counter_tui.dialogs.certificate import CertificateDialog
from counter_tui.dialogs.certificate_history import CertificateHistoryDialog
from counter_tui.messages import IdRevealed, MaterialAdded
from counter_tui.screens.counter import CounterScreen
from counter_tui.screens.dossier import DossierScreen
from counter_tui.widgets.catalogue_table import CatalogueTable
from tests.support.factories import counter_app, tiny_archive
from tests.support.pilot import wait_for


def shown(screen: DossierScreen, selector: str) -> str:
    return str(screen.query_one(selector).render())


class AtCounter(NamedTuple):
    archive: Any
    app: Any
    pilot: Any
    counter: CounterScreen


@pytest.fixture
async def at_counter(tmp_path: Path):  # noqa: ANN201
    """A counter app on a tiny archive, at 120×40, its counter screen up."""
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        yield AtCounter(archive, app, pilot, app.screen)


async def open_dossier(app, pilot, number: str) -> DossierScreen:  # noqa: ANN001
    """Scan ``number`` at the counter; the dossier screen showing it."""
    await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
    await pilot.press(*number, "enter")
    await wait_for(
        lambda: isinstance(app.screen, DossierScreen) and app.screen.view.dossier_no == number,
        pilot,
    )
    return app.screen


def material_keys(table: CatalogueTable) -> list[str]:
    return [key for key in table.rows if not key.startswith("cat-")]


async def test_the_next_dossier_is_shown_on_the_same_screen_with_nothing_of_the_first(
    at_counter: AtCounter,
) -> None:
    archive, app, pilot, counter = at_counter
    first = await open_dossier(app, pilot, "DA00000001")
    first_view = first.view
    table = first.query_one(CatalogueTable)
    assert material_keys(table) == [str(m.id) for m in first_view.materials]
    # Mark 1-1 and issue a certificate: the screen now remembers both.
    await pilot.press("space")
    assert [m.number for m in first.marked()] == ["1-1"]
    await pilot.press("c")
    await wait_for(lambda: isinstance(app.screen, CertificateDialog), pilot)
    await pilot.press("1", "1", "enter")
    await wait_for(lambda: first.last_issued is not None, pilot, timeout=30)
    await wait_for(lambda: app.screen is first, pilot)
    assert "CY-" in shown(first, "#message")
    await pilot.press("escape")
    await wait_for(lambda: app.screen is counter, pilot)

    await pilot.press(*"DA00000002", "enter")
    await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
    second = app.screen
    assert second is first  # the same screen, kept
    assert second.view is not first_view and second.view.dossier_no == "DA00000002"
    assert "张敏" in shown(second, "#title") and "DA00000002" in shown(second, "#title")
    header = shown(second, "#header")
    assert "张敏" in header and "张伟" not in header and "DA00000001" not in header
    assert material_keys(table) == [str(m.id) for m in second.view.materials]
    assert not set(material_keys(table)) & {str(m.id) for m in first_view.materials}
    assert second.marked() == [] and table.marked == []
    assert "CY-" not in shown(second, "#message")  # the first one's certificate line
    assert second.last_issued is None and not second.closing
    # p prints the certificate issued *here*: none yet for 张敏, so the history opens.
    await pilot.press("p")
    await wait_for(lambda: isinstance(app.screen, CertificateHistoryDialog), pilot)
    await pilot.press("escape")
    await wait_for(lambda: app.screen is second, pilot)
    from counter_tui.widgets.service_timer import ServiceTimer

    assert second.query_one(ServiceTimer).started == app.ctx.visit.started


async def test_a_late_worker_result_for_the_previous_dossier_is_dropped(
    at_counter: AtCounter,
) -> None:
    archive, app, pilot, counter = at_counter
    await pilot.press(*"DA00000001", "enter")
    await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
    screen = app.screen
    first_view = screen.view
    await pilot.press("escape")
    await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
    await pilot.press(*"DA00000002", "enter")
    await wait_for(lambda: app.screen is screen and screen.view is not first_view, pilot)
    second_view = screen.view
    # A reveal and a reload started for 张伟 finish only now, in their worker threads.
    await asyncio.to_thread(screen.post_for, first_view, IdRevealed("11010519491231002X"))
    await asyncio.to_thread(screen.post_for, first_view, MaterialAdded(first_view, "1-9"))
    await pilot.pause(0.2)
    assert "11010519491231002X" not in shown(screen, "#message")
    assert screen.view is second_view
    # The same message for the dossier shown is delivered.
    await asyncio.to_thread(screen.post_for, second_view, IdRevealed("440524188001010014"))
    await wait_for(lambda: "440524188001010014" in shown(screen, "#message"), pilot)


async def test_a_result_queued_just_before_the_next_dossier_is_shown_is_dropped(
    at_counter: AtCounter,
) -> None:
    """The race a reviewer found: A's worker posts its result, and before the screen
    handles it the counter shows B on the screen. The handler, not the posting, decides."""
    from counter_tui.services import viewing

    archive, app, pilot, counter = at_counter
    screen = await open_dossier(app, pilot, "DA00000001")
    first_view = screen.view
    await pilot.press("escape")
    await wait_for(lambda: app.screen is counter, pilot)
    second_view = viewing.load_view(archive.db, archive.ids["DA00000002"])
    # Queued while the screen still holds A, handled after it shows B (no await between).
    screen.post_for(first_view, IdRevealed("11010519491231002X"))
    screen.post_for(first_view, MaterialAdded(first_view, "1-9"))
    counter.show_dossier(second_view)
    await wait_for(lambda: app.screen is screen, pilot)
    await pilot.pause(0.2)
    assert screen.view is second_view
    assert "11010519491231002X" not in shown(screen, "#message")
    rows = material_keys(screen.query_one(CatalogueTable))
    assert rows == [str(m.id) for m in second_view.materials]


def drawn(app) -> list[list[tuple[str, object]]]:  # noqa: ANN001
    """The screen as the terminal gets it: each line's (text, style) runs, the service clock
    (its digits) masked."""
    lines = []
    for strip in app.screen._compositor.render_strips():
        runs = [(segment.text, segment.style) for segment in strip.simplify()]
        lines.append([(re.sub(r"\d\d:\d\d", "mm:ss", text), style) for text, style in runs])
    return lines


async def screen_of(app, pilot, numbers: list[str], theme: str | None = None) -> list:  # noqa: ANN001
    """Scan each of ``numbers`` in turn (Esc between; the theme changed before the last when
    given): the last dossier's screen as drawn."""
    for number in numbers[:-1]:
        await open_dossier(app, pilot, number)
        await pilot.press("escape")
    await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
    if theme:
        app.theme = theme
        await pilot.pause()
    screen = await open_dossier(app, pilot, numbers[-1])
    await wait_for(lambda: screen.query_one(CatalogueTable).row_count > 0, pilot)
    await pilot.pause(0.1)
    return drawn(app)


@pytest.mark.parametrize("theme", [None, "textual-light"])
async def test_the_kept_screen_is_drawn_as_a_new_one_would_be(
    tmp_path: Path, theme: str | None
) -> None:
    """The kept screen skips restyling when it is shown again (DossierScreen.
    on_screen_resume): what it draws must still be what a screen built anew draws, also
    after the theme changed while it was not shown."""
    archive = tiny_archive(tmp_path)
    fresh_app = counter_app(archive)
    async with fresh_app.run_test(size=(120, 40)) as pilot:
        if theme:
            await wait_for(lambda: isinstance(fresh_app.screen, CounterScreen), pilot)
            fresh_app.theme = theme
        fresh = await screen_of(fresh_app, pilot, ["DA00000002"])
    kept_app = counter_app(archive)
    async with kept_app.run_test(size=(120, 40)) as pilot:
        kept = await screen_of(kept_app, pilot, ["DA00000001", "DA00000002"], theme)
        assert kept_app.screen.view.dossier_no == "DA00000002"
    assert any("张敏" in text for line in kept for text, _ in line)
    assert kept == fresh


async def test_a_dossier_without_materials_starts_at_the_top(at_counter: AtCounter) -> None:
    """The kept screen keeps a catalogue's cursor row by its key across reloads; the next
    dossier must not inherit it (heading keys are the same in every dossier)."""
    import dataclasses

    from counter_tui.services import viewing

    archive, app, pilot, counter = at_counter
    screen = await open_dossier(app, pilot, "DA00000001")
    table = screen.query_one(CatalogueTable)
    await pilot.press("4", "up")
    await wait_for(lambda: table.current_key() == "cat-4", pilot)
    await pilot.press("escape")
    await wait_for(lambda: app.screen is counter, pilot)
    empty = dataclasses.replace(
        viewing.load_view(archive.db, archive.ids["DA00000002"]), materials=[]
    )
    counter.show_dossier(empty)
    await wait_for(lambda: app.screen is screen and screen.view is empty, pilot)
    await pilot.pause()
    assert table.cursor_row == 0 and table.scroll_y == 0
