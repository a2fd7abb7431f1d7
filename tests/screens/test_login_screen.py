"""Log-in, role modes and the idle lock through Pilot with real key presses."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from counter_tui.app import CounterApp
from counter_tui.context import build_context
from counter_tui.db.models import utcnow
from counter_tui.dialogs.lock import LockDialog
from counter_tui.screens.audit import AuditScreen
from counter_tui.screens.counter import CounterScreen
from counter_tui.screens.login import LoginScreen
from counter_tui.services import access_log, auth
from counter_tui.widgets.scan_input import ScanInput
from tests.support.factories import PASSWORD, tiny_archive
from tests.support.pilot import wait_for


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


_WAITED = [0.0]


@pytest.fixture(autouse=True)
def service_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The log-in service refuses attempts during the delay by its own clock: the delays the
    forms 'sleep' (recorded, not waited) move that clock on."""
    _WAITED[0] = 0.0

    def now() -> dt.datetime:
        return utcnow() + dt.timedelta(seconds=_WAITED[0])

    monkeypatch.setattr(auth, "_now", now)
    monkeypatch.setattr(access_log, "utcnow", now)  # events are stamped on the same clock


def make_app(tmp_path: Path, clock=None) -> tuple[CounterApp, list[float]]:  # noqa: ANN001
    archive = tiny_archive(tmp_path)
    ctx = build_context(archive.settings)
    app = CounterApp(ctx, clock=clock or FakeClock())
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # record the delays instead of waiting
        slept.append(seconds)
        _WAITED[0] += seconds

    LoginScreen.sleep = staticmethod(sleep)
    LockDialog.sleep = staticmethod(sleep)
    return app, slept


async def log_in(pilot, username: str, password: str) -> None:  # noqa: ANN001
    await pilot.press(*username, "enter", *password, "enter")


async def test_wrong_then_right_password(tmp_path: Path) -> None:
    app, slept = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, LoginScreen), pilot)
        await log_in(pilot, "clerk1", "not it!!")
        message = app.screen.query_one("#login-message", Static)
        await wait_for(lambda: "错误" in str(message.render()), pilot)
        assert slept == [1.0]
        assert app.screen.query_one("#password", Input).value == ""
        assert app.screen.query_one("#username", Input).value == "clerk1"  # kept
        await pilot.press(*"still not", "enter")
        await wait_for(lambda: slept == [1.0, 2.0], pilot)
        await pilot.press(*PASSWORD, "enter")
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        assert app.ctx.workplace.clerk.username == "clerk1"


async def test_hostile_input_in_the_log_in_form(tmp_path: Path) -> None:
    app, slept = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, LoginScreen), pilot)
        from textual import events

        username = app.screen.query_one("#username", Input)
        username.post_message(events.Paste("x" * 10_000))
        await pilot.press("enter", *"pw", "enter")
        message = app.screen.query_one("#login-message", Static)
        await wait_for(lambda: "64" in str(message.render()), pilot)
        username.clear()
        username.focus()
        await pilot.press("enter", "enter")
        await wait_for(lambda: "用户名" in str(message.render()), pilot)
        assert isinstance(app.screen, LoginScreen)


async def test_auditor_gets_the_access_log(tmp_path: Path) -> None:
    app, _slept = make_app(tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, LoginScreen), pilot)
        await log_in(pilot, "audit1", PASSWORD)
        await wait_for(lambda: isinstance(app.screen, AuditScreen), pilot)
        from textual.widgets import DataTable

        table = app.screen.query_one(DataTable)
        await wait_for(lambda: table.row_count > 0, pilot)
        assert "登录" in [str(c) for c in table.get_row_at(0)]  # "logged in", translated
        await pilot.press("v")
        message = app.screen.query_one("#message", Static)
        await wait_for(lambda: "未发现篡改" in str(message.render()), pilot)


async def test_idle_lock_keeps_the_typed_text_and_the_timer(tmp_path: Path) -> None:
    clock = FakeClock()
    app, _slept = make_app(tmp_path, clock)
    app.ctx.settings.idle_lock_minutes = 5
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, LoginScreen), pilot)
        await log_in(pilot, "clerk1", PASSWORD)
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        await pilot.press(*"DA0000")
        app.ctx.visit = __import__("counter_tui.read_models", fromlist=["Visit"]).Visit()
        started = app.ctx.visit.started
        clock.now += 4 * 60
        app.lock_if_idle()
        await pilot.pause()
        assert not isinstance(app.screen, LockDialog)
        clock.now += 61
        app.lock_if_idle()
        await wait_for(lambda: isinstance(app.screen, LockDialog), pilot)
        await pilot.press(*"wrong one", "enter")
        message = app.screen.query_one("#error", Static)
        await wait_for(lambda: "错误" in str(message.render()), pilot)
        assert isinstance(app.screen, LockDialog)
        await pilot.press(*PASSWORD, "enter")
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        assert app.screen.query_one(ScanInput).value == "DA0000"
        assert app.ctx.visit is not None and app.ctx.visit.started == started


async def test_counter_messages_after_a_real_log_in_are_not_drawn_as_errors(
    tmp_path: Path,
) -> None:
    # Regression: styles/login.tcss once styled #message for the whole app, so after a log-in
    # through the screen every counter message ("正在查找…") was drawn in the error colour.
    app, _slept = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, LoginScreen), pilot)
        await log_in(pilot, "clerk1", PASSWORD)
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        screen = app.screen
        message = screen.query_one("#message")
        screen.show_message("可以接待下一位", level="error")
        await pilot.pause()
        error_colour = message.rich_style.color
        screen.show_message("可以接待下一位", level="info")
        await pilot.pause()
        assert message.rich_style.color != error_colour
        assert not message.has_class("-error")


class SlowCheck:
    """An authenticate stand-in that holds each check until the test releases it, then
    refuses (a wrong password) — as a check during a long delay would."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.release = threading.Event()

    def __call__(self, username: str, password: str):  # noqa: ANN204
        self.calls.append((username, password))
        assert self.release.wait(10)
        raise auth.AuthError("wrong_password", "用户名或密码错误。")


def slow_app(tmp_path: Path) -> tuple[CounterApp, SlowCheck]:
    app, _slept = make_app(tmp_path)
    check = SlowCheck()
    app.ctx.authenticate = check  # type: ignore[method-assign]
    return app, check


async def test_one_check_at_a_time_a_second_enter_does_nothing(tmp_path: Path) -> None:
    app, check = slow_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, LoginScreen), pilot)
        await log_in(pilot, "clerk1", "not it!!")
        await wait_for(lambda: len(check.calls) == 1, pilot)
        await pilot.press("enter", "enter")
        await pilot.pause(0.1)
        assert check.calls == [("clerk1", "not it!!")]
        check.release.set()
        message = app.screen.query_one("#login-message", Static)
        await wait_for(lambda: "错误" in str(message.render()), pilot)
        await pilot.press(*"again 12", "enter")  # the answer came: the next Enter checks
        await wait_for(lambda: len(check.calls) == 2, pilot)
        assert check.calls[1] == ("clerk1", "again 12")


async def test_a_late_refusal_never_clears_what_the_next_person_types(tmp_path: Path) -> None:
    app, check = slow_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, LoginScreen), pilot)
        await log_in(pilot, "clerk1", "not it!!")
        await wait_for(lambda: len(check.calls) == 1, pilot)
        # The next person, while the refusal is still on its way: a new username, a new
        # password.
        username = app.screen.query_one("#username", Input)
        password = app.screen.query_one("#password", Input)
        username.value = ""
        username.focus()
        await pilot.press(*"clerk2", "enter")
        password.value = ""
        await pilot.press(*"secret 2")
        check.release.set()
        message = app.screen.query_one("#login-message", Static)
        await wait_for(lambda: "错误" in str(message.render()), pilot)
        assert (username.value, password.value) == ("clerk2", "secret 2")
        assert app.screen.focused is password


async def test_a_late_refusal_clears_only_the_refused_password(tmp_path: Path) -> None:
    app, check = slow_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, LoginScreen), pilot)
        await log_in(pilot, "clerk1", "not it!!")
        await wait_for(lambda: len(check.calls) == 1, pilot)
        # The next person starts on the username; the old password is still in its field.
        username = app.screen.query_one("#username", Input)
        username.value = ""
        username.focus()
        await pilot.press(*"cle")
        check.release.set()
        message = app.screen.query_one("#login-message", Static)
        await wait_for(lambda: "错误" in str(message.render()), pilot)
        password = app.screen.query_one("#password", Input)
        assert (username.value, password.value) == ("cle", "")  # the refused one is gone
        assert app.screen.focused is username  # the cursor stays where they type


async def test_the_idle_lock_checks_once_and_keeps_a_retyped_password(tmp_path: Path) -> None:
    clock = FakeClock()
    app, _slept = make_app(tmp_path, clock)
    app.ctx.settings.idle_lock_minutes = 5
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, LoginScreen), pilot)
        await log_in(pilot, "clerk1", PASSWORD)
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        check = SlowCheck()
        app.ctx.authenticate = check  # type: ignore[method-assign]
        clock.now += 6 * 60
        app.lock_if_idle()
        await wait_for(lambda: isinstance(app.screen, LockDialog), pilot)
        lock = app.screen
        lock.authenticate = check  # the dialog was given the context's method
        await pilot.press(*"wrong one", "enter")
        await wait_for(lambda: len(check.calls) == 1, pilot)
        await pilot.press("enter")
        password = lock.query_one("#password", Input)
        password.value = ""
        await pilot.press(*"typed anew")
        await pilot.pause(0.1)
        assert len(check.calls) == 1
        check.release.set()
        error = lock.query_one("#error", Static)
        await wait_for(lambda: "错误" in str(error.render()), pilot)
        assert password.value == "typed anew"
