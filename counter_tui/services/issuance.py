"""Issuing a certificate (证明) from dossier records.

One certificate is one transaction: the next serial of the institution's yearly sequence, the
certificate row, its plain-text rendering written under the certificates folder, the access
event, and the service event certificate_issued (the visit goes on: one applicant may take
several certificates; services.visits ends it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import col, select

from counter_tui.db.engine import Database
from counter_tui.db.models import (
    Certificate,
    CertificateSequence,
    Dossier,
    Institution,
    Material,
    utcnow,
)
from counter_tui.domain import categories, certificates, clock, resident_id
from counter_tui.domain import text as text_rules
from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.read_models import IssuedCertificate  # noqa: F401 - re-exported
from counter_tui.services import access_log, custody, visits
from counter_tui.services.workplace import Workplace

MAX_PURPOSE_CHARS = 60
MAX_NAME_CHARS = 30


class IssuanceError(CounterError, ValueError):
    """A certificate request that cannot be issued. ``field`` names the dialog field at fault
    (``kind``, ``purpose``, ``agent_name``, ``agent_id``, ``cited``, ``dossier``, ``file``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, reason=field, field=field)
        self.field = field


@dataclass(frozen=True)
class CertificateRequest:
    """What the clerk chose in the certificate dialog (raw text; validated by :func:`validate`)."""

    kind_code: str
    purpose: str
    applicant_kind: str = "self"  # self | agent
    agent_name: str = ""
    agent_id_text: str = ""
    cited_material_ids: tuple[uuid.UUID, ...] = ()
    facts: tuple[tuple[str, str], ...] = ()
    """The kind's fact fields as typed or confirmed by the clerk: (field name, raw text)
    pairs, field names from ``domain.certificate_facts.FIELDS[kind_code]``."""


def check_cited(kind_code: str, cited: Collection[object]) -> None:
    """A certificate of kind ``kind_code`` may rest on the materials ``cited`` (rows or ids):
    checked when the kind is chosen, before anything else is typed. Raises IssuanceError
    (field ``cited``)."""
    if kind_code != "custody" and not cited:
        # A certificate states its source (出处和根据); only custody follows from custody itself.
        raise IssuanceError(
            "cited",
            _(
                "This certificate must cite the materials it rests on: "
                "Esc, mark them with Space in the catalogue, then c."
            ),
        )


def validate(request: CertificateRequest) -> CertificateRequest:
    """Check and normalise a request; returns the cleaned request. Raises IssuanceError."""
    if request.kind_code not in certificates.KINDS_BY_CODE:
        raise IssuanceError("kind", _("Choose the kind of certificate."))
    try:
        purpose = text_rules.collapse(request.purpose, MAX_PURPOSE_CHARS)
    except ValueError:
        raise IssuanceError(
            "purpose", _("The purpose may have at most {n} characters.").format(n=MAX_PURPOSE_CHARS)
        ) from None
    if not purpose:
        raise IssuanceError("purpose", _("Choose or type the purpose."))
    agent_name, agent_id = "", ""
    if request.applicant_kind == "agent":
        try:
            agent_name = text_rules.collapse(request.agent_name, MAX_NAME_CHARS)
        except ValueError:
            raise IssuanceError(
                "agent_name",
                _("The agent's name may have at most {n} characters.").format(n=MAX_NAME_CHARS),
            ) from None
        if not any(ch.isalpha() for ch in agent_name):
            raise IssuanceError("agent_name", _("Type the agent's name."))
        try:
            agent_id = resident_id.parse(request.agent_id_text)
        except resident_id.ResidentIdError as exc:
            raise IssuanceError("agent_id", _("Agent's ID: {error}").format(error=exc)) from None
    elif request.applicant_kind != "self":
        raise IssuanceError("kind", _("The applicant is the person or an agent."))
    check_cited(request.kind_code, request.cited_material_ids)
    return CertificateRequest(
        request.kind_code,
        purpose,
        request.applicant_kind,
        agent_name,
        agent_id,
        tuple(request.cited_material_ids),
    )


def next_serial(session, institution: Institution, year: int) -> str:  # noqa: ANN001
    """The next free serial of ``institution``'s sequence for ``year``, e.g. "CY-2026-000124"
    (call inside the write transaction that inserts it; BEGIN IMMEDIATE on SQLite serialises
    issuers).

    Numbers come from the institution's own counter (``certificate_sequence``), started the
    first time from the number of well-formed serials stored for that year, and skip any
    serial a row already holds. So a malformed or far-ahead row inserted behind the
    application's back ("CY-2026-ABC", "CY-2026-999999") never stops issuing: it is ignored,
    or skipped when the counter reaches it. Raises ValueError past number 999999.
    """
    prefix = f"{institution.serial_prefix}-{year:04d}-"
    sequence = session.get(CertificateSequence, (institution.id, year))
    if sequence is None:
        stored = session.exec(
            select(Certificate.serial).where(col(Certificate.serial).startswith(prefix))
        ).all()
        well_formed = sum(1 for serial in stored if certificates.SERIAL_RE.match(serial))
        sequence = CertificateSequence(
            institution_id=institution.id, year=year, last_number=well_formed
        )
    number = sequence.last_number
    while True:
        number += 1
        serial = certificates.format_serial(institution.serial_prefix, year, number)
        taken = session.exec(select(Certificate.id).where(Certificate.serial == serial)).first()
        if taken is None:
            break
    sequence.last_number = number
    session.add(sequence)
    session.flush()
    return serial


def issue(
    db: Database,
    request: CertificateRequest,
    *,
    dossier_id: uuid.UUID,
    workplace: Workplace,
    visit_id: uuid.UUID | None,
    certificates_dir: Path,
    now: dt.datetime | None = None,
) -> IssuedCertificate:
    """Issue a certificate for ``dossier_id`` within the visit (which goes on).

    The text is written to ``certificates_dir/<year>/<serial>.txt`` (UTF-8). Raises
    IssuanceError for a bad request or a dossier not held here, StorageBusyError when the
    database stays locked.
    """
    request = validate(request)
    kind = certificates.KINDS_BY_CODE[request.kind_code]
    issued_at = now or utcnow()
    local_day = clock.today(issued_at)
    written: Path | None = None
    committed = False
    try:
        with db.write() as session:
            dossier = session.get(Dossier, dossier_id)
            if dossier is None:
                raise IssuanceError("dossier", _("This dossier no longer exists."))
            state = custody.states(session, [dossier_id])[dossier_id]
            if not state.held_by(workplace.institution.id):
                raise IssuanceError(
                    "dossier",
                    _("Only the institution holding a dossier issues certificates from it."),
                )
            institution = session.get(Institution, workplace.institution.id)
            assert institution is not None
            cited_rows = []
            if request.cited_material_ids:
                rows = {
                    m.id: m
                    for m in session.exec(
                        select(Material).where(col(Material.id).in_(request.cited_material_ids))
                    )
                }
                if set(rows) != set(request.cited_material_ids) or any(
                    m.dossier_id != dossier_id for m in rows.values()
                ):
                    raise IssuanceError("cited", _("A cited material is not in this dossier."))
                cited_rows = sorted(rows.values(), key=categories.display_key)
            serial = next_serial(session, institution, local_day.year)
            facts = certificates.CertificateFacts(
                kind=kind,
                serial=serial,
                person_name=dossier.person_name,
                gender=dossier.gender,
                id_number_masked=resident_id.mask(dossier.id_number or ""),
                dossier_no=dossier.dossier_no,
                institution_name=institution.name,
                held_since=clock.today(state.since) if state.since else None,
                purpose=request.purpose,
                applicant="本人"
                if request.applicant_kind == "self"
                else f"{request.agent_name}（代理人，{resident_id.mask(request.agent_id_text)}）",
                cited=tuple(
                    certificates.CitedMaterial(
                        categories.catalogue_number(m.category, m.subcategory, m.item_no),
                        m.title,
                        m.formed_on,
                    )
                    for m in cited_rows
                ),
                clerk_name=workplace.clerk.name if workplace.clerk else "",
                issued_on=local_day,
            )
            text = certificates.render_text(facts)
            data = text.encode("utf-8")
            path = certificates_dir / f"{local_day.year:04d}" / f"{serial}.txt"
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if path.exists():
                # No row holds this serial (it is the next free one), so the file is left over
                # from an issue that died before its commit: keep it aside, never reuse it.
                path.rename(path.with_name(f"{serial}.orphan-{issued_at:%Y%m%dT%H%M%S%f}.txt"))
            # Never overwrite an issued certificate; personal data: readable by this user only.
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
                written = path
                fh.write(data)
            cert = Certificate(
                serial=serial,
                kind=kind.code,
                dossier_id=dossier_id,
                visit_id=visit_id,
                institution_id=institution.id,
                applicant_kind=request.applicant_kind,
                agent_name=request.agent_name or None,
                agent_id_number=request.agent_id_text or None,
                purpose=request.purpose,
                cited_material_ids=",".join(str(m.id) for m in cited_rows),
                text_path=str(path),
                text_sha256=hashlib.sha256(data).hexdigest(),
                issued_by=workplace.clerk.id if workplace.clerk else None,
                issued_at=issued_at,
            )
            session.add(cert)
            session.flush()
            access_log.append(
                session,
                kind="certificate",
                clerk_id=workplace.clerk.id if workplace.clerk else None,
                institution_id=institution.id,
                dossier_id=dossier_id,
                target_id=cert.id,
                reason=serial,
            )
            if visit_id:
                visits.record(
                    session,
                    visit_id,
                    "certificate_issued",
                    dossier_id=dossier_id,
                    detail=serial,
                    at=issued_at,
                )
            result = IssuedCertificate(cert.id, serial, kind.code, path, text)
        committed = True
    finally:
        # A certificate file without its row would be a serial issued twice later.
        if not committed and written is not None and written.exists():
            written.unlink()
    return result
