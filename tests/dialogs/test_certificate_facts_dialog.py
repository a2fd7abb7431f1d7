"""What is certified, in the certificate dialog (issue 9): after the kind, its fact fields,
prefilled from the marked materials, confirmed with Enter or typed; the request carries them;
a bad fact is refused before issuing with that field focused; the custody fast path and the
number-key rules stay as they were. Real keys through Pilot, at 120×45 and at 80×24."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from textual.widgets import Button, Input, Static

from counter_tui import i18n
from counter_tui.dialogs.certificate import CertificateDialog
from counter_tui.read_models import DossierView, MaterialRow
from counter_tui.screens.counter import CounterScreen
from counter_tui.services import issuance, viewing
from tests.support.factories import counter_app, tiny_archive
from tests.support.pilot import burst, wait_for


class Spy:
    """The dialog's write: records each request, then returns it or raises ``refusal``."""

    def __init__(self, refusal: Exception | None = None) -> None:
        self.calls: list[issuance.CertificateRequest] = []
        self.refusal = refusal

    def __call__(self, request: issuance.CertificateRequest) -> object:
        self.calls.append(request)
        if self.refusal is not None:
            raise self.refusal
        return request


def material(view: DossierView, number: str, title: str, formed_on: dt.date | None) -> MaterialRow:
    """A catalogue row of ``view`` restated (same id, so the service would accept it)."""
    category = int(number.split("-")[0])
    return dataclasses.replace(
        view.materials[0], number=number, category=category, title=title, formed_on=formed_on
    )


def fact(dialog: CertificateDialog, name: str) -> Input:
    return dialog.query_one(f"#fact-{dialog.kind_code}-{name}", Input)


def error_text(dialog: CertificateDialog) -> str:
    return str(dialog.query_one("#error", Static).render())


def visible(app, widget) -> bool:  # noqa: ANN001
    """The widget is on screen, not scrolled out of the dialog: the cell in its middle row
    belongs to it (a field scrolled away shows its neighbour there, or nothing)."""
    region = widget.region
    if not region.height or not app.screen.region.contains_region(region):
        return False
    try:
        found, _ = app.screen.get_widget_at(region.x + region.width // 2, region.y + 1)
    except Exception:  # noqa: BLE001 - no widget there
        return False
    return found is widget


@pytest.fixture
async def running(tmp_path: Path):
    """(app, pilot, view of DA00000001) with the counter screen up, 120×45."""
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    view = viewing.load_view(archive.db, archive.ids["DA00000001"])
    async with app.run_test(size=(120, 45)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        yield app, pilot, view


async def push(app, pilot, dialog) -> list[object]:  # noqa: ANN001
    results: list[object] = []
    await app.push_screen(dialog, results.append)
    await pilot.pause()
    return results


async def settle(app, pilot) -> None:  # noqa: ANN001
    await app.workers.wait_for_complete()
    await pilot.pause(0.1)


# -- work_start: prefill, confirm with Enter, the request carries the facts -------------------


async def test_work_start_prefilled_from_the_earliest_material_issues_with_enters(running) -> None:  # noqa: ANN001
    app, pilot, view = running
    cited = [
        material(view, "1-1", "干部履历表", dt.date(2001, 3, 1)),
        material(view, "9-1-1", "招工登记表", dt.date(1998, 7, 1)),
    ]
    spy = Spy()
    dialog = CertificateDialog(view, cited, spy)
    results = await push(app, pilot, dialog)

    await pilot.press("4")  # 参加工作时间证明
    assert dialog.kind_code == "work_start" and dialog.step == "facts"
    date = fact(dialog, "date")
    await wait_for(lambda: date.has_focus, pilot)
    assert date.value == "1998-07-01"
    assert date.border_title == "参加工作时间"
    assert fact(dialog, "source").value == "9-1-1"

    await pilot.press("enter")
    await wait_for(lambda: fact(dialog, "source").has_focus, pilot)
    await pilot.press("enter")  # the last fact: on to the purpose, number keys free
    assert dialog.step == "purpose" and dialog.focused is None
    await pilot.press("4", "enter")  # 办理退休, Issue
    await wait_for(lambda: results, pilot)

    request = spy.calls[0]
    assert (request.kind_code, request.purpose) == ("work_start", "办理退休")
    assert request.facts == (("date", "1998-07-01"), ("source", "9-1-1"))


async def test_a_typed_fact_replaces_the_prefill_and_digits_never_change_the_kind(running) -> None:  # noqa: ANN001
    app, pilot, view = running
    cited = [material(view, "9-1-1", "招工登记表", dt.date(1998, 7, 1))]
    spy = Spy()
    dialog = CertificateDialog(view, cited, spy)
    results = await push(app, pilot, dialog)
    await pilot.press("4", "ctrl+u", *"2018.03", "enter", "enter")
    assert dialog.kind_code == "work_start"  # "2", "0", "1" … went into the field
    await pilot.press(*"出国留学")  # a typed purpose, Enter at its end issues
    await pilot.press("enter")
    await wait_for(lambda: results, pilot)
    assert spy.calls[0].facts == (("date", "2018.03"), ("source", "9-1-1"))
    assert spy.calls[0].purpose == "出国留学"


# -- refusals ---------------------------------------------------------------------------------


async def test_a_bad_date_is_refused_before_issuing_and_keeps_everything(running) -> None:  # noqa: ANN001
    app, pilot, view = running
    cited = [material(view, "9-1-1", "招工登记表", dt.date(1998, 7, 1))]
    spy = Spy()
    dialog = CertificateDialog(view, cited, spy)
    results = await push(app, pilot, dialog)
    await pilot.press("4", "ctrl+u", *"1998-13", "enter", "enter", "1")
    await wait_for(lambda: dialog.query_one("#confirm", Button).has_focus, pilot)
    assert dialog.step == "ready"
    await pilot.press("enter")
    await settle(app, pilot)

    assert spy.calls == [] and results == [] and app.screen is dialog
    assert error_text(dialog) == "参加工作时间：日期格式应为 1998-07 或 1998-07-01"
    date = fact(dialog, "date")
    assert date.has_focus and date.value == "1998-13" and date.selection.is_empty
    assert dialog.query_one("#purpose", Input).value == "办理生育服务证"

    # The clerk corrects the month; Enter, Enter reach Issue (the purpose is still there).
    await pilot.press("backspace", "backspace", *"07", "enter", "enter")
    await wait_for(lambda: dialog.query_one("#confirm", Button).has_focus, pilot)
    await pilot.press("enter")
    await wait_for(lambda: results, pilot)
    assert spy.calls[0].facts == (("date", "1998-07"), ("source", "9-1-1"))


async def test_a_refusal_from_issuing_focuses_the_fact_it_names(running) -> None:  # noqa: ANN001
    app, pilot, view = running
    cited = [material(view, "1-1", "干部履历表", dt.date(1972, 3, 1))]
    spy = Spy(issuance.IssuanceError("fact:relation", "亲属关系：与档案记载不符"))
    dialog = CertificateDialog(view, cited, spy)
    results = await push(app, pilot, dialog)
    await pilot.press("3", *"张建国", "enter", *"父子", "enter", "1", "enter")
    await settle(app, pilot)

    assert len(spy.calls) == 1 and results == []
    assert spy.calls[0].facts == (("relative_name", "张建国"), ("relation", "父子"))
    assert error_text(dialog) == "亲属关系：与档案记载不符"
    relation = fact(dialog, "relation")
    assert relation.has_focus and relation.value == "父子"
    assert fact(dialog, "relative_name").value == "张建国"


async def test_a_missing_required_fact_is_refused_with_ctrl_s_too(running) -> None:  # noqa: ANN001
    app, pilot, view = running
    cited = [material(view, "1-1", "干部履历表", dt.date(1972, 3, 1))]
    spy = Spy()
    dialog = CertificateDialog(view, cited, spy)
    await push(app, pilot, dialog)
    await pilot.press("3", *"张建国", "ctrl+s")
    await settle(app, pilot)
    assert spy.calls == []
    assert error_text(dialog) == "亲属关系：请填写"
    assert fact(dialog, "relation").has_focus


# -- experience: one line per period ----------------------------------------------------------


async def test_experience_periods_prefilled_per_material_an_empty_line_ends_them(running) -> None:  # noqa: ANN001
    app, pilot, view = running
    cited = [
        material(view, "9-1-1", "招工登记表", dt.date(1998, 7, 1)),
        material(view, "3-2", "年度考核登记表", dt.date(2003, 12, 20)),
    ]
    spy = Spy()
    dialog = CertificateDialog(view, cited, spy)
    results = await push(app, pilot, dialog)
    await pilot.press("2")
    periods = [fact(dialog, f"period_{n}") for n in range(1, 7)]
    assert [p.value for p in periods] == ["1998-07", "2003-12", "", "", "", ""]
    assert [p.display for p in periods] == [True, True, True, False, False, False]
    await wait_for(lambda: periods[0].has_focus, pilot)

    await pilot.press(*" 2003.06 北京市第一机床厂 技术员", "enter")
    await pilot.press(*" 至今 北京市朝阳区人才服务中心 科员", "enter")
    await wait_for(lambda: periods[2].has_focus, pilot)
    await pilot.press("enter")  # an empty period line: the periods end here
    assert dialog.step == "purpose" and dialog.focused is None
    await pilot.press("4", "enter")
    await wait_for(lambda: results, pilot)
    facts = dict(spy.calls[0].facts)
    assert facts["period_1"] == "1998-07 2003.06 北京市第一机床厂 技术员"
    assert facts["period_2"] == "2003-12 至今 北京市朝阳区人才服务中心 科员"
    assert facts["period_3"] == "" and len(facts) == 6


async def test_a_bad_period_line_is_focused_even_when_it_was_hidden(running) -> None:  # noqa: ANN001
    app, pilot, view = running
    cited = [material(view, "9-1-1", "招工登记表", dt.date(1998, 7, 1))]
    spy = Spy(issuance.IssuanceError("fact:period_4", "经历4：起始时间晚于终止时间"))
    dialog = CertificateDialog(view, cited, spy)
    await push(app, pilot, dialog)
    await pilot.press("2", *" 2003.06 某厂 工人", "enter", "enter", "1", "enter")
    await settle(app, pilot)
    assert len(spy.calls) == 1
    period_4 = fact(dialog, "period_4")
    assert period_4.has_focus and period_4.display


# -- custody, Esc, the other kinds' prefill ---------------------------------------------------


async def test_the_custody_fast_path_is_unchanged(running) -> None:  # noqa: ANN001
    app, pilot, view = running
    spy = Spy()
    dialog = CertificateDialog(view, [], spy)
    results = await push(app, pilot, dialog)
    await pilot.press("1", "1", "enter")
    await wait_for(lambda: results, pilot)
    request = spy.calls[0]
    assert (request.kind_code, request.purpose, request.facts) == ("custody", "办理生育服务证", ())
    assert not any(box.display for box in dialog.query("FactFields"))


async def test_esc_in_a_fact_field_cancels(running) -> None:  # noqa: ANN001
    app, pilot, view = running
    cited = [material(view, "4-1-1", "北京大学本科毕业生登记表", dt.date(1998, 7, 1))]
    spy = Spy()
    dialog = CertificateDialog(view, cited, spy)
    results = await push(app, pilot, dialog)
    await pilot.press("5")
    await wait_for(lambda: fact(dialog, "school").has_focus, pilot)
    assert fact(dialog, "school").value == "北京大学"
    assert fact(dialog, "level").value == "本科" and fact(dialog, "end").value == "1998-07"
    await pilot.press("escape")
    await wait_for(lambda: results == [None], pilot)
    assert spy.calls == []


async def test_political_review_prefills_the_titles(running) -> None:  # noqa: ANN001
    app, pilot, view = running
    cited = [
        material(view, "1-1", "干部履历表", dt.date(1972, 3, 1)),
        material(view, "9-2-1", "录用审批表", dt.date(1972, 2, 1)),
    ]
    spy = Spy()
    dialog = CertificateDialog(view, cited, spy)
    results = await push(app, pilot, dialog)
    await pilot.press("6", "enter", "5", "enter")
    await wait_for(lambda: results, pilot)
    assert spy.calls[0].facts == (("extract", "干部履历表；录用审批表"),)


# -- 80×24, Chinese and English: the focused field is always in sight -------------------------


@pytest.mark.parametrize("language", ["zh_CN", "en"])
async def test_at_80x24_every_focused_fact_is_visible(tmp_path: Path, language: str) -> None:
    i18n.set_language(language)
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    view = viewing.load_view(archive.db, archive.ids["DA00000001"])
    cited = [
        material(view, "4-1-1", "北京大学本科毕业生登记表", dt.date(1998, 7, 1)),
        material(view, "9-1-1", "招工登记表", dt.date(1998, 7, 1)),
        material(view, "3-1", "年度考核登记表", dt.date(2003, 12, 20)),
    ]
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        spy = Spy()
        dialog = CertificateDialog(view, cited, spy)
        results = await push(app, pilot, dialog)
        await pilot.press("5")  # education: five fields, more than 24 rows hold
        await pilot.pause(0.1)
        assert not visible(app, fact(dialog, "end"))  # the check can tell: below the fold
        for name in ("school", "major", "level", "start", "end"):
            await wait_for(lambda name=name: fact(dialog, name).has_focus, pilot)
            await pilot.pause(0.1)  # the scroll to it follows the next refresh
            assert visible(app, fact(dialog, name)), name
            await pilot.press(*("物理学" if name == "major" else ""), "enter")
        assert dialog.step == "purpose" and dialog.focused is None
        await pilot.press("3", "enter")
        await wait_for(lambda: results, pilot)
        assert dict(spy.calls[0].facts) == {
            "school": "北京大学",
            "major": "物理学",
            "level": "本科",
            "start": "",
            "end": "1998-07",
        }


async def test_at_80x24_a_refused_fact_is_scrolled_into_sight(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    view = viewing.load_view(archive.db, archive.ids["DA00000001"])
    cited = [material(view, "9-1-1", "招工登记表", dt.date(1998, 7, 1))]
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        spy = Spy()
        dialog = CertificateDialog(view, cited, spy)
        await push(app, pilot, dialog)
        await pilot.press("4", "ctrl+u", "enter", "enter", "1", "enter")
        await settle(app, pilot)
        assert spy.calls == [] and "参加工作时间：请填写" in error_text(dialog)
        date = fact(dialog, "date")
        await pilot.pause(0.1)
        assert date.has_focus and visible(app, date)


async def test_a_scan_into_a_fact_field_types_nothing(running) -> None:  # noqa: ANN001
    app, pilot, view = running
    cited = [material(view, "9-1-1", "招工登记表", dt.date(1998, 7, 1))]
    spy = Spy()
    dialog = CertificateDialog(view, cited, spy)
    await push(app, pilot, dialog)
    await pilot.press("4")
    date = fact(dialog, "date")
    await wait_for(lambda: date.has_focus, pilot)
    await burst(pilot, "DA00000002", 10)  # the next applicant's dossier, scanned too early
    await settle(app, pilot)
    assert date.value == "1998-07-01" and date.has_focus and dialog.step == "facts"
    assert app.ctx.scans == ["DA00000002"] and spy.calls == []
