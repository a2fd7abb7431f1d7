"""补登 and 认定 from the dossier screen, through Pilot."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from textual.widgets import Static

from counter_tui.dialogs.material import MaterialDialog
from counter_tui.domain import categories, dates
from counter_tui.screens.counter import CounterScreen
from counter_tui.screens.dossier import DossierScreen
from counter_tui.services import fixity
from counter_tui.widgets.catalogue_table import CatalogueTable
from tests.support.factories import counter_app, tiny_archive
from tests.support.pilot import wait_for


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", (1, None)),
        ("4-1", (4, 1)),
        ("9.2", (9, 2)),
        ("四-3", (4, 3)),
        ("十", (10, None)),
        (" 9－4 ", (9, 4)),
    ],
)
def test_parse_placement(text: str, expected: tuple) -> None:
    assert categories.parse_placement(text) == expected


@pytest.mark.parametrize("text", ["", "a", "4-1-2", "4-x", "-"])
def test_parse_placement_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        categories.parse_placement(text)


@pytest.mark.parametrize(
    "text",
    ["2020-05-06", "2020.5.6", "2020/05/06", "2020年5月6日", "20200506", "２０２０-０５-０６"],
)
def test_parse_date(text: str) -> None:
    assert dates.parse_date(text) == dt.date(2020, 5, 6)


@pytest.mark.parametrize("text", ["", "2020-02-30", "06/05/2020", "2020-5", "yesterday"])
def test_parse_date_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        dates.parse_date(text)


async def test_correction_from_the_catalogue(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        await pilot.press(*"DA00000001", "enter")
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
        await pilot.press("r")  # the cursor is on 1-1 干部履历表
        await wait_for(lambda: isinstance(app.screen, MaterialDialog), pilot)
        dialog = app.screen
        assert dialog.query_one("#category").value == "1"
        await pilot.press(*"ganbu lvlibiao", "enter", *"2021-13-01", "enter", "1", "enter", "enter")
        error = dialog.query_one("#error", Static)
        assert "YYYY-MM-DD" in str(error.render())
        dialog.query_one("#formed_on").clear()
        dialog.query_one("#formed_on").focus()
        await pilot.press(*"2021-03-01", "enter", "enter", "enter")
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
        screen = app.screen
        await wait_for(lambda: len(screen.view.materials) == 4, pilot)
        rows = {m.number: m for m in screen.view.materials}
        assert rows["1-1"].corrected and not rows["1-1"].corrects
        assert rows["1-2"].corrects == archive.ids["m_cv"]
        assert rows["1-2"].title == "ganbu lvlibiao" and rows["1-2"].page_count == 1
        table = screen.query_one(CatalogueTable)
        assert table.row_count == 10 + 4
    report = fixity.verify(archive.db, archive_root=archive.settings.archive_dir)
    assert report.ok, report.problems


async def test_refusals_keep_the_dialog_and_what_was_typed(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        await pilot.press(*"DA00000001", "enter")
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
        await pilot.press("a")
        await wait_for(lambda: isinstance(app.screen, MaterialDialog), pilot)
        dialog = app.screen
        error = dialog.query_one("#error", Static)
        # A future date: refused by the service, the dialog stays with the fields kept.
        await pilot.press(
            *"3", "enter", *"zizhuan", "enter", *"2999-01-01", "enter", "2", "enter", "enter"
        )
        await wait_for(lambda: "2999-01-01" in str(error.render()), pilot)
        assert app.screen is dialog and dialog.query_one("#title").value == "zizhuan"
        assert dialog.query_one("#formed_on").has_focus
        # A superscript two is a "digit" to str.isdigit but not a page count.
        dialog.query_one("#formed_on").clear()
        dialog.query_one("#page_count").value = "²"
        dialog.query_one("#formed_on").focus()
        await pilot.press(*"2001-02-03", "enter", "enter", "enter")
        await wait_for(lambda: "页数" in str(error.render()), pilot)
        dialog.query_one("#page_count").value = "2"
        await pilot.press("ctrl+s")
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
        screen = app.screen
        await wait_for(lambda: len(screen.view.materials) == 4, pilot)
        assert {m.number: m.title for m in screen.view.materials}["3-1"] == "zizhuan"
