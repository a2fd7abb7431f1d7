"""App-wide messages, named in the past tense; posted by workers back to the UI thread."""

from __future__ import annotations

from textual.message import Message

from counter_tui.services.issuance import IssuedCertificate
from counter_tui.services.lookup import LookupOutcome
from counter_tui.services.viewing import DossierView


class LookupFinished(Message):
    """A counter lookup came back (any outcome). ``query`` is the text looked up."""

    def __init__(self, query: str, outcome: LookupOutcome) -> None:
        super().__init__()
        self.query = query
        self.outcome = outcome


class DossierOpened(Message):
    """A dossier was opened (access logged); ``view`` is its header and catalogue."""

    def __init__(self, view: DossierView) -> None:
        super().__init__()
        self.view = view


class ServiceFailed(Message):
    """A worker failed; ``message`` is for the clerk. The screen stays usable."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


class CertificateIssued(Message):
    """A certificate was issued and the service closed."""

    def __init__(self, issued: IssuedCertificate) -> None:
        super().__init__()
        self.issued = issued


class PagesOpened(Message):
    """``count`` page copies were handed to the external viewer."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count


class ConsultationRecorded(Message):
    """A consultation was registered and the service closed."""

    def __init__(self, service_seconds: float | None) -> None:
        super().__init__()
        self.service_seconds = service_seconds


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
