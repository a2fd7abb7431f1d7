"""Log-in on start (the idle lock that asks for the same password again is dialogs.lock)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Input, Label, Static

from counter_tui.context import AppContext
from counter_tui.dialogs.lock import CredentialsCheck, LoggedIn, LoginRefused
from counter_tui.i18n import _
from counter_tui.widgets.footer import Footer
from counter_tui.widgets.preset_input import DialogInput


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
            yield DialogInput(id="username", placeholder=_("Username"))
            yield DialogInput(id="password", placeholder=_("Password"), password=True)
            yield Static("", id="login-message")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#username", Input).focus()

    @on(Input.Submitted, "#username")
    def username_done(self) -> None:
        # At once, not after the app's queue (Widget.focus): the next key typed goes to it.
        self.set_focus(self.query_one("#password", Input))

    @on(Input.Submitted, "#password")
    def password_done(self) -> None:
        if self.checking:  # one check at a time: Enter again while it runs does nothing
            return
        username = self.query_one("#username", Input).value
        password = self.query_one("#password", Input).value
        if not username.strip():
            self.show(_("Please fill in the {what}.").format(what=_("username")))
            self.query_one("#username", Input).focus()
            return
        if not password:
            self.show(_("Please fill in the {what}.").format(what=_("password")))
            return
        if self.submit(username, password):
            self.show(_("Checking…"))

    def take_typed_ahead(self, text: str) -> None:
        """Keys typed while the app was starting, as text with ``\\n`` for each Enter:
        ``user⏎password⏎`` logs in, ``user⏎pass`` leaves the password to finish. Called by
        the app once this screen is up (otherwise the password would land in the username
        field: focus moves only after the keys already queued)."""
        username = self.query_one("#username", Input)
        password = self.query_one("#password", Input)
        lines = text.split("\n")
        done = len(lines) - 1  # lines ended by Enter
        username.insert_text_at_cursor(lines[0])
        if done == 0:
            return
        password.focus()
        if len(lines) > 1:
            password.insert_text_at_cursor(lines[1])
        if done >= 2:
            self.password_done()

    def show(self, text: str) -> None:
        """Show a message under the form."""
        self.query_one("#login-message", Static).update(text)

    @on(LoginRefused)
    def refused(self, event: LoginRefused) -> None:
        attempt = self.check_done()
        self.show(event.message)
        if attempt is None:
            return
        username = self.query_one("#username", Input)
        password = self.query_one("#password", Input)
        # A refusal can arrive long after Enter (the delay grows to 30 s): the next person
        # may be typing by then. Clear the password only while it still holds the refused
        # attempt, and move the cursor only while the form is as it was submitted.
        if password.value == attempt[1]:
            password.clear()
            if username.value == attempt[0]:
                password.focus()

    @on(LoggedIn)
    def logged_in(self, event: LoggedIn) -> None:
        self.check_done()
        self.query_one("#password", Input).clear()
        self.app.logged_in(event.workplace)  # type: ignore[attr-defined]
