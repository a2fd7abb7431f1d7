"""Log-in, role modes and the idle lock through Pilot with real key presses."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Static

from counter_tui.app import CounterApp
from counter_tui.context import build_context
from counter_tui.dialogs.lock import LockDialog
from counter_tui.screens.audit import AuditScreen
from counter_tui.screens.counter import CounterScreen
from counter_tui.screens.login import LoginScreen
from counter_tui.widgets.scan_input import ScanInput
from tests.support.factories import PASSWORD, tiny_archive
from tests.support.pilot import wait_for


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_app(tmp_path: Path, clock=None) -> tuple[CounterApp, list[float]]:  # noqa: ANN001
    archive = tiny_archive(tmp_path)
    ctx = build_context(archive.settings)
    app = CounterApp(ctx, clock=clock or FakeClock())
    slept: list[float] = []
    LoginScreen.sleep = staticmethod(slept.append)  # record the delays instead of waiting
    LockDialog.sleep = staticmethod(slept.append)
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
