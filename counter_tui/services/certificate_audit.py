"""`audit verify` over certificates: seals, signatures, claims and the documents on disk.

Called by :func:`counter_tui.services.fixity.verify` after the access chain has been walked;
the seals themselves are made here too (``register_*``, in the transaction of each insert).
For every row of ``signing_key_list``, ``certificate`` and ``certificate_event``:

* the row must be sealed in the chain (``key_list_added``, ``certificate_added``,
  ``certificate_event_added``) with its current content hash (services.fixity); a row
  without a seal was inserted behind the application's back, a row with another hash was
  edited; a sealed row that is gone was removed;
* a key list must carry a valid signature of its own current key (certificate_signing);
* a certificate with a payload must verify against its institution's stored key lists, its
  signed claims must name its serial, kind and institution and the SHA-256 of its certified
  text, and its 查验码 must be the one derived from the payload;
* the PDF (and every reprint) must exist and match its recorded SHA-256.

Verifying writes nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Protocol

from sqlmodel import Session, select

from counter_tui.db.models import Certificate, CertificateEvent, Institution, SigningKeyList
from counter_tui.domain import canonical, clock
from counter_tui.i18n import N_, _
from counter_tui.services import access_log, certificate_signing, key_lists, seals


def _uuid(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None


def certificate_content_hash(cert: Certificate) -> str:
    """SHA-256 (hex) of a certificate row's canonical content (RFC 8785 JSON of every
    column: serial, kind, dossier, holder institution, applicant, purpose, cited materials,
    document path and SHA-256, issuer, time, identifier, 查验码, payload, key id, certified
    text, facts)."""
    content = {
        "id": str(cert.id),
        "serial": cert.serial,
        "kind": cert.kind,
        "dossier_id": str(cert.dossier_id),
        "visit_id": _uuid(cert.visit_id),
        "institution_id": str(cert.institution_id),
        "applicant_kind": cert.applicant_kind,
        "agent_name": cert.agent_name,
        "agent_id_number": cert.agent_id_number,
        "purpose": cert.purpose,
        "cited_material_ids": cert.cited_material_ids,
        "text_path": cert.text_path,
        "text_sha256": cert.text_sha256,
        "issued_by": _uuid(cert.issued_by),
        "issued_at": clock.storage_text(cert.issued_at),
        "identifier": cert.identifier,
        "verification_code": cert.verification_code,
        "payload": cert.payload,
        "key_id": cert.key_id,
        "certified_text": cert.certified_text,
        "facts": cert.facts,
    }
    return hashlib.sha256(canonical.dumps(content)).hexdigest()


def certificate_event_content_hash(event: CertificateEvent) -> str:
    """SHA-256 (hex) of a certificate event's canonical content (RFC 8785 JSON of every
    column)."""
    content = {
        "id": str(event.id),
        "certificate_id": str(event.certificate_id),
        "kind": event.kind,
        "at": clock.storage_text(event.at),
        "clerk_id": _uuid(event.clerk_id),
        "copy_no": event.copy_no,
        "reason": event.reason,
        "document_path": event.document_path,
        "document_sha256": event.document_sha256,
    }
    return hashlib.sha256(canonical.dumps(content)).hexdigest()


def key_list_content_hash(row: SigningKeyList) -> str:
    """SHA-256 (hex) of a stored key list's canonical content (RFC 8785 JSON; the list's
    bytes as hex)."""
    content = {
        "id": str(row.id),
        "institution_id": str(row.institution_id),
        "current_key_id": row.current_key_id,
        "key_list": bytes(row.key_list).hex(),
        "stored_at": clock.storage_text(row.stored_at),
    }
    return hashlib.sha256(canonical.dumps(content)).hexdigest()


def register_certificate(
    chain: access_log.Chain,
    cert: Certificate,
    *,
    clerk_id: uuid.UUID | None,
    institution_id: uuid.UUID | None,
) -> None:
    """Seal a newly issued certificate into the chain (``certificate_added``; call in the
    transaction that inserts it)."""
    chain.append(
        kind="certificate_added",
        clerk_id=clerk_id,
        institution_id=institution_id,
        dossier_id=cert.dossier_id,
        target_id=cert.id,
        reason=certificate_content_hash(cert),
    )


def register_certificate_event(
    chain: access_log.Chain,
    event: CertificateEvent,
    *,
    dossier_id: uuid.UUID | None,
    clerk_id: uuid.UUID | None,
    institution_id: uuid.UUID | None,
) -> None:
    """Seal a print, reprint or void into the chain (``certificate_event_added``)."""
    chain.append(
        kind="certificate_event_added",
        clerk_id=clerk_id,
        institution_id=institution_id,
        dossier_id=dossier_id,
        target_id=event.id,
        reason=certificate_event_content_hash(event),
    )


def register_key_list(
    chain: access_log.Chain,
    row: SigningKeyList,
    *,
    clerk_id: uuid.UUID | None,
    institution_id: uuid.UUID | None,
) -> None:
    """Seal a stored signing key list into the chain (``key_list_added``)."""
    chain.append(
        kind="key_list_added",
        clerk_id=clerk_id,
        institution_id=institution_id,
        target_id=row.id,
        reason=key_list_content_hash(row),
    )


class Findings(Protocol):
    """Where findings go (services.fixity.VerifyReport)."""

    certificates: int
    certificate_files: int

    def add(self, table: str, row_id: str, what: str, message: str) -> None:
        """Record one finding."""
        ...


EVENT_KINDS = {
    "printed": N_("print"),
    "reprinted": N_("reprint (补打)"),
    "voided": N_("void (作废)"),
}


def event_label(event: CertificateEvent, serials: dict) -> str:
    """How a finding names a certificate event: its kind in the UI language, the
    certificate's serial and the event's id."""
    kind = _(EVENT_KINDS[event.kind]) if event.kind in EVENT_KINDS else event.kind
    return f"{kind} {serials.get(event.certificate_id, '?')} ({event.id})"


TABLE_LABELS = {
    "certificate": N_("certificate"),
    "certificate_event": N_("certificate event"),
    "signing_key_list": N_("signing key list"),
}


def _check_document(
    report: Findings, table: str, row_id: object, path: str, sha256: str, label: str
) -> None:
    report.certificate_files += 1
    try:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        report.add(
            table,
            str(row_id),
            "file_missing",
            _("the document of {label} ({path}) is missing").format(label=label, path=path),
        )
        return
    if digest != sha256:
        report.add(
            table,
            str(row_id),
            "file_changed",
            _("the document of {label} ({path}) differs from its recorded SHA-256").format(
                label=label, path=path
            ),
        )


def _check_payload(
    report: Findings,
    cert: Certificate,
    institution_code: str,
    lists: list[certificate_signing.KeyList],
) -> None:
    def problem(what: str, message: str) -> None:
        report.add("certificate", str(cert.id), what, message)

    assert cert.payload is not None
    kid = certificate_signing.payload_key_id(cert.payload)
    key_list = next((k for k in lists if kid and k.key(kid) is not None), None)
    if key_list is None:
        problem(
            "unknown_key",
            _(
                "certificate {serial}: signed with key {key_id}, which no stored key list of "
                "its institution holds"
            ).format(serial=cert.serial, key_id=kid or "?"),
        )
        return
    try:
        verified = certificate_signing.verify_payload(cert.payload, key_list)
    except certificate_signing.CertificateInvalid as exc:
        problem(
            "signature",
            _("certificate {serial}: its signature does not verify ({reason})").format(
                serial=cert.serial, reason=exc.reason
            ),
        )
        return
    claims = verified.claims
    mismatches = [
        name
        for name, ok in (
            ("serial", claims.serial == cert.serial),
            ("kind", claims.kind == cert.kind),
            ("institution", claims.institution_code == institution_code),
            (
                "text",
                cert.certified_text is not None
                and certificate_signing.text_matches(claims, cert.certified_text),
            ),
            (
                "code",
                cert.verification_code == certificate_signing.verification_code_for(cert.payload),
            ),
            ("key_id", cert.key_id == verified.key_id),
        )
        if not ok
    ]
    if mismatches:
        problem(
            "claims",
            _(
                "certificate {serial}: the row does not match what its signature states ({fields})"
            ).format(serial=cert.serial, fields=", ".join(mismatches)),
        )


def check(
    session: Session,
    report: Findings,
    sealed: dict[tuple[str, str], str],
    chain_ok: bool,
    *,
    check_files: bool = True,
) -> None:
    """Add the certificate findings to ``report`` (see the module docstring). ``sealed``:
    what :func:`fixity.verify_chain` returned; ``chain_ok``: whether the chain was intact
    (unsealed rows are only named then); ``check_files``: also hash the documents."""
    codes = {i.id: i.code for i in session.exec(select(Institution))}
    key_list_rows = session.exec(select(SigningKeyList).order_by(SigningKeyList.stored_at)).all()
    seals.check_rows(
        report,
        sealed,
        chain_ok,
        "signing_key_list",
        _(TABLE_LABELS["signing_key_list"]),
        key_list_rows,
        lambda row: row.current_key_id,
        key_list_content_hash,
    )
    for row in key_list_rows:
        try:
            certificate_signing.load_key_list(bytes(row.key_list))
        except certificate_signing.SigningError as exc:
            report.add(
                "signing_key_list",
                str(row.id),
                "invalid",
                _("signing key list {id} is not validly signed ({error})").format(
                    id=row.id, error=exc
                ),
            )
    lineage = key_lists.lineage(session)
    for row in lineage.rejected:
        report.add(
            "signing_key_list",
            str(row.id),
            "not_endorsed",
            _(
                "signing key list {id} of {institution} does not follow the institution's "
                "earlier list (a new key without the retired key's endorsement): not the "
                "institution's"
            ).format(id=row.id, institution=codes.get(row.institution_id, "?")),
        )
    certs = session.exec(select(Certificate).order_by(Certificate.id)).all()
    report.certificates += seals.check_rows(
        report,
        sealed,
        chain_ok,
        "certificate",
        _(TABLE_LABELS["certificate"]),
        certs,
        lambda cert: cert.serial,
        certificate_content_hash,
    )
    for cert in certs:
        if cert.payload:
            accepted = lineage.accepted.get(cert.institution_id)
            _check_payload(
                report,
                cert,
                codes.get(cert.institution_id, ""),
                [accepted] if accepted else [],
            )
        if check_files and cert.text_path:
            _check_document(
                report, "certificate", cert.id, cert.text_path, cert.text_sha256, cert.serial
            )
    serials = {cert.id: cert.serial for cert in certs}
    events = session.exec(select(CertificateEvent).order_by(CertificateEvent.id)).all()
    seals.check_rows(
        report,
        sealed,
        chain_ok,
        "certificate_event",
        _(TABLE_LABELS["certificate_event"]),
        events,
        lambda event: event_label(event, serials),
        certificate_event_content_hash,
    )
    for event in events if check_files else ():
        if event.document_path and event.document_sha256:
            _check_document(
                report,
                "certificate_event",
                event.id,
                event.document_path,
                event.document_sha256,
                event_label(event, serials),
            )
