"""A scan or ID swipe never acts inside a dialog (issue 8 §1).

Each dialog is opened through the screens with real keys; then a keyboard-wedge burst (an
ID-card number starting with 1, which as keys would choose kind 1 and purpose 1 and press
Enter; a dossier barcode) arrives at 0 ms (one terminal read), 10, 25 and 40 ms a key. Nothing
may be chosen, typed, confirmed or written; the scan is kept as the next lookup and offered
back at the counter. The same keys at 120 ms a key are a person typing and work as usual.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlmodel import func, select
from textual.widgets import Input, OptionList

from counter_tui.app import CounterApp
from counter_tui.context import build_context
from counter_tui.db.models import (
    AccessEvent,
    Certificate,
    Consultation,
    Material,
    ServiceEvent,
    ServiceVisit,
)
from counter_tui.dialogs.certificate import CertificateDialog
from counter_tui.dialogs.consultation import ConsultationDialog
from counter_tui.dialogs.end_service import EndServiceDialog
from counter_tui.dialogs.lock import LockDialog
from counter_tui.dialogs.material import MaterialDialog
from counter_tui.dialogs.next_applicant import NextApplicantDialog
from counter_tui.screens.counter import CounterScreen
from counter_tui.screens.dossier import DossierScreen
from counter_tui.screens.login import LoginScreen
from counter_tui.widgets.scan_input import ScanInput
from tests.support.factories import PASSWORD, counter_app, tiny_archive
from tests.support.pilot import burst, key_event, type_slowly, wait_for

ID_SWIPE = "11010519491231002X"  # as keys: kind 1, purpose 1, … then Enter
BARCODE = "DA00000002"
GAPS_MS = (0, 10, 25, 40)
TABLES = (Certificate, Consultation, Material, AccessEvent, ServiceEvent, ServiceVisit)


def counts(app: CounterApp) -> dict[str, int]:
    """Rows per table that a dialog could write."""
    with app.ctx.db.read() as s:
        return {t.__name__: s.exec(select(func.count()).select_from(t)).one() for t in TABLES}


def field_values(screen) -> dict[str, str]:  # noqa: ANN001
    return {str(i.id): i.value for i in screen.query(Input)}


async def open_dossier(app: CounterApp, pilot) -> DossierScreen:  # noqa: ANN001
    await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
    await pilot.press(*"DA00000001", "enter")
    await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
    return app.screen


async def to_certificate(app, pilot) -> None:  # noqa: ANN001
    await open_dossier(app, pilot)
    await pilot.press("space", "c")
    await wait_for(lambda: isinstance(app.screen, CertificateDialog), pilot)
    # The certificate font loads meanwhile (the first time on a machine its common-character
    # copy is built: ~2 s holding the interpreter, keys typed then arrive seconds apart).
    # These tests are about the keys' timing, so they start once it is loaded.
    await wait_for(
        lambda: not [w for w in app.workers if w.group == "warm-up" and w.is_running],
        pilot,
        timeout=60,
    )


async def to_certificate_kind_chosen(app, pilot) -> None:  # noqa: ANN001
    await to_certificate(app, pilot)
    await pilot.press("1")
    await wait_for(lambda: app.screen.step == "purpose", pilot)


async def to_consultation(app, pilot) -> None:  # noqa: ANN001
    await open_dossier(app, pilot)
    await pilot.press("space", "q")
    await wait_for(lambda: isinstance(app.screen, ConsultationDialog), pilot)


async def to_material(app, pilot) -> None:  # noqa: ANN001
    await open_dossier(app, pilot)
    await pilot.press("a")
    await wait_for(lambda: isinstance(app.screen, MaterialDialog), pilot)


async def to_next_applicant(app, pilot) -> None:  # noqa: ANN001
    await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
    await pilot.press("f2")
    await wait_for(lambda: isinstance(app.screen, NextApplicantDialog), pilot)


async def to_end_service(app, pilot) -> None:  # noqa: ANN001
    await open_dossier(app, pilot)
    await pilot.press("f4")
    await wait_for(lambda: isinstance(app.screen, EndServiceDialog), pilot)


async def to_pick_list(app, pilot) -> None:  # noqa: ANN001
    await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
    await pilot.press("/", *"张", "enter")
    await wait_for(lambda: app.screen.query_one("#choices", OptionList).has_focus, pilot)


async def to_lock(app, pilot) -> None:  # noqa: ANN001
    await open_dossier(app, pilot)
    app.last_activity -= 3600
    app.lock_if_idle()
    await wait_for(lambda: isinstance(app.screen, LockDialog), pilot)


DIALOGS: dict[str, Callable[..., Awaitable[None]]] = {
    "certificate": to_certificate,
    "certificate-kind-chosen": to_certificate_kind_chosen,
    "consultation": to_consultation,
    "material": to_material,
    "next-applicant": to_next_applicant,
    "end-service": to_end_service,
    "pick-list": to_pick_list,
    "idle-lock": to_lock,
}


@pytest.mark.parametrize("where", list(DIALOGS))
async def test_a_burst_never_acts_in_a_dialog(tmp_path: Path, where: str) -> None:
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await DIALOGS[where](app, pilot)
        await pilot.pause(0.2)  # the dialog has focused its first field
        dialog = app.screen
        focused = app.focused
        before_rows = counts(app)
        before_fields = field_values(dialog)
        before_state = getattr(dialog, "step", None), getattr(dialog, "kind_code", None)
        highlighted = getattr(focused, "highlighted", None)
        sent = []
        for gap in GAPS_MS:
            for text in (ID_SWIPE, BARCODE):
                await burst(pilot, text, gap)
                sent.append(text)
                assert app.screen is dialog, (gap, text)
                assert app.focused is focused
                assert field_values(dialog) == before_fields
                assert (getattr(dialog, "step", None), getattr(dialog, "kind_code", None)) == (
                    before_state
                )
                assert getattr(focused, "highlighted", None) == highlighted
        await app.workers.wait_for_complete()
        assert counts(app) == before_rows
        assert app.ctx.scans == [sent[-1]]  # the newest is kept as the next lookup


async def test_the_scan_kept_in_a_dialog_is_offered_at_the_counter(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await to_certificate(app, pilot)
        await burst(pilot, BARCODE, 10)
        toasts = [str(n.message) for n in app._notifications]
        assert any(BARCODE in t and "完成当前操作后查询" in t for t in toasts)
        await pilot.press("escape")
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
        await pilot.press("escape")
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        scan = app.screen.query_one(ScanInput)
        assert scan.value == BARCODE and app.ctx.scans == []
        await pilot.press("enter")  # the clerk looks it up: 张敏 is another applicant
        await wait_for(
            lambda: isinstance(app.screen, DossierScreen) and app.screen.view.dossier_no == BARCODE,
            pilot,
        )


async def test_typing_at_a_persons_pace_still_issues(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await to_certificate(app, pilot)
        await type_slowly(pilot, ["1", "1", "enter"], 0.12)
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
        assert app.ctx.scans == []
    with archive.db.read() as s:
        assert s.exec(select(Certificate.kind)).all() == ["custody"]


async def test_a_ticket_typed_at_a_persons_pace_is_taken(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await to_next_applicant(app, pilot)
        await type_slowly(pilot, [*"A0231", "enter"], 0.12)
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        await app.workers.wait_for_complete()
        assert app.ctx.visit.ticket == "A0231"


async def test_the_idle_lock_unlocks_with_a_typed_password_but_a_scan_is_no_log_in(
    tmp_path: Path,
) -> None:
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await to_lock(app, pilot)
        lock = app.screen
        await burst(pilot, ID_SWIPE, 0)
        await pilot.press("enter")  # Enter on the empty field: no attempt, nothing logged
        await app.workers.wait_for_complete()
        with archive.db.read() as s:
            failed = s.exec(select(AccessEvent).where(AccessEvent.kind == "login_failed")).all()
        assert failed == [] and app.screen is lock
        await type_slowly(pilot, [*PASSWORD, "enter"], 0.09)
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)


async def login_app(tmp_path: Path) -> CounterApp:
    archive = tiny_archive(tmp_path)
    return CounterApp(build_context(archive.settings))


@pytest.mark.parametrize("gap", GAPS_MS)
async def test_a_burst_at_log_in_fills_no_field(tmp_path: Path, gap: int) -> None:
    app = await login_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(lambda: isinstance(app.screen, LoginScreen), pilot)
        await type_slowly(pilot, "clerk1", 0.09)
        await burst(pilot, ID_SWIPE, gap)
        assert field_values(app.screen) == {"username": "clerk1", "password": ""}
        assert app.screen.query_one("#username").has_focus
        assert app.ctx.scans == [ID_SWIPE]
        # The clerk logs in; the counter offers the scan as its first lookup.
        await type_slowly(pilot, ["enter", *PASSWORD, "enter"], 0.09)
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        assert app.screen.query_one(ScanInput).value == ID_SWIPE


@pytest.mark.parametrize("enter", ["enter", "ctrl+j"])
async def test_typing_ahead_while_the_app_starts_logs_in(tmp_path: Path, enter: str) -> None:
    """``clerk1⏎password⏎`` typed before the log-in screen is up (the terminal delivers it
    in one read, the Enters as line feeds when typed before raw mode)."""
    app = await login_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        # What the driver read before the first screen was up: stamped before it is ready.
        app._ready_at = None
        for name in [*"clerk1", enter, *PASSWORD, enter]:
            app.post_message(key_event(name))
        app.call_later(app._ready)
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        assert app.ctx.workplace.clerk.username == "clerk1"


async def test_with_a_scanner_prefix_even_a_slow_scan_is_a_scan(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    archive.settings.scanner_prefix = "\x02"  # STX: arrives as ctrl+b
    app = counter_app(archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await to_certificate(app, pilot)
        dialog = app.screen
        await type_slowly(pilot, ["ctrl+b", *BARCODE, "enter"], 0.12)
        assert app.screen is dialog and dialog.step == "kind"
        assert app.ctx.scans == [BARCODE]
        # At the counter's own input, the prefix is not typed into the field.
        await pilot.press("escape")
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
        await pilot.press("escape")
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        await pilot.press("ctrl+a", "backspace")  # the offered scan is cleared
        await type_slowly(pilot, ["ctrl+b", *"DA00000001", "enter"], 0.12)
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
        assert app.screen.view.dossier_no == "DA00000001"


async def test_a_chinese_phrase_from_an_input_method_is_typed_not_scanned(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await to_consultation(app, pilot)
        await pilot.pause(0.2)
        await burst(pilot, "朝阳区委组织部", 0, end=None)  # a pinyin IME commits the phrase
        assert app.screen.query_one("#requesting_unit", Input).value == "朝阳区委组织部"
        assert app.ctx.scans == []


async def test_a_short_code_and_enter_in_one_read_issues_nothing(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await to_certificate_kind_chosen(app, pilot)
        await burst(pilot, "A1234", 0)
        await app.workers.wait_for_complete()
        assert isinstance(app.screen, CertificateDialog) and app.screen.step == "purpose"
        assert counts(app)["Certificate"] == 0
        assert app.ctx.scans == ["A1234"]


async def test_the_newest_kept_scan_is_offered(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await to_certificate(app, pilot)
        await burst(pilot, ID_SWIPE, 10)
        await burst(pilot, BARCODE, 10)
        await pilot.press("escape")
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
        await pilot.press("escape")
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        assert app.screen.query_one(ScanInput).value == BARCODE
        assert app.ctx.scans == []


async def test_a_scan_after_typed_text_at_the_counter_is_looked_up_by_itself(
    tmp_path: Path,
) -> None:
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        counter = app.screen
        await type_slowly(pilot, "1301", 0.12)
        await burst(pilot, BARCODE, 0)
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
        assert app.screen.view.dossier_no == BARCODE
        assert counter.query_one(ScanInput).value == "1301"  # what the clerk typed stays


async def test_a_scan_kept_while_the_clerk_has_typed_something_waits_for_esc(
    tmp_path: Path,
) -> None:
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        counter = app.screen
        scan = counter.query_one(ScanInput)
        await type_slowly(pilot, "/李", 0.12)
        app.keep_scan(BARCODE)  # as if it came while a dialog was open
        counter._offer_pending()  # back at the counter
        assert "Esc" in str(counter.query_one("#message").render())
        assert app.ctx.scans == [BARCODE]
        await pilot.press("escape")
        assert scan.value == BARCODE and app.ctx.scans == []


async def test_a_password_typed_fast_is_never_shown_or_kept(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await to_lock(app, pilot)
        await pilot.pause(0.2)
        await burst(pilot, "horse-battery9", 30)  # a practised password, 30 ms a key
        toasts = " ".join(str(n.message) for n in app._notifications)
        assert "horse" not in toasts and "重新输入密码" in toasts
        assert app.ctx.scans == [] and isinstance(app.screen, LockDialog)
        assert app.screen.query_one("#password", Input).value == ""
