"""Every dialog survives hostile input: control characters, 10,000 pasted characters, empty
and multi-line pastes, SQL-looking text, wrong-width Unicode. Each gets a message or is
accepted cleaned; nothing leaves a dialog unvalidated."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from textual import events
from textual.widgets import Input, Static

from counter_tui.app import CounterApp
from counter_tui.context import build_context
from counter_tui.dialogs.certificate import CertificateDialog
from counter_tui.dialogs.consultation import ConsultationDialog
from counter_tui.dialogs.material import MaterialDialog
from counter_tui.dialogs.next_applicant import NextApplicantDialog
from counter_tui.screens.counter import CounterScreen
from counter_tui.services import viewing
from tests.support.factories import logged_in, tiny_archive
from tests.support.pilot import wait_for

HOSTILE = [
    "\x00\x07\x1b[31m\x7f",
    "长" * 10_000,
    "",
    "第一行\n第二行\r\n第三行",
    "'; DROP TABLE material; --",
    "ＡＢＣ１２３　全角（测试）",
    "😀👨‍👩‍👧 e\u0301 \u202etxt",
]


def echo(request: object) -> object:
    """A dialog's write that stores nothing and returns the validated request it was given."""
    return request


def clean(value: str) -> bool:
    """No control or format characters, one line."""
    return not any(unicodedata.category(ch) == "Cc" for ch in value) and "\n" not in value


@pytest.fixture
async def app_and_view(tmp_path: Path):
    archive = tiny_archive(tmp_path)
    ctx = build_context(archive.settings)
    ctx.workplace = logged_in(archive)
    view = viewing.load_view(archive.db, archive.ids["DA00000001"])
    app = CounterApp(ctx)
    async with app.run_test(size=(120, 45)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        yield app, pilot, view


async def run_dialog(app, pilot, screen, fill) -> tuple[object, str]:  # noqa: ANN001
    """Push ``screen``, let ``fill(screen)`` type into it, confirm with ctrl+s (or Enter for
    the ticket); return (the dismissed value or a sentinel, the error text)."""
    results: list[object] = []
    await app.push_screen(screen, results.append)
    await pilot.pause()
    await fill(screen)
    await pilot.press("enter" if isinstance(screen, NextApplicantDialog) else "ctrl+s")
    await app.workers.wait_for_complete()  # a write dialog writes in a worker
    await pilot.pause()
    error = str(screen.query_one("#error", Static).render()) if screen.is_attached else ""
    if not results:
        assert error, "the dialog neither closed nor said what is wrong"
        await pilot.press("escape")
        await wait_for(lambda: results == [None], pilot)
        return None, error
    return results[0], error


async def paste(pilot, widget: Input, text: str) -> None:  # noqa: ANN001
    widget.focus()
    widget.post_message(events.Paste(text))
    await pilot.pause()


@pytest.mark.parametrize("hostile", HOSTILE, ids=range(len(HOSTILE)))
async def test_certificate_dialog(app_and_view, hostile: str) -> None:
    app, pilot, view = app_and_view

    async def fill(screen) -> None:  # noqa: ANN001
        await pilot.press("1")
        await paste(pilot, screen.query_one("#purpose", Input), hostile)

    request, error = await run_dialog(app, pilot, CertificateDialog(view, [], echo), fill)
    if request is not None:
        assert clean(request.purpose) and 0 < len(request.purpose) <= 60
    else:
        assert "用途" in error
    assert isinstance(app.screen, CounterScreen)


@pytest.mark.parametrize("hostile", HOSTILE, ids=range(len(HOSTILE)))
async def test_certificate_agent_fields(app_and_view, hostile: str) -> None:
    app, pilot, view = app_and_view

    async def fill(screen) -> None:  # noqa: ANN001
        await pilot.press("1")
        await paste(pilot, screen.query_one("#purpose", Input), "入职")
        screen.query_one("#agent").value = True
        await pilot.pause()
        await paste(pilot, screen.query_one("#agent_name", Input), hostile)
        await paste(pilot, screen.query_one("#agent_id", Input), hostile)

    request, error = await run_dialog(app, pilot, CertificateDialog(view, [], echo), fill)
    assert request is None  # no hostile text is a valid resident ID or both fields at once
    assert "代理人" in error


@pytest.mark.parametrize("hostile", HOSTILE, ids=range(len(HOSTILE)))
async def test_consultation_dialog(app_and_view, hostile: str) -> None:
    app, pilot, view = app_and_view

    async def fill(screen) -> None:  # noqa: ANN001
        await paste(pilot, screen.query_one("#requesting_unit", Input), hostile)
        await paste(pilot, screen.query_one("#approval_no", Input), "组审15号")
        await paste(pilot, screen.query_one("#purpose", Input), hostile)
        await paste(pilot, screen.query_one("#readers", Input), hostile)

    shown = view.materials[:1]
    request, error = await run_dialog(app, pilot, ConsultationDialog(view, shown, echo), fill)
    if request is not None:
        for value in (request.requesting_unit, request.purpose, request.readers):
            assert clean(value) and len(value) <= 100
    else:
        assert error


@pytest.mark.parametrize("hostile", HOSTILE, ids=range(len(HOSTILE)))
async def test_supplement_dialog(app_and_view, hostile: str) -> None:
    app, pilot, view = app_and_view

    async def fill(screen) -> None:  # noqa: ANN001
        for field, value in (
            ("category", hostile),
            ("title", hostile),
            ("formed_on", hostile),
            ("page_count", hostile),
            ("remark", hostile),
        ):
            await paste(pilot, screen.query_one(f"#{field}", Input), value)

    fields, error = await run_dialog(app, pilot, MaterialDialog(view, echo), fill)
    assert fields is None and error  # no hostile text is a category code


@pytest.mark.parametrize("hostile", HOSTILE, ids=range(len(HOSTILE)))
async def test_next_applicant_ticket(app_and_view, hostile: str) -> None:
    app, pilot, view = app_and_view

    async def fill(screen) -> None:  # noqa: ANN001
        await paste(pilot, screen.query_one("#ticket", Input), hostile)

    answer, error = await run_dialog(app, pilot, NextApplicantDialog(), fill)
    if answer is not None:
        # No ticket is made of hostile text: at most a lookup for the counter to refuse.
        assert answer.ticket == ""
        assert answer.lookup == "" or answer.lookup == hostile.strip() or "\n" in hostile
    else:
        assert "A023" in error


@pytest.mark.parametrize(
    ("typed", "ticket", "lookup"),
    [
        ("a023", "A023", ""),
        ("Ｂ－１０５", "B-105", ""),
        ("17", "17", ""),
        ("", "", ""),
        ("DA00000001", "", "DA00000001"),
        ("11010519491231002X", "", "11010519491231002X"),
        ("/张", "", "/张"),
    ],
)
async def test_the_ticket_box_takes_tickets_and_passes_lookups_on(
    app_and_view, typed: str, ticket: str, lookup: str
) -> None:  # noqa: ANN001
    app, pilot, view = app_and_view

    async def fill(screen) -> None:  # noqa: ANN001
        await paste(pilot, screen.query_one("#ticket", Input), typed)

    answer, error = await run_dialog(app, pilot, NextApplicantDialog(), fill)
    assert (answer.ticket, answer.lookup) == (ticket, lookup)


async def test_a_refused_certificate_keeps_the_dialog_and_what_was_chosen(app_and_view) -> None:  # noqa: ANN001
    from counter_tui.services import issuance

    app, pilot, view = app_and_view
    calls: list[object] = []

    def refuse(request: object) -> object:
        calls.append(request)
        raise issuance.IssuanceError("purpose", "该用途不能出具此证明")

    results: list[object] = []
    dialog = CertificateDialog(view, [], refuse)
    await app.push_screen(dialog, results.append)
    await pilot.press("1", "1", "enter")
    await app.workers.wait_for_complete()
    await pilot.pause()

    assert len(calls) == 1 and results == [] and app.screen is dialog
    assert "该用途不能出具此证明" in str(dialog.query_one("#error", Static).render())
    assert dialog.kind_code == "custody"
    assert dialog.query_one("#purpose", Input).value == "办理生育服务证"
    assert dialog.focused is dialog.query_one("#purpose", Input)


async def test_esc_while_a_certificate_is_being_issued_does_not_lose_it(app_and_view) -> None:  # noqa: ANN001
    import threading

    app, pilot, view = app_and_view
    release = threading.Event()

    def slow_issue(request: object) -> object:
        release.wait(5)
        return request

    results: list[object] = []
    dialog = CertificateDialog(view, [], slow_issue)
    await app.push_screen(dialog, results.append)
    await pilot.press("1", "1", "enter")
    await pilot.pause()
    await pilot.press("escape")  # the issue is under way: Esc must not report "cancelled"
    await pilot.pause()
    assert results == [] and app.screen is dialog
    release.set()
    await wait_for(lambda: results, pilot)
    assert results[0] is not None and results[0].kind_code == "custody"
