"""Read models: the plain, frozen values services hand to screens, dialogs, widgets and the CLI.

They live here, beside neither the use cases that build them nor the screens that show them,
so that a widget can name a type without importing a use-case module (and the database
layer behind it). Times are aware UTC datetimes; resident IDs appear only masked.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class InstitutionRef:
    """Read model of an institution."""

    id: uuid.UUID
    code: str
    name: str
    serial_prefix: str
    uscc: str = ""
    """统一社会信用代码 (GB 32100, 18 characters), "" when not recorded."""
    address: str = ""


@dataclass(frozen=True)
class ClerkRef:
    """Read model of a clerk account."""

    id: uuid.UUID
    username: str
    name: str
    role: str


@dataclass(frozen=True)
class Workplace:
    """The institution, clerk and counter (window number) of this session."""

    institution: InstitutionRef
    clerk: ClerkRef | None
    counter: str


@dataclass(frozen=True)
class DossierSummary:
    """One search hit: enough to choose from a pick list.

    ``holder_name`` is the institution holding the dossier now ("" while it is in transit
    between two institutions: held by neither); ``since`` is when that holder received it (in
    transit: when it was sent), aware UTC (services.custody.CustodyState).
    """

    id: uuid.UUID
    dossier_no: str
    person_name: str
    id_masked: str
    gender: str
    birth_date_recorded: str
    holder_name: str
    held_here: bool
    since: dt.datetime | None


@dataclass(frozen=True)
class LookupOutcome:
    """Result of a counter lookup.

    ``status``: ``found`` (exactly one dossier held here, in ``matches[0]``), ``choices``
    (several held here), ``none``, ``held_elsewhere`` (no match is held here: other
    institutions hold them, or, with ``reason`` ``in_transit``, the first is on its way between
    two institutions, 转出待接收), ``invalid`` (the text itself is wrong; ``reason`` says why),
    ``refused`` (the one match may not be opened by this clerk: ``own_dossier``,
    ``not_held``). ``message`` is for the clerk.
    """

    status: str
    query_kind: str
    message: str = ""
    reason: str = ""
    matches: list[DossierSummary] = field(default_factory=list)
    view: DossierView | None = None
    """Set when the lookup also opened the one dossier found (``status`` ``found``)."""
    visit: Visit | None = None
    """The visit the lookup was recorded in: the one given, or its successor when the lookup
    opened a different person's dossier (services.visits.successor_needed)."""


@dataclass(frozen=True)
class MaterialRow:
    """One catalogue row (材料目录): 序号, 材料名称, 材料形成时间, 页数, 备注."""

    id: uuid.UUID
    number: str  # "4-1-2"
    category: int
    subcategory: int | None
    title: str
    formed_on: dt.date | None
    page_count: int
    remark: str
    scanned_pages: int
    corrects: uuid.UUID | None
    corrected: bool


@dataclass(frozen=True)
class DossierView:
    """Header and catalogue of one dossier, for the dossier screen.

    ``holder_name`` and ``held_since`` (aware UTC) as in :class:`DossierSummary`: the holder
    now and when it received the dossier (its receipt after a transfer, not the send date).
    """

    id: uuid.UUID
    dossier_no: str
    person_name: str
    id_masked: str
    gender: str
    birth_date_recorded: str
    holder_name: str
    held_since: dt.datetime | None
    shelf_location: str
    digitised: bool
    materials: list[MaterialRow]


@dataclass(frozen=True)
class NearbyDossier:
    """A dossier held by another institution, read from the central database to serve its
    person here (就近办理, services.nearby): the read-only ``view`` (its ``holder_name`` and
    ``held_since`` are the holder's), the holder's id, code, address and phone, the central
    record of this view (``record_id``, cited when a certificate is issued from it) and when
    it was read (aware UTC)."""

    view: DossierView
    holder_id: uuid.UUID
    holder_code: str
    holder_address: str
    holder_phone: str
    record_id: uuid.UUID
    read_at: dt.datetime


@dataclass(frozen=True)
class IssuedCertificate:
    """An issued certificate: serial, kind, the PDF written (``path``), the certified text,
    the typable 查验码 (``XXXX-XXXX-XXX``), the 电子证照-shaped identifier and the issuing
    clerk's name (the visit goes on)."""

    id: uuid.UUID
    serial: str
    kind_code: str
    path: Path
    text: str
    verification_code: str = ""
    identifier: str = ""
    clerk_name: str = ""


@dataclass(frozen=True)
class CertificateRecord:
    """One issued certificate as the history shows it: serial, kind title (Chinese),
    issue time (aware UTC), issuing clerk, status (``valid`` / ``voided``), prints and reprints
    so far, the PDF path, the 查验码, and for a voided one the reason, when and by whom."""

    id: uuid.UUID
    serial: str
    kind_code: str
    title: str
    issued_at: dt.datetime
    clerk_name: str
    purpose: str
    status: str
    prints: int
    reprints: int
    path: Path | None
    verification_code: str
    void_reason: str = ""
    voided_at: dt.datetime | None = None
    voided_by: str = ""


@dataclass(frozen=True)
class PrintOutcome:
    """What happened to a print: ``printed`` (handed to the printer; ``detail`` is the
    print command's answer, e.g. the CUPS request id) or ``viewer`` (opened in the viewer
    instead; ``detail`` says why the printer was not used). ``path``: the PDF printed."""

    path: Path
    destination: str
    detail: str


@dataclass(frozen=True)
class RecordedConsultation:
    """The stored consultation (the visit goes on)."""

    id: uuid.UUID


def _uuid7() -> uuid.UUID:
    import uuid6  # not at import: it reads its package metadata, ~30 ms before the log-in screen

    return uuid6.uuid7()


@dataclass(frozen=True)
class Visit:
    """The applicant being served now, as the counter knows it before the database does.

    The id (UUIDv7) and start time are chosen on the UI thread when the service starts, so
    that however the workers that store it race (F2 and a scan, a slow disk), one applicant
    is one ``service_visit`` row: every writer stores it idempotently by this id
    (services.visits.ensure_started). ``started_at`` is aware UTC; ``started`` is
    ``time.monotonic()`` for the on-screen timer; ``ticket`` the queue ticket or None.
    """

    id: uuid.UUID = field(default_factory=_uuid7)
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    started: float = field(default_factory=time.monotonic)
    ticket: str | None = None
