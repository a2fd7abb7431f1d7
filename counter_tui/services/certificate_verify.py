"""Verifying a certificate (证明) anyone presents: its signed QR text, a file showing it, or its
typable 查验码 — against the issuer's key list and this archive's own record. Read-only.

Order (issue 9, "Verification anyone can do"):

1. **Input.** :func:`counter_tui.services.certificate_input.read_input`: a PDF, a photo or scan,
   the QR text a 2-D scanner typed (``CTC1:…``), or the code ``XXXX-XXXX-XXX``. Nothing
   readable → ``unreadable``.
2. **Signature** (QR text). The key list is chosen by the institution the payload *states*
   (read unverified, only to choose): the institution's list in this computer's keyring when
   the keyring is usable and holds one (then it alone is trusted: a list added to the database
   file behind the application's back cannot override it), else the newest stored
   :class:`~counter_tui.db.models.SigningKeyList` row of that institution; when no list of that
   institution is stored, every stored list holding the payload's key id is tried.
   :func:`~counter_tui.services.certificate_signing.verify_payload` then decides ``altered``,
   ``unknown_key``, ``key_not_active`` or ``future``.
3. **Record** (by the signed serial). None here → ``unknown_serial`` (the signature is good but
   only the issuer can say more). The record's payload must be the scanned one, its 查验码 the
   payload's, and its certified text the one whose SHA-256 was signed; otherwise ``altered``
   (the record or the document was edited). A ``voided`` :class:`CertificateEvent` →
   ``voided``. Else ``valid``.

   For a typed **code**: the record with that code (none → ``unknown_serial``); its stored
   payload is verified as in step 2 and must give that code
   (:func:`~counter_tui.services.certificate_signing.verification_code_for`).

Nothing is written: no access event, no migration (anyone may verify, at a counter or with
``counter-tui certificate verify``). The holder's name is shown (the verifier is at the
archive's counter or holds the paper); the resident ID never is — ``holder_id`` is only
compared with the signed holder hash.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import re
import uuid
from dataclasses import dataclass, replace

from sqlmodel import Session, col, select

from counter_tui.db.engine import Database
from counter_tui.db.models import (
    AccessEvent,
    Certificate,
    CertificateEvent,
    Clerk,
    Dossier,
    Institution,
)
from counter_tui.domain import certificates, clock, resident_id
from counter_tui.domain.identifiers import InvalidVerificationCode, normalise_verification_code
from counter_tui.errors import CounterError
from counter_tui.i18n import N_, _
from counter_tui.services import authorization, certificate_audit, checkpoints, key_lists
from counter_tui.services import certificate_signing as signing
from counter_tui.services.certificate_input import (
    CertificateInput,
    CertificateInputError,
    InputKind,
    read_input,
)
from counter_tui.services.workplace import Workplace

log = logging.getLogger(__name__)

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# A resident ID standing alone in a text: 18 characters (GB 11643-1999) or 15 digits (1989).
_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9A-Za-z])")


def mask_resident_ids(text: str) -> str:
    """``text`` with every resident ID in it (18 characters per GB 11643-1999, or 15 digits
    per the 1989 edition, not part of a longer run of letters and digits) masked as
    :func:`counter_tui.domain.resident_id.mask` does (first 6 and last 4 shown). A
    verification shows a certificate's text to whoever presents its code: the paper shows
    the full ID, the verifier never does."""
    return _RESIDENT_ID.sub(lambda m: resident_id.mask(m.group(0)), text)


class Outcome(enum.StrEnum):
    """What a verification found (:attr:`Verification.outcome`)."""

    VALID = "valid"
    """Signature valid, record present and matching, not voided."""
    ALTERED = "altered"
    """The code was changed or damaged, or this archive's record differs from it."""
    VOIDED = "voided"
    """A genuine certificate, voided (作废) since."""
    UNKNOWN_KEY = "unknown_key"
    """Signed with a key no trusted key list here holds."""
    UNKNOWN_SERIAL = "unknown_serial"
    """Signature valid (or a well-formed code) but no record of it here: ask the issuer."""
    KEY_NOT_ACTIVE = "key_not_active"
    """Signed by a listed key outside its period of use."""
    FUTURE = "future"
    """Signed at a time after this computer's clock (one of the clocks is wrong)."""
    UNREADABLE = "unreadable"
    """The input could not be read (missing or corrupt file, no certificate QR, bad code)."""


OUTCOME_LABELS = {
    Outcome.VALID: N_("VALID"),
    Outcome.ALTERED: N_("NOT VALID: altered"),
    Outcome.VOIDED: N_("NOT VALID: voided"),
    Outcome.UNKNOWN_KEY: N_("NOT VERIFIED: unknown signing key"),
    Outcome.UNKNOWN_SERIAL: N_("NOT VERIFIED: no record here"),
    Outcome.KEY_NOT_ACTIVE: N_("NOT VALID: key not in use when signed"),
    Outcome.FUTURE: N_("NOT VERIFIED: signed in the future"),
    Outcome.UNREADABLE: N_("UNREADABLE"),
}
"""The headline of each outcome (msgids; shown through ``_``)."""

_INVALID_OUTCOMES = {
    "altered": Outcome.ALTERED,
    "unknown_key": Outcome.UNKNOWN_KEY,
    "key_not_active_at_issue": Outcome.KEY_NOT_ACTIVE,
    "signed_in_future": Outcome.FUTURE,
}


@dataclass(frozen=True)
class Verification:
    """The result of :func:`verify`.

    ``outcome``: :class:`Outcome`; ``message``: one paragraph in the UI language saying what
    was found and what to do. The other fields are filled as far as they are known: from the
    signed claims once a signature was verified (``serial``, ``kind_code``, ``title`` — the
    kind's Chinese title as printed —, ``institution_code``, ``issue_date`` (Beijing calendar
    date), ``signed_at`` (aware UTC), ``key_id`` (16 hex digits)), and from this archive's
    record (``institution_name``, ``issued_by`` (the clerk's name), ``person_name`` (the
    holder's name), ``certified_text`` (resident IDs in it masked: :func:`mask_resident_ids`;
    the signature covers the full text), ``verification_code`` ``XXXX-XXXX-XXX``, ``reprints``
    (补打 copies made), ``void_reason`` / ``voided_at`` (aware UTC) / ``voided_by``). For
    ``unknown_key``, ``key_not_active`` and ``future`` only ``serial`` and
    ``institution_code`` are filled, as the payload states them (not vouched for).
    ``holder_matches``: whether the ID given to :func:`verify` is the signed holder's (None
    when none was given or no signature was verified). ``detail``: what failed, English, for
    the log. No field ever holds a resident ID.
    """

    outcome: Outcome
    message: str
    serial: str = ""
    kind_code: str = ""
    title: str = ""
    institution_code: str = ""
    institution_name: str = ""
    issue_date: dt.date | None = None
    signed_at: dt.datetime | None = None
    issued_by: str = ""
    person_name: str = ""
    certified_text: str = ""
    verification_code: str = ""
    key_id: str = ""
    reprints: int = 0
    void_reason: str = ""
    voided_at: dt.datetime | None = None
    voided_by: str = ""
    holder_matches: bool | None = None
    detail: str = ""

    @property
    def valid(self) -> bool:
        """True only for :attr:`Outcome.VALID`."""
        return self.outcome is Outcome.VALID

    def headline(self) -> str:
        """The outcome in a few words, in the UI language (:data:`OUTCOME_LABELS`)."""
        return _(OUTCOME_LABELS[self.outcome])

    def details(self) -> list[tuple[str, str]]:
        """What is known, as (label, value) lines in the UI language, empty values left out:
        serial, kind, issuer, issue date, clerk, holder, 查验码, reprints, voiding, and
        whether a given ID matched. Dates and times are Beijing time. The certified text is
        not among them (:attr:`certified_text`)."""
        voided = ""
        if self.voided_at is not None:
            voided = _("{when}, by {who}: {reason}").format(
                when=clock.local_time(self.voided_at, "%Y-%m-%d %H:%M"),
                who=self.voided_by or "—",
                reason=self.void_reason or "—",
            )
        kind = certificates.KINDS_BY_CODE.get(self.kind_code)
        title = self.title
        if kind is not None and _(kind.title_en) != kind.title_zh:
            title = f"{kind.title_zh} ({_(kind.title_en)})"
        holder = ""
        if self.holder_matches is not None:
            holder = _("yes") if self.holder_matches else _("NO")
        lines = [
            (_("Serial"), self.serial),
            (_("Kind"), title),
            (_("Issued by"), self.institution_name or self.institution_code),
            (_("Issued on"), self.issue_date.isoformat() if self.issue_date else ""),
            (_("Clerk"), self.issued_by),
            (_("Holder"), self.person_name),
            (_("Verification code"), self.verification_code),
            (_("Reprints"), str(self.reprints) if self.reprints else ""),
            (_("Voided"), voided),
            (_("ID matches holder"), holder),
        ]
        return [(label, value) for label, value in lines if value]


# --- key lists --------------------------------------------------------------------------------


def _stated(payload: str) -> tuple[str, signing.CertificateClaims | None]:
    """The key id and the claims a payload states, unverified (only to choose a key list).

    :func:`signing.verify_payload` against a list without keys parses the payload, finds its
    key id in no list and stops before any signature check, reporting the key id and the
    claims as stated. Raises :class:`signing.PayloadAltered` when the payload is malformed.
    """
    empty = signing.KeyList(institution_code="", keys=(), issued=_EPOCH, encoded=b"")
    try:
        signing.verify_payload(payload, empty)
    except signing.UnknownKey as exc:
        return exc.key_id or "", exc.claims
    raise signing.PayloadAltered("a payload verified against an empty key list")


def _keyring_list(institution_code: str) -> signing.KeyList | None:
    """The institution's key list from this computer's keyring, or None (no usable keyring,
    no key of that institution there, a damaged list)."""
    try:
        listed = signing.load_key_list(signing.key_list(institution_code))
    except (CounterError, ValueError) as exc:
        log.debug("no key list of %r in the keyring: %s", institution_code, exc)
        return None
    return listed if listed.institution_code == institution_code else None


def _stored_lists(session: Session) -> dict[str, signing.KeyList]:
    """Each institution's trusted stored key list, by code: the lineage of sealed lists, each
    rotation endorsed by the retired key (services.key_lists); a list someone without the
    key appended is not among them."""
    return key_lists.trusted_by_code(session)


def _check_signature(
    session: Session, payload: str, now: dt.datetime | None
) -> signing.VerifiedClaims:
    """Verify ``payload`` with the key list chosen as the module docstring says. Raises
    :class:`signing.CertificateInvalid` (its subclasses)."""
    key_id, stated = _stated(payload)
    code = stated.institution_code if stated is not None else ""
    trusted = _keyring_list(code) if code else None
    if trusted is not None:
        return signing.verify_payload(payload, trusted, now=now)
    stored = _stored_lists(session)
    if code in stored:
        return signing.verify_payload(payload, stored[code], now=now)
    holding = [listed for listed in stored.values() if listed.key(key_id) is not None]
    if not holding:
        raise signing.UnknownKey(
            _(
                "The certificate was signed with key {key_id}, and no key list here holds it "
                "(no key list of institution {institution} is kept here)."
            ).format(key_id=key_id, institution=code or "?"),
            reason="unknown_key",
            detail="no stored key list holds the kid",
            claims=stated,
            key_id=key_id,
        )
    failure: signing.CertificateInvalid | None = None
    for listed in holding:
        try:
            return signing.verify_payload(payload, listed, now=now)
        except signing.CertificateInvalid as exc:
            failure = failure or exc
    assert failure is not None
    raise failure


# --- the record -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Record:
    row: Certificate
    institution_name: str
    issued_by: str
    person_name: str
    reprints: int
    voided: CertificateEvent | None
    voided_by: str
    uscc: str = ""
    tampered: str = ""
    """Why this archive's record cannot be trusted ("" when it can): a missing or broken
    seal of the certificate or of one of its events, a sealed event removed, a holder's name
    the certified text does not state."""


def _clerk_name(session: Session, clerk_id: uuid.UUID | None) -> str:
    clerk = session.get(Clerk, clerk_id) if clerk_id else None
    return clerk.name if clerk else ""


def _record(session: Session, row: Certificate) -> _Record:
    institution = session.get(Institution, row.institution_id)
    dossier = session.get(Dossier, row.dossier_id)
    events = session.exec(
        select(CertificateEvent)
        .where(CertificateEvent.certificate_id == row.id)
        .order_by(col(CertificateEvent.at), col(CertificateEvent.id))
    ).all()
    voided = next((e for e in events if e.kind == "voided"), None)
    person = dossier.person_name if dossier else ""
    tampered = _tampering(session, row, events) or checkpoints.rolled_back(session) or ""
    if not tampered and person and row.certified_text and person not in row.certified_text:
        tampered = _("the holder's name in the dossier differs from the certified text")
    return _Record(
        row=row,
        institution_name=institution.name if institution else "",
        issued_by=_clerk_name(session, row.issued_by),
        person_name=person,
        reprints=sum(1 for e in events if e.kind == "reprinted"),
        voided=voided,
        voided_by=_clerk_name(session, voided.clerk_id) if voided else "",
        uscc=(institution.uscc or "") if institution else "",
        tampered=tampered,
    )


def _tampering(session: Session, row: Certificate, events: list[CertificateEvent]) -> str:
    """Why the record of ``row`` cannot be trusted, or "": the certificate and each of its
    events must be sealed with their current content (services.certificate_audit), and no
    sealed certificate event of the dossier may be gone (a void deleted would make a voided
    certificate look valid). Reads only the dossier's seals (indexed by dossier)."""
    seals = session.exec(
        select(AccessEvent.kind, AccessEvent.target_id, AccessEvent.reason).where(
            AccessEvent.dossier_id == row.dossier_id,
            col(AccessEvent.kind).in_(("certificate_added", "certificate_event_added")),
        )
    ).all()
    sealed = {(kind, str(target)): reason for kind, target, reason in seals}
    if sealed.get(("certificate_added", str(row.id))) != certificate_audit.certificate_content_hash(
        row
    ):
        return _("the certificate's record is not as sealed")
    for event in events:
        key = ("certificate_event_added", str(event.id))
        if sealed.get(key) != certificate_audit.certificate_event_content_hash(event):
            return _("a print, reprint or void record is not as sealed")
    sealed_events = {target for kind, target in sealed if kind == "certificate_event_added"}
    if sealed_events:
        present = {
            str(i)
            for i in session.exec(
                select(CertificateEvent.id)
                .join(Certificate, col(Certificate.id) == col(CertificateEvent.certificate_id))
                .where(Certificate.dossier_id == row.dossier_id)
            )
        }
        if sealed_events - present:
            return _("a print, reprint or void record was removed")
    return ""


def _institution_name(session: Session, code: str) -> str:
    institution = session.exec(select(Institution).where(Institution.code == code)).first()
    return institution.name if institution else ""


# --- outcomes ---------------------------------------------------------------------------------


def _title(kind_code: str) -> str:
    kind = certificates.KINDS_BY_CODE.get(kind_code)
    return kind.title_zh if kind else kind_code


def _holder(verified: signing.VerifiedClaims, holder_id: str | None) -> bool | None:
    return None if holder_id is None else signing.holder_matches(verified, holder_id)


def _holder_sentence(matches: bool | None) -> str:
    if matches is None:
        return ""
    if matches:
        return " " + _("The ID number given is the holder's.")
    return " " + _("The ID number given is NOT the holder's: check the person's identity.")


def _invalid(exc: signing.CertificateInvalid) -> Verification:
    """A payload whose signature check failed: what it states is not vouched for."""
    if isinstance(exc, signing.PayloadAltered) and exc.truncated:
        return Verification(
            outcome=Outcome.UNREADABLE,
            message=_(
                "The certificate's QR code was read only in part (the text stops short): scan "
                "it again, or type the 查验码 printed beside it."
            ),
            detail=exc.detail,
        )
    outcome = _INVALID_OUTCOMES.get(exc.reason, Outcome.ALTERED)
    advice = {
        Outcome.ALTERED: _("Do not accept it; the applicant may ask the issuer for a new copy."),
        Outcome.UNKNOWN_KEY: _(
            "Do not accept it as verified; ask the issuing archive, or bring its key list here."
        ),
    }.get(outcome, _("Do not accept it as verified; ask the issuing archive."))
    claims = exc.claims
    return Verification(
        outcome=outcome,
        message=f"{exc} {advice}",
        serial=claims.serial if claims else "",
        institution_code=claims.institution_code if claims else "",
        key_id=exc.key_id or "",
        detail=exc.detail,
    )


def _signed(verified: signing.VerifiedClaims, holder_id: str | None) -> Verification:
    """What a verified signature vouches for, as a Verification still to be given its
    outcome and message (:func:`dataclasses.replace`)."""
    claims = verified.claims
    return Verification(
        outcome=Outcome.VALID,
        message="",
        serial=claims.serial,
        kind_code=claims.kind,
        title=_title(claims.kind),
        institution_code=claims.institution_code,
        issue_date=claims.issue_date,
        signed_at=verified.signed_at,
        key_id=verified.key_id,
        holder_matches=_holder(verified, holder_id),
    )


def _from_record(
    verified: signing.VerifiedClaims,
    record: _Record,
    holder_id: str | None,
    *,
    scanned: str | None,
) -> Verification:
    """Compare the verified payload with the archive's record and say what was found.
    ``scanned``: the payload presented (None when a code was typed: the record's own payload
    was verified)."""
    row = record.row
    claims = verified.claims
    base = replace(
        _signed(verified, holder_id),
        institution_name=record.institution_name,
        issued_by=record.issued_by,
        person_name=record.person_name,
        verification_code=row.verification_code or "",
        reprints=record.reprints,
    )
    what = {
        "serial": claims.serial,
        "institution": record.institution_name or claims.institution_code,
    }
    payload = (row.payload or "").strip().upper()
    if scanned is not None and payload != scanned:
        return replace(
            base,
            outcome=Outcome.ALTERED,
            message=_(
                "The signature is valid, but the record of certificate {serial} at "
                "{institution} holds a different code: this is not the certificate issued "
                "under that serial. Do not accept it; report it to the supervisor."
            ).format(**what),
            detail="record payload differs from the scanned one",
        )
    if (
        row.certified_text is None
        or not signing.text_matches(verified, row.certified_text)
        or row.verification_code != signing.verification_code_for(payload)
    ):
        return replace(
            base,
            outcome=Outcome.ALTERED,
            message=_(
                "The signature is valid, but the record of certificate {serial} at "
                "{institution} no longer matches what was signed: the record has been "
                "edited. Do not rely on it; report it to the supervisor."
            ).format(**what),
            detail="record's certified text or code differs from the signed ones",
        )
    if record.tampered:
        return replace(
            base,
            outcome=Outcome.ALTERED,
            message=_(
                "The signature is valid, but this archive's record of certificate {serial} "
                "was changed behind the application's back ({what}): its status cannot be "
                "trusted. Do not rely on it; run counter-tui audit verify and report it."
            ).format(what=record.tampered, **what),
            detail=f"record tampered: {record.tampered}",
        )
    if claims.uscc and record.uscc and claims.uscc != record.uscc:
        return replace(
            base,
            outcome=Outcome.ALTERED,
            message=_(
                "The signature is valid, but the issuing institution recorded here is not the "
                "one that signed certificate {serial}: the record has been edited."
            ).format(**what),
            detail="institution USCC differs from the signed one",
        )
    base = replace(base, certified_text=mask_resident_ids(row.certified_text))
    holder = _holder_sentence(base.holder_matches)
    if record.voided is not None:
        voided = record.voided
        message = _(
            "Certificate {serial} ({title}) was issued by {institution} on {date}, but it "
            "was voided on {when} by {who}: {reason}. It is no longer valid."
        ).format(
            title=base.title,
            date=claims.issue_date.isoformat(),
            when=clock.local_time(voided.at, "%Y-%m-%d %H:%M"),
            who=record.voided_by or "—",
            reason=voided.reason or "—",
            **what,
        )
        return replace(
            base,
            outcome=Outcome.VOIDED,
            message=message + holder,
            void_reason=voided.reason,
            voided_at=_aware(voided.at),
            voided_by=record.voided_by,
        )
    message = _(
        "Valid: certificate {serial} ({title}) for {person} was issued by {institution} on "
        "{date}, handled by {clerk}; the signature and this archive's record agree."
    ).format(
        title=base.title,
        person=record.person_name or "—",
        date=claims.issue_date.isoformat(),
        clerk=record.issued_by or "—",
        **what,
    )
    if record.reprints:
        message += " " + _("Copies reprinted since: {n}.").format(n=record.reprints)
    return replace(base, outcome=Outcome.VALID, message=message + holder)


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment


def _verify_payload(
    session: Session, payload: str, now: dt.datetime | None, holder_id: str | None
) -> Verification:
    try:
        verified = _check_signature(session, payload, now)
    except signing.CertificateInvalid as exc:
        return _invalid(exc)
    serial = verified.claims.serial
    row = session.exec(select(Certificate).where(Certificate.serial == serial)).first()
    if row is None:
        code = verified.claims.institution_code
        name = _institution_name(session, code)
        base = _signed(verified, holder_id)
        message = _(
            "The signature is valid (issued by {institution} on {date}), but there is no "
            "record of certificate {serial} here; ask the issuer."
        ).format(
            institution=name or code, date=verified.claims.issue_date.isoformat(), serial=serial
        )
        return replace(
            base,
            outcome=Outcome.UNKNOWN_SERIAL,
            message=message + _holder_sentence(base.holder_matches),
            institution_name=name,
            detail="no record of the serial",
        )
    scanned = payload.strip().upper()
    return _from_record(verified, _record(session, row), holder_id, scanned=scanned)


def _verify_code(
    session: Session, code: str, now: dt.datetime | None, holder_id: str | None
) -> Verification:
    row = session.exec(select(Certificate).where(Certificate.verification_code == code)).first()
    if row is None:
        return Verification(
            outcome=Outcome.UNKNOWN_SERIAL,
            message=_(
                "No certificate with verification code {code} is recorded here. A code can "
                "only be checked at the archive that issued the certificate: ask the issuer, "
                "or scan the QR code."
            ).format(code=code),
            verification_code=code,
            detail="no record of the code",
        )
    payload = (row.payload or "").strip().upper()
    try:
        verified = _check_signature(session, payload, now) if payload else None
    except signing.PayloadAltered as exc:
        log.warning("stored payload of %s fails: %s", row.serial, exc.detail)
        verified = None
    except signing.CertificateInvalid as exc:
        return _invalid(exc)
    if verified is None or signing.verification_code_for(payload) != code:
        return Verification(
            outcome=Outcome.ALTERED,
            message=_(
                "The record of certificate {serial} does not carry a valid signature for "
                "verification code {code}: the record has been edited. Do not rely on it; "
                "report it to the supervisor."
            ).format(serial=row.serial, code=code),
            serial=row.serial,
            verification_code=code,
            detail="stored payload unsigned, altered or not the code's",
        )
    return _from_record(verified, _record(session, row), holder_id, scanned=None)


def verify(
    db: Database,
    arg: str,
    *,
    now: dt.datetime | None = None,
    holder_id: str | None = None,
    workplace: Workplace | None = None,
) -> Verification:
    """Verify the certificate ``arg`` stands for: a file path (PDF, PNG, JPEG …), the QR text
    (``CTC1:…``) or the verification code (``XXXX-XXXX-XXX``); see the module docstring for
    the order of checks. Reads only (``db.read()``); never writes, never migrates.

    ``now``: the verifier's clock (aware; default the current time), for the "signed in the
    future" check (:data:`certificate_signing.FUTURE_TOLERANCE`). ``holder_id``: a resident
    ID as typed (GB 11643; normalised as :func:`certificate_signing.holder_digest` does),
    compared with the signed holder hash; never stored or shown.

    ``workplace``: at a counter (the 查验 screen), whose role is checked first
    (``verify_certificate``; authorization.Forbidden, the refusal logged — the only write);
    the command line verifies without an account.

    A PDF or picture holding several certificate QR codes gives the first one's result unless
    another is not valid (then the first such). Returns :class:`Verification`; a bad input is
    the outcome ``unreadable``, not an exception. Raises StorageBusyError and SQLAlchemy
    errors when the database cannot be read.
    """
    if workplace is not None:
        authorization.check(db, workplace, "verify_certificate")
    try:
        found = read_input(arg)
    except CertificateInputError as exc:
        return Verification(outcome=Outcome.UNREADABLE, message=str(exc), detail=exc.reason)
    return verify_input(db, found, now=now, holder_id=holder_id)


def verify_input(
    db: Database,
    found: CertificateInput,
    *,
    now: dt.datetime | None = None,
    holder_id: str | None = None,
) -> Verification:
    """:func:`verify` for an input already read (:func:`certificate_input.read_input`)."""
    with db.read() as session:
        if found.kind is InputKind.CODE:
            try:
                code = normalise_verification_code(found.code)
            except InvalidVerificationCode:
                return Verification(
                    outcome=Outcome.UNREADABLE,
                    message=_("{code} is not a valid verification code.").format(code=found.code),
                    detail="bad_code",
                )
            return _verify_code(session, code, now, holder_id)
        results = [_verify_payload(session, p, now, holder_id) for p in found.payloads]
    if not results:
        return Verification(
            outcome=Outcome.UNREADABLE,
            message=_("No certificate QR code was found."),
            detail="no_certificate",
        )
    return next((r for r in results if not r.valid), results[0])
