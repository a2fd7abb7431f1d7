"""One base for every refusal the product reports to a person.

A :class:`CounterError` carries the message for the clerk or operator (already in the UI
language), a short ``reason`` code for tests, logs and the access log, and the ``field`` of a
form at fault ("" when no field is). Services raise subclasses; screens, dialogs and CLI
commands show ``str(error)`` and never a traceback (:func:`user_message` turns anything else
into a plain sentence).
"""

from __future__ import annotations

from counter_tui.i18n import _


class CounterError(Exception):
    """A refusal or failure with a message for a person.

    ``message``: the sentence shown (UI language); ``reason``: a stable code such as
    ``not_held`` or ``wrong_password``; ``field``: the dialog or form field at fault, or "".
    """

    def __init__(self, message: str = "", *, reason: str = "", field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.field = field


def user_message(exc: BaseException) -> str:
    """The sentence to show a clerk for ``exc``: its own message for a :class:`CounterError`,
    otherwise a generic one naming the error class (details go to the log, never a
    traceback to the screen)."""
    if isinstance(exc, CounterError) and str(exc):
        return str(exc)
    return _("Something went wrong: {error}. Nothing typed was lost; please try again.").format(
        error=type(exc).__name__
    )
