"""The idle lock, and the credentials check it shares with the log-in screen."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static

from counter_tui.dialogs.base import Dialog, DialogInput
from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.read_models import Workplace

Authenticate = Callable[[str, str], Workplace]
"""``(username, password) → Workplace``; raises AuthError (``delay_s``: wait before answering)."""


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


class CredentialsCheck:
    """Shared behaviour of the log-in screen and the lock dialog: one check at a time, in a
    worker; wait the growing delay after a wrong password, then post LoggedIn or
    LoginRefused. The form calls :meth:`submit` on Enter and :meth:`check_done` when the
    answer arrives (which tells what was tried, so that a late refusal clears only a field
    that still holds the refused attempt)."""

    authenticate: Authenticate
    sleep = staticmethod(time.sleep)
    checking = False
    """True from :meth:`submit` until :meth:`check_done`: a second Enter does nothing."""
    _attempt: tuple[str, str] | None = None

    def submit(self, username: str, password: str) -> bool:
        """Start checking ``username`` / ``password`` unless a check is running (then nothing
        happens and False is returned)."""
        if self.checking:
            return False
        self.checking = True
        self._attempt = (username, password)
        self.check(username, password)
        return True

    def check_done(self) -> tuple[str, str] | None:
        """End the running check; returns the (username, password) it was for."""
        attempt, self._attempt = self._attempt, None
        self.checking = False
        return attempt

    @work(thread=True, group="auth")
    def check(self, username: str, password: str) -> None:
        """Authenticate (worker thread); posts LoggedIn or LoginRefused."""
        try:
            place = self.authenticate(username, password)
        except CounterError as exc:
            delay = getattr(exc, "delay_s", 0.0)
            if delay:
                self.sleep(delay)
            self.post_message(LoginRefused(str(exc), exc.reason))  # type: ignore[attr-defined]
            return
        except Exception as exc:  # noqa: BLE001 - the form must stay usable
            self.post_message(  # type: ignore[attr-defined]
                LoginRefused(
                    _("Log-in is not possible right now: {error}").format(error=type(exc).__name__)
                )
            )
            return
        self.post_message(LoggedIn(place))  # type: ignore[attr-defined]


class LockDialog(CredentialsCheck, Dialog[None]):
    """Shown after the idle time: only the password of the clerk who locked it unlocks.
    Everything under it (typed text, the service timer) stays as it was."""

    def __init__(self, clerk_name: str, username: str, authenticate: Authenticate) -> None:
        super().__init__()
        self.clerk_name = clerk_name
        self.username = username
        self.authenticate = authenticate

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Label(
                _("Locked after inactivity — {name}, enter your password").format(
                    name=self.clerk_name
                ),
                id="form-title",
            )
            yield DialogInput(id="password", placeholder=_("Password"), password=True)
            yield Static("", id="error")

    def on_mount(self) -> None:
        self.query_one("#password", Input).focus()

    @on(Input.Submitted, "#password")
    def password_done(self) -> None:
        if self.checking:  # one check at a time: Enter again while it runs does nothing
            return
        if not self.query_one("#password", Input).value:
            # Nothing typed (perhaps a burst was just ignored): no attempt, nothing logged.
            self.query_one("#error", Static).update(
                _("Please fill in the {what}.").format(what=_("password"))
            )
            return
        if self.submit(self.username, self.query_one("#password", Input).value):
            self.query_one("#error", Static).update(_("Checking…"))

    @on(LoginRefused)
    def refused(self, event: LoginRefused) -> None:
        attempt = self.check_done()
        message = _("Wrong password.") if event.reason == "wrong_password" else event.message
        self.query_one("#error", Static).update(message)
        password = self.query_one("#password", Input)
        # Cleared only while it still holds the refused attempt, never what was typed since.
        if attempt is not None and password.value == attempt[1]:
            password.clear()

    @on(LoggedIn)
    def unlocked(self, event: LoggedIn) -> None:
        self.check_done()
        self.close(None)
