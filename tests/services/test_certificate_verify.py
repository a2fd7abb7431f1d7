"""Verifying certificates: issued by services.issuance (real Ed25519 signatures, keys in an
in-memory keyring, the PDF written), or forged and tampered with by hand in the SQLite file;
the payload typed, the PDF or a picture read, or the code typed; and proof that verifying
writes nothing."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import select

from counter_tui.db.engine import Database
from counter_tui.db.models import AccessEvent, Certificate, SigningKeyList
from counter_tui.domain import clock
from counter_tui.domain.identifiers import new_verification_code
from counter_tui.services import certificate_events, issuance
from counter_tui.services import certificate_signing as cs
from counter_tui.services.certificate_verify import Outcome, mask_resident_ids, verify
from tests.support.factories import TinyArchive, logged_in, tiny_archive
from tests.support.keyrings import MemoryKeyring

INSTITUTION = "CY-RC"
USCC = "12110105MB0123456C"
HOLDER = "11010519491231002X"  # DA00000001 张伟
TEXT = (
    "存档证明\n编号：CY-2026-000001\n兹证明 张伟（性别：女，公民身份号码：110105******002X），"
    "其人事档案存放于北京市朝阳区人才服务中心。"
)
T_KEY = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
T_SIGN = dt.datetime(2026, 11, 3, 2, 30, tzinfo=dt.UTC)
NOW = T_SIGN + dt.timedelta(days=1)


def issue_certificate(archive: TinyArchive, *, at: dt.datetime = T_SIGN) -> str:
    """Issue a custody certificate for DA00000001 (张伟) through services.issuance, as clerk1
    王芳 at ``at``; returns its payload as stored."""
    issuance.issue(
        archive.db,
        issuance.CertificateRequest("custody", "办理生育服务证"),
        dossier_id=archive.ids["DA00000001"],
        workplace=logged_in(archive),
        visit_id=None,
        certificates_dir=archive.settings.certificates_dir,
        now=at,
    )
    with archive.db.read() as s:
        return s.exec(select(Certificate.payload)).one()


def signed_payload(
    serial: str = "CY-2026-000001", text: str = TEXT, *, at: dt.datetime = T_SIGN
) -> str:
    """A payload signed with CY-RC's current key in the keyring."""
    claims = cs.CertificateClaims.create(
        institution_code=INSTITUTION,
        uscc=USCC,
        serial=serial,
        kind="custody",
        issue_date=clock.today(at),
        holder_id=HOLDER,
        certified_text=text,
    )
    return cs.sign_claims(INSTITUTION, claims, now=at)


def store_certificate(
    archive: TinyArchive,
    payload: str,
    *,
    serial: str = "CY-2026-000001",
    text: str = TEXT,
    store_list: bool = True,
) -> Certificate:
    """Insert the certificate row (and CY-RC's key list) as issuance stores them."""
    row = Certificate(
        serial=serial,
        kind="custody",
        dossier_id=archive.ids["DA00000001"],
        institution_id=archive.ids["here"],
        applicant_kind="self",
        purpose="办理生育服务证",
        text_path=str(archive.settings.certificates_dir / f"{serial}.pdf"),
        text_sha256="0" * 64,
        issued_by=archive.ids["clerk"],
        issued_at=T_SIGN,
        verification_code=cs.verification_code_for(payload),
        payload=payload,
        key_id=cs.load_key_list(cs.key_list(INSTITUTION)).current.key_id,
        certified_text=text,
        facts="{}",
    )
    with archive.db.write() as s:
        s.add(row)
        if store_list:
            add_key_list(s, archive, cs.key_list(INSTITUTION))
    return row


def add_key_list(session, archive: TinyArchive, data: bytes) -> None:  # noqa: ANN001
    listed = cs.load_key_list(data)
    session.add(
        SigningKeyList(
            institution_id=archive.ids["here"],
            current_key_id=listed.current.key_id,
            key_list=data,
            stored_at=listed.issued,
        )
    )


def tamper(archive: TinyArchive, sql: str, *params: object) -> None:
    """Edit the database file behind the application's back (the attacker of ARCHITECTURE.md
    principle 3): drop the append-only guard, change the row."""
    path = archive.settings.db_url.removeprefix("sqlite:///")
    archive.db.dispose()
    with sqlite3.connect(path) as con:
        con.execute("DROP TRIGGER IF EXISTS certificate_append_only_update")
        con.execute(sql, params)
    con.close()


@pytest.fixture
def archive(tmp_path: Path, memory_keyring: MemoryKeyring) -> TinyArchive:
    archive = tiny_archive(tmp_path)
    cs.create_signing_key(INSTITUTION, now=T_KEY)
    return archive


@pytest.fixture
def payload(archive: TinyArchive) -> str:
    return issue_certificate(archive)


def certified_text(archive: TinyArchive) -> str:
    with archive.db.read() as s:
        return s.exec(select(Certificate.certified_text)).one()


def test_a_scanned_payload_is_valid_and_says_what_was_certified(
    archive: TinyArchive, payload: str
) -> None:
    result = verify(archive.db, payload, now=NOW)

    assert result.outcome is Outcome.VALID and result.valid
    assert result.serial == "CY-2026-000001"
    assert (result.kind_code, result.title) == ("custody", "存档证明")
    assert result.institution_name == "北京市朝阳区人才服务中心"
    assert result.issue_date == dt.date(2026, 11, 3)
    assert (result.issued_by, result.person_name) == ("王芳", "张伟")
    assert result.certified_text == mask_resident_ids(certified_text(archive))
    assert "张伟" in result.certified_text and "110105********002X" in result.certified_text
    assert result.verification_code == cs.verification_code_for(payload)
    assert result.reprints == 0 and result.holder_matches is None
    assert "CY-2026-000001" in result.message and "有效" in result.message
    assert HOLDER not in repr(result)  # never the resident ID


def test_a_payload_typed_with_caps_lock_off_and_an_enter_is_the_same(
    archive: TinyArchive, payload: str
) -> None:
    assert verify(archive.db, "  " + payload.lower() + "\r\n", now=NOW).outcome is Outcome.VALID


def test_one_character_changed_is_altered(archive: TinyArchive, payload: str) -> None:
    for position in (len(cs.PREFIX) + 40, len(payload) // 2, len(payload) - 3):
        wrong = "A" if payload[position] != "A" else "B"
        changed = payload[:position] + wrong + payload[position + 1 :]
        result = verify(archive.db, changed, now=NOW)
        assert result.outcome is Outcome.ALTERED, position
        assert result.certified_text == "" and result.person_name == ""


def test_a_reprinted_copy_verifies_and_counts(archive: TinyArchive, payload: str) -> None:
    certificate_events.reprint(
        archive.db,
        "CY-2026-000001",
        workplace=logged_in(archive),
        print_command=["true"],
        viewer=["true"],
        now=T_SIGN + dt.timedelta(hours=1),
    )
    result = verify(archive.db, payload, now=NOW)
    assert result.outcome is Outcome.VALID and result.reprints == 1
    assert "补打 1 份" in result.message


def test_a_voided_certificate_says_why_who_and_when(archive: TinyArchive, payload: str) -> None:
    voided_at = T_SIGN + dt.timedelta(hours=3)
    certificate_events.void(
        archive.db,
        "CY-2026-000001",
        workplace=logged_in(archive, "super1"),
        reason="姓名有误",
        now=voided_at,
    )
    result = verify(archive.db, payload, now=NOW)

    assert result.outcome is Outcome.VOIDED
    assert (result.void_reason, result.voided_by) == ("姓名有误", "赵敏")
    assert result.voided_at == voided_at
    assert "姓名有误" in result.message and "2026-11-03 13:30" in result.message  # Beijing time
    assert result.certified_text  # what was certified is still shown


def test_the_issued_pdf_is_verified(archive: TinyArchive, payload: str) -> None:
    [pdf] = archive.settings.certificates_dir.rglob("CY-2026-000001.pdf")
    result = verify(archive.db, str(pdf), now=NOW)
    assert result.outcome is Outcome.VALID and result.serial == "CY-2026-000001"


def test_a_key_not_in_the_list_is_an_unknown_key(archive: TinyArchive) -> None:
    claims = cs.CertificateClaims.create(
        institution_code=INSTITUTION,
        uscc=USCC,
        serial="CY-2026-000009",
        kind="custody",
        issue_date=dt.date(2026, 11, 3),
        holder_id=HOLDER,
        certified_text=TEXT,
    )
    forged = cs.encode_payload(claims, Ed25519PrivateKey.generate(), signed_at=T_SIGN)
    store_certificate(archive, forged, serial="CY-2026-000009")

    result = verify(archive.db, forged, now=NOW)

    assert result.outcome is Outcome.UNKNOWN_KEY
    assert (result.serial, result.institution_code) == ("CY-2026-000009", INSTITUTION)
    assert result.person_name == "" and result.certified_text == ""  # nothing vouched for


def test_the_keyring_list_outranks_a_list_added_to_the_database_file(
    archive: TinyArchive, memory_keyring: MemoryKeyring
) -> None:
    # An attacker who can write the database file makes their own CY-RC key, stores its list
    # there (newest) and signs a certificate with it; this counter's keyring knows better.
    genuine = dict(memory_keyring.store)
    memory_keyring.store.clear()
    cs.create_signing_key(INSTITUTION, now=T_KEY)
    forged = signed_payload("CY-2026-000009")
    forged_list = cs.key_list(INSTITUTION)
    memory_keyring.store.clear()
    memory_keyring.store.update(genuine)
    store_certificate(archive, forged, serial="CY-2026-000009", store_list=False)
    with archive.db.write() as s:
        add_key_list(s, archive, forged_list)

    assert verify(archive.db, forged, now=NOW).outcome is Outcome.UNKNOWN_KEY


def test_without_a_keyring_the_stored_key_list_verifies(
    archive: TinyArchive, payload: str, use_keyring
) -> None:  # noqa: ANN001
    from keyring.backends import fail

    use_keyring(fail.Keyring())
    assert verify(archive.db, payload, now=NOW).outcome is Outcome.VALID


def test_without_any_key_list_the_key_is_unknown(archive: TinyArchive, use_keyring) -> None:  # noqa: ANN001
    from keyring.backends import fail

    text = signed_payload()
    store_certificate(archive, text, store_list=False)
    use_keyring(fail.Keyring())

    result = verify(archive.db, text, now=NOW)
    assert result.outcome is Outcome.UNKNOWN_KEY and INSTITUTION in result.message


def test_a_typed_code_is_valid(archive: TinyArchive, payload: str) -> None:
    code = cs.verification_code_for(payload)
    result = verify(archive.db, code.lower().replace("-", " "), now=NOW, holder_id=HOLDER)

    assert result.outcome is Outcome.VALID
    assert result.verification_code == code and result.certified_text
    assert result.holder_matches is True


def test_an_unknown_code_is_an_unknown_serial(archive: TinyArchive, payload: str) -> None:
    code = new_verification_code(bytes(7))
    result = verify(archive.db, code, now=NOW)

    assert result.outcome is Outcome.UNKNOWN_SERIAL
    assert code in result.message and result.serial == ""


def test_a_valid_signature_without_a_record_is_an_unknown_serial(archive: TinyArchive) -> None:
    elsewhere = signed_payload("CY-2026-000077")
    with archive.db.write() as s:
        add_key_list(s, archive, cs.key_list(INSTITUTION))

    result = verify(archive.db, elsewhere, now=NOW)

    assert result.outcome is Outcome.UNKNOWN_SERIAL
    assert result.serial == "CY-2026-000077" and result.institution_name
    assert "CY-2026-000077" in result.message and result.person_name == ""


def test_an_edited_certified_text_is_altered(archive: TinyArchive, payload: str) -> None:
    tamper(
        archive,
        "UPDATE certificate SET certified_text = ? WHERE serial = ?",
        certified_text(archive).replace("张伟", "张三"),
        "CY-2026-000001",
    )
    for given in (payload, cs.verification_code_for(payload)):
        result = verify(archive.db, given, now=NOW)
        assert result.outcome is Outcome.ALTERED, given
        assert result.certified_text == "" and "CY-2026-000001" in result.message


def test_an_edited_stored_payload_is_altered_for_its_code(
    archive: TinyArchive, payload: str
) -> None:
    other = signed_payload("CY-2026-000001", certified_text(archive))
    tamper(archive, "UPDATE certificate SET payload = ? WHERE serial = ?", other, "CY-2026-000001")

    assert verify(archive.db, payload, now=NOW).outcome is Outcome.ALTERED
    assert verify(archive.db, other, now=NOW).outcome is Outcome.ALTERED
    code = cs.verification_code_for(payload)
    assert verify(archive.db, code, now=NOW).outcome is Outcome.ALTERED


def test_a_payload_signed_later_than_now_is_in_the_future(
    archive: TinyArchive, payload: str
) -> None:
    result = verify(archive.db, payload, now=T_SIGN - dt.timedelta(hours=1))
    assert result.outcome is Outcome.FUTURE


def test_the_holder_id_is_compared_never_shown(archive: TinyArchive, payload: str) -> None:
    assert verify(archive.db, payload, now=NOW, holder_id="110105 19491231 002x").holder_matches
    other = "440524188001010014"
    result = verify(archive.db, payload, now=NOW, holder_id=other)
    assert result.outcome is Outcome.VALID and result.holder_matches is False
    assert other not in repr(result)
    assert "不是持证人" in result.message


def test_a_photo_of_the_qr_is_verified(archive: TinyArchive, payload: str, tmp_path: Path) -> None:
    photo = tmp_path / "scan.png"
    segno.make(payload, error="q").save(photo, scale=4, border=4)
    assert verify(archive.db, str(photo), now=NOW).outcome is Outcome.VALID


def test_unreadable_inputs_are_an_outcome(archive: TinyArchive, tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n garbage")
    for given in (str(tmp_path / "missing.pdf"), str(broken), "hello", "SVGX-6R0M-543"):
        result = verify(archive.db, given, now=NOW)
        assert result.outcome is Outcome.UNREADABLE, given
        assert result.message


def test_verifying_writes_nothing(archive: TinyArchive, payload: str) -> None:
    path = Path(archive.settings.db_url.removeprefix("sqlite:///"))
    archive.db.dispose()  # checkpoints the WAL into the file
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    db = Database(archive.settings.db_url)
    try:
        for given in (payload, cs.verification_code_for(payload), payload[:-2] + "00"):
            verify(db, given, now=NOW)
    finally:
        db.dispose()
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_resident_ids_in_a_text_are_masked() -> None:
    text = (
        "兹证明 张伟（11010519491231002x）与代理人（110105491231002）；档号 DA110105194912310028。"
    )
    assert mask_resident_ids(text) == (
        "兹证明 张伟（110105********002x）与代理人（110105*****1002）；档号 DA110105194912310028。"
    )


@pytest.mark.parametrize("cut", ["", "ABC", "first_300"])
def test_a_code_read_only_in_part_is_unreadable_not_altered(archive: TinyArchive, cut: str) -> None:
    payload = issue_certificate(archive)
    text = payload[:300] if cut == "first_300" else "CTC1:" + cut
    result = verify(archive.db, text)
    assert result.outcome is Outcome.UNREADABLE, result
    assert "查验码" in result.message


def test_a_deleted_void_or_an_edited_holder_name_is_not_valid(archive: TinyArchive) -> None:
    import sqlite3

    payload = issue_certificate(archive)
    with archive.db.read() as s:
        serial = s.exec(select(Certificate.serial)).one()
    certificate_events.void(
        archive.db, serial, workplace=logged_in(archive), reason="重复出具", now=T_SIGN
    )
    assert verify(archive.db, payload, now=T_SIGN).outcome is Outcome.VOIDED
    connection = sqlite3.connect(archive.settings.db_url.removeprefix("sqlite:///"))
    with connection:
        connection.execute("DROP TRIGGER certificate_event_append_only_delete")
        connection.execute("DELETE FROM certificate_event WHERE kind = 'voided'")
    result = verify(archive.db, payload, now=T_SIGN)
    assert result.outcome is Outcome.ALTERED and "audit verify" in result.message
    with connection:
        connection.execute(
            "UPDATE dossier SET person_name = '李四' WHERE dossier_no = 'DA00000001'"
        )
    connection.close()
    assert verify(archive.db, payload, now=T_SIGN).outcome is Outcome.ALTERED


def test_a_void_removed_with_its_seal_and_the_later_checkpoints_is_not_valid(
    archive: TinyArchive,
) -> None:
    """The stronger undo: the void, its seal and every checkpoint signed after it are deleted.
    The certificate's own seals then look whole; what gives it away is that the archive is
    behind the checkpoint this computer signed after the void."""
    import sqlite3

    from counter_tui.services import checkpoints

    payload = issue_certificate(archive)
    assert checkpoints.sign(archive.db, INSTITUTION) is not None
    with archive.db.read() as s:
        serial = s.exec(select(Certificate.serial)).one()
        before = s.exec(select(AccessEvent.seq).order_by(AccessEvent.seq.desc())).first()
    certificate_events.void(
        archive.db, serial, workplace=logged_in(archive), reason="重复出具", now=T_SIGN
    )
    assert checkpoints.sign(archive.db, INSTITUTION) is not None  # as after any writing command
    connection = sqlite3.connect(archive.settings.db_url.removeprefix("sqlite:///"))
    with connection:
        for table in ("certificate_event", "access_event", "chain_checkpoint"):
            connection.execute(f"DROP TRIGGER IF EXISTS {table}_append_only_delete")
        connection.execute("DELETE FROM certificate_event WHERE kind = 'voided'")
        connection.execute("DELETE FROM access_event WHERE seq > ?", (before,))
        connection.execute("DELETE FROM chain_checkpoint WHERE seq > ?", (before,))
    connection.close()
    result = verify(archive.db, payload, now=T_SIGN)
    assert result.outcome is Outcome.ALTERED and "audit verify" in result.message
