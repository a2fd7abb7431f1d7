"""Certificate identifiers: GB 32100-2015 USCC, the 电子证照-shaped identifier with its ISO 7064
MOD 37,36 check character, and the Crockford Base32 verification code (查验码).

Check characters are recomputed here by hand, independently of python-stdnum and of the module.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import random

import pytest
from stdnum.cn import uscc as stdnum_uscc

from counter_tui.domain import certificates
from counter_tui.domain import identifiers as ids

ISO_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

# Real codes "found online", from python-stdnum's tests/test_cn_uscc.doctest, plus the one
# quoted in the brief; 121200004013590816 is a 事业单位 (12…), like a 人才服务中心.
REAL_USCCS = (
    "91110000802100433B",
    "91110000600037341L",
    "91110000710926094P",
    "121200004013590816",
    "91310115MA1K3BTP2B",
    "9144030071526726XG",
    "92340602MA2PBMEM24",
    "91620105L015101280",
)
ISSUER = "121200004013590816"
TYPE_CODE = "11100000000000000"


def gb32100_check(first17: str) -> str:
    """GB 32100-2015 check character by hand: weights 3^i mod 31, C18 = 31 - (Σ mod 31)."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    total = sum(alphabet.index(ch) * pow(3, i, 31) for i, ch in enumerate(first17))
    return alphabet[(31 - total % 31) % 31]


def iso7064_mod_37_36(text: str) -> str:
    """ISO 7064 hybrid MOD 37,36 check character, written from the standard's recurrence:
    P1 = 36; S = (P + a) mod 36, with 0 read as 36; P' = 2S mod 37; finally (P + c) mod 36 = 1."""
    p = 36
    for ch in text:
        s = (p + ISO_ALPHABET.index(ch)) % 36 or 36
        p = (2 * s) % 37
    return ISO_ALPHABET[(1 - p) % 36]


def crockford_value(symbols: str) -> int:
    value = 0
    for ch in symbols:
        value = value * 32 + CROCKFORD.index(ch)
    return value


def identifier_by_hand(type_code: str, uscc: str, serial: str, version: int) -> str:
    body = f"1.2.156.3005.2.{type_code}.{uscc}.{serial}.{version}"
    return f"{body}.{iso7064_mod_37_36(body.replace('.', '').replace('-', ''))}"


def to_full_width(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


# --- USCC ----------------------------------------------------------------------------------


@pytest.mark.parametrize("number", REAL_USCCS)
def test_real_usccs_are_valid_and_the_check_agrees_with_the_standard(number: str) -> None:
    assert ids.validate_uscc(number) == number
    assert ids.is_uscc(number)
    assert gb32100_check(number[:17]) == number[17]
    assert ids.USCC_ALPHABET == stdnum_uscc._alphabet


@pytest.mark.parametrize(
    "text",
    [
        "91310115ma1k3btp2b",
        " 913101-15MA1K 3BTP2B\r\n",
        "９１３１０１１５ＭＡ１Ｋ３ＢＴＰ２Ｂ",
        "91310115\u3000MA1K3BTP2B",
    ],
)
def test_uscc_input_is_normalised(text: str) -> None:
    assert ids.validate_uscc(text) == "91310115MA1K3BTP2B"


def test_letters_in_the_first_two_positions_are_accepted_as_gb_32100_allows() -> None:
    # Synthetic: registration authority Y (其他); stdnum accepts only digits there.
    first17 = "Y1110000MA01ABCDE"
    number = first17 + gb32100_check(first17)
    assert not stdnum_uscc.is_valid(number)
    assert ids.validate_uscc(number) == number


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        (" - ", "empty"),
        ("9111000060003IOZSV", "characters"),
        ("91110000600037341", "length"),
        ("91110000600037341LL", "length"),
        ("91A10000600037341L", "region"),
        ("91110000600037341N", "check"),
        ("91110000600037314L", "check"),  # adjacent transposition
    ],
)
def test_invalid_usccs(text: str, reason: str) -> None:
    with pytest.raises(ids.InvalidUSCC) as info:
        ids.validate_uscc(text)
    assert info.value.reason == reason
    assert info.value.reason in ids.InvalidUSCC.REASONS
    assert info.value.text == text
    assert not ids.is_uscc(text)


# --- ISO 7064 MOD 37,36 ---------------------------------------------------------------------


def test_hand_written_mod_37_36_matches_the_published_example_and_stdnum() -> None:
    assert iso7064_mod_37_36("A12425GABC1234002") == "M"  # ISO 7064 example quoted by stdnum
    rng = random.Random(7064)
    for _ in range(500):
        text = "".join(rng.choice(ISO_ALPHABET) for _ in range(rng.randint(1, 60)))
        assert ids.identifier_check_character(text) == iso7064_mod_37_36(text)


def test_mod_37_36_misses_some_transpositions_as_every_iso_7064_hybrid_system_does() -> None:
    assert iso7064_mod_37_36("IJ") == iso7064_mod_37_36("JI")


# --- Certificate identifier -----------------------------------------------------------------

SAMPLES = (
    (TYPE_CODE, ISSUER, "CY-2026-000123", 1),
    ("1", "91110000600037341L", "CY-2026-000001", 1),
    ("7", "91310115MA1K3BTP2B", "HD-2027-104562", 12),
    ("A1", "91110000802100433B", "XICHENG-2026-999999", 3),
)


@pytest.mark.parametrize("parts", SAMPLES)
def test_identifier_matches_the_hand_computed_check_and_round_trips(parts) -> None:
    text = ids.certificate_identifier(*parts)
    assert text == identifier_by_hand(*parts)
    parsed = ids.parse_certificate_identifier(text)
    assert parsed == ids.CertificateIdentifier(*parts)
    assert str(parsed) == text


def test_known_identifier() -> None:
    assert ids.certificate_identifier(TYPE_CODE, ISSUER, "CY-2026-000123") == (
        "1.2.156.3005.2.11100000000000000.121200004013590816.CY-2026-000123.1.K"
    )


def test_the_applications_serials_fit_the_identifier() -> None:
    serial = certificates.format_serial("CY", 2026, 123)
    parsed = ids.parse_certificate_identifier(ids.certificate_identifier("1", ISSUER, serial))
    assert parsed.serial == serial


def test_identifier_input_is_normalised() -> None:
    text = ids.certificate_identifier("A1", "91310115MA1K3BTP2B", "CY-2026-000123", 2)
    expected = ids.parse_certificate_identifier(text)
    for variant in (
        text.lower(),
        f"  {text}\n",
        to_full_width(text),
        text.replace(".", "。"),
        text.replace("-", "—"),
    ):
        assert ids.parse_certificate_identifier(variant) == expected


def test_builder_folds_its_parts() -> None:
    assert ids.certificate_identifier(
        "a1", "91310115ma1k3btp2b", "ｃｙ－2026－000123", 2
    ) == ids.certificate_identifier("A1", "91310115MA1K3BTP2B", "CY-2026-000123", 2)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("", ISSUER, "CY-2026-000123", 1), "type_code"),
        (("1" * 21, ISSUER, "CY-2026-000123", 1), "type_code"),
        (("1.1", ISSUER, "CY-2026-000123", 1), "type_code"),
        (("1", "91110000600037341N", "CY-2026-000123", 1), "issuer_uscc"),
        (("1", ISSUER, "CY.2026.000123", 1), "serial"),
        (("1", ISSUER, "CY-26-000123", 1), "serial"),
        (("1", ISSUER, "CY2026000123", 1), "serial"),
        (("1", ISSUER, "CY-2026-000123", 0), "version"),
        (("1", ISSUER, "CY-2026-000123", 1_000_000), "version"),
        (("1", ISSUER, "CY-2026-000123", True), "version"),
    ],
)
def test_builder_refuses_bad_parts(args, reason: str) -> None:
    with pytest.raises(ids.InvalidIdentifier) as info:
        ids.certificate_identifier(*args)
    assert info.value.reason == reason
    if reason == "issuer_uscc":
        assert isinstance(info.value.__cause__, ids.InvalidUSCC)


GOOD = ids.certificate_identifier(TYPE_CODE, ISSUER, "CY-2026-000123")  # … .1.K


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (GOOD.replace("1.2.156.3005.2.", "1.2.156.3005.3."), "root"),
        (GOOD.removesuffix(".K"), "parts"),
        (GOOD + ".K", "parts"),
        (GOOD.replace(".1.K", "..K"), "parts"),
        (GOOD.replace(TYPE_CODE, "111_000"), "type_code"),
        (GOOD.replace(ISSUER, "121200004013590817"), "issuer_uscc"),
        (GOOD.replace(ISSUER, "12120000-4013590816"), "issuer_uscc"),
        (GOOD.replace("CY-2026-000123", "CY-2026-00123"), "serial"),
        (GOOD.replace(".1.K", ".01.K"), "version"),
        (GOOD.replace(".1.K", ".2.K"), "check"),
        (GOOD.replace(".1.K", ".1.KK"), "check"),
        (GOOD.replace(".1.K", ".1.-"), "check"),
    ],
)
def test_parse_refuses(text: str, reason: str) -> None:
    with pytest.raises(ids.InvalidIdentifier) as info:
        ids.parse_certificate_identifier(text)
    assert info.value.reason == reason
    assert info.value.reason in ids.InvalidIdentifier.REASONS
    assert info.value.text == text


@pytest.mark.parametrize("parts", SAMPLES)
def test_every_single_character_change_of_an_identifier_is_detected(parts) -> None:
    text = ids.certificate_identifier(*parts)
    for i, original in enumerate(text):
        for replacement in ISO_ALPHABET + ".-":
            if replacement == original:
                continue
            changed = text[:i] + replacement + text[i + 1 :]
            with pytest.raises(ids.InvalidIdentifier):
                ids.parse_certificate_identifier(changed)


@pytest.mark.parametrize("parts", SAMPLES)
def test_every_adjacent_transposition_of_these_identifiers_is_detected(parts) -> None:
    text = ids.certificate_identifier(*parts)
    for i in range(len(text) - 1):
        swapped = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        if swapped != text:
            with pytest.raises(ids.InvalidIdentifier):
                ids.parse_certificate_identifier(swapped)


def test_only_iso_7064s_blind_spot_escapes_over_many_identifiers() -> None:
    # About 1 identifier in 120 has a transposition MOD 37,36 cannot see; the layout catches
    # every one involving "." or "-".
    escaped = []
    for number in range(1, 1500):
        text = ids.certificate_identifier(TYPE_CODE, ISSUER, f"CY-2026-{number:06d}")
        for i in range(len(text) - 1):
            swapped = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
            if swapped == text:
                continue
            try:
                ids.parse_certificate_identifier(swapped)
            except ids.InvalidIdentifier:
                continue
            assert text[i] in ISO_ALPHABET and text[i + 1] in ISO_ALPHABET
            body = swapped.rpartition(".")[0].replace(".", "").replace("-", "")
            assert iso7064_mod_37_36(body) == text[-1]
            escaped.append(swapped)
    assert escaped and len(escaped) < 30
    # A concrete case: serials …000578 and …000587 share the check character "3".
    a = ids.certificate_identifier(TYPE_CODE, ISSUER, "CY-2026-000578")
    b = ids.certificate_identifier(TYPE_CODE, ISSUER, "CY-2026-000587")
    assert a.replace("000578", "000587") == b
    assert a in escaped and b in escaped


# --- Verification code ------------------------------------------------------------------------


def test_entropy_of_the_data_part() -> None:
    assert ids.CROCKFORD_ALPHABET == CROCKFORD
    bits = ids.VERIFICATION_DATA_SYMBOLS * math.log2(len(ids.CROCKFORD_ALPHABET))
    assert bits == ids.VERIFICATION_DATA_BITS == 50
    # Values whose residue mod 37 is 32–36 are lowered into residues 0–4, so not every 50-bit
    # value is issued; the distinct codes still carry well over 40 bits.
    lowered = sum(
        len(range(residue, 2**50, 37)) for residue in range(32, 37)
    )  # values never issued as themselves
    assert math.log2(2**50 - lowered) > 49.7
    assert ids.VERIFICATION_DATA_BITS >= 40


def test_code_layout_and_hand_computed_check() -> None:
    rng = random.Random(40)
    for _ in range(2000):
        seed = rng.randbytes(7)
        code = ids.new_verification_code(seed)
        assert len(code) == 13 and code[4] == code[9] == "-"
        symbols = code.replace("-", "")
        assert all(ch in CROCKFORD for ch in symbols)
        value = int.from_bytes(seed, "big") >> 6
        if value % 37 >= 32:
            value -= 32
        assert crockford_value(symbols[:10]) == value
        assert CROCKFORD.index(symbols[10]) == value % 37


def test_check_symbol_is_never_one_of_crockfords_extra_symbols() -> None:
    # V = 32 has residue 32 (Crockford's "*"); it is issued as V = 0.
    assert ids.verification_code_from_digest((32 << 6).to_bytes(7, "big")) == "0000-0000-000"
    # V = 36 (Crockford's "U") is issued as V = 4.
    assert ids.verification_code_from_digest((36 << 6).to_bytes(7, "big")) == "0000-0000-044"
    top = 2**50 - 1  # residue 29: issued unchanged
    assert top % 37 == 29
    assert ids.verification_code_from_digest((top << 6).to_bytes(7, "big")) == "ZZZZ-ZZZZ-ZZX"


def test_code_from_an_hmac_digest_is_deterministic() -> None:
    digest = hmac.new(b"institution key", b"CY-2026-000123", hashlib.sha256).digest()
    code = ids.verification_code_from_digest(digest)
    assert code == ids.verification_code_from_digest(digest)
    assert code == ids.new_verification_code(digest[:7])
    assert ids.normalise_verification_code(code) == code
    assert ids.verification_code_from_digest(hmac.new(b"k", b"x", hashlib.sha256).digest()) != code
    assert (
        ids.verification_code_from_digest(hmac.new(b"key", b"CY-2026-000123", "sha256").digest())
        == "SVGX-6R0M-542"
    )


@pytest.mark.parametrize("short", [b"", b"\x00" * 6])
def test_too_little_randomness_is_refused(short: bytes) -> None:
    with pytest.raises(ValueError):
        ids.verification_code_from_digest(short)
    with pytest.raises(ValueError):
        ids.new_verification_code(short)


def test_ten_thousand_random_codes_are_unique_and_round_trip() -> None:
    codes = {ids.new_verification_code() for _ in range(10_000)}
    assert len(codes) == 10_000
    for code in codes:
        assert ids.normalise_verification_code(code) == code
        assert ids.normalise_verification_code(code.replace("-", "").lower()) == code


def test_typed_codes_are_normalised() -> None:
    code = "SVGX-6R0M-542"
    for typed in (
        "svgx6r0m542",
        " SVGX 6R0M 542 ",
        "svgx-6rOm-542",  # O read as 0
        to_full_width("SVGX-6R0M-542"),
        "ＳＶＧＸ\u3000６Ｒｏｍ\u3000５４２",
        "SVGX—6R0M–542",
    ):
        assert ids.normalise_verification_code(typed) == code


def test_confusable_letters_fold_to_digits() -> None:
    # Find a code holding both 0 and 1 and type them as O/o and I/i/L/l.
    rng = random.Random(1)
    code = next(
        c
        for c in (ids.new_verification_code(rng.randbytes(7)) for _ in range(10_000))
        if "0" in c and "1" in c
    )
    for zero in "Oo":
        for one in "IiLl":
            typed = code.replace("0", zero).replace("1", one)
            assert ids.normalise_verification_code(typed) == code


def test_every_single_symbol_change_and_adjacent_transposition_of_a_code_is_detected() -> None:
    rng = random.Random(37)
    for _ in range(200):
        code = ids.new_verification_code(rng.randbytes(7))
        symbols = code.replace("-", "")
        for i, original in enumerate(symbols):
            for replacement in CROCKFORD:
                if replacement != original:
                    changed = symbols[:i] + replacement + symbols[i + 1 :]
                    with pytest.raises(ids.InvalidVerificationCode) as info:
                        ids.normalise_verification_code(changed)
                    assert info.value.reason == "check"
        for i in range(len(symbols) - 1):
            swapped = symbols[:i] + symbols[i + 1] + symbols[i] + symbols[i + 2 :]
            if swapped != symbols:
                with pytest.raises(ids.InvalidVerificationCode):
                    ids.normalise_verification_code(swapped)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        (" - - ", "empty"),
        ("SVGX-6R0M-54U", "characters"),
        ("SVGX-6R0M-54*", "characters"),
        ("SVGX.6R0M.542", "characters"),
        ("SVGX-6R0M-54", "length"),
        ("SVGX-6R0M-5422", "length"),
        ("SVGX-6R0M-543", "check"),
        ("VSGX-6R0M-542", "check"),
    ],
)
def test_invalid_codes(text: str, reason: str) -> None:
    with pytest.raises(ids.InvalidVerificationCode) as info:
        ids.normalise_verification_code(text)
    assert info.value.reason == reason
    assert info.value.reason in ids.InvalidVerificationCode.REASONS
    assert info.value.text == text
