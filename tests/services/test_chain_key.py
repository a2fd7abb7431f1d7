"""The chain key (services.chain_key): a fact appended behind the application's back — with a
correct SHA-256 seal and a correctly chained event — is caught by `audit verify` even after the
next checkpoint signed it, as long as the verifying computer holds the key; without the key,
verify says the MACs were not checked."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from pathlib import Path

import pytest
from sqlmodel import select

from counter_tui.db.models import AccessEvent, CustodyEvent
from counter_tui.services import access_log, chain_key, checkpoints, fixity, seals, secrets
from tests.support.factories import TinyArchive, logged_in, tiny_archive
from tests.support.keyrings import MemoryKeyring


@pytest.fixture
def archive(tmp_path: Path) -> TinyArchive:
    archive = tiny_archive(tmp_path)
    logged_in(archive)
    assert checkpoints.sign(archive.db, "CY-RC") is not None
    return archive


def forge_custody_event(archive: TinyArchive, *, mac: str = "") -> int:
    """What an editor of the file can do: insert a custody event and its seal, chained with a
    correct hash (but no chain key). Returns the forged seal's seq."""
    with archive.db.write() as s:
        head = s.exec(select(AccessEvent).order_by(AccessEvent.seq.desc())).first()
        fact = CustodyEvent(
            dossier_id=archive.ids["DA00000003"],
            kind="received",
            holder_institution_id=head.institution_id,
            at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
            remark="伪造的转入",
        )
        s.add(fact)
        s.flush()
        seal = AccessEvent(
            seq=head.seq + 1,
            kind="custody_event_added",
            institution_id=head.institution_id,
            target_id=fact.id,
            reason=seals.row_content_hash(fact),
            prev_hash=head.hash,
        )
        seal.hash = access_log.compute_hash(seal)
        seal.mac = mac
        s.add(seal)
        return seal.seq


def strip_macs(archive: TinyArchive) -> int:
    """Blank every event's MAC, as the attacker (guards dropped) or a pre-0010 database has
    them; returns the number of events."""
    connection = sqlite3.connect(archive.settings.db_url.removeprefix("sqlite:///"))
    with connection:
        connection.execute("DROP TRIGGER IF EXISTS access_event_append_only_update")
        count = connection.execute("UPDATE access_event SET mac = ''").rowcount
    connection.close()
    return count


def problems(archive: TinyArchive) -> list[tuple[str, int | None]]:
    return [(p.what, p.seq) for p in fixity.verify(archive.db).problems]


def test_every_event_the_application_writes_carries_a_valid_mac(archive: TinyArchive) -> None:
    key = chain_key.read()
    assert key is not None and len(key.key_id) == 8
    with archive.db.read() as s:
        events = s.exec(select(AccessEvent).order_by(AccessEvent.seq)).all()
    assert events and all(key.check(e.hash, e.mac) == "ok" for e in events)
    assert chain_key.since() == 1
    report = fixity.verify(archive.db)
    assert report.ok, report.problems
    assert (report.mac_key_id, report.macs_checked) == (key.key_id, len(events))
    assert key.key_id in fixity.summary(report)


def test_a_forged_fact_is_caught_and_no_checkpoint_signs_it(
    archive: TinyArchive,
) -> None:
    seq = forge_custody_event(archive)
    # Without the key the forgery is perfect: its seal and link verify. The counter's next
    # checkpoint refuses to sign it ...
    with pytest.raises(checkpoints.CheckpointRefused) as refused:
        checkpoints.sign(archive.db, "CY-RC")
    assert refused.value.reason == "unkeyed" and f"{seq}" in str(refused.value)
    # ... and verify names it.
    assert problems(archive) == [("mac_missing", seq)]


def test_a_mac_made_with_a_key_of_ones_own_is_caught(archive: TinyArchive) -> None:
    # A MAC under the forger's own key (which key id it claims does not matter: not ours).
    own = chain_key.ChainKey(b"\x01" * 32, "deadbeef")
    seq = forge_custody_event(archive, mac=own.mac("0" * 64))
    assert problems(archive) == [("mac_other_key", seq)]


def test_a_mac_copied_from_another_event_is_caught(archive: TinyArchive) -> None:
    with archive.db.read() as s:
        head = s.exec(select(AccessEvent).order_by(AccessEvent.seq.desc())).first()
    seq = forge_custody_event(archive, mac=head.mac)
    assert problems(archive) == [("mac_invalid", seq)]


def test_stripping_every_mac_is_caught_because_the_keyring_remembers_the_start(
    archive: TinyArchive,
) -> None:
    count = strip_macs(archive)
    found = problems(archive)
    assert found == [("mac_missing", n) for n in range(1, count + 1)]


def test_without_the_key_verify_says_the_macs_were_not_checked(
    archive: TinyArchive, use_keyring
) -> None:
    forge_custody_event(archive)
    use_keyring(MemoryKeyring())  # an auditor's computer without the chain key
    report = fixity.verify(archive.db)
    assert (report.mac_key_id, report.macs_checked) == ("", 0)
    assert not [p for p in report.problems if p.what.startswith("mac_")]
    assert "未核对" in fixity.summary(report)


def test_events_written_before_the_key_existed_are_not_required_to_carry_one(
    tmp_path: Path, counter_keyring: MemoryKeyring
) -> None:
    # An archive from before the chain key (migration 0010 leaves its events without MACs).
    archive = tiny_archive(tmp_path)
    before = strip_macs(archive)
    for name in (secrets.CHAIN_KEY, chain_key.SINCE):
        counter_keyring.delete_password(secrets.SERVICE, name)
    chain_key._cache.clear()  # as after a restart
    # The next event creates the key and remembers where it started.
    logged_in(archive)
    assert chain_key.since() == before + 1
    report = fixity.verify(archive.db)
    assert report.ok, report.problems
    assert report.macs_checked == 1
    # From then on a missing MAC counts.
    seq = forge_custody_event(archive)
    assert problems(archive) == [("mac_missing", seq)]


def test_a_malformed_stored_key_is_refused_not_used(archive: TinyArchive, use_keyring) -> None:
    broken = MemoryKeyring()
    broken.set_password(secrets.SERVICE, secrets.CHAIN_KEY, "not base64!")
    use_keyring(broken)
    with pytest.raises(secrets.SecretsError):
        chain_key.read()
    # Writing goes on (the event is written without a MAC, logged); verify cannot check.
    logged_in(archive)
    report = fixity.verify(archive.db)
    assert report.mac_key_id == ""


def test_the_mac_is_hmac_sha256_of_the_event_hash() -> None:
    import hashlib
    import hmac

    key = chain_key.ChainKey(bytes(range(32)), chain_key._key_id(bytes(range(32))))
    event_hash = uuid.UUID(int=7).hex * 2
    expected = hmac.new(bytes(range(32)), event_hash.encode(), hashlib.sha256).hexdigest()
    assert key.mac(event_hash) == f"{hashlib.sha256(bytes(range(32))).hexdigest()[:8]}${expected}"
    assert key.check(event_hash, key.mac(event_hash)) == "ok"
    assert key.check(event_hash, "") == "missing"
