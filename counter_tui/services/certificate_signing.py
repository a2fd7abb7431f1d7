"""Signed certificate payloads anyone can verify offline: signing keys, the key list, the QR text.

Standards followed (the EU Digital COVID Certificate, "HC1:", is the model):

- CBOR, RFC 8949: every structure below is CBOR, encoded deterministically (cbor2's
  ``canonical=True``) and decoded strictly (no duplicate map keys, no trailing bytes).
- COSE_Sign1, RFC 9052 §4.2 and §4.4, with EdDSA / Ed25519 (RFC 9053 §2.2, RFC 8032):
  tagged (CBOR tag 18) ``[protected, unprotected, payload, signature]``; the protected header is
  exactly ``{1 (alg): -8 (EdDSA), 4 (kid): key id}``, the unprotected header is empty, the
  external AAD is empty. A key id in the unprotected header is never accepted.
- Base45, RFC 9285, whose alphabet is the QR alphanumeric mode's (ISO/IEC 18004 §7.4.4), so the
  whole QR text, prefix included, is encoded at 5.5 bits a character.
- zlib, RFC 1950 (deflate, RFC 1951), as in the EU DCC.

**Keys.** One Ed25519 signing key per institution. The private key never leaves the keyring
(service :data:`counter_tui.services.secrets.SERVICE`, ``counter-tui``):

========================================  ===========================================================
user name                                 value
========================================  ===========================================================
``signing-key:<institution>:<key id>``    the 32-byte Ed25519 private key (RFC 8032 §5.1.5 seed),
                                          base64 (RFC 4648 §4), like ``secrets.SIGNING_KEY``
``signing-key-list:<institution>``        the institution's key list (below), base64 (RFC 4648 §4);
                                          public data, kept there because it belongs with the keys
========================================  ===========================================================

The key id is the first 8 bytes of SHA-256 over the raw 32-byte public key (RFC 8032 §5.1.5);
in CBOR it is that byte string, in text 16 lower-case hex digits (:attr:`KeyInfo.key_id`).

**Key list.** A COSE_Sign1 whose payload is the CBOR map ``{"v": 1, "institution": code,
"issued": time, "keys": [{"kid": bstr(8), "x": bstr(32), "created": time, "retired": time},
…]}`` with times as UTC ISO 8601 text ``YYYY-MM-DDTHH:MM:SSZ``, keys oldest first, every key
but the last retired (the last has no ``"retired"``), signed by the last (current) key. Rotation
retires the current key and appends a new one, so a certificate signed while an old key was in
use still verifies. The list is self-signed: its signature shows it was not altered since the
holder of the current key signed it; trusting the key itself needs a trusted copy of the list
or of the key id (the central database, a printed key id).

**QR text.** :data:`PREFIX` (``"CTC1:"``) + Base45(zlib(COSE_Sign1(claims))); the claims are a
CBOR map with unsigned integer keys (this format's own, not a CWT claims set):

==  =============  ==========================================================================
 0  version        :data:`FORMAT_VERSION` (1)
 1  institution    issuing institution's code (text)
 2  uscc           issuer's 统一社会信用代码, GB 32100 (text, 18 characters)
 3  serial         certificate serial, e.g. ``"CY-2026-000123"`` (text)
 4  kind           certificate kind code, e.g. ``"custody"`` (text)
 5  issue date     Beijing calendar date of issue, RFC 3339 full-date ``YYYY-MM-DD`` (text)
 6  signed at      moment of signing, whole seconds since 1970-01-01T00:00:00Z (uint)
 7  holder salt    16 random bytes (bstr)
 8  holder hash    SHA-256(salt ‖ ID) cut to 16 bytes; ID: normalised resident ID, ASCII
 9  text hash      SHA-256 of the certified text, NFC, UTF-8 (bstr 32)
10  key id         the signing key's id, as in the protected header (bstr 8)
==  =============  ==========================================================================

For realistic claims the text has about 370 characters; a QR code of version 15 at error
correction level Q holds 426 alphanumeric characters (ISO/IEC 18004 table 7), and
:func:`encode_payload` refuses a longer text. The holder hash is cut to 128 bits to keep that
margin (it only has to tell one given ID from others); the text hash keeps all 256 bits.

**Verification outcomes.** :func:`verify_payload` returns :class:`VerifiedClaims` for a valid
payload and raises a :class:`CertificateInvalid` subclass otherwise, whose ``reason`` is
``altered``, ``unknown_key``, ``key_not_active_at_issue`` or ``signed_in_future``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import io
import os
import unicodedata
import zlib
from dataclasses import dataclass, field, replace
from typing import Any

import base45
import cbor2
import keyring
import keyring.errors
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from counter_tui.domain import clock, identifiers, resident_id
from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.services import secrets
from counter_tui.services.secrets import SERVICE, SIGNING_KEY, SecretsError

PREFIX = "CTC1:"
"""Version prefix of the QR text (Counter Tui Certificate, format 1); QR alphanumeric-safe."""
FORMAT_VERSION = 1
"""Claims format version (claims key 0)."""
KEY_LIST_VERSION = 1
"""Key list format version (its ``"v"``)."""
KEY_LIST_NAME = "signing-key-list"
"""Keyring user name prefix of an institution's key list: ``signing-key-list:<institution>``."""
KEY_ID_BYTES = 8
SALT_BYTES = 16
HOLDER_HASH_BYTES = 16
DIGEST_BYTES = 32
QR_TEXT_LIMIT = 426
"""Most characters of a QR text: alphanumeric capacity of version 15 at level Q."""
ED25519_KEY_BYTES = 32
ED25519_SIGNATURE_BYTES = 64
FUTURE_TOLERANCE = dt.timedelta(minutes=10)
"""How far a signing time may lie ahead of the verifier's clock (clocks drift)."""

COSE_SIGN1_TAG = 18  # RFC 9052 §2
_HEADER_ALG = 1  # RFC 9052 §3.1
_HEADER_KID = 4
_ALG_EDDSA = -8  # RFC 9053 §2.2
_MAX_QR_TEXT = 4296  # the most alphanumeric characters any QR code holds (version 40-L)
_MAX_DECOMPRESSED = 4096
_MIN_BODY = 100  # Base45 characters: a 64-byte signature alone needs 96
_MAX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z, the last second datetime holds

(
    _C_VERSION,
    _C_INSTITUTION,
    _C_USCC,
    _C_SERIAL,
    _C_KIND,
    _C_ISSUE_DATE,
    _C_SIGNED_AT,
    _C_SALT,
    _C_HOLDER,
    _C_TEXT,
    _C_KID,
) = range(11)


# --------------------------------------------------------------------------------------------
# Errors


class SigningError(CounterError):
    """A certificate cannot be signed, or a key list cannot be used; the message is for the
    operator. Reasons: ``no_signing_key``, ``signing_key_missing``, ``signing_key_mismatch``,
    ``key_list_altered``, ``clock_behind``."""


class KeyListAltered(SigningError):
    """A key list whose bytes are not a well-formed list signed by its current key
    (reason ``key_list_altered``)."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            _("The list of certificate signing keys is damaged or has been altered."),
            reason="key_list_altered",
        )
        self.detail = detail
        """What exactly failed (English, for the log)."""


class CertificateInvalid(CounterError):
    """A QR payload that is not a valid certificate; ``reason`` tells which outcome.

    ``claims`` and ``key_id`` are what the payload states when it could be read (None
    otherwise). They are NOT vouched for by a valid signature of a key in use: show them only
    as "the document claims …". ``detail`` says what failed (English, for the log).
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        detail: str = "",
        claims: CertificateClaims | None = None,
        key_id: str | None = None,
    ) -> None:
        super().__init__(message, reason=reason)
        self.detail = detail
        self.claims = claims
        self.key_id = key_id


class PayloadAltered(CertificateInvalid):
    """Reason ``altered``: wrong or missing prefix, bad Base45, zlib, CBOR or COSE structure, an
    unknown format version, or a signature that does not match."""

    def __init__(self, detail: str, *, key_id: str | None = None, truncated: bool = False) -> None:
        self.truncated = truncated
        """The text stops short (a cut or partly read code), rather than being changed."""
        super().__init__(
            _(
                "The certificate's code has been altered or damaged: it does not carry a "
                "valid signature."
            ),
            reason="altered",
            detail=detail,
            key_id=key_id,
        )


class UnknownKey(CertificateInvalid):
    """Reason ``unknown_key``: signed with a key that is not in the key list used (or the
    payload names another institution than the list's). The signature is unchecked."""


class KeyNotActiveAtIssue(CertificateInvalid):
    """Reason ``key_not_active_at_issue``: a correct signature by a listed key, made at a time
    outside the key's period of use (before it was created or after it was retired)."""


class SignedInFuture(CertificateInvalid):
    """Reason ``signed_in_future``: a correct signature whose signing time lies more than
    :data:`FUTURE_TOLERANCE` after the verifier's clock (one of the two clocks is wrong)."""


# --------------------------------------------------------------------------------------------
# Values


@dataclass(frozen=True)
class KeyInfo:
    """One public signing key of an institution.

    ``key_id``: 16 lower-case hex digits (first 8 bytes of SHA-256 of ``public_key``);
    ``public_key``: raw 32-byte Ed25519 public key (RFC 8032 §5.1.5); ``created`` / ``retired``:
    aware UTC datetimes, whole seconds; ``retired`` is None for the current key.
    """

    key_id: str
    public_key: bytes
    created: dt.datetime
    retired: dt.datetime | None = None

    def active_at(self, moment: dt.datetime) -> bool:
        """Whether the key was in use at ``moment`` (aware): created ≤ moment ≤ retired."""
        if moment < self.created:
            return False
        return self.retired is None or moment <= self.retired


@dataclass(frozen=True)
class KeyList:
    """An institution's verified key list (see the module docstring for its format).

    ``keys`` oldest first, the last one current; ``issued``: when the list was signed (aware
    UTC); ``encoded``: the exact signed bytes, to store or send as they are.
    """

    institution_code: str
    keys: tuple[KeyInfo, ...]
    issued: dt.datetime
    encoded: bytes = field(repr=False)

    @property
    def current(self) -> KeyInfo:
        """The key in use now (the one that signed this list)."""
        return self.keys[-1]

    def key(self, key_id: str) -> KeyInfo | None:
        """The key with id ``key_id`` (16 hex digits), or None."""
        return next((k for k in self.keys if k.key_id == key_id), None)


@dataclass(frozen=True)
class CertificateClaims:
    """What a certificate's QR code states (the signer adds version, key id, signing time).

    ``institution_code``: issuer's institution code; ``uscc``: issuer's 统一社会信用代码
    (GB 32100, 18 characters); ``serial``: e.g. ``"CY-2026-000123"``; ``kind``: kind code, e.g.
    ``"custody"``; ``issue_date``: Beijing calendar date; ``holder_salt``: 16 bytes;
    ``holder_hash``: 16 bytes (:func:`holder_digest`); ``text_hash``: 32-byte SHA-256 of the
    certified text (:func:`text_digest`). Build one with :meth:`create`, which never keeps the
    ID itself. Raises ValueError for empty texts or digests of the wrong length.
    """

    institution_code: str
    uscc: str
    serial: str
    kind: str
    issue_date: dt.date
    holder_salt: bytes
    holder_hash: bytes
    text_hash: bytes

    def __post_init__(self) -> None:
        for name in ("institution_code", "uscc", "serial", "kind"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} must be non-empty text")
        if type(self.issue_date) is not dt.date:
            raise ValueError("issue_date must be a date")
        if not isinstance(self.holder_salt, bytes) or len(self.holder_salt) != SALT_BYTES:
            raise ValueError(f"holder_salt must be {SALT_BYTES} bytes")
        for name, size in (("holder_hash", HOLDER_HASH_BYTES), ("text_hash", DIGEST_BYTES)):
            value = getattr(self, name)
            if not isinstance(value, bytes) or len(value) != size:
                raise ValueError(f"{name} must be {size} bytes")

    @classmethod
    def create(
        cls,
        *,
        institution_code: str,
        uscc: str,
        serial: str,
        kind: str,
        issue_date: dt.date,
        holder_id: str,
        certified_text: str,
        salt: bytes | None = None,
    ) -> CertificateClaims:
        """Claims for a certificate: hashes ``holder_id`` (a resident ID as typed; see
        :func:`holder_digest`) with ``salt`` (default: 16 fresh bytes from the OS's random
        source) and ``certified_text`` (:func:`text_digest`). Raises ValueError as the class."""
        salt = os.urandom(SALT_BYTES) if salt is None else salt
        return cls(
            institution_code=institution_code,
            uscc=uscc,
            serial=serial,
            kind=kind,
            issue_date=issue_date,
            holder_salt=salt,
            holder_hash=holder_digest(salt, holder_id),
            text_hash=text_digest(certified_text),
        )


@dataclass(frozen=True)
class VerifiedClaims:
    """A valid payload: its ``claims``, the ``key`` that signed them (from the key list),
    ``signed_at`` (aware UTC, whole seconds) and the format ``version``."""

    claims: CertificateClaims
    key: KeyInfo
    signed_at: dt.datetime
    version: int = FORMAT_VERSION

    @property
    def key_id(self) -> str:
        """The signing key's id, 16 hex digits."""
        return self.key.key_id


# --------------------------------------------------------------------------------------------
# Hashes


def _normalised_id(id_number: str) -> str:
    number = resident_id.normalise(id_number).upper()
    if len(number) == 15 and number.isdigit():
        number = resident_id.upgrade_legacy(number)
    return number


def holder_digest(salt: bytes, id_number: str) -> bytes:
    """SHA-256 (FIPS 180-4) of ``salt`` followed by the holder's ID in ASCII/UTF-8, cut to its
    first :data:`HOLDER_HASH_BYTES` (16) bytes (truncation as in NIST SP 800-107 §5.1).

    The ID is normalised first (``resident_id.normalise``: full-width folded, blanks and
    hyphens dropped, x → X; a 15-digit GB 11643-1989 number upgraded to 18 characters), so
    the same person's ID typed differently gives the same digest. The salt keeps two
    certificates of one person unlinkable; it cannot stop someone holding the QR from
    trying candidate IDs (few, given a birth date and district).
    """
    digest = hashlib.sha256(salt + _normalised_id(id_number).encode("utf-8")).digest()
    return digest[:HOLDER_HASH_BYTES]


def text_digest(text: str) -> bytes:
    """SHA-256 of the certified ``text`` in Unicode NFC (UAX #15), encoded UTF-8, with line
    ends as "\\n" (a copy through Windows or a PDF extractor still matches)."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return hashlib.sha256(text.encode("utf-8")).digest()


def holder_matches(claims: CertificateClaims | VerifiedClaims, id_number: str) -> bool:
    """Whether ``id_number`` (a resident ID as typed or read) is the holder's: compares
    :func:`holder_digest` with the claims' salt in constant time. Never raises for odd input
    (it simply does not match)."""
    if isinstance(claims, VerifiedClaims):
        claims = claims.claims
    return hmac.compare_digest(holder_digest(claims.holder_salt, id_number), claims.holder_hash)


def text_matches(claims: CertificateClaims | VerifiedClaims, text: str) -> bool:
    """Whether ``text`` is the certified text the claims were made for (:func:`text_digest`)."""
    if isinstance(claims, VerifiedClaims):
        claims = claims.claims
    return text_digest(text) == claims.text_hash


# --------------------------------------------------------------------------------------------
# CBOR and COSE_Sign1


class _Malformed(Exception):
    """Internal: bytes that are not what the format requires (detail in the message)."""


class _Truncated(_Malformed):
    """Internal: a text that stops short (cut, or a scan that read only part of the code)."""


def _cbor(value: Any) -> bytes:
    return cbor2.dumps(value, canonical=True)


def _strict_cbor(data: bytes) -> Any:
    """One CBOR data item, RFC 8949: no duplicate map keys (§5.6), nothing after it."""
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(stream, allow_duplicate_keys=False).decode()
    except (cbor2.CBORError, ValueError, TypeError, EOFError, RecursionError) as exc:
        raise _Malformed(f"not CBOR: {exc}") from exc
    if stream.tell() != len(data):
        raise _Malformed("bytes after the CBOR item")
    return value


def key_id_of(public_key: bytes) -> str:
    """Key id of a raw 32-byte Ed25519 public key: the first 8 bytes of its SHA-256, as 16
    lower-case hex digits (the same 8 bytes are the COSE ``kid``)."""
    return hashlib.sha256(public_key).digest()[:KEY_ID_BYTES].hex()


def _raw_public(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def _sign1(payload: bytes, private_key: Ed25519PrivateKey) -> bytes:
    """COSE_Sign1 (RFC 9052 §4.2), tagged, EdDSA, kid in the protected header."""
    kid = bytes.fromhex(key_id_of(_raw_public(private_key)))
    protected = _cbor({_HEADER_ALG: _ALG_EDDSA, _HEADER_KID: kid})
    to_be_signed = _cbor(["Signature1", protected, b"", payload])  # RFC 9052 §4.4
    signature = private_key.sign(to_be_signed)
    return _cbor(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))


@dataclass(frozen=True)
class _Sign1:
    kid: str
    protected: bytes
    payload: bytes
    signature: bytes

    def signed_by(self, public_key: bytes) -> bool:
        to_be_signed = _cbor(["Signature1", self.protected, b"", self.payload])
        try:
            Ed25519PublicKey.from_public_bytes(public_key).verify(self.signature, to_be_signed)
        except (InvalidSignature, ValueError):
            return False
        return True


def _open_sign1(data: bytes) -> _Sign1:
    """Parse a tagged COSE_Sign1 of this format (signature not checked). Raises _Malformed."""
    item = _strict_cbor(data)
    if not isinstance(item, cbor2.CBORTag) or item.tag != COSE_SIGN1_TAG:
        raise _Malformed("not a tagged COSE_Sign1")
    value = item.value
    if not isinstance(value, list | tuple) or len(value) != 4:
        raise _Malformed("COSE_Sign1 is not an array of four")
    protected, unprotected, payload, signature = value
    if not (isinstance(protected, bytes) and isinstance(payload, bytes)):
        raise _Malformed("protected header or payload is not a byte string")
    if unprotected != {}:
        raise _Malformed("unprotected header is not empty")
    if not isinstance(signature, bytes) or len(signature) != ED25519_SIGNATURE_BYTES:
        raise _Malformed("signature is not 64 bytes")
    header = _strict_cbor(protected)
    if not isinstance(header, dict) or set(header) != {_HEADER_ALG, _HEADER_KID}:
        raise _Malformed("protected header is not {alg, kid}")
    if header[_HEADER_ALG] != _ALG_EDDSA:
        raise _Malformed(f"algorithm {header[_HEADER_ALG]!r} is not EdDSA")
    kid = header[_HEADER_KID]
    if not isinstance(kid, bytes) or len(kid) != KEY_ID_BYTES:
        raise _Malformed("kid is not 8 bytes")
    return _Sign1(kid=kid.hex(), protected=protected, payload=payload, signature=signature)


# --------------------------------------------------------------------------------------------
# Times


def _utc(moment: dt.datetime | None) -> dt.datetime:
    moment = moment or clock.utcnow()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(text: Any) -> dt.datetime:
    if not isinstance(text, str) or len(text) != 20 or not text.endswith("Z"):
        raise _Malformed(f"time {text!r} is not YYYY-MM-DDTHH:MM:SSZ")
    try:
        return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError as exc:
        raise _Malformed(f"time {text!r}: {exc}") from exc


# --------------------------------------------------------------------------------------------
# Key list


def _encode_key_list(
    institution_code: str, keys: list[KeyInfo], issued: dt.datetime, signer: Ed25519PrivateKey
) -> bytes:
    entries = []
    for key in keys:
        entry: dict[str, Any] = {
            "kid": bytes.fromhex(key.key_id),
            "x": key.public_key,
            "created": _iso(key.created),
        }
        if key.retired is not None:
            entry["retired"] = _iso(key.retired)
        entries.append(entry)
    payload = _cbor(
        {
            "v": KEY_LIST_VERSION,
            "institution": institution_code,
            "issued": _iso(issued),
            "keys": entries,
        }
    )
    return _sign1(payload, signer)


def _key_list_entry(entry: Any) -> KeyInfo:
    if not isinstance(entry, dict) or not {"kid", "x", "created"} <= set(entry) <= {
        "kid",
        "x",
        "created",
        "retired",
    }:
        raise _Malformed("key entry is not {kid, x, created[, retired]}")
    public, kid = entry["x"], entry["kid"]
    if not isinstance(public, bytes) or len(public) != ED25519_KEY_BYTES:
        raise _Malformed("public key is not 32 bytes")
    if not isinstance(kid, bytes) or kid.hex() != key_id_of(public):
        raise _Malformed("kid is not the public key's")
    created = _parse_iso(entry["created"])
    retired = _parse_iso(entry["retired"]) if "retired" in entry else None
    if retired is not None and retired < created:
        raise _Malformed("key retired before it was created")
    return KeyInfo(key_id=kid.hex(), public_key=public, created=created, retired=retired)


def load_key_list(data: bytes) -> KeyList:
    """Read and verify a key list (bytes as returned by :func:`key_list`).

    Checks the COSE_Sign1 structure (RFC 9052 §4.2), the CBOR payload (RFC 8949) against the
    format in the module docstring, each key id against its public key, that all keys but the
    newest are retired in order, and that the newest key signed the list (EdDSA, RFC 8032).
    Raises :class:`KeyListAltered` (reason ``key_list_altered``) on any failure.
    """
    try:
        sign1 = _open_sign1(bytes(data))
        body = _strict_cbor(sign1.payload)
        if not isinstance(body, dict) or set(body) != {"v", "institution", "issued", "keys"}:
            raise _Malformed("payload is not {v, institution, issued, keys}")
        if body["v"] != KEY_LIST_VERSION:
            raise _Malformed(f"unsupported key list version {body['v']!r}")
        institution = body["institution"]
        if not isinstance(institution, str) or not institution:
            raise _Malformed("institution is not text")
        raw_keys = body["keys"]
        if not isinstance(raw_keys, list | tuple) or not raw_keys:
            raise _Malformed("no keys")
        keys = tuple(_key_list_entry(entry) for entry in raw_keys)
        if len({k.key_id for k in keys}) != len(keys):
            raise _Malformed("a key is listed twice")
        for older, newer in zip(keys, keys[1:]):
            if older.retired is None or older.retired > newer.created:
                raise _Malformed("an older key is not retired before the next one")
        if keys[-1].retired is not None:
            raise _Malformed("the newest key is retired")
        if sign1.kid != keys[-1].key_id:
            raise _Malformed("not signed by the current key")
        if not sign1.signed_by(keys[-1].public_key):
            raise _Malformed("signature does not match")
        issued = _parse_iso(body["issued"])
    except _Malformed as exc:
        raise KeyListAltered(str(exc)) from None
    return KeyList(institution_code=institution, keys=keys, issued=issued, encoded=bytes(data))


# --------------------------------------------------------------------------------------------
# Keyring


def _check_institution(institution_code: str) -> None:
    if (
        not isinstance(institution_code, str)
        or not institution_code
        or ":" in institution_code
        or any(ch.isspace() for ch in institution_code)
    ):
        raise ValueError(f"not an institution code: {institution_code!r}")


def private_key_name(institution_code: str, key_id: str) -> str:
    """Keyring user name of a private key: ``signing-key:<institution>:<key id>``."""
    return f"{SIGNING_KEY}:{institution_code}:{key_id}"


def key_list_name(institution_code: str) -> str:
    """Keyring user name of an institution's key list: ``signing-key-list:<institution>``."""
    return f"{KEY_LIST_NAME}:{institution_code}"


def _keyring_call(func: Any, *args: str) -> Any:
    if not secrets.keyring_usable():
        raise secrets._unavailable()
    try:
        return func(SERVICE, *args)
    except keyring.errors.PasswordDeleteError:
        return None
    except keyring.errors.KeyringError as exc:
        raise secrets._unavailable(exc) from exc


def _stored_key_list(institution_code: str) -> KeyList | None:
    stored = _keyring_call(keyring.get_password, key_list_name(institution_code))
    if not stored:
        return None
    try:
        data = base64.b64decode(stored, validate=True)
    except (binascii.Error, ValueError):
        raise KeyListAltered("stored key list is not base64") from None
    listed = load_key_list(data)
    if listed.institution_code != institution_code:
        raise KeyListAltered(f"stored key list is {listed.institution_code!r}'s")
    return listed


def _store_key_list(institution_code: str, data: bytes) -> None:
    _keyring_call(
        keyring.set_password,
        key_list_name(institution_code),
        base64.b64encode(data).decode("ascii"),
    )


def _private_key(institution_code: str, key: KeyInfo) -> Ed25519PrivateKey:
    stored = _keyring_call(keyring.get_password, private_key_name(institution_code, key.key_id))
    if not stored:
        raise SigningError(
            _(
                "The certificate signing key {key_id} of institution {institution} is missing "
                "from the keyring. Restore it, or create a new key (rotate the key); until "
                "then no certificate can be signed."
            ).format(key_id=key.key_id, institution=institution_code),
            reason="signing_key_missing",
        )
    try:
        seed = base64.b64decode(stored, validate=True)
    except (binascii.Error, ValueError):
        raise SecretsError(_("The stored certificate signing key is not valid base64.")) from None
    if len(seed) != ED25519_KEY_BYTES:
        raise SecretsError(
            _("The stored certificate signing key has {n} bytes; {want} are expected.").format(
                n=len(seed), want=ED25519_KEY_BYTES
            )
        )
    private = Ed25519PrivateKey.from_private_bytes(seed)
    if _raw_public(private) != key.public_key:
        raise SigningError(
            _(
                "The certificate signing key of institution {institution} in the keyring does "
                "not match its key list."
            ).format(institution=institution_code),
            reason="signing_key_mismatch",
        )
    return private


def _new_key(institution_code: str, created: dt.datetime) -> tuple[Ed25519PrivateKey, KeyInfo]:
    """A fresh key, its private half already stored in the keyring."""
    private = Ed25519PrivateKey.generate()  # OS random source
    public = _raw_public(private)
    info = KeyInfo(key_id=key_id_of(public), public_key=public, created=created)
    seed = private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    _keyring_call(
        keyring.set_password,
        private_key_name(institution_code, info.key_id),
        base64.b64encode(seed).decode("ascii"),
    )
    return private, info


def _no_key(institution_code: str) -> SigningError:
    return SigningError(
        _("No certificate signing key has been created for institution {institution}.").format(
            institution=institution_code
        ),
        reason="no_signing_key",
    )


def create_signing_key(institution_code: str, *, now: dt.datetime | None = None) -> KeyInfo:
    """The institution's current signing key, created first if it has none.

    A new Ed25519 key (RFC 8032) is generated from the OS's random source; its private half is
    stored in the keyring before the key list naming it (see the module docstring for the
    names), so an interruption leaves no list without its key. An existing key is never
    replaced (use :func:`rotate_signing_key`) but its private half must be present.
    ``now``: creation time (aware; default the current time). Raises ValueError for an empty
    code or one containing ":" or blanks, SecretsUnavailable without a usable keyring,
    KeyListAltered for a damaged stored list, SigningError ``signing_key_missing`` /
    ``signing_key_mismatch`` when the stored private key is absent or not the listed one.
    """
    _check_institution(institution_code)
    listed = _stored_key_list(institution_code)
    if listed is not None:
        _private_key(institution_code, listed.current)
        return listed.current
    created = _utc(now)
    private, info = _new_key(institution_code, created)
    _store_key_list(institution_code, _encode_key_list(institution_code, [info], created, private))
    return info


def rotate_signing_key(institution_code: str, *, now: dt.datetime | None = None) -> KeyInfo:
    """Retire the institution's current key at ``now`` and make a new one current.

    Order: the new private key is stored, then the new key list (old keys kept, the previous
    current one retired at ``now``, the new one created at ``now``, signed by the new key),
    then the retired private key is deleted from the keyring, so it can sign nothing more.
    Certificates signed while an old key was in use keep verifying with the new list. The
    old private key is not needed (a lost key can be rotated away). Returns the new key.
    Raises ValueError for a bad code, SecretsUnavailable, SigningError ``no_signing_key``
    (nothing to rotate: use :func:`create_signing_key`), ``clock_behind`` (``now`` is before
    the current key's creation), KeyListAltered for a damaged stored list.
    """
    _check_institution(institution_code)
    listed = _stored_key_list(institution_code)
    if listed is None:
        raise _no_key(institution_code)
    moment = _utc(now)
    old = listed.current
    if moment < old.created:
        raise SigningError(
            _(
                "This computer's clock ({now}) is behind the creation of the current signing "
                "key ({created}); correct the clock first."
            ).format(now=clock.local_time(moment), created=clock.local_time(old.created)),
            reason="clock_behind",
        )
    try:
        old_private: Ed25519PrivateKey | None = _private_key(institution_code, old)
    except SigningError:
        old_private = None  # a lost key is rotated away; the new list then has no endorsement
    private, info = _new_key(institution_code, moment)
    keys = [*listed.keys[:-1], replace(old, retired=moment), info]
    encoded = _encode_key_list(institution_code, keys, moment, private)
    if old_private is not None:  # the retiring key endorses its successor
        _keyring_call(
            keyring.set_password,
            endorsement_name(institution_code),
            base64.b64encode(_endorse(institution_code, encoded, old_private)).decode("ascii"),
        )
    else:
        _keyring_call(keyring.delete_password, endorsement_name(institution_code))
    _store_key_list(institution_code, encoded)
    _keyring_call(keyring.delete_password, private_key_name(institution_code, old.key_id))
    return info


ENDORSEMENT_NAME = "signing-key-list-endorsement"
"""Keyring user name prefix of the endorsement of an institution's newest key list by the key
it retired: ``signing-key-list-endorsement:<institution>``."""


def endorsement_name(institution_code: str) -> str:
    """Keyring user name of the institution's key list endorsement."""
    return f"{ENDORSEMENT_NAME}:{institution_code}"


def _endorsement_statement(institution_code: str, key_list_bytes: bytes) -> bytes:
    return _cbor(
        {
            "v": KEY_LIST_VERSION,
            "type": "key-list-endorsement",
            "institution": institution_code,
            "list": hashlib.sha256(key_list_bytes).digest(),
        }
    )


def _endorse(institution_code: str, key_list_bytes: bytes, private: Ed25519PrivateKey) -> bytes:
    """COSE_Sign1 by the retiring key over the SHA-256 of its successor list."""
    return _sign1(_endorsement_statement(institution_code, key_list_bytes), private)


def key_list_endorsement(institution_code: str) -> bytes | None:
    """The endorsement of the institution's current key list by the key it retired (made at
    rotation; None for a first list). Raises SecretsUnavailable."""
    stored = _keyring_call(keyring.get_password, endorsement_name(institution_code))
    if not stored:
        return None
    try:
        return base64.b64decode(stored, validate=True)
    except (binascii.Error, ValueError):
        return None


def successor_endorsed(
    previous: KeyList, successor_bytes: bytes, endorsement: bytes | None
) -> bool:
    """Whether ``successor_bytes`` (a key list) may follow the accepted ``previous`` list:
    it is a well-formed list of the same institution that keeps every key of ``previous``
    with the same public key, and either keeps its current key or was endorsed (``endorsement``,
    made by :func:`rotate_signing_key`) by ``previous``'s current key. A list inserted by
    someone without the institution's key cannot pass. Never raises."""
    try:
        successor = load_key_list(successor_bytes)
    except SigningError:
        return False
    if successor.institution_code != previous.institution_code:
        return False
    for key in previous.keys:
        kept = successor.key(key.key_id)
        if kept is None or kept.public_key != key.public_key:
            return False
    if successor.current.key_id == previous.current.key_id:
        return True
    if not endorsement:
        return False
    try:
        sign1 = _open_sign1(bytes(endorsement))
    except _Malformed:
        return False
    return (
        sign1.kid == previous.current.key_id
        and sign1.signed_by(previous.current.public_key)
        and sign1.payload
        == _endorsement_statement(previous.institution_code, bytes(successor_bytes))
    )


def key_list(institution_code: str) -> bytes:
    """The institution's signed key list as bytes (COSE_Sign1 over CBOR, see the module
    docstring), verified before it is returned; store it in the database or send it to the
    centre as it is, and read it with :func:`load_key_list`.

    Raises ValueError for a bad code, SecretsUnavailable, SigningError ``no_signing_key``,
    KeyListAltered when the stored list is damaged.
    """
    _check_institution(institution_code)
    listed = _stored_key_list(institution_code)
    if listed is None:
        raise _no_key(institution_code)
    return listed.encoded


# --------------------------------------------------------------------------------------------
# QR payload


def _claims_map(claims: CertificateClaims, key_id: str, signed_at: dt.datetime) -> dict:
    return {
        _C_VERSION: FORMAT_VERSION,
        _C_INSTITUTION: claims.institution_code,
        _C_USCC: claims.uscc,
        _C_SERIAL: claims.serial,
        _C_KIND: claims.kind,
        _C_ISSUE_DATE: claims.issue_date.isoformat(),
        _C_SIGNED_AT: int(signed_at.timestamp()),
        _C_SALT: claims.holder_salt,
        _C_HOLDER: claims.holder_hash,
        _C_TEXT: claims.text_hash,
        _C_KID: bytes.fromhex(key_id),
    }


def encode_payload(
    claims: CertificateClaims, private_key: Ed25519PrivateKey, *, signed_at: dt.datetime
) -> str:
    """The QR text for ``claims`` signed with ``private_key`` at ``signed_at`` (aware; whole
    seconds kept): :data:`PREFIX` + Base45 (RFC 9285) of zlib (RFC 1950, level 9) of a tagged
    COSE_Sign1 (RFC 9052, EdDSA) over the CBOR claims map (module docstring). No keyring and no
    key list are involved: :func:`sign_claims` is the use case; this is the format itself.
    Raises ValueError when the text would exceed :data:`QR_TEXT_LIMIT` characters (texts in
    the claims far longer than codes, serials and kind codes are)."""
    moment = _utc(signed_at)
    key_id = key_id_of(_raw_public(private_key))
    cose = _sign1(_cbor(_claims_map(claims, key_id, moment)), private_key)
    text = PREFIX + base45.b45encode(zlib.compress(cose, 9)).decode("ascii")
    if len(text) > QR_TEXT_LIMIT:
        raise ValueError(
            f"QR text of {len(text)} characters exceeds {QR_TEXT_LIMIT} (version 15-Q)"
        )
    return text


def sign_claims(
    institution_code: str, claims: CertificateClaims, *, now: dt.datetime | None = None
) -> str:
    """Sign ``claims`` with the institution's current key (from the keyring) and return the
    QR text (:func:`encode_payload`; about 370 characters, QR alphanumeric mode).

    ``now``: signing time (aware; default the current time). Raises ValueError when the claims
    name another institution, SigningError ``no_signing_key`` / ``signing_key_missing`` /
    ``signing_key_mismatch``, SecretsError for a damaged stored key, SecretsUnavailable,
    KeyListAltered; ValueError for a text over :data:`QR_TEXT_LIMIT` (see
    :func:`encode_payload`).
    """
    _check_institution(institution_code)
    if claims.institution_code != institution_code:
        raise ValueError(
            f"claims of institution {claims.institution_code!r} signed for {institution_code!r}"
        )
    listed = _stored_key_list(institution_code)
    if listed is None:
        raise _no_key(institution_code)
    private = _private_key(institution_code, listed.current)
    return encode_payload(claims, private, signed_at=_utc(now))


def _decode_claims(payload: bytes) -> tuple[CertificateClaims, str, dt.datetime]:
    body = _strict_cbor(payload)
    if not isinstance(body, dict) or set(body) != set(range(11)):
        raise _Malformed("claims are not the 11 keys of format 1")
    if body[_C_VERSION] != FORMAT_VERSION:
        raise _Malformed(f"unsupported claims version {body[_C_VERSION]!r}")
    kid, signed_at, issue_date = body[_C_KID], body[_C_SIGNED_AT], body[_C_ISSUE_DATE]
    if not isinstance(kid, bytes) or len(kid) != KEY_ID_BYTES:
        raise _Malformed("claims' key id is not 8 bytes")
    if type(signed_at) is not int or not 0 <= signed_at <= _MAX_SECONDS:
        raise _Malformed("signing time is not a count of seconds")
    if not isinstance(issue_date, str) or len(issue_date) != 10:
        raise _Malformed("issue date is not YYYY-MM-DD")
    try:
        claims = CertificateClaims(
            institution_code=body[_C_INSTITUTION],
            uscc=body[_C_USCC],
            serial=body[_C_SERIAL],
            kind=body[_C_KIND],
            issue_date=dt.date.fromisoformat(issue_date),
            holder_salt=body[_C_SALT],
            holder_hash=body[_C_HOLDER],
            text_hash=body[_C_TEXT],
        )
    except ValueError as exc:
        raise _Malformed(f"claims: {exc}") from exc
    return claims, kid.hex(), dt.datetime.fromtimestamp(signed_at, dt.UTC)


def _cose_from_text(text: str) -> bytes:
    if not isinstance(text, str):
        raise _Malformed("not text")
    # Base45 (RFC 9285 §4) has no lower case, and its last character is never the blank (36):
    # a last chunk's final digit is at most 65535 // 2025 = 32 or 255 // 45 = 5. Upper-casing
    # (a scanner typing with Caps Lock on) and trimming (an Enter, a pasted line) are lossless.
    text = text.strip().upper()
    if len(text) > _MAX_QR_TEXT:
        raise _Malformed("longer than any QR code")
    if not text.startswith(PREFIX):
        raise _Malformed(f"prefix is not {PREFIX!r}")
    body = text[len(PREFIX) :]
    if len(body) < _MIN_BODY or len(body) % 3 == 1:
        # Base45 groups are 3 characters (2 at the end): one left over is a cut; and no signed
        # payload is this short (the signature alone is 64 bytes, ~100 characters).
        raise _Truncated("cut short: not a whole Base45 text")
    try:
        compressed = base45.b45decode(body)
    except ValueError as exc:
        raise _Malformed("not Base45") from exc
    inflater = zlib.decompressobj()
    try:
        cose = inflater.decompress(compressed, _MAX_DECOMPRESSED)
    except zlib.error as exc:
        raise _Malformed(f"not zlib: {exc}") from exc
    if not inflater.eof and not inflater.unconsumed_tail:
        raise _Truncated("cut short: the zlib stream ends early")
    if inflater.unconsumed_tail or not inflater.eof or inflater.unused_data:
        raise _Malformed("zlib stream too long, truncated or followed by data")
    return cose


class StatementInvalid(SigningError):
    """A signed statement (e.g. a chain checkpoint) that does not verify: ``reason``
    ``altered`` (malformed or bad signature) or ``unknown_key`` (kid not in the list)."""


def sign_statement(institution_code: str, payload: bytes) -> bytes:
    """A tagged COSE_Sign1 (RFC 9052 §4.2, EdDSA) over ``payload`` with the institution's
    current key from the keyring, for statements other than certificates (the chain
    checkpoints of services.checkpoints; their payload says what they are). Raises
    SigningError ``no_signing_key`` / ``signing_key_missing`` / ``signing_key_mismatch``,
    SecretsUnavailable, KeyListAltered."""
    _check_institution(institution_code)
    listed = _stored_key_list(institution_code)
    if listed is None:
        raise _no_key(institution_code)
    return _sign1(payload, _private_key(institution_code, listed.current))


def open_statement(data: bytes, key_list: KeyList) -> tuple[bytes, KeyInfo]:
    """Verify a statement made by :func:`sign_statement` against ``key_list``; returns its
    payload and the key that signed it (check :meth:`KeyInfo.active_at` for the moment the
    payload states). Raises StatementInvalid."""
    try:
        sign1 = _open_sign1(bytes(data))
    except _Malformed as exc:
        raise StatementInvalid(f"not a signed statement: {exc}", reason="altered") from None
    key = key_list.key(sign1.kid)
    if key is None:
        raise StatementInvalid(f"key {sign1.kid} is not in the key list", reason="unknown_key")
    if not sign1.signed_by(key.public_key):
        raise StatementInvalid("signature does not match", reason="altered")
    return sign1.payload, key


def statement_key_id(data: bytes) -> str | None:
    """The key id (16 hex digits) a signed statement names, unverified; None when malformed."""
    try:
        return _open_sign1(bytes(data)).kid
    except _Malformed:
        return None


def stored_key_list(institution_code: str) -> KeyList | None:
    """The institution's key list as this computer's keyring holds it (verified), or None
    when the keyring has none for it. Raises SecretsUnavailable, KeyListAltered."""
    _check_institution(institution_code)
    return _stored_key_list(institution_code)


def remember(name: str, value: str) -> None:
    """Keep a small public value in the keyring under ``<name>`` (e.g. the last signed chain
    checkpoint, which someone who can edit the database cannot change). Raises
    SecretsUnavailable."""
    _keyring_call(keyring.set_password, name, value)


def remembered(name: str) -> str | None:
    """A value kept with :func:`remember`, or None. Raises SecretsUnavailable."""
    return _keyring_call(keyring.get_password, name)


def payload_key_id(text: str) -> str | None:
    """The key id (16 hex digits) a QR text names in its protected header, read without
    verifying anything (to file it with the certificate, or to choose a key list); None when
    the text is not a well-formed payload."""
    try:
        return _open_sign1(_cose_from_text(text)).kid
    except _Malformed:
        return None


def verify_payload(
    text: str, key_list: KeyList, *, now: dt.datetime | None = None
) -> VerifiedClaims:
    """Verify a QR text (as made by :func:`sign_claims`, or typed by a 2-D scanner) against an
    institution's verified ``key_list`` (:func:`load_key_list`); offline.

    Order: prefix, Base45 (RFC 9285), zlib (RFC 1950), COSE_Sign1 (RFC 9052) structure → the
    ``kid`` must be in the list → EdDSA signature (RFC 8032) → CBOR claims (RFC 8949) naming the
    list's institution and the same key id → the key in use at the signing time → the signing
    time not after ``now`` (aware; default the current time) plus :data:`FUTURE_TOLERANCE`.
    Leading/trailing blanks and lower case are tolerated. Returns :class:`VerifiedClaims`.
    Raises :class:`PayloadAltered` (``altered``), :class:`UnknownKey` (``unknown_key``),
    :class:`KeyNotActiveAtIssue` (``key_not_active_at_issue``) or :class:`SignedInFuture`
    (``signed_in_future``), all :class:`CertificateInvalid`.
    """
    try:
        sign1 = _open_sign1(_cose_from_text(text))
    except _Malformed as exc:
        raise PayloadAltered(str(exc), truncated=isinstance(exc, _Truncated)) from None
    key = key_list.key(sign1.kid)
    if key is None:
        try:
            claimed: CertificateClaims | None = _decode_claims(sign1.payload)[0]
        except _Malformed:
            claimed = None
        raise UnknownKey(
            _(
                "The certificate was signed with key {key_id}, which is not in the key list of "
                "institution {institution}."
            ).format(key_id=sign1.kid, institution=key_list.institution_code),
            reason="unknown_key",
            detail="kid not in the key list",
            claims=claimed,
            key_id=sign1.kid,
        )
    if not sign1.signed_by(key.public_key):
        raise PayloadAltered("signature does not match", key_id=sign1.kid)
    try:
        claims, claims_kid, signed_at = _decode_claims(sign1.payload)
        if claims_kid != sign1.kid:
            raise _Malformed("key id in the claims is not the header's")
    except _Malformed as exc:
        raise PayloadAltered(str(exc), key_id=sign1.kid) from None
    if claims.institution_code != key_list.institution_code:
        raise UnknownKey(
            _(
                "The certificate was signed with key {key_id}, which is not in the key list of "
                "institution {institution}."
            ).format(key_id=sign1.kid, institution=claims.institution_code),
            reason="unknown_key",
            detail="claims name another institution than the key list",
            claims=claims,
            key_id=sign1.kid,
        )
    if not key.active_at(signed_at):
        if key.retired is None:
            message = _(
                "The certificate was signed with key {key_id} at {signed_at}, before that key "
                "was created ({created})."
            )
        else:
            message = _(
                "The certificate was signed with key {key_id} at {signed_at}, outside the "
                "period that key was in use ({created} to {retired})."
            )
        raise KeyNotActiveAtIssue(
            message.format(
                key_id=key.key_id,
                signed_at=clock.local_time(signed_at),
                created=clock.local_time(key.created),
                retired=clock.local_time(key.retired),
            ),
            reason="key_not_active_at_issue",
            detail="signed outside the key's period of use",
            claims=claims,
            key_id=key.key_id,
        )
    if signed_at > _utc(now) + FUTURE_TOLERANCE:
        raise SignedInFuture(
            _(
                "The certificate's signing time {signed_at} lies in the future; check the clock "
                "of this computer and of the issuing one."
            ).format(signed_at=clock.local_time(signed_at)),
            reason="signed_in_future",
            detail="signing time after now",
            claims=claims,
            key_id=key.key_id,
        )
    return VerifiedClaims(claims=claims, key=key, signed_at=signed_at)


def verification_code_for(payload: str) -> str:
    """The typable 查验码 of a certificate: :func:`domain.identifiers.verification_code_from_digest`
    of SHA-256 over the QR text (``payload``, ASCII), e.g. ``"SVGX-6R0M-542"``. It is a lookup
    key into the issuing archive's record (and a check that a record's payload is the one the
    code was printed for), not a secret. Raises ValueError for a non-ASCII payload."""
    return identifiers.verification_code_from_digest(
        hashlib.sha256(payload.encode("ascii")).digest()
    )
