"""Log-in on start, and the idle lock that asks for the same clerk's password again."""

from __future__ import annotations

import time

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Static

from counter_tui.context import AppContext
from counter_tui.i18n import _
from counter_tui.screens.dialog import Dialog
from counter_tui.services import auth
from counter_tui.services.workplace import Workplace


class LoggedIn(Message):
    """The credentials were accepted; ``workplace`` is the account's."""

    def __init__(self, workplace: Workplace) -> None:
        super().__init__()
        self.workplace = workplace


class LoginRefused(Message):
    """The credentials were refused; ``message`` is for the user, ``reason`` the AuthError's."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__()
        self.message = message
        self.reason = reason


class _CredentialsForm:
    """Shared behaviour of the log-in and lock screens: check in a worker, wait the growing
    delay after a wrong password, then answer."""

    ctx: AppContext
    sleep = staticmethod(time.sleep)

    @work(thread=True, group="auth")
    def check(self, username: str, password: str) -> None:
        """Authenticate (worker thread); posts LoggedIn or LoginRefused."""
        try:
            place = auth.authenticate(
                self.ctx.db, username, password, counter=self.ctx.settings.counter
            )
        except auth.AuthError as exc:
            if exc.delay_s:
                self.sleep(exc.delay_s)
            self.post_message(LoginRefused(str(exc), exc.reason))  # type: ignore[attr-defined]
            return
        except Exception as exc:  # noqa: BLE001 - the form must stay usable
            self.post_message(
                LoginRefused(  # type: ignore[attr-defined]
                    _("Log-in is not possible right now: {error}").format(error=type(exc).__name__)
                )
            )
            return
        self.post_message(LoggedIn(place))  # type: ignore[attr-defined]


class LoginScreen(_CredentialsForm, Screen):
    """Username and password; Enter moves on, Enter on the password logs in."""

    CSS_PATH = "../styles/login.tcss"
    BINDINGS = [Binding("ctrl+q", "app.quit", _("Quit"), id="login.quit")]

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Label(_("Archive counter — log in"), id="form-title")
            yield Input(id="username", placeholder=_("Username"))
            yield Input(id="password", placeholder=_("Password"), password=True)
            yield Static("", id="message")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#username", Input).focus()

    @on(Input.Submitted, "#username")
    def username_done(self) -> None:
        self.query_one("#password", Input).focus()

    @on(Input.Submitted, "#password")
    def password_done(self) -> None:
        username = self.query_one("#username", Input).value
        password = self.query_one("#password", Input).value
        if not username.strip():
            self.show(_("Please fill in the {what}.").format(what=_("username")))
            self.query_one("#username", Input).focus()
            return
        self.show(_("Checking…"))
        self.check(username, password)

    def show(self, text: str) -> None:
        """Show a message under the form."""
        self.query_one("#message", Static).update(text)

    @on(LoginRefused)
    def refused(self, event: LoginRefused) -> None:
        self.show(event.message)
        password = self.query_one("#password", Input)
        password.clear()
        password.focus()

    @on(LoggedIn)
    def logged_in(self, event: LoggedIn) -> None:
        self.query_one("#password", Input).clear()
        self.app.logged_in(event.workplace)  # type: ignore[attr-defined]


class LockScreen(_CredentialsForm, Dialog[None]):
    """Shown after the idle time: only the password of the clerk who locked it unlocks.
    Everything under it (typed text, the service timer) stays as it was."""

    CSS_PATH = "../styles/login.tcss"

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx

    def compose(self) -> ComposeResult:
        clerk = self.ctx.workplace.clerk if self.ctx.workplace else None
        with Vertical(id="form"):
            yield Label(
                _("Locked after inactivity — {name}, enter your password").format(
                    name=clerk.name if clerk else ""
                ),
                id="form-title",
            )
            yield Input(id="password", placeholder=_("Password"), password=True)
            yield Static("", id="message")

    def on_mount(self) -> None:
        self.query_one("#password", Input).focus()

    @on(Input.Submitted, "#password")
    def password_done(self) -> None:
        clerk = self.ctx.workplace.clerk if self.ctx.workplace else None
        self.query_one("#message", Static).update(_("Checking…"))
        self.check(clerk.username if clerk else "", self.query_one("#password", Input).value)

    @on(LoginRefused)
    def refused(self, event: LoginRefused) -> None:
        message = _("Wrong password.") if event.reason == "wrong_password" else event.message
        self.query_one("#message", Static).update(message)
        self.query_one("#password", Input).clear()

    @on(LoggedIn)
    def unlocked(self, event: LoggedIn) -> None:
        self.close(None)
