"""After issuing: print, reprint (补打) and void (作废) a certificate; its history.

Each is an appended ``certificate_event`` row sealed in the access chain
(``certificate_event_added``, services.fixity); a certificate's status follows from its
events: ``voided`` once a void is recorded, else ``valid``.

* **Print** runs the ``print_command`` setting (default ``lp``, CUPS) with the PDF as its last
  argument. When the command is missing or fails (no printer, no default destination), the
  PDF is opened in the viewer instead and the clerk is told why; a print handed to the printer
  or to the viewer is a ``printed`` event (``reason`` says which).
* **Reprint** (补打) writes a new copy of the same certificate — same serial, identifier,
  payload and 查验码 — marked 补打 with its number (``<serial>.reprint-<n>.pdf``), records a
  ``reprinted`` event with the copy's path and SHA-256, and prints it. A voided certificate
  is never reprinted.
* **Void** (作废) needs a reason; allowed to the clerk who issued it on the day of issue, or to
  a supervisor of the issuing institution. A voided serial never verifies as valid.

Who may act: clerks and supervisors of the institution that issued the certificate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import Session, col, func, select

from counter_tui.db.engine import Database
from counter_tui.db.models import (
    Certificate,
    CertificateEvent,
    Clerk,
    Institution,
    Material,
    utcnow,
)
from counter_tui.domain import categories, certificates, clock
from counter_tui.domain import text as text_rules
from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.read_models import CertificateRecord, PrintOutcome
from counter_tui.services import (
    access_log,
    authorization,
    certificate_audit,
    issuance,
)
from counter_tui.services.workplace import Workplace

if TYPE_CHECKING:
    from counter_tui.services import certificate_pdf

ACTING_ROLES = frozenset({"clerk", "supervisor"})
MAX_REASON_CHARS = 100
PRINT_TIMEOUT_S = 20.0


class CertificateActionError(CounterError):
    """A print, reprint or void that cannot be done; ``reason``: ``unknown_serial``,
    ``not_allowed``, ``voided``, ``no_document``, ``reason_missing``, ``print_failed``."""


class CertificateRefused(authorization.Forbidden, CertificateActionError):
    """Refused by the authorization rules (services.authorization); ``reason`` is
    ``not_allowed``, ``why`` the rule's reason (role, inactive, own_dossier …)."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.reason = "not_allowed"


def _clerk_names(session: Session, ids: set[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    return {c.id: c.name for c in session.exec(select(Clerk).where(col(Clerk.id).in_(wanted)))}


def _records(session: Session, certs: list[Certificate]) -> list[CertificateRecord]:
    if not certs:
        return []
    events = session.exec(
        select(CertificateEvent)
        .where(col(CertificateEvent.certificate_id).in_([c.id for c in certs]))
        .order_by(CertificateEvent.at)
    ).all()
    names = _clerk_names(session, {c.issued_by for c in certs} | {e.clerk_id for e in events})
    out = []
    for cert in certs:
        mine = [e for e in events if e.certificate_id == cert.id]
        void = next((e for e in mine if e.kind == "voided"), None)
        kind = certificates.KINDS_BY_CODE.get(cert.kind)
        out.append(
            CertificateRecord(
                id=cert.id,
                serial=cert.serial,
                kind_code=cert.kind,
                title=kind.title_zh if kind else cert.kind,
                issued_at=cert.issued_at,
                clerk_name=names.get(cert.issued_by, "") if cert.issued_by else "",
                purpose=cert.purpose,
                status="voided" if void else "valid",
                prints=sum(1 for e in mine if e.kind == "printed"),
                reprints=sum(1 for e in mine if e.kind == "reprinted"),
                path=Path(cert.text_path) if cert.text_path else None,
                verification_code=cert.verification_code or "",
                void_reason=void.reason if void else "",
                voided_at=void.at if void else None,
                voided_by=names.get(void.clerk_id, "") if void and void.clerk_id else "",
            )
        )
    return out


def history(
    db: Database, dossier_id: uuid.UUID, *, workplace: Workplace | None = None
) -> list[CertificateRecord]:
    """The certificates issued from a dossier, newest first, with their status. With
    ``workplace``, who may see them is checked (``certificate_history``; CertificateRefused)."""
    with authorization.refusals_logged(db, workplace), db.read() as session:
        if workplace is not None:
            authorization.require(
                session,
                workplace,
                "certificate_history",
                dossier_id=dossier_id,
                error=CertificateRefused,
            )
        certs = session.exec(
            select(Certificate)
            .where(Certificate.dossier_id == dossier_id)
            .order_by(col(Certificate.issued_at).desc())
        ).all()
        return _records(session, list(certs))


def _get(session: Session, serial: str) -> Certificate:
    cert = session.exec(
        select(Certificate).where(Certificate.serial == serial.strip().upper())
    ).first()
    if cert is None:
        raise CertificateActionError(
            _("No certificate with serial {serial} is recorded here.").format(
                serial=text_rules.collapse(serial, 40)
            ),
            reason="unknown_serial",
        )
    return cert


def find(db: Database, serial: str) -> CertificateRecord:
    """The certificate with ``serial`` (e.g. "CY-2026-000123"). Raises CertificateActionError
    ``unknown_serial``."""
    with db.read() as session:
        return _records(session, [_get(session, serial)])[0]


def _check_actor(cert: Certificate, workplace: Workplace) -> None:
    clerk = workplace.clerk
    if clerk is None or clerk.role not in ACTING_ROLES:
        raise CertificateActionError(
            _("Only clerks and supervisors print, reprint or void certificates."),
            reason="not_allowed",
        )
    if cert.institution_id != workplace.institution.id:
        raise CertificateActionError(
            _("Certificate {serial} was issued by another institution.").format(serial=cert.serial),
            reason="not_allowed",
        )


def _voided(session: Session, cert: Certificate) -> CertificateEvent | None:
    return session.exec(
        select(CertificateEvent).where(
            CertificateEvent.certificate_id == cert.id, CertificateEvent.kind == "voided"
        )
    ).first()


def _append_event(session: Session, cert: Certificate, event: CertificateEvent) -> None:
    session.add(event)
    session.flush()
    certificate_audit.register_certificate_event(
        access_log.Chain(session),
        event,
        dossier_id=cert.dossier_id,
        clerk_id=event.clerk_id,
        institution_id=cert.institution_id,
    )


def send_to_printer(path: Path, print_command: list[str], viewer: list[str]) -> PrintOutcome:
    """Print ``path`` with ``print_command`` (the file appended as the last argument; waits
    at most :data:`PRINT_TIMEOUT_S` s); when the command is missing, fails or times out, open
    the file in ``viewer`` instead. Raises CertificateActionError ``print_failed`` when neither
    works (the message gives both reasons)."""
    from counter_tui.services import viewing

    if not path.is_file():
        raise CertificateActionError(
            _("The certificate file {path} is missing.").format(path=path), reason="no_document"
        )
    why = ""
    if print_command:
        try:
            done = subprocess.run(  # noqa: S603 - the command comes from the operator's settings
                [*print_command, str(path)],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=PRINT_TIMEOUT_S,
                check=False,
            )
        except FileNotFoundError:
            why = _("the print command {cmd} is not installed").format(cmd=print_command[0])
        except (OSError, subprocess.TimeoutExpired) as exc:
            why = _("the print command {cmd} failed: {error}").format(
                cmd=print_command[0], error=exc
            )
        else:
            answer = (done.stdout or done.stderr).decode("utf-8", "replace").strip()
            if done.returncode == 0:
                return PrintOutcome(path, "printed", answer[:200])
            why = _("the printer refused: {answer}").format(
                answer=answer[:200] or f"exit {done.returncode}"
            )
    else:
        why = _("no print command is configured")
    try:
        viewing.launch_viewer(viewer, [path])
    except viewing.ViewingError as exc:
        raise CertificateActionError(
            _("The certificate could not be printed ({why}) nor opened ({error}).").format(
                why=why, error=exc
            ),
            reason="print_failed",
        ) from None
    return PrintOutcome(path, "viewer", why)


def _record_print(
    db: Database, cert_id: uuid.UUID, outcome: PrintOutcome, workplace: Workplace
) -> None:
    with db.write() as session:
        cert = session.get(Certificate, cert_id)
        assert cert is not None
        reason = (
            f"lp: {outcome.detail}"
            if outcome.destination == "printed"
            else f"viewer: {outcome.detail}"
        )
        _append_event(
            session,
            cert,
            CertificateEvent(
                certificate_id=cert.id,
                kind="printed",
                clerk_id=workplace.clerk.id if workplace.clerk else None,
                reason=reason[:255],
                document_path=str(outcome.path),
            ),
        )


def print_certificate(
    db: Database,
    serial: str,
    *,
    workplace: Workplace,
    print_command: list[str],
    viewer: list[str],
) -> PrintOutcome:
    """Print the issued PDF of ``serial`` (see :func:`send_to_printer`) and record it.
    Raises CertificateActionError (``unknown_serial``, ``not_allowed``, ``voided``,
    ``no_document``, ``print_failed``)."""
    with authorization.refusals_logged(db, workplace), db.read() as session:
        cert = _get(session, serial)
        authorization.require(
            session,
            workplace,
            "print_certificate",
            dossier_id=cert.dossier_id,
            error=CertificateRefused,
        )
        _check_actor(cert, workplace)
        if _voided(session, cert):
            raise CertificateActionError(
                _("Certificate {serial} is voided; it is not printed.").format(serial=cert.serial),
                reason="voided",
            )
        if not cert.text_path:
            raise CertificateActionError(
                _(
                    "Certificate {serial} has no document (issued before certificates were PDFs)."
                ).format(serial=cert.serial),
                reason="no_document",
            )
        cert_id, path = cert.id, Path(cert.text_path)
    outcome = send_to_printer(path, print_command, viewer)
    _record_print(db, cert_id, outcome, workplace)
    return outcome


def document_for(
    session: Session, cert: Certificate, *, reprint_count: int = 0, voided: bool = False
) -> certificate_pdf.CertificateDocument:
    """The :class:`~certificate_pdf.CertificateDocument` of a stored certificate, as issued
    (``reprint_count`` > 0: marked 补打 with that number; ``voided``: 作废 overprint).
    Raises CertificateActionError ``no_document`` for a certificate without a payload."""
    if not cert.payload or cert.certified_text is None:
        raise CertificateActionError(
            _(
                "Certificate {serial} has no document (issued before certificates were PDFs)."
            ).format(serial=cert.serial),
            reason="no_document",
        )
    institution = session.get(Institution, cert.institution_id)
    assert institution is not None
    clerk = session.get(Clerk, cert.issued_by) if cert.issued_by else None
    ids = [uuid.UUID(i) for i in cert.cited_material_ids.split(",") if i]
    rows = session.exec(select(Material).where(col(Material.id).in_(ids))).all() if ids else []
    kind = certificates.KINDS_BY_CODE[cert.kind]
    from counter_tui.services import certificate_pdf  # fpdf2: only when a PDF is made

    return certificate_pdf.CertificateDocument(
        institution_name=institution.name,
        title=kind.title_zh,
        serial=cert.serial,
        certified_text=cert.certified_text,
        purpose=cert.purpose,
        issue_date=clock.today(cert.issued_at),
        clerk=clerk.name if clerk else "",
        verification_code=cert.verification_code or "",
        uscc=institution.uscc or "",
        address=institution.address or "",
        sources=tuple(
            certificate_pdf.CertificateSource(
                categories.catalogue_number(m.category, m.subcategory, m.item_no),
                m.title,
                m.formed_on or "—",
            )
            for m in sorted(rows, key=categories.display_key)
        ),
        identifier=cert.identifier or "",
        qr_payload=cert.payload,
        reprint=reprint_count > 0,
        reprint_count=reprint_count,
        voided=voided,
    )


def reprint(
    db: Database,
    serial: str,
    *,
    workplace: Workplace,
    print_command: list[str],
    viewer: list[str],
    now: dt.datetime | None = None,
) -> PrintOutcome:
    """补打: write copy n of ``serial`` marked as a reprint beside the original, record it
    (``reprinted``, sealed) and print it (:func:`send_to_printer`, recorded as ``printed``).
    Raises CertificateActionError (``unknown_serial``, ``not_allowed``, ``voided``,
    ``no_document``, ``print_failed`` — the copy is recorded even when printing fails),
    FontMissing, OSError for an unwritable folder."""
    written: Path | None = None
    committed = False
    try:
        with authorization.refusals_logged(db, workplace), db.write() as session:
            cert = _get(session, serial)
            authorization.require(
                session,
                workplace,
                "reprint_certificate",
                dossier_id=cert.dossier_id,
                error=CertificateRefused,
            )
            _check_actor(cert, workplace)
            if _voided(session, cert):
                raise CertificateActionError(
                    _("Certificate {serial} is voided; it is not reprinted.").format(
                        serial=cert.serial
                    ),
                    reason="voided",
                )
            copy_no = (
                session.exec(
                    select(func.count())
                    .select_from(CertificateEvent)
                    .where(
                        CertificateEvent.certificate_id == cert.id,
                        CertificateEvent.kind == "reprinted",
                    )
                ).one()
                + 1
            )
            from counter_tui.services import certificate_pdf

            data = certificate_pdf.render_pdf(document_for(session, cert, reprint_count=copy_no))
            original = Path(cert.text_path)
            path = original.with_name(f"{cert.serial}.reprint-{copy_no}.pdf")
            if path.exists():
                issuance._set_aside(path, original.parent.parent)
            issuance.write_document(path, data)
            written = path
            _append_event(
                session,
                cert,
                CertificateEvent(
                    certificate_id=cert.id,
                    kind="reprinted",
                    at=now or utcnow(),
                    clerk_id=workplace.clerk.id if workplace.clerk else None,
                    copy_no=copy_no,
                    document_path=str(path),
                    document_sha256=hashlib.sha256(data).hexdigest(),
                ),
            )
            cert_id = cert.id
        committed = True
    finally:
        if not committed and written is not None:
            written.unlink(missing_ok=True)
    outcome = send_to_printer(path, print_command, viewer)
    _record_print(db, cert_id, outcome, workplace)
    return outcome


def void(
    db: Database,
    serial: str,
    *,
    workplace: Workplace,
    reason: str,
    now: dt.datetime | None = None,
) -> CertificateRecord:
    """作废 ``serial`` with ``reason`` (1–:data:`MAX_REASON_CHARS` characters). Allowed to the
    clerk who issued it on the Beijing calendar day of issue, or to a supervisor of the
    issuing institution. Raises CertificateActionError (``unknown_serial``, ``not_allowed``,
    ``voided`` (already), ``reason_missing``)."""
    try:
        cleaned = text_rules.collapse(reason, MAX_REASON_CHARS)
    except ValueError:
        raise CertificateActionError(
            _("The reason may have at most {n} characters.").format(n=MAX_REASON_CHARS),
            reason="reason_missing",
        ) from None
    if not cleaned:
        raise CertificateActionError(
            _("Give the reason for voiding the certificate."), reason="reason_missing"
        )
    moment = now or utcnow()
    with authorization.refusals_logged(db, workplace), db.write() as session:
        cert = _get(session, serial)
        authorization.require(
            session,
            workplace,
            "void_certificate",
            dossier_id=cert.dossier_id,
            error=CertificateRefused,
        )
        _check_actor(cert, workplace)
        clerk = workplace.clerk
        assert clerk is not None
        same_day = clock.today(cert.issued_at) == clock.today(moment)
        if clerk.role != "supervisor" and not (cert.issued_by == clerk.id and same_day):
            raise CertificateActionError(
                _(
                    "Only the clerk who issued certificate {serial}, on the day of issue, or a "
                    "supervisor may void it."
                ).format(serial=cert.serial),
                reason="not_allowed",
            )
        if _voided(session, cert):
            raise CertificateActionError(
                _("Certificate {serial} is already voided.").format(serial=cert.serial),
                reason="voided",
            )
        _append_event(
            session,
            cert,
            CertificateEvent(
                certificate_id=cert.id, kind="voided", at=moment, clerk_id=clerk.id, reason=cleaned
            ),
        )
        return _records(session, [cert])[0]
