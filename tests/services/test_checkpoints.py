"""Signed checkpoints: the attacks an editor of the database file without the keyring can
make on the access chain — re-hashing after an edit, cutting the tail, forging or removing
checkpoints — are caught; rotation keeps old checkpoints valid."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from sqlmodel import select

from counter_tui.db.models import AccessEvent, ChainCheckpoint, Material
from counter_tui.services import access_log, checkpoints, fixity, viewing
from counter_tui.services import certificate_signing as cs
from tests.support.factories import TinyArchive, logged_in, tiny_archive

T = dt.datetime(2026, 5, 6, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def archive(tmp_path: Path) -> TinyArchive:
    archive = tiny_archive(tmp_path)
    place = logged_in(archive)
    viewing.open_dossier(archive.db, archive.ids["DA00000001"], place, None)
    assert checkpoints.sign(archive.db, "CY-RC", now=T) is not None
    return archive


def connect(archive: TinyArchive) -> sqlite3.Connection:
    """The database file, opened as an attacker would, guards dropped."""
    connection = sqlite3.connect(archive.settings.db_url.removeprefix("sqlite:///"))
    for table in ("access_event", "material", "chain_checkpoint"):
        for op in ("update", "delete"):
            connection.execute(f"DROP TRIGGER IF EXISTS {table}_append_only_{op}")
    return connection


def whats(archive: TinyArchive) -> list[tuple[str, str]]:
    report = fixity.verify(archive.db)
    return [(p.table, p.what) for p in report.problems]


def test_a_clean_archive_with_checkpoints_verifies(archive: TinyArchive) -> None:
    report = fixity.verify(archive.db)
    assert report.ok, report.problems
    assert (report.checkpoints, report.unsigned_events) == (1, 0)
    with archive.db.read() as s:
        row = s.exec(select(ChainCheckpoint)).one()
        head = s.exec(select(AccessEvent).order_by(AccessEvent.seq.desc())).first()
    assert (row.seq, row.head_hash) == (head.seq, head.hash)
    # Nothing new: signing again returns the same checkpoint; a new event leaves a tail.
    assert checkpoints.sign(archive.db, "CY-RC", now=T).id == row.id
    logged_in(archive)
    assert fixity.verify(archive.db).unsigned_events == 1


def test_an_edit_re_sealed_and_re_hashed_is_caught(archive: TinyArchive) -> None:
    # The attack that passed before: edit a material, re-seal it, re-hash every later event.
    connection = connect(archive)
    with connection:
        connection.execute(
            "UPDATE material SET title = '伪造的履历表' WHERE item_no = 1 AND category = 1"
        )
    connection.close()
    with archive.db.write() as s:
        material = s.exec(select(Material).where(Material.title == "伪造的履历表")).one()
        events = s.exec(select(AccessEvent).order_by(AccessEvent.seq)).all()
        prev = ""
        for event in events:
            if event.kind == "material_added" and event.target_id == material.id:
                event.reason = fixity.material_content_hash(material)
            event.prev_hash = prev
            event.hash = access_log.compute_hash(event)
            prev = event.hash
        resealed = next(
            e.seq for e in events if e.kind == "material_added" and e.target_id == material.id
        )
    # The signed checkpoint no longer matches, and every re-hashed event from the re-sealed
    # one on lost its MAC (the chain key is not the editor's).
    report = fixity.verify(archive.db)
    assert {(p.table, p.what) for p in report.problems} == {
        ("access_event", "mac_invalid"),
        ("chain_checkpoint", "rewritten"),
    }
    assert [p.seq for p in report.problems if p.what == "mac_invalid"] == list(
        range(resealed, report.head_seq + 1)
    )


def test_a_cut_tail_is_caught(archive: TinyArchive) -> None:
    connection = connect(archive)
    with connection:
        last = connection.execute("SELECT max(seq) FROM access_event").fetchone()[0]
        connection.execute("DELETE FROM access_event WHERE seq >= ?", (last - 1,))
    connection.close()
    # The cut tail held the key list's seal too: that row is named as well.
    assert whats(archive) == [("signing_key_list", "unsealed"), ("chain_checkpoint", "truncated")]


def test_removing_the_tail_and_the_checkpoints_is_caught_by_the_keyring(
    archive: TinyArchive,
) -> None:
    connection = connect(archive)
    with connection:
        last = connection.execute("SELECT max(seq) FROM access_event").fetchone()[0]
        connection.execute("DELETE FROM access_event WHERE seq >= ?", (last - 1,))
        connection.execute("DELETE FROM chain_checkpoint")
    connection.close()
    assert whats(archive) == [
        ("signing_key_list", "unsealed"),
        ("chain_checkpoint", "checkpoints_removed"),
    ]


def test_a_checkpoint_forged_with_another_key_is_caught(archive: TinyArchive) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    with archive.db.read() as s:
        row = s.exec(select(ChainCheckpoint)).one()
    forged = cs._sign1(
        checkpoints.statement("CY-RC", row.seq, row.head_hash, row.at),
        Ed25519PrivateKey.generate(),
    )
    connection = connect(archive)
    with connection:
        connection.execute("UPDATE chain_checkpoint SET signature = ?", (forged,))
    connection.close()
    # The forged one is named, and the genuine one this keyring remembers is missing.
    assert whats(archive) == [
        ("chain_checkpoint", "checkpoint_invalid"),
        ("chain_checkpoint", "checkpoints_removed"),
    ]


def test_rotation_keeps_old_checkpoints_valid(archive: TinyArchive) -> None:
    from counter_tui.services import certificate_keys

    certificate_keys.rotate(archive.db, "CY-RC", now=T + dt.timedelta(days=1))
    logged_in(archive)
    later = checkpoints.sign(archive.db, "CY-RC", now=T + dt.timedelta(days=2))
    report = fixity.verify(archive.db)
    assert report.ok, report.problems
    assert report.checkpoints == 2
    with archive.db.read() as s:
        first = s.exec(select(ChainCheckpoint).order_by(ChainCheckpoint.seq)).first()
    assert first.key_id != later.key_id


def test_a_rollback_is_not_signed_over(archive: TinyArchive) -> None:
    # The attack: cut the chain back (and the checkpoints with it), then wait for the counter's
    # next regular checkpoint to sign the shorter chain and overwrite the keyring's memory.
    logged_in(archive)
    signed = checkpoints.sign(archive.db, "CY-RC", now=T + dt.timedelta(minutes=5))
    connection = connect(archive)
    with connection:
        connection.execute("DELETE FROM access_event WHERE seq >= ?", (signed.seq,))
        connection.execute("DELETE FROM chain_checkpoint WHERE seq >= ?", (signed.seq,))
    connection.close()
    logged_in(archive)  # the counter goes on working
    with pytest.raises(checkpoints.CheckpointRefused) as refused:
        checkpoints.sign(archive.db, "CY-RC", now=T + dt.timedelta(minutes=10))
    assert refused.value.reason == "rolled_back"
    assert ("chain_checkpoint", "checkpoints_removed") in whats(archive)
    # After the auditor has looked (a restored backup, say), the rollback is accepted.
    checkpoints.forget_rollback("CY-RC")
    assert checkpoints.sign(archive.db, "CY-RC", now=T + dt.timedelta(minutes=15)) is not None


def test_a_second_event_under_a_used_number_is_caught_at_a_page_boundary(
    archive: TinyArchive,
) -> None:
    with archive.db.read() as s:
        count = len(s.exec(select(AccessEvent)).all())
        victim = s.exec(select(AccessEvent).where(AccessEvent.seq == 3)).one()
    connection = connect(archive)
    with connection:
        connection.execute("DROP INDEX ix_access_event_seq")
        connection.execute(
            "INSERT INTO access_event (id, seq, at, kind, reason, prev_hash, hash, mac) "
            "VALUES (?, 3, ?, 'dossier', '', ?, ?, '')",
            ("f" * 32, "2026-05-06 02:00:00.000000", victim.prev_hash, victim.hash),
        )
    connection.close()
    report = fixity.VerifyReport()
    with archive.db.read() as s:
        fixity.verify_chain(s, report)  # default page size
    first = fixity.VerifyReport()
    with archive.db.read() as s:
        # Pages of 3 events: the duplicate sits right after a page boundary.
        for _event in fixity._iter_events(s, batch=3):
            first.events += 1
    assert first.events == count + 1  # every row is read, the duplicate too
    assert [(p.what, p.seq) for p in report.problems][:1] == [("duplicate", 3)]


def test_a_value_of_the_wrong_type_is_a_finding_not_a_crash(archive: TinyArchive) -> None:
    connection = connect(archive)
    with connection:
        connection.execute("UPDATE material SET created_at = 'garbage' WHERE item_no = 1")
        connection.execute(
            "UPDATE access_event SET seq = 'x' WHERE seq = (SELECT max(seq) FROM access_event)"
        )
    connection.close()
    report = fixity.verify(archive.db)
    assert ("access_event", "malformed") in {(p.table, p.what) for p in report.problems}
    assert ("material", "malformed") in {(p.table, p.what) for p in report.problems}


def test_a_rollback_to_a_checkpointed_head_is_not_reported_as_signed(
    archive: TinyArchive,
) -> None:
    # The copy restored by the attacker ends exactly at an older checkpoint: nothing new to
    # sign, but the keyring remembers a later one.
    older = checkpoints.sign(archive.db, "CY-RC", now=T)  # the fixture's, at the head
    logged_in(archive)
    later = checkpoints.sign(archive.db, "CY-RC", now=T + dt.timedelta(minutes=5))
    assert later.seq > older.seq
    connection = connect(archive)
    with connection:
        connection.execute("DELETE FROM access_event WHERE seq > ?", (older.seq,))
        connection.execute("DELETE FROM chain_checkpoint WHERE seq > ?", (older.seq,))
    connection.close()
    with pytest.raises(checkpoints.CheckpointRefused) as refused:
        checkpoints.sign(archive.db, "CY-RC", now=T + dt.timedelta(minutes=10))
    assert refused.value.reason == "rolled_back"
    from counter_tui import cli

    status = cli.main(
        [
            "--db",
            archive.settings.db_url,
            "--data-dir",
            str(archive.settings.data_dir),
            "audit",
            "checkpoint",
        ]
    )
    assert status == 1


def test_a_fake_checkpoint_row_does_not_hide_an_unkeyed_event(archive: TinyArchive) -> None:
    # A forged event, then a checkpoint row (not validly signed) at its number: the scan for
    # events without a MAC starts from what this computer signed, not from that row.
    with archive.db.read() as s:
        head = s.exec(select(AccessEvent).order_by(AccessEvent.seq.desc())).first()
        real = s.exec(select(ChainCheckpoint)).one()
    forged = AccessEvent(seq=head.seq + 1, kind="dossier", reason="counter", prev_hash=head.hash)
    forged.hash = access_log.compute_hash(forged)
    connection = connect(archive)
    with connection:
        connection.execute(
            "INSERT INTO access_event (id, seq, at, kind, reason, prev_hash, hash, mac) "
            "VALUES (?, ?, ?, 'dossier', 'counter', ?, ?, '')",
            (
                forged.id.hex,
                forged.seq,
                forged.at.strftime("%Y-%m-%d %H:%M:%S.%f"),
                forged.prev_hash,
                forged.hash,
            ),
        )
        connection.execute(
            "INSERT INTO chain_checkpoint (id, institution_id, seq, head_hash, at, key_id, "
            "signature) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                "e" * 32,
                real.institution_id.hex,
                forged.seq,
                forged.hash,
                "2026-05-06 03:00:00.000000",
                real.key_id,
                bytes(real.signature),
            ),
        )
    connection.close()
    with pytest.raises(checkpoints.CheckpointRefused) as refused:
        checkpoints.sign(archive.db, "CY-RC", now=T + dt.timedelta(minutes=10))
    assert refused.value.reason == "unkeyed"
