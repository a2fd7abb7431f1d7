"""Real keyring backends for tests (a pytest plugin): an in-memory Secret Service stand-in,
a locked one, and the headless case where keyring finds no backend."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail


class MemoryKeyring(KeyringBackend):
    """A keyring backend holding passwords in a dict (what a Secret Service would do)."""

    # Below zero: never picked by keyring's own backend detection or by a chainer.
    priority = -1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.store[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError(username) from None


class LockedKeyring(MemoryKeyring):
    """A keyring whose collection stays locked (the user dismissed the unlock dialog)."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("collection is locked")

    set_password = get_password  # type: ignore[assignment]


class EmptyChainer(chainer.ChainerBackend):
    """keyring's chainer as it is on a box where no backend is viable."""

    backends = ()  # type: ignore[assignment]


@pytest.fixture
def use_keyring() -> Iterator:
    """Install a keyring backend for one test and restore the previous one afterwards."""
    previous = keyring.get_keyring()
    try:
        yield keyring.set_keyring
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring(use_keyring) -> MemoryKeyring:  # noqa: ANN001
    backend = MemoryKeyring()
    use_keyring(backend)
    return backend


@pytest.fixture
def no_keyring(use_keyring) -> None:  # noqa: ANN001
    """A headless Linux box: keyring found no backend."""
    use_keyring(fail.Keyring())


@pytest.fixture(autouse=True)
def counter_keyring() -> Iterator[MemoryKeyring]:
    """Every test runs with an empty in-memory keyring, as a counter PC with Secret Service
    has: issuing a certificate creates the institution's signing key in it. Tests about other
    keyrings (headless, locked) install theirs on top with ``use_keyring``."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)
