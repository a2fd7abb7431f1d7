"""`audit verify` over certificates, attacked the way someone with the database file but not
the keyring would: forged rows, edited rows, rows removed, a key list of their own."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from pathlib import Path

import keyring
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from keyring.backends import fail
from sqlmodel import select

from counter_tui.services import certificate_audit, fixity, issuance
from counter_tui.services import certificate_signing as cs
from tests.support.factories import logged_in, tiny_archive

NOW = dt.datetime(2026, 5, 6, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def issued(tmp_path: Path):  # noqa: ANN201
    archive = tiny_archive(tmp_path)
    cert = issuance.issue(
        archive.db,
        issuance.CertificateRequest("custody", "办理生育服务证"),
        dossier_id=archive.ids["DA00000001"],
        workplace=logged_in(archive),
        visit_id=None,
        certificates_dir=archive.settings.certificates_dir,
        now=NOW,
    )
    return archive, cert


def sql(archive, statement: str, params: tuple = ()) -> None:  # noqa: ANN001
    """Run SQL on the database file directly, triggers dropped first as an attacker would."""
    connection = sqlite3.connect(archive.settings.db_url.removeprefix("sqlite:///"))
    with connection:
        for table in ("certificate", "signing_key_list"):
            for op in ("update", "delete"):
                connection.execute(f"DROP TRIGGER IF EXISTS {table}_append_only_{op}")
        connection.execute(statement, params)
    connection.close()


def problems(archive) -> list[tuple[str, str]]:  # noqa: ANN001
    report = fixity.verify(archive.db, archive_root=archive.settings.archive_dir)
    return [(p.table, p.what) for p in report.problems]


def forge_row(archive, serial: str, payload: str, code: str) -> None:  # noqa: ANN001
    sql(
        archive,
        "INSERT INTO certificate (id, serial, kind, dossier_id, institution_id, applicant_kind, "
        "purpose, cited_material_ids, text_path, text_sha256, issued_at, payload, "
        "verification_code, certified_text, key_id) VALUES (?, ?, 'custody', ?, ?, 'self', '入职', "
        "'', '', '', '2026-05-06 02:00:00.000000', ?, ?, '兹证明……', ?)",
        (
            uuid.uuid4().hex,
            serial,
            archive.ids["DA00000001"].hex,
            archive.ids["here"].hex,
            payload,
            code,
            cs.payload_key_id(payload),
        ),
    )


def test_a_certificate_forged_with_a_key_of_ones_own_is_named(issued) -> None:  # noqa: ANN001
    archive, _cert = issued
    claims = cs.CertificateClaims.create(
        institution_code="CY-RC",
        uscc="12110105MB0123456C",
        serial="CY-2026-000777",
        kind="custody",
        issue_date=NOW.date(),
        holder_id="11010519491231002X",
        certified_text="兹证明……",
    )
    payload = cs.encode_payload(claims, Ed25519PrivateKey.generate(), signed_at=NOW)
    forge_row(archive, "CY-2026-000777", payload, cs.verification_code_for(payload))
    assert problems(archive) == [("certificate", "unsealed"), ("certificate", "unknown_key")]


def test_a_copied_payload_under_another_serial_is_named(issued) -> None:  # noqa: ANN001
    archive, cert = issued
    with archive.db.read() as s:
        from counter_tui.db.models import Certificate

        payload = s.get(Certificate, cert.id).payload
    forge_row(archive, "CY-2026-000555", payload, "ABCD-EFGH-JK0")
    found = problems(archive)
    assert found == [("certificate", "unsealed"), ("certificate", "claims")]


def test_an_edited_certified_text_is_named(issued) -> None:  # noqa: ANN001
    archive, cert = issued
    sql(
        archive,
        "UPDATE certificate SET certified_text = ? WHERE id = ?",
        ("兹证明张伟的人事档案自1990年起存放于我中心。", cert.id.hex),
    )
    assert problems(archive) == [("certificate", "changed"), ("certificate", "claims")]


def test_a_removed_certificate_and_a_swapped_key_list_are_named(issued) -> None:  # noqa: ANN001
    archive, cert = issued
    sql(archive, "DELETE FROM certificate WHERE id = ?", (cert.id.hex,))
    assert problems(archive) == [("certificate", "missing")]
    sql(archive, "UPDATE signing_key_list SET key_list = ?", (b"not a key list",))
    assert set(problems(archive)) == {
        ("signing_key_list", "changed"),
        ("signing_key_list", "invalid"),
        ("signing_key_list", "not_endorsed"),
        ("certificate", "missing"),
    }


@pytest.mark.postgres
def test_issue_print_void_verify_and_audit_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    from counter_tui.services import certificate_events, certificate_verify
    from tests.services.test_certificate_events import script

    archive = tiny_archive(tmp_path, db_url=postgres_url)
    issued = issuance.issue(
        archive.db,
        issuance.CertificateRequest(
            "education",
            "入职",
            cited_material_ids=(archive.ids["m_grad"],),
            facts=(("school", "北京大学"), ("level", "本科"), ("end", "1971-07")),
        ),
        dossier_id=archive.ids["DA00000001"],
        workplace=logged_in(archive),
        visit_id=None,
        certificates_dir=archive.settings.certificates_dir,
        now=NOW,
    )
    assert certificate_verify.verify(archive.db, issued.verification_code).outcome == "valid"
    lp = script(tmp_path / "lp", "true")
    certificate_events.reprint(
        archive.db, issued.serial, workplace=logged_in(archive), print_command=lp, viewer=lp
    )
    certificate_events.void(
        archive.db, issued.serial, workplace=logged_in(archive), reason="重复出具", now=NOW
    )
    assert certificate_verify.verify(archive.db, str(issued.path)).outcome == "voided"
    report = fixity.verify(archive.db, archive_root=archive.settings.archive_dir)
    assert report.ok, report.problems
    assert (report.certificates, report.certificate_files) == (1, 2)
    archive.db.dispose()


def test_a_key_list_appended_by_someone_without_the_key_is_not_trusted(issued) -> None:  # noqa: ANN001
    """The breaker's attack: append a key list of one's own (the real key retired, one's own
    current, signed by one's own), seal it with the application's own code, forge a
    certificate with it. Without the retired key's endorsement it is not the institution's."""
    import dataclasses

    from counter_tui.db.models import Certificate, Institution, SigningKeyList
    from counter_tui.services import access_log, certificate_verify

    archive, cert = issued
    private = Ed25519PrivateKey.generate()
    with archive.db.read() as s:
        real = cs.load_key_list(s.exec(select(SigningKeyList)).one().key_list)
        institution = s.exec(select(Institution).where(Institution.code == "CY-RC")).one()
        original = s.get(Certificate, cert.id)
    public = cs._raw_public(private)
    mine = cs.KeyInfo(key_id=cs.key_id_of(public), public_key=public, created=NOW)
    keys = [dataclasses.replace(real.current, retired=NOW), mine]
    forged_list = cs._encode_key_list("CY-RC", keys, NOW, private)
    claims = cs.CertificateClaims.create(
        institution_code="CY-RC",
        uscc="12110105MB0123456C",
        serial="CY-2026-009999",
        kind="custody",
        issue_date=NOW.date(),
        holder_id="11010519491231002X",
        certified_text=original.certified_text,
    )
    payload = cs.encode_payload(claims, private, signed_at=NOW)
    with archive.db.write() as s:
        row = SigningKeyList(
            institution_id=institution.id, current_key_id=mine.key_id, key_list=forged_list
        )
        s.add(row)
        s.flush()
        forged = Certificate(
            **{
                **original.model_dump(),
                "id": cs_uuid(),
                "serial": "CY-2026-009999",
                "payload": payload,
                "verification_code": cs.verification_code_for(payload),
                "key_id": mine.key_id,
            }
        )
        s.add(forged)
        s.flush()
        chain = access_log.Chain(s)
        certificate_audit.register_key_list(
            chain, row, clerk_id=None, institution_id=institution.id
        )
        certificate_audit.register_certificate(
            chain, forged, clerk_id=None, institution_id=institution.id
        )
    # A verifier without the keyring (another office) must not take it as valid.
    keyring.set_keyring(fail.Keyring())
    result = certificate_verify.verify(archive.db, payload)
    assert result.outcome == "unknown_key"
    found = problems(archive)
    assert ("signing_key_list", "not_endorsed") in found
    assert ("certificate", "unknown_key") in found


def test_a_rotation_is_endorsed_and_trusted_without_the_keyring(issued) -> None:  # noqa: ANN001
    from counter_tui.db.models import Certificate
    from counter_tui.services import certificate_keys, certificate_verify

    archive, cert = issued
    certificate_keys.rotate(archive.db, "CY-RC", now=NOW + dt.timedelta(days=1))
    with archive.db.read() as s:
        payload = s.get(Certificate, cert.id).payload
    keyring.set_keyring(fail.Keyring())
    assert certificate_verify.verify(archive.db, payload).outcome == "valid"
    assert problems(archive) == []


def cs_uuid() -> uuid.UUID:
    return uuid.uuid4()
