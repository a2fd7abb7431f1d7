"""`audit verify` over certificates: seals, signatures, claims and the documents on disk.

Called by :func:`counter_tui.services.fixity.verify` after the access chain has been walked.
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
from collections import defaultdict
from pathlib import Path

from sqlmodel import Session, select

from counter_tui.db.models import Certificate, CertificateEvent, Institution, SigningKeyList
from counter_tui.i18n import N_, _
from counter_tui.services import certificate_signing, fixity

TABLE_LABELS = {
    "certificate": N_("certificate"),
    "certificate_event": N_("certificate event"),
    "signing_key_list": N_("signing key list"),
}


def _seal(
    report: fixity.VerifyReport,
    sealed: dict[tuple[str, str], str],
    present: set[tuple[str, str]],
    chain_ok: bool,
    table: str,
    row_id: object,
    content_hash: str,
    label: str,
) -> bool:
    """Compare one row with its seal; True when it is sealed as it is."""
    key = (table, str(row_id))
    present.add(key)
    want = sealed.get(key)
    if want is None:
        if chain_ok:
            report.problems.append(
                fixity.Problem(
                    table,
                    str(row_id),
                    "unsealed",
                    _(
                        "{what} {label} was never sealed in the access chain (inserted behind "
                        "the application's back)"
                    ).format(what=_(TABLE_LABELS[table]), label=label),
                )
            )
        return False
    if want != content_hash:
        report.problems.append(
            fixity.Problem(
                table,
                str(row_id),
                "changed",
                _("{what} {label} differs from its sealed content").format(
                    what=_(TABLE_LABELS[table]), label=label
                ),
            )
        )
        return False
    return True


def _missing(
    report: fixity.VerifyReport,
    sealed: dict[tuple[str, str], str],
    present: set[tuple[str, str]],
    table: str,
) -> None:
    for kind, row_id in sorted(sealed):
        if kind == table and (kind, row_id) not in present:
            report.problems.append(
                fixity.Problem(
                    table,
                    row_id,
                    "missing",
                    _(
                        "{what} {id} was sealed in the access chain but is no longer in the "
                        "database (removed behind the application's back)"
                    ).format(what=_(TABLE_LABELS[table]), id=row_id),
                )
            )


def _check_document(
    report: fixity.VerifyReport, table: str, row_id: object, path: str, sha256: str, label: str
) -> None:
    report.certificate_files += 1
    try:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        report.problems.append(
            fixity.Problem(
                table,
                str(row_id),
                "file_missing",
                _("the document of {label} ({path}) is missing").format(label=label, path=path),
            )
        )
        return
    if digest != sha256:
        report.problems.append(
            fixity.Problem(
                table,
                str(row_id),
                "file_changed",
                _("the document of {label} ({path}) differs from its recorded SHA-256").format(
                    label=label, path=path
                ),
            )
        )


def _check_payload(
    report: fixity.VerifyReport,
    cert: Certificate,
    institution_code: str,
    lists: list[certificate_signing.KeyList],
) -> None:
    def problem(what: str, message: str) -> None:
        report.problems.append(fixity.Problem("certificate", str(cert.id), what, message))

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
    report: fixity.VerifyReport,
    sealed: dict[tuple[str, str], str],
    chain_ok: bool,
    *,
    check_files: bool = True,
) -> None:
    """Add the certificate findings to ``report`` (see the module docstring). ``sealed``:
    what :func:`fixity.verify_chain` returned; ``chain_ok``: whether the chain was intact
    (unsealed rows are only named then); ``check_files``: also hash the documents."""
    present: set[tuple[str, str]] = set()
    codes = {i.id: i.code for i in session.exec(select(Institution))}
    lists: dict[object, list[certificate_signing.KeyList]] = defaultdict(list)
    for row in session.exec(select(SigningKeyList).order_by(SigningKeyList.stored_at)):
        ok = _seal(
            report,
            sealed,
            present,
            chain_ok,
            "signing_key_list",
            row.id,
            fixity.key_list_content_hash(row),
            row.current_key_id,
        )
        try:
            listed = certificate_signing.load_key_list(bytes(row.key_list))
        except certificate_signing.SigningError as exc:
            report.problems.append(
                fixity.Problem(
                    "signing_key_list",
                    str(row.id),
                    "invalid",
                    _("signing key list {id} is not validly signed ({error})").format(
                        id=row.id, error=exc
                    ),
                )
            )
            continue
        if ok:
            lists[row.institution_id].append(listed)
    _missing(report, sealed, present, "signing_key_list")
    for cert in session.exec(select(Certificate).order_by(Certificate.id)):
        report.certificates += 1
        _seal(
            report,
            sealed,
            present,
            chain_ok,
            "certificate",
            cert.id,
            fixity.certificate_content_hash(cert),
            cert.serial,
        )
        if cert.payload:
            _check_payload(
                report, cert, codes.get(cert.institution_id, ""), lists[cert.institution_id]
            )
        if check_files and cert.text_path:
            _check_document(
                report, "certificate", cert.id, cert.text_path, cert.text_sha256, cert.serial
            )
    _missing(report, sealed, present, "certificate")
    for event in session.exec(select(CertificateEvent).order_by(CertificateEvent.id)):
        _seal(
            report,
            sealed,
            present,
            chain_ok,
            "certificate_event",
            event.id,
            fixity.certificate_event_content_hash(event),
            f"{event.kind} {event.id}",
        )
        if check_files and event.document_path and event.document_sha256:
            _check_document(
                report,
                "certificate_event",
                event.id,
                event.document_path,
                event.document_sha256,
                f"{event.kind} {event.id}",
            )
    _missing(report, sealed, present, "certificate_event")
