"""The chain key: a secret that every access event carries a MAC of, so that a row appended
behind the application's back is told apart from one the application wrote.

The access chain (services.access_log) is a plain SHA-256 chain and the seals of materials,
pages, certificates, custody events, consultations and accounts are plain SHA-256 content
hashes inside it: anyone who can edit the database file can append a forged fact with a correct
seal and a correctly chained event, and the next signed checkpoint (services.checkpoints) would
then sign it. The chain key closes that gap. Each event's ``mac`` is

    ``<key id>$<HMAC-SHA256(key, event hash) as 64 hex digits>``   (RFC 2104)

where the key is 32 random bytes kept base64 in the keyring (service ``counter-tui``, user
name :data:`~counter_tui.services.secrets.CHAIN_KEY`) and the key id is the first 8 hex digits of
the key's SHA-256. The event hash already covers the event's content and the previous hash, so
the MAC binds both.

Every counter, and every computer running commands that write, of one archive database needs
the same key (install it with ``keyring set counter-tui chain-key`` from the first counter's
``keyring get counter-tui chain-key``, as for the own-ID key). A computer with a usable keyring
and no key creates one at its first event and remembers in the keyring from which event on
it sealed (``chain-key-since``), so `audit verify` on that computer reports, from that event on,
an event without a MAC, with a wrong MAC, or with another key's MAC. Without the key `audit
verify` says the MACs could not be checked there (docs/SECURITY.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
from dataclasses import dataclass

import keyring
import keyring.errors

from counter_tui.i18n import _
from counter_tui.services import secrets

log = logging.getLogger(__name__)

KEY_BYTES = 32
SINCE = "chain-key-since"
"""Keyring user name of the first event sequence number this keyring's key sealed."""

_cache: list[tuple[object, ChainKey | None]] = []


@dataclass(frozen=True)
class ChainKey:
    """A chain key: ``secret`` (32 bytes) and its ``key_id`` (8 hex digits)."""

    secret: bytes
    key_id: str

    def mac(self, event_hash: str) -> str:
        """The ``mac`` column value for an event whose hash is ``event_hash`` (hex text)."""
        digest = hmac.new(self.secret, event_hash.encode("ascii"), hashlib.sha256).hexdigest()
        return f"{self.key_id}${digest}"

    def check(self, event_hash: str, stored: str) -> str:
        """``ok``, ``missing`` (no MAC), ``other_key`` (a MAC made with another key id) or
        ``invalid`` (this key's id, wrong MAC) for an event's stored ``mac``."""
        if not stored:
            return "missing"
        key_id, _sep, _digest = stored.partition("$")
        if key_id != self.key_id:
            return "other_key"
        return "ok" if hmac.compare_digest(self.mac(event_hash), stored) else "invalid"


def _key_id(secret: bytes) -> str:
    return hashlib.sha256(secret).hexdigest()[:8]


def _decode(stored: str) -> ChainKey:
    try:
        secret = base64.b64decode(stored, validate=True)
    except (binascii.Error, ValueError):
        secret = b""
    if len(secret) != KEY_BYTES:
        raise secrets.SecretsError(
            _("The chain key stored in the keyring is not a base64 key of {n} bytes.").format(
                n=KEY_BYTES
            )
        )
    return ChainKey(secret, _key_id(secret))


def read() -> ChainKey | None:
    """This keyring's chain key, or None when none is stored (cached per keyring backend).
    Raises SecretsUnavailable (no usable keyring) or SecretsError (a malformed stored key)."""
    backend = keyring.get_keyring()
    if _cache and _cache[0][0] is backend and _cache[0][1] is not None:
        return _cache[0][1]
    stored = secrets.get_secret(secrets.CHAIN_KEY)
    key = _decode(stored) if stored else None
    _cache[:] = [(backend, key)]
    return key


def for_appending(next_seq: int) -> ChainKey | None:
    """The key to MAC events with from ``next_seq`` on: this keyring's, created (from the OS's
    random source) when the keyring is usable and holds none, remembering ``next_seq`` as
    :data:`SINCE`. None when there is no usable keyring (the app says so once at start,
    services.secrets.headless_notice) or it fails (logged); the event is then written without
    a MAC, which `audit verify` on a computer with the key reports."""
    if not secrets.keyring_usable():
        return None  # a computer without a keyring: nothing to say at every event
    try:
        key = read()
        if key is not None:
            return key
        secret = os.urandom(KEY_BYTES)
        secrets.set_secret(secrets.CHAIN_KEY, base64.b64encode(secret).decode("ascii"))
        keyring.set_password(secrets.SERVICE, SINCE, str(next_seq))
    except (secrets.SecretsError, keyring.errors.KeyringError) as exc:
        log.warning("access event written without a chain MAC: %s", exc)
        return None
    key = ChainKey(secret, _key_id(secret))
    _cache[:] = [(keyring.get_keyring(), key)]
    log.info("chain key %s created; events are sealed with it from no. %d", key.key_id, next_seq)
    return key


def since() -> int | None:
    """The first event sequence number this keyring's key sealed (:data:`SINCE`), or None when
    not recorded. Raises SecretsUnavailable."""
    if not secrets.keyring_usable():
        raise secrets.SecretsUnavailable(_("No usable keyring."))
    try:
        text = keyring.get_password(secrets.SERVICE, SINCE)
    except keyring.errors.KeyringError as exc:
        raise secrets.SecretsUnavailable(str(exc)) from exc
    return int(text) if text and text.isdigit() else None
