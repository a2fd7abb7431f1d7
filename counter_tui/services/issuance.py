"""Issuing a certificate (证明) from dossier records: the certified fact, a signed PDF.

One certificate is one write transaction:

1. the next serial of the institution's yearly sequence (:func:`next_serial`);
2. the kind's facts, validated against the cited materials (``domain.certificate_facts``),
   and the certified text from the kind's template (``services.certificate_text``);
3. the 电子证照-shaped identifier (``domain.identifiers``), the claims signed with the
   institution's Ed25519 key from the keyring (``services.certificate_signing``; a first key
   is created when the institution has none) and the 查验码 derived from the signed QR text;
4. the A4 PDF (``services.certificate_pdf``) written to ``<certificates>/<year>/<serial>.pdf``
   (mode 0600, never overwritten) and fsynced, file and folder, **before** the commit;
5. the certificate row (document path and SHA-256, identifier, code, payload, key id,
   certified text, facts), sealed in the access chain (``certificate_added``, see
   services.fixity), the ``certificate`` access event, the institution's key list stored when
   it is new (``signing_key_list``, sealed), and the service event ``certificate_issued``
   (the visit goes on: one applicant may take several certificates; services.visits ends it).

A failure before the commit removes the PDF; a crash between the PDF's fsync and the commit
leaves a PDF without a row, which :func:`reconcile_orphans` (run at start) moves aside and
reports.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, col, select

from counter_tui.db.engine import Database
from counter_tui.db.models import (
    Certificate,
    CertificateEvent,
    CertificateSequence,
    Dossier,
    Institution,
    Material,
    SigningKeyList,
    utcnow,
)
from counter_tui.domain import (
    categories,
    certificate_facts,
    certificates,
    clock,
    identifiers,
    resident_id,
)
from counter_tui.domain import text as text_rules
from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.read_models import IssuedCertificate, MaterialRow
from counter_tui.services import (
    access_log,
    authorization,
    certificate_audit,
    certificate_signing,
    certificate_text,
    custody,
    visits,
)
from counter_tui.services.workplace import Workplace

MAX_PURPOSE_CHARS = 60
MAX_NAME_CHARS = 30


class IssuanceError(CounterError, ValueError):
    """A certificate request that cannot be issued. ``field`` names the dialog field at fault
    (``kind``, ``purpose``, ``agent_name``, ``agent_id``, ``cited``, ``dossier``, ``file``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, reason=field, field=field)
        self.field = field


class IssuanceRefused(authorization.Forbidden, IssuanceError):
    """Issuing refused by the authorization rules (services.authorization): role, account,
    dossier not held here, the clerk's own dossier."""


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


@dataclass(frozen=True)
class NearbySource:
    """A dossier held by another institution, served here (就近办理, services.nearby): its
    holder (id and name, named in the certified text), when the holder received it (aware
    UTC, or None), and its catalogue as read from the central database (the materials are not
    stored here, so citing checks against these rows)."""

    holder_id: uuid.UUID
    holder_name: str
    held_since: dt.datetime | None
    materials: tuple[MaterialRow, ...]


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
        tuple(request.facts),
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


def _sources(rows: Iterable[Material]) -> tuple[certificate_facts.SourceMaterial, ...]:
    return tuple(
        certificate_facts.SourceMaterial(
            categories.catalogue_number(m.category, m.subcategory, m.item_no),
            m.category,
            m.title,
            m.formed_on,
        )
        for m in rows
    )


def _cited_rows(
    session: Session, dossier_id: uuid.UUID, material_ids: Collection[uuid.UUID]
) -> list[Material]:
    """The cited materials in catalogue order; IssuanceError ``cited`` when one is not in the
    dossier."""
    if not material_ids:
        return []
    rows = {
        m.id: m for m in session.exec(select(Material).where(col(Material.id).in_(material_ids)))
    }
    if set(rows) != set(material_ids) or any(m.dossier_id != dossier_id for m in rows.values()):
        raise IssuanceError("cited", _("A cited material is not in this dossier."))
    return sorted(rows.values(), key=categories.display_key)


def _cited_catalogue_rows(
    rows: Iterable[MaterialRow], material_ids: Collection[uuid.UUID]
) -> list[MaterialRow]:
    """The cited catalogue rows of a dossier served here (already in catalogue order);
    IssuanceError ``cited`` when one is not in that catalogue."""
    wanted = set(material_ids)
    cited = [r for r in rows if r.id in wanted]
    if len(cited) != len(wanted):
        raise IssuanceError("cited", _("A cited material is not in this dossier."))
    return cited


def _catalogue_sources(rows: Iterable[MaterialRow]) -> tuple[certificate_facts.SourceMaterial, ...]:
    return tuple(
        certificate_facts.SourceMaterial(r.number, r.category, r.title, r.formed_on) for r in rows
    )


def _birth_date(id_number: str | None) -> dt.date | None:
    """The holder's birth date from the resident ID (GB 11643), None when there is none."""
    if not id_number:
        return None
    try:
        return resident_id.facts(id_number).birth_date
    except (ValueError, resident_id.ResidentIdError):
        return None


def _applicant(request: CertificateRequest) -> str:
    if request.applicant_kind == "self":
        return "本人"
    return f"{request.agent_name}（代理人，{resident_id.mask(request.agent_id_text)}）"


def write_document(path: Path, data: bytes) -> None:
    """Write a certificate document durably: folder created 0700, file created 0600 and never
    over an existing one (O_EXCL), data and folder entry fsynced (POSIX fsync) before
    returning, so a commit that follows never names a file the disk does not hold.
    Raises FileExistsError when ``path`` exists, OSError for a full or read-only disk."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


ORPHANS_DIR = "orphans"
"""Folder (under the certificates folder) where documents without a row are moved."""


def _set_aside(path: Path, certificates_dir: Path) -> Path:
    """Move a document that no row names into ``<certificates>/orphans/`` (kept, never
    reused); returns its new path."""
    target_dir = certificates_dir / ORPHANS_DIR
    target_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    target = target_dir / f"{path.stem}.orphan-{stamp}{path.suffix}"
    path.rename(target)
    return target


def store_key_list(session: Session, institution: Institution, clerk_id: uuid.UUID | None) -> None:
    """Keep the institution's current key list (from the keyring) in the database, sealed,
    when the newest stored one differs, so any counter verifies offline."""
    encoded = certificate_signing.key_list(institution.code)
    listed = certificate_signing.load_key_list(encoded)
    stored = session.exec(
        select(SigningKeyList.id).where(
            SigningKeyList.institution_id == institution.id,
            SigningKeyList.key_list == encoded,
        )
    ).first()
    if stored is not None:
        return
    row = SigningKeyList(
        institution_id=institution.id,
        current_key_id=listed.current.key_id,
        key_list=encoded,
        endorsement=certificate_signing.key_list_endorsement(institution.code)
        if len(listed.keys) > 1
        else None,
    )
    session.add(row)
    session.flush()
    certificate_audit.register_key_list(
        access_log.Chain(session), row, clerk_id=clerk_id, institution_id=institution.id
    )


def issue(
    db: Database,
    request: CertificateRequest,
    *,
    dossier_id: uuid.UUID,
    workplace: Workplace,
    visit_id: uuid.UUID | None,
    certificates_dir: Path,
    templates_dir: Path | None = None,
    now: dt.datetime | None = None,
    nearby: NearbySource | None = None,
) -> IssuedCertificate:
    """Issue a certificate for ``dossier_id`` within the visit (which goes on): see the module
    docstring for what one issue writes.

    ``nearby``: the dossier is held by another institution and served here (就近办理,
    services.nearby, which checks the central database first): the rule ``issue_nearby``
    applies instead of ``issue_certificate``, the dossier must still be held by
    ``nearby.holder_id`` (not by this institution, not in transit), cited materials come from
    ``nearby.materials``, and the certified text names the holder; the serial is this
    institution's.

    ``templates_dir``: the institution's template overrides (``<kind>.txt.j2``), None for the
    shipped wording. Returns the :class:`IssuedCertificate` (PDF path, serial, 查验码).
    Raises IssuanceError for a bad request (``field`` ``fact:<name>`` for a fact field), a
    dossier not held here or an institution without a 统一社会信用代码; SigningError /
    SecretsUnavailable when no key can sign (the message says what to do); FontMissing when
    no Chinese font is installed; TemplateError for a broken template override; OSError when
    the certificates folder cannot be written; StorageBusyError when the database stays
    locked.
    """
    request = validate(request)
    kind = certificates.KINDS_BY_CODE[request.kind_code]
    issued_at = now or utcnow()
    local_day = clock.today(issued_at)
    clerk_id = workplace.clerk.id if workplace.clerk else None
    # Who may: checked (and a refusal logged) before a key could be created for them.
    if nearby is None:
        authorization.check(
            db, workplace, "issue_certificate", dossier_id=dossier_id, error=IssuanceRefused
        )
    else:
        authorization.check(db, workplace, "issue_nearby", error=IssuanceRefused)
    # The key first: a missing keyring or key is said before anything is written.
    certificate_signing.create_signing_key(workplace.institution.code, now=issued_at)
    written: Path | None = None
    committed = False
    try:
        with db.write() as session:
            dossier = session.get(Dossier, dossier_id)
            if dossier is None:
                raise IssuanceError("dossier", _("This dossier no longer exists."))
            state = custody.states(session, [dossier_id])[dossier_id]
            if nearby is not None:
                if not state.held_by(nearby.holder_id) or nearby.holder_id == (
                    workplace.institution.id
                ):
                    raise IssuanceError(
                        "dossier",
                        _(
                            "This dossier is no longer held where the central database said; "
                            "look it up again."
                        ),
                    )
            elif not state.held_by(workplace.institution.id):
                raise IssuanceError(
                    "dossier",
                    _("Only the institution holding a dossier issues certificates from it."),
                )
            institution = session.get(Institution, workplace.institution.id)
            assert institution is not None
            if not institution.uscc:
                raise IssuanceError(
                    "institution",
                    _(
                        "Institution {name} has no 统一社会信用代码 recorded; certificates "
                        "print it and their identifier carries it. An administrator records it "
                        "with: counter-tui institution set {code} --uscc … --address …"
                    ).format(name=institution.name, code=institution.code),
                )
            if nearby is None:
                stored = _cited_rows(session, dossier_id, request.cited_material_ids)
                sources, cited_ids = _sources(stored), [m.id for m in stored]
            else:
                listed = _cited_catalogue_rows(nearby.materials, request.cited_material_ids)
                sources, cited_ids = _catalogue_sources(listed), [r.id for r in listed]
            try:
                facts = certificate_facts.validate_facts(
                    kind.code,
                    dict(request.facts),
                    sources,
                    not_after=local_day,
                    not_before=_birth_date(dossier.id_number),
                )
            except certificate_facts.FactError as exc:
                raise IssuanceError(f"fact:{exc.field}", str(exc)) from None
            since = nearby.held_since if nearby is not None else state.since
            held_since = clock.today(since) if since else None
            text = certificate_text.render_certified_text(
                kind.code,
                certificate_text.CertifiedTextContext(
                    person_name=dossier.person_name,
                    gender=dossier.gender,
                    id_number=dossier.id_number or "",
                    id_number_masked=resident_id.mask(dossier.id_number or ""),
                    dossier_no=dossier.dossier_no,
                    institution_name=institution.name,
                    holder_name=nearby.holder_name if nearby is not None else institution.name,
                    held_since=held_since,
                    facts=facts,
                    sources=sources,
                    purpose=request.purpose,
                    applicant=_applicant(request),
                ),
                templates_dir=templates_dir,
            )
            serial = next_serial(session, institution, local_day.year)
            identifier = identifiers.certificate_identifier(
                certificates.TYPE_CODES[kind.code], institution.uscc, serial
            )
            claims = certificate_signing.CertificateClaims.create(
                institution_code=institution.code,
                uscc=institution.uscc,
                serial=serial,
                kind=kind.code,
                issue_date=local_day,
                holder_id=dossier.id_number or dossier.dossier_no,
                certified_text=text,
            )
            payload = certificate_signing.sign_claims(institution.code, claims, now=issued_at)
            code = certificate_signing.verification_code_for(payload)
            clerk_name = workplace.clerk.name if workplace.clerk else ""
            from counter_tui.services import certificate_pdf  # fpdf2: at the first certificate

            document = certificate_pdf.CertificateDocument(
                institution_name=institution.name,
                title=kind.title_zh,
                serial=serial,
                certified_text=text,
                purpose=request.purpose,
                issue_date=local_day,
                clerk=clerk_name,
                verification_code=code,
                uscc=institution.uscc,
                address=institution.address or "",
                sources=tuple(
                    certificate_pdf.CertificateSource(s.number, s.title, s.formed_on or "—")
                    for s in sources
                ),
                identifier=identifier,
                qr_payload=payload,
            )
            data = certificate_pdf.render_pdf(document)
            path = certificates_dir / f"{local_day.year:04d}" / f"{serial}.pdf"
            if path.exists():
                # No row holds this serial (it is the next free one), so the file is left
                # over from an issue that died before its commit: set aside, never reused.
                _set_aside(path, certificates_dir)
            write_document(path, data)
            written = path
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
                cited_material_ids=",".join(str(i) for i in cited_ids),
                text_path=str(path),
                text_sha256=hashlib.sha256(data).hexdigest(),
                issued_by=clerk_id,
                issued_at=issued_at,
                identifier=identifier,
                verification_code=code,
                payload=payload,
                key_id=certificate_signing.payload_key_id(payload),
                certified_text=text,
                facts=facts.to_json(),
            )
            session.add(cert)
            session.flush()
            store_key_list(session, institution, clerk_id)
            chain = access_log.Chain(session)
            chain.append(
                kind="certificate",
                clerk_id=clerk_id,
                institution_id=institution.id,
                dossier_id=dossier_id,
                target_id=cert.id,
                reason=serial,
            )
            certificate_audit.register_certificate(
                chain, cert, clerk_id=clerk_id, institution_id=institution.id
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
            result = IssuedCertificate(
                cert.id, serial, kind.code, path, text, code, identifier, clerk_name
            )
        committed = True
    finally:
        # A document without its row would be a serial issued twice later.
        if not committed and written is not None and written.exists():
            written.unlink()
    return result


ORPHAN_MIN_AGE_S = 600.0
"""A document younger than this (seconds) is left alone by :func:`reconcile_orphans`: it may
be another counter's certificate between its fsync and its commit (a shared folder)."""


def reconcile_orphans(
    db: Database, certificates_dir: Path, *, min_age_s: float = ORPHAN_MIN_AGE_S
) -> list[Path]:
    """Find certificate documents that no certificate row names (an issue that died between
    writing its PDF and its commit, or a file put there by hand), move each into
    ``<certificates>/orphans/`` and return their new paths, for the operator to be told.

    Looks at ``<certificates>/<year>/*.pdf`` for every year folder, at files last modified
    at least ``min_age_s`` seconds ago. Never deletes a file.
    Raises OSError when the folder cannot be read or written; a missing folder is fine.
    """
    if not certificates_dir.is_dir():
        return []
    cutoff = dt.datetime.now(dt.UTC).timestamp() - min_age_s
    candidates = [
        path
        for year in sorted(certificates_dir.iterdir())
        if year.is_dir() and year.name.isdigit()
        for path in sorted(year.glob("*.pdf"))
        if path.stat().st_mtime <= cutoff
    ]
    if not candidates:
        return []
    # A document is "<serial>.pdf" or "<serial>.reprint-<n>.pdf": only the certificates of
    # the candidates' serials are read (an index range each), never every row of a city.
    serials = sorted({path.name.split(".", 1)[0] for path in candidates})
    named: set[str] = set()
    with db.read() as session:
        for start in range(0, len(serials), 500):
            chunk = serials[start : start + 500]
            rows = session.exec(
                select(Certificate.id, Certificate.text_path).where(
                    col(Certificate.serial).in_(chunk)
                )
            ).all()
            named |= {Path(text_path).name for _id, text_path in rows}
            named |= {
                Path(document).name
                for document in session.exec(
                    select(CertificateEvent.document_path).where(
                        col(CertificateEvent.certificate_id).in_([i for i, _p in rows]),
                        col(CertificateEvent.document_path).is_not(None),
                    )
                )
            }
    return [_set_aside(path, certificates_dir) for path in candidates if path.name not in named]
