"""Identifiers a certificate (证明) carries: the issuer's 统一社会信用代码, the 电子证照-shaped
certificate identifier and the typable verification code (查验码).

* **USCC** (统一社会信用代码, GB 32100-2015): 18 characters from the code set
  ``0-9 A-Z`` without I, O, S, V, Z; the 18th is the check character (weights 3^i mod 31),
  computed by python-stdnum's ``stdnum.cn.uscc.calc_check_digit``.
* **Certificate identifier**, shaped after 电子证照 identifiers (GB/T 36904-2018; see
  :func:`certificate_identifier` for the exact definition of its check character):
  ``1.2.156.3005.2.<type code>.<issuer USCC>.<serial>.<version>.<check>``, e.g.
  ``1.2.156.3005.2.11100000000000000.121200004013590816.CY-2026-000123.1.K``.
* **Verification code** (查验码): 10 Crockford Base32 data symbols (50 bits) and one check
  symbol, printed ``XXXX-XXXX-XXX`` for reading aloud or typing at a counter without a 2-D
  scanner (see :func:`new_verification_code`).

Refusals are :class:`IdentifierError` subclasses (ValueError): ``reason`` is a stable code,
``str(error)`` an English diagnostic for logs and tests, never shown to a clerk as it is — the
caller maps ``reason`` to a translated sentence.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass

from stdnum.cn import uscc as _stdnum_uscc
from stdnum.iso7064 import mod_37_36

# Dash look-alikes from IMEs, word processors and full-width keyboards; NFKC folds only some.
_DASHES = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d")
# The Chinese full stop a Chinese IME types for "." (NFKC already folds "．" and "｡" to these).
_FULL_STOPS = {"\u3002": "."}


class IdentifierError(ValueError):
    """A text that is not a valid identifier of the kind asked for.

    ``reason`` is a stable code (each subclass lists its own in ``REASONS``); ``text`` is the
    input as given; ``str(error)`` is an English diagnostic, not a sentence for the clerk.
    """

    REASONS: tuple[str, ...] = ()

    def __init__(self, reason: str, text: object, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.text = text


class InvalidUSCC(IdentifierError):
    """Not a valid 统一社会信用代码 (GB 32100-2015)."""

    REASONS = ("empty", "characters", "length", "region", "check")


class InvalidIdentifier(IdentifierError):
    """Not a valid certificate identifier; ``reason`` names the part at fault.

    When the issuer's USCC is at fault (reason ``issuer_uscc``) the :class:`InvalidUSCC` is the
    ``__cause__``.
    """

    REASONS = ("empty", "root", "parts", "type_code", "issuer_uscc", "serial", "version", "check")


class InvalidVerificationCode(IdentifierError):
    """Not a valid verification code (查验码)."""

    REASONS = ("empty", "characters", "length", "check")


# --- 统一社会信用代码 (GB 32100-2015) -------------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_LENGTH = 18


def _fold(text: str) -> str:
    """NFKC (full-width → ASCII), Chinese full stop → ".", dash look-alikes → "-", upper case."""
    folded = unicodedata.normalize("NFKC", text)
    folded = "".join("-" if ch in _DASHES else _FULL_STOPS.get(ch, ch) for ch in folded)
    return folded.upper()


def validate_uscc(text: str) -> str:
    """Return ``text`` as a normalised 18-character 统一社会信用代码, e.g. "91110000600037341L".

    Input may be full-width (NFKC), lower-case, and contain spaces or hyphens, which are dropped.
    Structure per GB 32100-2015: position 1 登记管理部门代码 and 2 机构类别代码 (a digit or a
    letter of the code set — e.g. "Y" 其他), 3–8 登记管理机关行政区划码 (digits), 9–17 主体标识码,
    18 the check character (GB 32100-2015, MOD 31 with weights 3^i mod 31, via
    ``stdnum.cn.uscc.calc_check_digit``). Unlike ``stdnum.cn.uscc.validate``, letters are
    accepted in positions 1–2, as the standard allows.

    Raises :class:`InvalidUSCC` with reason ``empty``, ``characters`` (outside the code set
    ``0-9 A-Z`` minus I, O, S, V, Z), ``length`` (not 18), ``region`` (positions 3–8 not digits)
    or ``check`` (check character mismatch).
    """
    folded = _fold(text)
    number = "".join(ch for ch in folded if not ch.isspace() and ch != "-")
    if not number:
        raise InvalidUSCC("empty", text, "empty USCC")
    bad = sorted({ch for ch in number if ch not in USCC_ALPHABET})
    if bad:
        raise InvalidUSCC("characters", text, f"USCC contains characters outside its set: {bad}")
    if len(number) != USCC_LENGTH:
        raise InvalidUSCC("length", text, f"USCC has 18 characters, not {len(number)}")
    if not number[2:8].isdigit():
        raise InvalidUSCC("region", text, "USCC positions 3-8 (region code) must be digits")
    expected = _stdnum_uscc.calc_check_digit(number[:17])
    if number[17] != expected:
        raise InvalidUSCC("check", text, f"USCC check character should be {expected!r}")
    return number


def is_uscc(text: str) -> bool:
    """Whether :func:`validate_uscc` accepts ``text`` (GB 32100-2015)."""
    try:
        validate_uscc(text)
    except InvalidUSCC:
        return False
    return True


# --- Certificate identifier (电子证照-shaped, GB/T 36904-2018) --------------------------------

IDENTIFIER_ROOT = "1.2.156.3005.2"
ISO7064_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = frozenset("0123456789")
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ALNUM = _DIGITS | _LETTERS
MAX_TYPE_CODE_LENGTH = 20
MAX_VERSION = 999_999


@dataclass(frozen=True)
class CertificateIdentifier:
    """The parts of a certificate identifier; ``str()`` gives the full identifier."""

    type_code: str  # 1-20 of 0-9 A-Z
    issuer_uscc: str  # 18 characters, GB 32100-2015
    serial: str  # "<PREFIX>-<YYYY>-<NNNNNN>", e.g. "CY-2026-000123"
    version: int  # 1-999999

    def __str__(self) -> str:
        return certificate_identifier(self.type_code, self.issuer_uscc, self.serial, self.version)


def _is_type_code(part: str) -> bool:
    return 1 <= len(part) <= MAX_TYPE_CODE_LENGTH and all(ch in _ALNUM for ch in part)


def _is_serial(part: str) -> bool:
    # The certificate serial of domain.certificates: 1-8 letters, "-", 4-digit year, "-",
    # 6 digits. Kept this rigid on purpose: the check character cannot see hyphens (ISO 7064
    # MOD 37,36 has no symbol for them), so a moved, dropped or added hyphen is caught only
    # because hyphens may stand nowhere else.
    prefix, _, rest = part.partition("-")
    year, _, number = rest.partition("-")
    return (
        1 <= len(prefix) <= 8
        and all(ch in _LETTERS for ch in prefix)
        and len(year) == 4
        and len(number) == 6
        and all(ch in _DIGITS for ch in year + number)
    )


def _is_version(part: str) -> bool:
    return (
        1 <= len(part) <= len(str(MAX_VERSION))
        and all(ch in _DIGITS for ch in part)
        and part[0] != "0"
    )


def identifier_check_character(body: str) -> str:
    """The check character of a certificate identifier whose text without ``.<check>`` is ``body``.

    ``body`` is e.g. "1.2.156.3005.2.11100000000000000.121200004013590816.CY-2026-000123.1".
    Definition: upper-case ``body``, remove every "." and "-", and compute the ISO 7064 MOD 37,36
    check character (ISO/IEC 7064:2003 = GB/T 17710-2008, hybrid system, alphabet 0-9 = 0…9,
    A-Z = 10…35; ``stdnum.iso7064.mod_37_36.calc_check_digit``) over what is left. The result is
    one of 0-9 A-Z. Raises :class:`InvalidIdentifier` (reason ``check``) if anything other than
    0-9, A-Z, "." and "-" remains or nothing does.
    """
    payload = body.upper().replace(".", "").replace("-", "")
    if not payload or any(ch not in _ALNUM for ch in payload):
        raise InvalidIdentifier("check", body, "check input must be 0-9 A-Z with . and - only")
    return mod_37_36.calc_check_digit(payload)


def certificate_identifier(type_code: str, issuer_uscc: str, serial: str, version: int = 1) -> str:
    """Build ``1.2.156.3005.2.<type code>.<issuer USCC>.<serial>.<version>.<check>``.

    ``type_code``: 1-20 of 0-9 A-Z (the certificate kind's code, e.g. "11100000000000000");
    ``issuer_uscc``: the issuing institution's 统一社会信用代码 (GB 32100-2015, normalised by
    :func:`validate_uscc`); ``serial``: the certificate serial ``<1-8 letters>-<YYYY>-<6 digits>``
    such as "CY-2026-000123"; ``version``: 1-999999, written in decimal without leading zeros.
    Letters are upper-cased and full-width input folded (NFKC). The check character is
    :func:`identifier_check_character` of the text before it: ISO 7064 MOD 37,36 over the
    identifier with its dots and hyphens removed. Root ``1.2.156.3005.2`` and the part order
    follow the 电子证照 identifier of GB/T 36904-2018 as the project's issue 9 gives it.

    Every single-character substitution is detected (by the check character, or because a
    moved, dropped or added "." or "-" breaks the layout); adjacent transpositions are too,
    except the blind spot of every ISO 7064 hybrid system: for each running state, one pair of
    characters (about 1 in 630 of all transpositions of two different characters, e.g.
    "IJ" ↔ "JI" at the start) leaves the check unchanged.

    Raises :class:`InvalidIdentifier` with reason ``type_code``, ``issuer_uscc`` (the
    :class:`InvalidUSCC` as ``__cause__``), ``serial`` or ``version``.
    """
    type_part = _fold(type_code)
    if not _is_type_code(type_part):
        raise InvalidIdentifier("type_code", type_code, "type code must be 1-20 of 0-9 A-Z")
    try:
        uscc_part = validate_uscc(issuer_uscc)
    except InvalidUSCC as error:
        raise InvalidIdentifier("issuer_uscc", issuer_uscc, f"issuer USCC: {error}") from error
    serial_part = _fold(serial)
    if not _is_serial(serial_part):
        raise InvalidIdentifier("serial", serial, "serial must look like CY-2026-000123")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_VERSION:
        raise InvalidIdentifier("version", version, "version must be an int 1-999999")
    body = ".".join((IDENTIFIER_ROOT, type_part, uscc_part, serial_part, str(version)))
    return f"{body}.{identifier_check_character(body)}"


def parse_certificate_identifier(text: str) -> CertificateIdentifier:
    """Parse a certificate identifier built by :func:`certificate_identifier`.

    Accepts surrounding whitespace, lower case, full-width characters (NFKC), "。" for "." and
    dash look-alikes (— – － …) for "-"; nothing else is tolerated inside. Raises
    :class:`InvalidIdentifier` with reason ``empty``, ``root`` (not starting
    "1.2.156.3005.2."), ``parts`` (not exactly five parts after the root, or an empty part),
    ``type_code``, ``issuer_uscc`` (the :class:`InvalidUSCC` as ``__cause__``), ``serial``,
    ``version`` or ``check`` (the ISO 7064 MOD 37,36 check character is not one character or does
    not match; see :func:`identifier_check_character`). Parts are checked in that order.
    """
    folded = _fold(text).strip()
    if not folded:
        raise InvalidIdentifier("empty", text, "empty identifier")
    if not folded.startswith(IDENTIFIER_ROOT + "."):
        raise InvalidIdentifier("root", text, f"identifier must start {IDENTIFIER_ROOT}.")
    parts = folded[len(IDENTIFIER_ROOT) + 1 :].split(".")
    if len(parts) != 5 or not all(parts):
        raise InvalidIdentifier(
            "parts", text, "identifier needs type.uscc.serial.version.check after the root"
        )
    type_part, uscc_part, serial_part, version_part, check = parts
    if not _is_type_code(type_part):
        raise InvalidIdentifier("type_code", text, "type code must be 1-20 of 0-9 A-Z")
    # Exactly the 18 canonical characters: validate_uscc alone would drop stray hyphens.
    if len(uscc_part) != USCC_LENGTH:
        raise InvalidIdentifier("issuer_uscc", text, "issuer USCC must have 18 characters")
    try:
        validate_uscc(uscc_part)
    except InvalidUSCC as error:
        raise InvalidIdentifier("issuer_uscc", text, f"issuer USCC: {error}") from error
    if not _is_serial(serial_part):
        raise InvalidIdentifier("serial", text, "serial must look like CY-2026-000123")
    if not _is_version(version_part):
        raise InvalidIdentifier("version", text, "version must be 1-999999 without leading 0")
    body = folded[: -len(check) - 1]
    expected = identifier_check_character(body)
    if check != expected:
        raise InvalidIdentifier("check", text, f"check character should be {expected!r}")
    return CertificateIdentifier(type_part, uscc_part, serial_part, int(version_part))


# --- Verification code (查验码), Crockford Base32 -------------------------------------------

CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
VERIFICATION_DATA_SYMBOLS = 10
VERIFICATION_DATA_BITS = 50  # 10 symbols x log2(32)
VERIFICATION_GROUPS = (4, 4, 3)  # the check symbol ends the last group
VERIFICATION_SEED_BYTES = 7  # the first 50 of these 56 bits are used
_CROCKFORD_VALUES = {ch: i for i, ch in enumerate(CROCKFORD_ALPHABET)}
_CROCKFORD_CONFUSABLES = {"O": "0", "I": "1", "L": "1"}
_CHECK_MODULUS = 37


def _group(symbols: str) -> str:
    groups, start = [], 0
    for size in VERIFICATION_GROUPS:
        groups.append(symbols[start : start + size])
        start += size
    return "-".join(groups)


def verification_code_from_digest(digest: bytes) -> str:
    """Derive a verification code from ``digest`` (e.g. an HMAC-SHA256 of the certificate).

    Takes the first 50 bits of ``digest`` (big-endian) as the value V; if V mod 37 ≥ 32, V is
    lowered by 32, so the check symbol is always one of the 32 Crockford symbols and never one of
    Crockford's extra check symbols ``* ~ $ = U`` (awkward to read aloud, and "$" comes out as
    "￥" from a Chinese IME). The data are V in 10 Crockford Base32 symbols
    (``0123456789ABCDEFGHJKMNPQRSTVWXYZ``, most significant first); the check symbol is
    Crockford's: the symbol of value V mod 37 (https://www.crockford.com/base32.html). Written
    ``XXXX-XXXX-XXX`` (groups of 4, 4 and 3; the last symbol is the check), e.g. "SVGX-6R0M-542".
    Entropy: about 49.7 bits (50 bits less the small bias of lowering V).

    Deterministic: the same digest gives the same code. Raises ValueError if ``digest`` is
    shorter than 7 bytes.
    """
    if len(digest) < VERIFICATION_SEED_BYTES:
        raise ValueError(f"need at least {VERIFICATION_SEED_BYTES} bytes, got {len(digest)}")
    seed = int.from_bytes(bytes(digest[:VERIFICATION_SEED_BYTES]), "big")
    value = seed >> (8 * VERIFICATION_SEED_BYTES - VERIFICATION_DATA_BITS)
    if value % _CHECK_MODULUS >= len(CROCKFORD_ALPHABET):
        value -= len(CROCKFORD_ALPHABET)
    data = "".join(
        CROCKFORD_ALPHABET[(value >> (5 * i)) & 31]
        for i in reversed(range(VERIFICATION_DATA_SYMBOLS))
    )
    return _group(data + CROCKFORD_ALPHABET[value % _CHECK_MODULUS])


def new_verification_code(random_bytes: bytes | None = None) -> str:
    """A fresh random verification code, e.g. "SVGX-6R0M-542" (format: see
    :func:`verification_code_from_digest`).

    ``random_bytes`` (at least 7 bytes; the first 50 bits are used) makes it deterministic for
    tests; when None, 7 bytes come from :func:`secrets.token_bytes`. Raises ValueError if
    ``random_bytes`` is shorter than 7 bytes.
    """
    if random_bytes is None:
        random_bytes = secrets.token_bytes(VERIFICATION_SEED_BYTES)
    return verification_code_from_digest(random_bytes)


def normalise_verification_code(text: str) -> str:
    """Return the code a person typed or read out in its printed form "XXXX-XXXX-XXX".

    Folds full-width input (NFKC), drops whitespace and hyphens (and dash look-alikes), ignores
    case, and reads O as 0 and I, L as 1 (Crockford Base32 decoding rules). Raises
    :class:`InvalidVerificationCode` with reason ``empty``, ``characters`` (a symbol outside
    Crockford's alphabet, including U and the check-only symbols ``* ~ $ =``, which
    :func:`verification_code_from_digest` never issues), ``length`` (not 11 symbols) or ``check``
    (the last symbol is not the value of the first ten mod 37). Detects every single-symbol
    substitution and every adjacent transposition (37 is prime and exceeds 32).
    """
    folded = _fold(text)
    symbols = "".join(
        _CROCKFORD_CONFUSABLES.get(ch, ch) for ch in folded if not ch.isspace() and ch != "-"
    )
    if not symbols:
        raise InvalidVerificationCode("empty", text, "empty verification code")
    bad = sorted({ch for ch in symbols if ch not in _CROCKFORD_VALUES})
    if bad:
        raise InvalidVerificationCode("characters", text, f"not Crockford Base32: {bad}")
    if len(symbols) != VERIFICATION_DATA_SYMBOLS + 1:
        raise InvalidVerificationCode(
            "length", text, f"a verification code has 11 symbols, not {len(symbols)}"
        )
    value = 0
    for ch in symbols[:VERIFICATION_DATA_SYMBOLS]:
        value = value * 32 + _CROCKFORD_VALUES[ch]
    if _CROCKFORD_VALUES[symbols[-1]] != value % _CHECK_MODULUS:
        raise InvalidVerificationCode("check", text, "check symbol does not match")
    return _group(symbols)
