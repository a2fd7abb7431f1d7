"""App-wide messages, named in the past tense; posted by workers back to the UI thread."""

from __future__ import annotations

from textual.dom import DOMNode
from textual.message import Message

from counter_tui.errors import user_message
from counter_tui.read_models import DossierView, LookupOutcome, Visit


class LookupFinished(Message):
    """A counter lookup came back (any outcome; ``outcome.view`` is set when it also opened
    the one dossier found). ``query`` is the text looked up."""

    def __init__(self, query: str, outcome: LookupOutcome) -> None:
        super().__init__()
        self.query = query
        self.outcome = outcome


class DossierOpened(Message):
    """A dossier chosen from the pick list was opened (access logged); ``view`` is its
    header and catalogue, ``visit`` the service it was opened in (a new one for a different
    person)."""

    def __init__(self, view: DossierView, visit: Visit | None = None) -> None:
        super().__init__()
        self.view = view
        self.visit = visit


class ServiceEnded(Message):
    """The current visit ended (F4, F2): ``outcome`` (services.visits.OUTCOMES) after
    ``seconds``."""

    def __init__(self, outcome: str, seconds: float) -> None:
        super().__init__()
        self.outcome = outcome
        self.seconds = seconds


class ServiceFailed(Message):
    """A worker failed; ``message`` is for the clerk. The screen stays usable."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


class Printed(Message):
    """A print worker finished: ``message`` for the clerk, at ``level`` (``info`` when
    printed, ``warning`` when it went to the viewer instead)."""

    def __init__(self, message: str, level: str) -> None:
        super().__init__()
        self.message = message
        self.level = level


class PagesOpened(Message):
    """``count`` page copies were handed to the external viewer."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count


class IdRevealed(Message):
    """The full resident ID was revealed (and the reveal logged)."""

    def __init__(self, number: str) -> None:
        super().__init__()
        self.number = number


class MaterialAdded(Message):
    """A material (or a correction) was added; ``view`` is the reloaded dossier."""

    def __init__(self, view: DossierView, number: str) -> None:
        super().__init__()
        self.view = view
        self.number = number


class SessionEnded(Message):
    """The account was disabled since it logged in (services.authorization.ends_session):
    the app ends the session; ``message`` is what the log-in screen says."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


def failure_message(node: DOMNode, exc: BaseException) -> str:
    """The sentence for a clerk about ``exc`` (errors.user_message); when it means the
    account was disabled, the app is also told to end the session (safe from a worker
    thread: ``post_message`` is)."""
    from counter_tui.services import authorization  # not at import: the log-in screen needs none

    if authorization.ends_session(exc):
        node.app.post_message(SessionEnded(str(exc)))
    return user_message(exc)
