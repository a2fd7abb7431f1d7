"""Forms keep what was typed (issue 8, part 3): the consultation's "mark materials first" rule
before any field is typed, refusals that keep every field, focus that never selects a field's
text (so the next key cannot replace it), one Enter for a typed certificate purpose, and
multi-line pastes that say what was kept. Real keys through Pilot, on a real SQLite archive."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlmodel import select
from textual import events
from textual.widgets import Checkbox, Input, Static

from counter_tui.db.models import Consultation
from counter_tui.dialogs.certificate import CertificateDialog
from counter_tui.dialogs.consultation import ConsultationDialog
from counter_tui.dialogs.material import MaterialDialog
from counter_tui.screens.counter import CounterScreen
from counter_tui.screens.dossier import DossierScreen
from counter_tui.services import consultation, issuance, supplement, viewing
from counter_tui.widgets.preset_input import one_line
from tests.support.factories import counter_app, tiny_archive
from tests.support.pilot import type_slowly, wait_for

MARK_FIRST = "登记查阅前，请先在目录中（空格键）标记提供查阅的材料"


@pytest.fixture
async def running(tmp_path: Path):
    """(app, pilot, view of DA00000001) with the counter screen up."""
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    view = viewing.load_view(archive.db, archive.ids["DA00000001"])
    async with app.run_test(size=(120, 45)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        yield app, pilot, view


class Spy:
    """A dialog's write: records each request, then returns it or raises ``refusal``."""

    def __init__(self, refusal: Exception | None = None) -> None:
        self.calls: list[object] = []
        self.refusal = refusal

    def __call__(self, request: object) -> object:
        self.calls.append(request)
        if self.refusal is not None:
            raise self.refusal
        return request


def error_text(dialog) -> str:  # noqa: ANN001
    return str(dialog.query_one("#error", Static).render())


def field(dialog, name: str) -> Input:  # noqa: ANN001
    return dialog.query_one(f"#{name}", Input)


async def open_dialog(app, pilot, dialog) -> list[object]:  # noqa: ANN001
    results: list[object] = []
    await app.push_screen(dialog, results.append)
    await pilot.pause()
    return results


async def settle(app, pilot) -> None:  # noqa: ANN001
    await app.workers.wait_for_complete()
    await pilot.pause(0.1)


# -- 1. consultation: "mark the materials first" before any field is typed -------------------


def test_check_shown_is_the_rule_and_validate_applies_it_first() -> None:
    with pytest.raises(consultation.ConsultationError) as refused:
        consultation.check_shown([])
    assert refused.value.field == "shown" and MARK_FIRST in str(refused.value)
    consultation.check_shown([uuid.uuid4()])
    # A request with nothing shown is refused for that, not for its empty fields.
    with pytest.raises(consultation.ConsultationError) as refused:
        consultation.validate(consultation.ConsultationRequest("", "", ""))
    assert refused.value.field == "shown"


async def test_consultation_dialog_refuses_at_once_without_marked_materials(running) -> None:  # noqa: ANN001
    app, pilot, view = running
    spy = Spy()
    dialog = ConsultationDialog(view, [], spy)
    results = await open_dialog(app, pilot, dialog)

    assert MARK_FIRST in error_text(dialog)  # before anything is typed
    assert all(f.disabled for f in dialog.query(Input)) and dialog.focused is None
    await type_slowly(pilot, [*"abc", "1", "enter", "ctrl+s"])
    await settle(app, pilot)
    assert all(f.value == "" for f in dialog.query(Input))
    assert spy.calls == [] and app.screen is dialog
    assert MARK_FIRST in error_text(dialog)  # the message stays
    await type_slowly(pilot, ["escape"])
    await wait_for(lambda: results == [None], pilot)


async def test_q_with_nothing_marked_never_lets_fields_be_typed_in_vain(tmp_path: Path) -> None:
    # Holds both for the dialog's own refusal and for the dossier screen refusing to open it.
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    async with app.run_test(size=(120, 45)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        await type_slowly(pilot, [*"DA00000001", "enter"])
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
        dossier = app.screen
        await type_slowly(pilot, ["q"])
        await pilot.pause(0.2)
        if isinstance(app.screen, ConsultationDialog):
            assert MARK_FIRST in error_text(app.screen)
            assert all(f.disabled for f in app.screen.query(Input))
        else:
            assert app.screen is dossier
            assert MARK_FIRST in str(dossier.query_one("#message").render())
        await type_slowly(pilot, [*"unit", "enter", "1", "enter", "ctrl+s"])
        await settle(app, pilot)
    with archive.db.read() as s:
        assert s.exec(select(Consultation)).all() == []


# -- 2. a refusal from the write keeps every field as typed ----------------------------------


async def test_a_refused_consultation_keeps_every_field(running) -> None:  # noqa: ANN001
    app, pilot, view = running
    spy = Spy(consultation.ConsultationError("approval_no", "审批表编号有误"))
    dialog = ConsultationDialog(view, view.materials[:1], spy)
    results = await open_dialog(app, pilot, dialog)
    await type_slowly(pilot, [*"组织部", "enter", *"A15", "enter", "1", *"李明", "enter"])
    await settle(app, pilot)

    assert len(spy.calls) == 1 and results == [] and app.screen is dialog
    assert "审批表编号有误" in error_text(dialog)
    assert dialog.values() == {
        "requesting_unit": "组织部",
        "approval_no": "A15",
        "purpose": "政审",
        "readers": "李明",
    }
    approval = field(dialog, "approval_no")
    assert approval.has_focus and approval.selection.is_empty
    await type_slowly(pilot, ["backspace", "6"])  # the clerk corrects it, keeping the rest
    assert approval.value == "A16"


async def test_a_refused_certificate_keeps_the_typed_purpose_and_agent(running) -> None:  # noqa: ANN001
    app, pilot, view = running
    spy = Spy(issuance.IssuanceError("agent_id", "代理人身份号码已失效"))
    dialog = CertificateDialog(view, [], spy)
    results = await open_dialog(app, pilot, dialog)
    # Kind 1, a typed purpose, Tab to the agent box, Space ticks it (focus: agent's name).
    await type_slowly(pilot, ["1", *"入职", "tab", "space", *"Wang", "enter"])
    await type_slowly(pilot, [*"11010519491231002X", "enter"], gap_s=0.09)
    await settle(app, pilot)

    assert len(spy.calls) == 1 and results == [] and app.screen is dialog
    assert "代理人身份号码已失效" in error_text(dialog)
    assert dialog.kind_code == "custody" and dialog.query_one("#agent", Checkbox).value
    assert field(dialog, "purpose").value == "入职"
    assert field(dialog, "agent_name").value == "Wang"
    agent_id = field(dialog, "agent_id")
    assert agent_id.value == "11010519491231002X"
    assert agent_id.has_focus and agent_id.selection.is_empty


async def test_a_refused_material_keeps_every_field(running) -> None:  # noqa: ANN001
    app, pilot, view = running
    spy = Spy(supplement.SupplementError("title", "标题重复"))
    dialog = MaterialDialog(view, spy)
    results = await open_dialog(app, pilot, dialog)
    await type_slowly(pilot, ["3", "enter", *"zizhuan", "enter", *"2001-02-03", "enter"])
    await type_slowly(pilot, ["2", "enter", *"fu", "enter"])
    await settle(app, pilot)

    assert len(spy.calls) == 1 and results == [] and app.screen is dialog
    assert "标题重复" in error_text(dialog)
    assert dialog.values() == {
        "category": "3",
        "title": "zizhuan",
        "formed_on": "2001-02-03",
        "page_count": "2",
        "remark": "fu",
    }
    title = field(dialog, "title")
    assert title.has_focus and title.selection.is_empty
    await type_slowly(pilot, ["2"])
    assert title.value == "zizhuan2"  # a key adds to the field, never replaces it


# -- 3. after a validation error, Enter to the next field never overwrites it ----------------


async def test_enter_after_a_validation_error_never_overwrites_the_next_field(running) -> None:  # noqa: ANN001
    app, pilot, view = running
    spy = Spy()
    dialog = ConsultationDialog(view, view.materials[:1], spy)
    results = await open_dialog(app, pilot, dialog)
    # Unit, Enter past an empty approval number, purpose 1, readers, Enter: refused.
    await type_slowly(pilot, [*"组织部", "enter", "enter", "1", *"李明", "enter"])
    assert "审批表编号" in error_text(dialog) and field(dialog, "approval_no").has_focus
    # The clerk fills it in and presses Enter: on to the purpose, whose text is not selected,
    # so the readers' name typed next (as in the report) cannot replace it.
    await type_slowly(pilot, [*"A15", "enter"])
    purpose = field(dialog, "purpose")
    assert purpose.has_focus and purpose.selection.is_empty
    assert purpose.cursor_position == len("政审")
    await type_slowly(pilot, ["2"])  # nor can a number key swap the preset
    assert purpose.value == "政审2" and purpose.has_focus
    await type_slowly(pilot, ["backspace", "enter"])
    readers = field(dialog, "readers")
    assert readers.has_focus and readers.selection.is_empty
    await type_slowly(pilot, ["enter"])
    await wait_for(lambda: results, pilot)
    assert (results[0].approval_no, results[0].purpose, results[0].readers) == (
        "A15",
        "政审",
        "李明",
    )


# -- 4. a typed certificate purpose issues with one Enter -------------------------------------


async def test_a_typed_purpose_issues_with_one_enter(running) -> None:  # noqa: ANN001
    app, pilot, view = running
    spy = Spy()
    dialog = CertificateDialog(view, [], spy)
    results = await open_dialog(app, pilot, dialog)
    await type_slowly(pilot, ["1", *"rz", *"入职", "enter"])
    await wait_for(lambda: results, pilot)
    assert len(spy.calls) == 1
    assert (results[0].kind_code, results[0].purpose) == ("custody", "rz入职")


async def test_a_listed_purpose_still_issues_with_1_1_enter(running) -> None:  # noqa: ANN001
    app, pilot, view = running
    dialog = CertificateDialog(view, [], Spy())
    results = await open_dialog(app, pilot, dialog)
    await type_slowly(pilot, ["1", "1"])
    assert results == [] and dialog.focused is dialog.query_one("#confirm")
    await type_slowly(pilot, ["enter"])
    await wait_for(lambda: results, pilot)
    assert (results[0].kind_code, results[0].purpose) == ("custody", "办理生育服务证")


async def test_with_an_agent_enter_on_a_typed_purpose_goes_to_the_agent(running) -> None:  # noqa: ANN001
    app, pilot, view = running
    spy = Spy()
    dialog = CertificateDialog(view, [], spy)
    results = await open_dialog(app, pilot, dialog)
    # Kind 1; Tab to the purpose, Tab to the agent box, Space ticks it; back to the purpose.
    await type_slowly(pilot, ["1", "tab", "tab", "space", "shift+tab", "shift+tab"])
    assert dialog.query_one("#agent", Checkbox).value and field(dialog, "purpose").has_focus
    await type_slowly(pilot, [*"入职", "enter"])
    assert spy.calls == [] and field(dialog, "agent_name").has_focus
    await type_slowly(pilot, [*"Wang", "enter"])
    await type_slowly(pilot, [*"11010519491231002X", "enter"], gap_s=0.09)
    await wait_for(lambda: results, pilot)
    assert (results[0].purpose, results[0].agent_name) == ("入职", "Wang")


async def test_an_empty_typed_purpose_says_so_on_enter(running) -> None:  # noqa: ANN001
    app, pilot, view = running
    spy = Spy()
    dialog = CertificateDialog(view, [], spy)
    await open_dialog(app, pilot, dialog)
    await type_slowly(pilot, ["1", "tab", "enter"])
    assert spy.calls == [] and "用途" in error_text(dialog)
    assert field(dialog, "purpose").has_focus


async def test_a_kind_that_must_cite_is_refused_when_chosen(running) -> None:  # noqa: ANN001
    app, pilot, view = running
    spy = Spy()
    dialog = CertificateDialog(view, [], spy)
    results = await open_dialog(app, pilot, dialog)
    await type_slowly(pilot, ["2"])  # 2 cites materials; none are marked
    assert dialog.kind_code is None and dialog.step == "kind"
    assert "Space" in error_text(dialog) or "空格" in error_text(dialog)
    await type_slowly(pilot, ["1"])  # the clerk takes 存档证明 instead
    assert dialog.kind_code == "custody" and error_text(dialog) == ""
    await type_slowly(pilot, ["1", "enter"])
    await wait_for(lambda: results, pilot)
    assert results[0].kind_code == "custody"


# -- 5. multi-line pastes say what was kept ----------------------------------------------------


def test_one_line_joins_lines_and_strips_control_characters() -> None:
    assert one_line("第一行\n第二\x07行\r\n\n  \n第三行\t末\n") == ("第一行 第二行 第三行 末", 3)
    assert one_line("\x1b[31m红\x00") == ("[31m红", 1)
    assert one_line("\n\x00\n") == ("", 0)


PASTED = "第一行\n第二\x07行\r\n\n第三行\t末\n"
JOINED = "第一行 第二行 第三行 末"


@pytest.mark.parametrize(
    ("make", "name"),
    [
        ("consultation", "requesting_unit"),
        ("consultation", "approval_no"),
        ("consultation", "purpose"),
        ("consultation", "readers"),
        ("certificate", "purpose"),
        ("certificate", "agent_name"),
        ("certificate", "agent_id"),
        ("material", "category"),
        ("material", "title"),
        ("material", "remark"),
    ],
)
async def test_a_multi_line_paste_is_joined_and_reported(running, make: str, name: str) -> None:  # noqa: ANN001
    app, pilot, view = running
    dialog = {
        "consultation": lambda: ConsultationDialog(view, view.materials[:1], Spy()),
        "certificate": lambda: CertificateDialog(view, [], Spy()),
        "material": lambda: MaterialDialog(view, Spy()),
    }[make]()
    await open_dialog(app, pilot, dialog)
    target = field(dialog, name)
    target.focus()
    await pilot.pause()
    target.post_message(events.Paste(PASTED))
    await pilot.pause()
    assert target.value == JOINED
    assert error_text(dialog) == "粘贴的内容有 3 行，已合并为一行。"


async def test_a_one_line_paste_is_cleaned_without_a_message(running) -> None:  # noqa: ANN001
    app, pilot, view = running
    dialog = ConsultationDialog(view, view.materials[:1], Spy())
    await open_dialog(app, pilot, dialog)
    unit = field(dialog, "requesting_unit")
    unit.post_message(events.Paste("\x1b[31m组织部\x00\n"))
    await pilot.pause()
    assert unit.value == "[31m组织部" and error_text(dialog) == ""
    # A digit that is not an ASCII digit never picks a preset (int() would refuse it).
    purpose = field(dialog, "purpose")
    purpose.post_message(events.Paste("²"))
    await pilot.pause()
    assert purpose.value == "²" and app.screen is dialog
