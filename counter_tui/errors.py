"""One base for every refusal the product reports to a person.

A :class:`CounterError` carries the message for the clerk or operator (already in the UI
language), a short ``reason`` code for tests, logs and the access log, and the ``field`` of a
form at fault ("" when no field is). Services raise subclasses; screens, dialogs and CLI
commands show ``str(error)`` and never a traceback (:func:`user_message` turns anything else
into a plain sentence).
"""

from __future__ import annotations

import errno

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


def describe_os_error(exc: OSError) -> str:
    """A sentence in the UI language for a failed file operation: what went wrong (disk full,
    no permission, read-only disk, missing, a folder where a file was expected …) and the path
    it concerns. The operating system's own English text is used only for the rare errors
    not named here."""
    reasons = {
        getattr(errno, "EDQUOT", errno.ENOSPC): _("the disk quota is used up"),
        errno.ENOSPC: _("the disk is full"),
        errno.EACCES: _("permission denied"),
        errno.EPERM: _("permission denied"),
        errno.EROFS: _("the disk is read-only"),
        errno.ENOENT: _("it does not exist"),
        errno.EISDIR: _("it is a folder, not a file"),
        errno.ENOTDIR: _("a part of the path is not a folder"),
        errno.EIO: _("the disk reported an input/output error"),
        errno.EEXIST: _("it already exists"),
        errno.ENAMETOOLONG: _("the name is too long"),
    }
    reason = reasons.get(exc.errno or 0) or exc.strerror or type(exc).__name__
    if exc.filename:
        return _("{path}: {reason}").format(path=exc.filename, reason=reason)
    return reason
