"""The clerk's own resident ID is stored as HMAC-SHA256 under a key from the keyring: the
stored value cannot be reversed by trying birth dates without the key, older argon2id values
still verify, and a check that cannot be made never passes silently."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import pytest
from sqlmodel import select

from counter_tui.db.models import Clerk
from counter_tui.errors import CounterError
from counter_tui.services import access_log, auth, fixity, secrets, viewing
from tests.support.factories import TinyArchive, add_admin, logged_in, tiny_archive
from tests.support.keyrings import MemoryKeyring

OWN = "440524188001010014"  # clerk2's own ID: dossier DA00000002's


@pytest.fixture
def archive(tmp_path: Path) -> TinyArchive:
    auth._key_cache.clear()
    return tiny_archive(tmp_path)


def stored(archive: TinyArchive, username: str = "clerk2") -> str | None:
    with archive.db.read() as s:
        return s.exec(select(Clerk.id_number_hash).where(Clerk.username == username)).one()


def clerk_id(archive: TinyArchive, username: str = "clerk2"):  # noqa: ANN201
    with archive.db.read() as s:
        return s.exec(select(Clerk.id).where(Clerk.username == username)).one()


def test_the_own_id_is_an_hmac_under_the_keyring_key(
    archive: TinyArchive, counter_keyring: MemoryKeyring
) -> None:
    value = stored(archive)
    assert value is not None and value.startswith("hmac-sha256$")
    key = base64.b64decode(counter_keyring.store[(secrets.SERVICE, secrets.OWN_ID_KEY)])
    assert len(key) == 32
    scheme, kid, digest = value.split("$")
    assert kid == hashlib.sha256(key).hexdigest()[:8]
    assert digest == hmac.new(key, OWN.encode(), hashlib.sha256).hexdigest()
    assert OWN not in value
    # Without the key, trying every ID of the area is no use: another key gives another value.
    assert auth.hash_id_number(OWN, key=b"\0" * 32) != value


def test_own_and_other_dossiers_are_told_apart(archive: TinyArchive) -> None:
    assert auth.is_own_dossier(archive.db, clerk_id(archive), OWN)
    assert not auth.is_own_dossier(archive.db, clerk_id(archive), "11010519491231002X")
    assert not auth.is_own_dossier(archive.db, clerk_id(archive, "clerk1"), OWN)  # none stored


def test_the_key_is_created_on_first_need_only(
    tmp_path: Path, counter_keyring: MemoryKeyring
) -> None:
    auth._key_cache.clear()
    counter_keyring.store.clear()
    key = auth.own_id_key(create=True)
    assert auth.own_id_key() == key
    with pytest.raises(secrets.SecretMissing):
        auth._key_cache.clear()
        counter_keyring.store.clear()
        auth.own_id_key()


@pytest.mark.parametrize("keyring_state", ["no key", "another key", "no keyring"])
def test_a_check_that_cannot_be_made_refuses_the_dossier(
    archive: TinyArchive,
    counter_keyring: MemoryKeyring,
    use_keyring,  # noqa: ANN001
    keyring_state: str,
) -> None:
    place = logged_in(archive, "clerk2")
    auth._key_cache.clear()
    if keyring_state == "no key":
        counter_keyring.store.clear()
    elif keyring_state == "another key":
        counter_keyring.store[(secrets.SERVICE, secrets.OWN_ID_KEY)] = base64.b64encode(
            b"\1" * 32
        ).decode()
    else:
        from keyring.backends import fail

        use_keyring(fail.Keyring())
    with pytest.raises(auth.OwnIdCheckUnavailable) as info:
        auth.is_own_dossier(archive.db, clerk_id(archive), "11010519491231002X")
    assert info.value.reason == "own_id_check"
    # Not even a colleague's dossier opens for clerk2: the check is not skipped.
    with pytest.raises(CounterError):
        viewing.open_dossier(archive.db, archive.ids["DA00000001"], place, None)
    # A clerk with no own ID stored is not affected.
    view = viewing.open_dossier(archive.db, archive.ids["DA00000001"], logged_in(archive), None)
    assert view.dossier_no == "DA00000001"


def test_a_malformed_stored_value_never_passes(archive: TinyArchive) -> None:
    with pytest.raises(auth.OwnIdCheckUnavailable):
        auth.own_id_matches("sha1$abc", OWN)
    with pytest.raises(auth.OwnIdCheckUnavailable):
        auth.own_id_matches("hmac-sha256$12345678$short", OWN)


def test_older_argon2_values_still_verify_and_are_replaced_by_user_own_id(
    archive: TinyArchive,
    use_keyring,  # noqa: ANN001
) -> None:
    admin = add_admin(archive)
    legacy = auth._id_hasher.hash(OWN)
    with archive.db.write() as s:
        clerk = s.exec(select(Clerk).where(Clerk.username == "clerk2")).one()
        clerk.id_number_hash = legacy
        s.add(clerk)
        s.flush()
        # Sealed, as a migration by the application would be.
        auth.register_account(access_log.Chain(s), clerk, kind="account_changed", clerk_id=None)
    assert auth.is_own_dossier(archive.db, clerk_id(archive), OWN)
    assert not auth.is_own_dossier(archive.db, clerk_id(archive), "11010519491231002X")
    listed = {a.username: a.own_id for a in auth.list_users(archive.db)}
    assert (listed["clerk2"], listed["clerk1"]) == ("argon2", "")
    # The administrator enters it again: keyed now, sealed, and still recognised.
    auth.set_own_id(archive.db, "clerk2", OWN, actor=admin)
    assert stored(archive).startswith("hmac-sha256$")
    assert auth.is_own_dossier(archive.db, clerk_id(archive), OWN)
    assert {a.username: a.own_id for a in auth.list_users(archive.db)}["clerk2"] == "keyed"
    assert fixity.verify(archive.db).ok


def test_without_a_keyring_no_own_id_is_stored(
    archive: TinyArchive,
    use_keyring,  # noqa: ANN001
) -> None:
    from keyring.backends import fail

    admin = add_admin(archive)
    auth._key_cache.clear()
    use_keyring(fail.Keyring())
    with pytest.raises(auth.AuthError) as refused:
        auth.add_user(
            archive.db,
            username="clerk9",
            name="周杰",
            role="clerk",
            institution_code="CY-RC",
            password="new password 1",
            own_id="11010519491231002X",
            actor=admin,
        )
    assert refused.value.reason == "no_key"
    with archive.db.read() as s:
        assert s.exec(select(Clerk).where(Clerk.username == "clerk9")).first() is None


def test_a_lost_key_is_not_silently_replaced(
    archive: TinyArchive, counter_keyring: MemoryKeyring
) -> None:
    admin = add_admin(archive)
    auth._key_cache.clear()
    counter_keyring.store.clear()  # clerk2's value was made with the key now gone
    with pytest.raises(auth.AuthError) as refused:
        auth.set_own_id(archive.db, "clerk1", "11010519491231002X", actor=admin)
    assert refused.value.reason == "no_key" and secrets.OWN_ID_KEY in str(refused.value)
    assert (secrets.SERVICE, secrets.OWN_ID_KEY) not in counter_keyring.store
