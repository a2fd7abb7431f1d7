"""Secrets: the central database password and the certificate signing key, in keyring only.

Both live in the system keyring under the service name ``counter-tui`` (user names
:data:`DB_PASSWORD` and :data:`SIGNING_KEY`): Secret Service (GNOME Keyring, KWallet) on Linux,
Keychain on macOS, Credential Locker on Windows. Nothing secret is ever written to the settings
file, the database or a log.

A headless Linux box often has no keyring backend (``keyring`` then falls back to its
``fail.Keyring``). The documented alternative there is to type the secret once per session:
:class:`SessionSecrets` asks through a prompt callback the first time a secret is needed and
keeps the answer in memory until the program ends. :func:`secret_source` picks the keyring when
it is usable and a :class:`SessionSecrets` otherwise; :func:`headless_notice` is the message to
show at start in the latter case.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable
from typing import Protocol

import keyring
import keyring.errors
from keyring.backends import chainer, fail, null
from sqlalchemy.engine import make_url

from counter_tui.errors import CounterError
from counter_tui.i18n import _

SERVICE = "counter-tui"
DB_PASSWORD = "db-password"
"""Password of the central PostgreSQL account named in the database URL."""
SIGNING_KEY = "signing-key"
"""Certificate signing key: 32 random bytes, stored base64 (RFC 4648 §4)."""
OWN_ID_KEY = "own-id-key"
"""Key of the clerks' own-ID hash (HMAC-SHA256): 32 random bytes, stored base64; every counter
sharing a database needs the same one (services.auth)."""
CHAIN_KEY = "chain-key"
"""Key of the access events' MACs (HMAC-SHA256): 32 random bytes, stored base64; every counter
sharing a database needs the same one (services.chain_key)."""
HOLDER_INDEX_KEY = "holder-index-key"
"""Key of the city-wide holder index's resident-ID hash (HMAC-SHA256): 32 random bytes, stored
base64; the same for every office of a city (services.holder_index)."""
NAMES = (DB_PASSWORD, SIGNING_KEY, OWN_ID_KEY, CHAIN_KEY, HOLDER_INDEX_KEY)
SIGNING_KEY_BYTES = 32


class SecretsError(CounterError, RuntimeError):
    """A secret that cannot be read or stored; the message is for the operator."""


class SecretsUnavailable(SecretsError):
    """No usable keyring backend on this machine (or it refused access); the message names
    the documented alternative."""


class SecretMissing(SecretsError, LookupError):
    """The secret is not stored (and was not to be created)."""


def _alternative() -> str:
    return _(
        "Secrets are never written to the settings file. Either set up a keyring "
        "(Secret Service such as GNOME Keyring or KWallet, unlocked in this session, or a "
        "backend chosen with PYTHON_KEYRING_BACKEND), or type the secret when asked: it is "
        "then kept in memory for this session only and asked again at the next start."
    )


def _check_name(name: str) -> None:
    if name not in NAMES:
        raise ValueError(f"unknown secret {name!r}; expected one of {', '.join(NAMES)}")


def keyring_usable() -> bool:
    """Whether the active keyring backend can store secrets: False for ``fail.Keyring`` (no
    backend found), ``null.Keyring`` (keyring disabled) and a chainer with no viable backend."""
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring | null.Keyring):
        return False
    if isinstance(backend, chainer.ChainerBackend):
        return bool(backend.backends)
    return True


def _unavailable(exc: BaseException | None = None) -> SecretsUnavailable:
    backend = keyring.get_keyring()
    what = type(backend).__module__.rsplit(".", 1)[-1] + "." + type(backend).__name__
    detail = f" ({exc})" if exc else ""
    return SecretsUnavailable(
        _("No usable system keyring (backend {backend}){detail}.").format(
            backend=what, detail=detail
        )
        + " "
        + _alternative()
    )


def get_secret(name: str) -> str | None:
    """The secret ``name`` (one of :data:`NAMES`) from the keyring, or None when not stored.

    Raises SecretsUnavailable when there is no usable keyring or it refuses access (locked).
    """
    _check_name(name)
    if not keyring_usable():
        raise _unavailable()
    try:
        return keyring.get_password(SERVICE, name)
    except keyring.errors.KeyringError as exc:
        raise _unavailable(exc) from exc


def set_secret(name: str, value: str) -> None:
    """Store the secret ``name`` in the keyring (replacing an earlier value).

    Raises ValueError for an empty value, SecretsUnavailable without a usable keyring.
    """
    _check_name(name)
    if not value:
        raise ValueError("a secret cannot be empty")
    if not keyring_usable():
        raise _unavailable()
    try:
        keyring.set_password(SERVICE, name, value)
    except keyring.errors.KeyringError as exc:
        raise _unavailable(exc) from exc


def delete_secret(name: str) -> None:
    """Remove the secret ``name`` from the keyring (absent is fine).

    Raises SecretsUnavailable without a usable keyring.
    """
    _check_name(name)
    if not keyring_usable():
        raise _unavailable()
    try:
        keyring.delete_password(SERVICE, name)
    except keyring.errors.PasswordDeleteError:
        pass
    except keyring.errors.KeyringError as exc:
        raise _unavailable(exc) from exc


class SecretSource(Protocol):
    """Where a service reads secrets from: the keyring or this session's memory."""

    def get(self, name: str) -> str | None:
        """The secret ``name``, or None when there is none."""
        ...


class KeyringSecrets:
    """The system keyring as a :class:`SecretSource`."""

    def get(self, name: str) -> str | None:
        """See :func:`get_secret` (raises SecretsUnavailable)."""
        return get_secret(name)


class SessionSecrets:
    """Secrets typed in for this session only (the headless alternative to a keyring).

    ``prompt(name)`` is called the first time a secret is needed and should ask the operator
    (e.g. ``getpass``); an empty answer means "none". Answers are kept in memory only and never
    shown by ``repr``.
    """

    def __init__(self, prompt: Callable[[str], str] | None = None) -> None:
        self._prompt = prompt
        self._values: dict[str, str] = {}
        self._asked: set[str] = set()

    def get(self, name: str) -> str | None:
        """The secret ``name``: remembered, or asked once through the prompt."""
        _check_name(name)
        if name not in self._values and name not in self._asked and self._prompt is not None:
            self._asked.add(name)
            answer = self._prompt(name)
            if answer:
                self._values[name] = answer
        return self._values.get(name)

    def set(self, name: str, value: str) -> None:
        """Remember ``value`` for the rest of the session."""
        _check_name(name)
        self._values[name] = value

    def forget(self, name: str | None = None) -> None:
        """Drop one remembered secret (e.g. after a rejected password), or all of them; the
        next :meth:`get` asks again."""
        names = [name] if name else list(NAMES)
        for n in names:
            self._values.pop(n, None)
            self._asked.discard(n)

    def __repr__(self) -> str:
        return f"SessionSecrets(held={sorted(self._values)})"


def secret_source(prompt: Callable[[str], str] | None = None) -> SecretSource:
    """The keyring when usable, else a :class:`SessionSecrets` asking through ``prompt``."""
    return KeyringSecrets() if keyring_usable() else SessionSecrets(prompt)


def headless_notice() -> str | None:
    """The start-up message when no keyring is usable (None when all is well): secrets will
    be asked once per session instead."""
    if keyring_usable():
        return None
    return _("No system keyring is available on this computer.") + " " + _alternative()


def database_url_with_password(url: str, secrets: SecretSource) -> str:
    """``url`` with the password filled in from ``secrets`` (:data:`DB_PASSWORD`) when it is a
    PostgreSQL URL without one; any other URL, or no stored password (peer, trust or
    ``.pgpass`` authentication), is returned unchanged.

    The result contains the password: pass it to the engine, never store or log it. Raises
    SecretsUnavailable when ``secrets`` is the keyring and it is not usable.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or parsed.password:
        return url
    password = secrets.get(DB_PASSWORD)
    if not password:
        return url
    return parsed.set(password=password).render_as_string(hide_password=False)


def signing_key(create: bool = False, *, secrets: SecretSource | None = None) -> bytes:
    """The certificate signing key (:data:`SIGNING_KEY_BYTES` bytes).

    Read from the keyring (or from ``secrets``, e.g. a :class:`SessionSecrets` on a headless
    box, where the operator pastes the base64 key). Without a stored key, ``create=True``
    generates one from the OS's random source and stores it base64 in the keyring; a key is
    never created into session memory, since certificates signed with it could not be
    verified after the session. Raises SecretMissing (no key, ``create`` false),
    SecretsUnavailable (no usable keyring) or SecretsError (stored value is not a base64 key
    of the right length).
    """
    source = secrets if secrets is not None else KeyringSecrets()
    stored = source.get(SIGNING_KEY)
    if stored:
        try:
            key = base64.b64decode(stored, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SecretsError(
                _("The stored certificate signing key is not valid base64.")
            ) from exc
        if len(key) != SIGNING_KEY_BYTES:
            raise SecretsError(
                _("The stored certificate signing key has {n} bytes; {want} are expected.").format(
                    n=len(key), want=SIGNING_KEY_BYTES
                )
            )
        return key
    if not create:
        raise SecretMissing(_("No certificate signing key is stored in the keyring."))
    if not isinstance(source, KeyringSecrets) and not keyring_usable():
        raise _unavailable()
    key = os.urandom(SIGNING_KEY_BYTES)
    set_secret(SIGNING_KEY, base64.b64encode(key).decode("ascii"))
    return key
