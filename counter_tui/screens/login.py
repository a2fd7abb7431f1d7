"""Log-in on start (the idle lock that asks for the same password again is dialogs.lock)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Static

from counter_tui.context import AppContext
from counter_tui.dialogs.lock import CredentialsCheck, LoggedIn, LoginRefused
from counter_tui.i18n import _


class LoginScreen(CredentialsCheck, Screen):
    """Username and password; Enter moves on, Enter on the password logs in."""

    CSS_PATH = "../styles/login.tcss"
    BINDINGS = [Binding("ctrl+q", "app.quit", _("Quit"), id="login.quit")]

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.authenticate = ctx.authenticate

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Label(_("Archive counter — log in"), id="form-title")
            yield Input(id="username", placeholder=_("Username"))
            yield Input(id="password", placeholder=_("Password"), password=True)
            yield Static("", id="login-message")
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
        self.query_one("#login-message", Static).update(text)

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
