"""Signed QR payloads: real Ed25519 keys in an in-memory keyring, real COSE_Sign1 signatures."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import zlib

import base45
import cbor2
import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from counter_tui.services import certificate_signing as cs
from counter_tui.services import secrets
from tests.support.keyrings import MemoryKeyring

INSTITUTION = "110105"
USCC = "12110105MB0123456C"  # GB 32100 check character correct
HOLDER = "11010519491231002X"
TEXT = "兹证明张三（身份证号 11010519491231002X）的人事档案自2019年3月1日起存放于我中心。"
T0 = dt.datetime(2026, 3, 1, 1, 0, tzinfo=dt.UTC)
T_SIGN = dt.datetime(2026, 11, 3, 2, 30, tzinfo=dt.UTC)
T_ROTATE = dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)
SERVICE = "counter-tui"


def claims(**changes: object) -> cs.CertificateClaims:
    values: dict = {
        "institution_code": INSTITUTION,
        "uscc": USCC,
        "serial": "CY-2026-000123",
        "kind": "custody",
        "issue_date": dt.date(2026, 11, 3),
        "holder_id": HOLDER,
        "certified_text": TEXT,
    }
    values.update(changes)
    return cs.CertificateClaims.create(**values)


def current_list(institution: str = INSTITUTION) -> cs.KeyList:
    return cs.load_key_list(cs.key_list(institution))


def cose_of(text: str) -> bytes:
    return zlib.decompress(base45.b45decode(text[len(cs.PREFIX) :]))


def stored_private(store: MemoryKeyring, key: cs.KeyInfo) -> Ed25519PrivateKey:
    seed = base64.b64decode(store.store[(SERVICE, f"signing-key:{INSTITUTION}:{key.key_id}")])
    return Ed25519PrivateKey.from_private_bytes(seed)


# --------------------------------------------------------------------------------------------
# Keys and the key list


def test_a_key_lives_in_the_keyring_and_is_created_once(memory_keyring: MemoryKeyring) -> None:
    key = cs.create_signing_key(INSTITUTION, now=T0)

    assert key.key_id == hashlib.sha256(key.public_key).digest()[:8].hex()
    assert len(key.public_key) == 32 and (key.created, key.retired) == (T0, None)
    assert set(memory_keyring.store) == {
        (SERVICE, f"signing-key:{INSTITUTION}:{key.key_id}"),
        (SERVICE, f"signing-key-list:{INSTITUTION}"),
    }
    seed = base64.b64decode(
        memory_keyring.store[(SERVICE, cs.private_key_name(INSTITUTION, key.key_id))]
    )
    assert len(seed) == 32
    # The list holds the public key only.
    assert seed not in cs.key_list(INSTITUTION)

    before = dict(memory_keyring.store)
    assert cs.create_signing_key(INSTITUTION, now=T_ROTATE) == key  # never replaced
    assert memory_keyring.store == before

    listed = current_list()
    assert listed.institution_code == INSTITUTION
    assert listed.keys == (key,) and listed.current == key and listed.issued == T0
    assert listed.key(key.key_id) == key and listed.key("0" * 16) is None


def test_rotation_keeps_old_public_keys_and_drops_the_old_private_key(
    memory_keyring: MemoryKeyring,
) -> None:
    old = cs.create_signing_key(INSTITUTION, now=T0)
    new = cs.rotate_signing_key(INSTITUTION, now=T_ROTATE)

    assert new.key_id != old.key_id and new.created == T_ROTATE and new.retired is None
    listed = current_list()
    assert [k.key_id for k in listed.keys] == [old.key_id, new.key_id]
    assert listed.keys[0].retired == T_ROTATE and listed.current == new
    assert (SERVICE, cs.private_key_name(INSTITUTION, old.key_id)) not in memory_keyring.store
    assert (SERVICE, cs.private_key_name(INSTITUTION, new.key_id)) in memory_keyring.store

    with pytest.raises(cs.SigningError) as refused:
        cs.rotate_signing_key(INSTITUTION, now=T0)  # the clock went back
    assert refused.value.reason == "clock_behind"


def test_nothing_to_sign_with(memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(cs.SigningError) as no_key:
        cs.sign_claims(INSTITUTION, claims())
    assert no_key.value.reason == "no_signing_key"
    for call in (cs.key_list, cs.rotate_signing_key):
        with pytest.raises(cs.SigningError):
            call(INSTITUTION)

    key = cs.create_signing_key(INSTITUTION, now=T0)
    del memory_keyring.store[(SERVICE, cs.private_key_name(INSTITUTION, key.key_id))]
    with pytest.raises(cs.SigningError) as missing:
        cs.sign_claims(INSTITUTION, claims(), now=T_SIGN)
    assert missing.value.reason == "signing_key_missing"
    # A lost key is rotated away; what it signed still verifies.
    cs.rotate_signing_key(INSTITUTION, now=T_ROTATE)
    cs.sign_claims(INSTITUTION, claims(), now=T_ROTATE)

    with pytest.raises(ValueError):
        cs.sign_claims("110106", claims(), now=T_SIGN)  # claims of another institution
    with pytest.raises(ValueError):
        cs.create_signing_key("110105:x")


def test_a_key_of_the_wrong_list_is_refused(memory_keyring: MemoryKeyring) -> None:
    key = cs.create_signing_key(INSTITUTION, now=T0)
    name = (SERVICE, cs.private_key_name(INSTITUTION, key.key_id))
    memory_keyring.store[name] = base64.b64encode(bytes(32)).decode()
    with pytest.raises(cs.SigningError) as mismatch:
        cs.sign_claims(INSTITUTION, claims(), now=T_SIGN)
    assert mismatch.value.reason == "signing_key_mismatch"
    memory_keyring.store[name] = "not base64!"
    with pytest.raises(secrets.SecretsError):
        cs.sign_claims(INSTITUTION, claims(), now=T_SIGN)


def test_no_keyring_no_signing(no_keyring: None) -> None:
    with pytest.raises(secrets.SecretsUnavailable):
        cs.create_signing_key(INSTITUTION, now=T0)


def test_a_tampered_key_list_is_refused(memory_keyring: MemoryKeyring) -> None:
    cs.create_signing_key(INSTITUTION, now=T0)
    cs.rotate_signing_key(INSTITUTION, now=T_ROTATE)
    data = cs.key_list(INSTITUTION)

    for position in range(0, len(data), 5):
        tampered = bytearray(data)
        tampered[position] ^= 0x01
        with pytest.raises(cs.KeyListAltered) as refused:
            cs.load_key_list(bytes(tampered))
        assert refused.value.reason == "key_list_altered"
    with pytest.raises(cs.KeyListAltered):
        cs.load_key_list(data + b"\x00")
    with pytest.raises(cs.KeyListAltered):
        cs.load_key_list(data[:-1])

    # A retirement date moved later (to cover a stolen key), re-encoded but not re-signed.
    envelope = cbor2.loads(data)
    body = cbor2.loads(envelope.value[2])
    body["keys"][0]["retired"] = "2027-06-01T00:00:00Z"
    forged = list(envelope.value)
    forged[2] = cbor2.dumps(body, canonical=True)
    with pytest.raises(cs.KeyListAltered):
        cs.load_key_list(cbor2.dumps(cbor2.CBORTag(18, forged)))

    # The copy in the keyring is checked every time it is used.
    stored = (SERVICE, cs.key_list_name(INSTITUTION))
    memory_keyring.store[stored] = base64.b64encode(bytes(tampered)).decode()
    with pytest.raises(cs.KeyListAltered):
        cs.key_list(INSTITUTION)
    with pytest.raises(cs.KeyListAltered):
        cs.sign_claims(INSTITUTION, claims(), now=T_SIGN)


# --------------------------------------------------------------------------------------------
# QR payload


def test_sign_then_verify(memory_keyring: MemoryKeyring) -> None:
    key = cs.create_signing_key(INSTITUTION, now=T0)
    made = claims()
    text = cs.sign_claims(INSTITUTION, made, now=T_SIGN)

    assert text.startswith("CTC1:")
    assert set(text) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    verified = cs.verify_payload(text, current_list(), now=T_SIGN)
    assert verified.claims == made
    assert (verified.key, verified.key_id, verified.signed_at) == (key, key.key_id, T_SIGN)
    assert verified.version == cs.FORMAT_VERSION
    assert cs.text_matches(verified, TEXT) and not cs.text_matches(verified, TEXT + "。")
    assert cs.text_digest("第一行\r\n第二行") == cs.text_digest("第一行\n第二行")
    # What a 2-D scanner may add or change: an Enter, blanks, Caps Lock.
    assert cs.verify_payload(f"  {text}\r\n", current_list(), now=T_SIGN).claims == made
    assert cs.verify_payload(text.lower(), current_list(), now=T_SIGN).claims == made


def test_the_payload_format(memory_keyring: MemoryKeyring) -> None:
    key = cs.create_signing_key(INSTITUTION, now=T0)
    made = claims()
    envelope = cbor2.loads(cose_of(cs.sign_claims(INSTITUTION, made, now=T_SIGN)))

    assert envelope.tag == 18  # COSE_Sign1
    protected, unprotected, payload, signature = envelope.value
    assert cbor2.loads(protected) == {1: -8, 4: bytes.fromhex(key.key_id)}  # EdDSA, kid
    assert unprotected == {} and len(signature) == 64
    assert cbor2.loads(payload) == {
        0: 1,
        1: INSTITUTION,
        2: USCC,
        3: "CY-2026-000123",
        4: "custody",
        5: "2026-11-03",
        6: int(T_SIGN.timestamp()),
        7: made.holder_salt,
        8: hashlib.sha256(made.holder_salt + HOLDER.encode()).digest()[:16],
        9: hashlib.sha256(TEXT.encode()).digest(),
        10: bytes.fromhex(key.key_id),
    }


def test_standard_cose_interoperates_with_pycose(memory_keyring: MemoryKeyring) -> None:
    from pycose.algorithms import EdDSA
    from pycose.headers import KID, Algorithm
    from pycose.keys import OKPKey
    from pycose.messages import Sign1Message

    key = cs.create_signing_key(INSTITUTION, now=T0)
    text = cs.sign_claims(INSTITUTION, claims(), now=T_SIGN)

    # pycose 1.1's CoseMessage.decode fails on cbor2 6 (inside a tag, arrays come back as
    # tuples and maps as frozen dicts), hence from_cose_obj on the decoded array.
    protected, unprotected, payload, signature = cbor2.loads(cose_of(text)).value
    theirs = Sign1Message.from_cose_obj([protected, dict(unprotected), payload, signature], True)
    theirs.key = OKPKey(crv="ED25519", x=key.public_key)
    assert theirs.verify_signature()

    # And a COSE_Sign1 made by pycose verifies here.
    private = stored_private(memory_keyring, key)
    payload = cbor2.loads(theirs.payload)
    payload[3] = "CY-2026-000124"
    made = Sign1Message(
        phdr={Algorithm: EdDSA, KID: bytes.fromhex(key.key_id)},
        payload=cbor2.dumps(payload),
        key=OKPKey(crv="ED25519", x=key.public_key, d=private.private_bytes_raw()),
    )
    foreign = cs.PREFIX + base45.b45encode(zlib.compress(made.encode())).decode()
    assert cs.verify_payload(foreign, current_list(), now=T_SIGN).claims.serial == "CY-2026-000124"


def test_one_changed_character_is_altered(memory_keyring: MemoryKeyring) -> None:
    cs.create_signing_key(INSTITUTION, now=T0)
    text = cs.sign_claims(INSTITUTION, claims(), now=T_SIGN)
    listed = current_list()
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

    for position in range(len(cs.PREFIX), len(text), 3):
        other = alphabet[(alphabet.index(text[position]) + 1) % len(alphabet)]
        changed = text[:position] + other + text[position + 1 :]
        with pytest.raises(cs.PayloadAltered) as refused:
            cs.verify_payload(changed, listed, now=T_SIGN)
        assert refused.value.reason == "altered"
        assert isinstance(refused.value, cs.CertificateInvalid)
    with pytest.raises(cs.PayloadAltered):
        cs.verify_payload(text[:-3], listed, now=T_SIGN)  # cut short


def test_a_changed_claim_under_the_old_signature_is_altered(memory_keyring: MemoryKeyring) -> None:
    cs.create_signing_key(INSTITUTION, now=T0)
    envelope = cbor2.loads(cose_of(cs.sign_claims(INSTITUTION, claims(), now=T_SIGN)))
    parts = list(envelope.value)
    payload = cbor2.loads(parts[2])
    payload[4] = "kinship"
    parts[2] = cbor2.dumps(payload)
    forged = cbor2.dumps(cbor2.CBORTag(18, parts))
    text = cs.PREFIX + base45.b45encode(zlib.compress(forged)).decode()
    with pytest.raises(cs.PayloadAltered) as refused:
        cs.verify_payload(text, current_list(), now=T_SIGN)
    assert refused.value.detail == "signature does not match"


@pytest.mark.parametrize("prefix", ["", "CTC2:", "HC1:", "CTC1", "XTC1:"])
def test_a_missing_or_other_prefix_is_altered(memory_keyring: MemoryKeyring, prefix: str) -> None:
    cs.create_signing_key(INSTITUTION, now=T0)
    text = cs.sign_claims(INSTITUTION, claims(), now=T_SIGN)
    with pytest.raises(cs.PayloadAltered) as refused:
        cs.verify_payload(prefix + text[len(cs.PREFIX) :], current_list(), now=T_SIGN)
    assert refused.value.reason == "altered"


@pytest.mark.parametrize(
    "junk", ["", "CTC1:", "CTC1:!!", "CTC1:ABCD", "hello", "CTC1:" + "A" * 5000]
)
def test_junk_is_altered(memory_keyring: MemoryKeyring, junk: str) -> None:
    cs.create_signing_key(INSTITUTION, now=T0)
    with pytest.raises(cs.PayloadAltered):
        cs.verify_payload(junk, current_list(), now=T_SIGN)


def test_a_key_not_in_the_list_is_unknown(memory_keyring: MemoryKeyring) -> None:
    cs.create_signing_key(INSTITUTION, now=T0)
    cs.create_signing_key("110106", now=T0)
    made = claims()
    text = cs.sign_claims(INSTITUTION, made, now=T_SIGN)
    own = current_list()

    with pytest.raises(cs.UnknownKey) as refused:
        cs.verify_payload(text, current_list("110106"), now=T_SIGN)
    assert refused.value.reason == "unknown_key"
    assert refused.value.key_id == own.current.key_id
    assert refused.value.claims == made  # shown only as "the document claims …"
    assert own.current.key_id in str(refused.value)


def test_a_certificate_signed_before_rotation_stays_valid(memory_keyring: MemoryKeyring) -> None:
    old = cs.create_signing_key(INSTITUTION, now=T0)
    before = cs.sign_claims(INSTITUTION, claims(), now=T_SIGN)
    list_before = current_list()

    new = cs.rotate_signing_key(INSTITUTION, now=T_ROTATE)
    later = dt.datetime(2027, 1, 5, tzinfo=dt.UTC)
    after = cs.sign_claims(INSTITUTION, claims(serial="CY-2027-000001"), now=later)
    list_after = current_list()

    verified = cs.verify_payload(before, list_after, now=later)
    assert verified.key.key_id == old.key_id and verified.key.retired == T_ROTATE
    assert cs.verify_payload(after, list_after, now=later).key == new
    # The list from before the rotation does not know the new key.
    with pytest.raises(cs.UnknownKey):
        cs.verify_payload(after, list_before, now=later)


def test_the_retired_key_signing_after_retirement_is_refused(
    memory_keyring: MemoryKeyring,
) -> None:
    old = cs.create_signing_key(INSTITUTION, now=T0)
    stolen = stored_private(memory_keyring, old)
    cs.rotate_signing_key(INSTITUTION, now=T_ROTATE)
    listed = current_list()
    late = T_ROTATE + dt.timedelta(days=3)

    text = cs.encode_payload(claims(), stolen, signed_at=late)
    with pytest.raises(cs.KeyNotActiveAtIssue) as refused:
        cs.verify_payload(text, listed, now=late)
    assert refused.value.reason == "key_not_active_at_issue"
    assert refused.value.key_id == old.key_id
    # Signed before the key existed: not in use either.
    early = cs.encode_payload(claims(), stolen, signed_at=T0 - dt.timedelta(days=1))
    with pytest.raises(cs.KeyNotActiveAtIssue):
        cs.verify_payload(early, listed, now=late)
    # Up to and including the retirement second it was in use.
    edge = cs.encode_payload(claims(), stolen, signed_at=T_ROTATE)
    assert cs.verify_payload(edge, listed, now=late).key.key_id == old.key_id


def test_a_signing_time_in_the_future_is_refused(memory_keyring: MemoryKeyring) -> None:
    cs.create_signing_key(INSTITUTION, now=T0)
    text = cs.sign_claims(INSTITUTION, claims(), now=T_SIGN)
    listed = current_list()
    assert cs.verify_payload(text, listed, now=T_SIGN - dt.timedelta(minutes=9))
    with pytest.raises(cs.SignedInFuture) as refused:
        cs.verify_payload(text, listed, now=T_SIGN - dt.timedelta(hours=1))
    assert refused.value.reason == "signed_in_future"


# --------------------------------------------------------------------------------------------
# Holder and size


def test_the_holder_hash_hides_the_id_and_matches_only_the_holder(
    memory_keyring: MemoryKeyring,
) -> None:
    cs.create_signing_key(INSTITUTION, now=T0)
    made = claims()
    text = cs.sign_claims(INSTITUTION, made, now=T_SIGN)
    cose = cose_of(text)

    for form in (HOLDER, HOLDER[:-1], HOLDER[6:14], HOLDER.encode()):
        assert (form.encode() if isinstance(form, str) else form) not in cose
    assert HOLDER not in text
    assert len(made.holder_salt) == 16 and len(made.holder_hash) == 16

    verified = cs.verify_payload(text, current_list(), now=T_SIGN)
    assert cs.holder_matches(verified, HOLDER)
    assert cs.holder_matches(made, "110105 19491231 002x")  # typed with blanks, lower-case x
    assert cs.holder_matches(made, "１１０１０５１９４９１２３１００２Ｘ")  # full-width
    assert not cs.holder_matches(made, "110105194912310038")
    assert not cs.holder_matches(made, "")
    # Same person, another certificate: another salt, unlinkable hashes.
    again = claims()
    assert again.holder_hash != made.holder_hash and cs.holder_matches(again, HOLDER)

    # The 15-digit GB 11643-1989 form of the same number is the same person.
    assert cs.holder_matches(made, "110105491231002")
    assert cs.holder_matches(claims(holder_id="110105491231002"), HOLDER)


@pytest.mark.parametrize(
    ("institution", "serial", "kind"),
    [
        (INSTITUTION, "CY-2026-000123", "custody"),
        ("1101050000000001", "CYRSZXJD-2026-999999", "political_review"),  # longest fields
    ],
)
def test_the_qr_fits_version_15_at_level_q(
    memory_keyring: MemoryKeyring, institution: str, serial: str, kind: str
) -> None:
    cs.create_signing_key(institution, now=T0)
    made = claims(institution_code=institution, serial=serial, kind=kind)
    text = cs.sign_claims(institution, made, now=T_SIGN)

    qr = segno.make(text, error="q", boost_error=False)
    assert qr.mode == "alphanumeric"
    assert qr.version <= 15, (qr.version, len(text))
    assert len(text) <= cs.QR_TEXT_LIMIT


def test_a_payload_too_big_for_the_qr_is_refused(memory_keyring: MemoryKeyring) -> None:
    cs.create_signing_key(INSTITUTION, now=T0)
    with pytest.raises(ValueError):
        cs.sign_claims(INSTITUTION, claims(kind=hashlib.sha512(b"k").hexdigest()), now=T_SIGN)
