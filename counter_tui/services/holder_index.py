"""The city-wide holder index: where is the dossier of a resident ID, without the ID.

Each entry maps ``id_hash`` = ``<key id>$<HMAC-SHA256(key, normalised resident ID) hex>``
(RFC 2104; the key id is the first 8 hex digits of the key's SHA-256) to the holding institution
and since when. The key (32 random bytes, base64) lives in the keyring as
:data:`~counter_tui.services.secrets.HOLDER_INDEX_KEY` and is the same for every office of the
city (installed like the chain key: ``keyring get/set counter-tui holder-index-key``); the
database holds only hashes, so a lost laptop without its keyring leaks no numbers, and trying
every birth date of an area needs the key.

Offices write the entries of the dossiers they hold when they sync (services.sync), and pull
everyone's: :func:`lookup` answers from the last pulled index, offline too. When two offices
both claim a person (a transfer recorded by both while offline), the entry with the later
``since`` wins (services.sync's stated rule: the latest custody fact decides).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import os
import uuid
from dataclasses import dataclass

import keyring
from sqlmodel import Session, col, select

from counter_tui.db.models import Dossier, HolderIndex, Institution
from counter_tui.i18n import _
from counter_tui.services import custody, secrets

KEY_BYTES = 32
_cache: list[tuple[object, bytes]] = []


@dataclass(frozen=True)
class HolderEntry:
    """Where a person's dossier is, from the index: the institution (code, name, address,
    phone) and since when (aware UTC)."""

    institution_code: str
    institution_name: str
    address: str
    phone: str
    since: dt.datetime


def key(create: bool = False) -> bytes:
    """The city's holder-index key (cached per keyring backend); ``create`` makes one when
    none is stored (the first office of a city; the others must install the same). Raises
    SecretMissing, SecretsUnavailable or SecretsError (a malformed stored key)."""
    backend = keyring.get_keyring()
    if _cache and _cache[0][0] is backend:
        return _cache[0][1]
    stored = secrets.get_secret(secrets.HOLDER_INDEX_KEY)
    if not stored:
        if not create:
            raise secrets.SecretMissing(_("No holder-index key is stored in the keyring."))
        value = os.urandom(KEY_BYTES)
        secrets.set_secret(secrets.HOLDER_INDEX_KEY, base64.b64encode(value).decode("ascii"))
    else:
        try:
            value = base64.b64decode(stored, validate=True)
        except (binascii.Error, ValueError):
            value = b""
        if len(value) != KEY_BYTES:
            raise secrets.SecretsError(
                _("The holder-index key in the keyring is not a base64 key of {n} bytes.").format(
                    n=KEY_BYTES
                )
            )
    _cache[:] = [(backend, value)]
    return value


def id_hash(number: str, secret: bytes) -> str:
    """The index key of a normalised resident ID (GB 11643-1999, 18 characters, upper case)."""
    digest = hmac.new(secret, number.strip().upper().encode("ascii"), hashlib.sha256).hexdigest()
    return f"{hashlib.sha256(secret).hexdigest()[:8]}${digest}"


def lookup(session: Session, number: str) -> HolderEntry | None:
    """The index's entry for the resident ID ``number`` (normalised), or None when the index
    has none or this keyring holds no holder-index key (nothing can be looked up then)."""
    try:
        secret = key()
    except secrets.SecretsError:
        return None
    row = session.get(HolderIndex, id_hash(number, secret))
    if row is None:
        return None
    holder = session.get(Institution, row.institution_id)
    if holder is None:
        return None
    return HolderEntry(holder.code, holder.name, holder.address, holder.phone, row.since)


def entries_held(
    session: Session, institution_id: uuid.UUID, dossier_ids: list[uuid.UUID], secret: bytes
) -> list[HolderIndex]:
    """Index entries for those of ``dossier_ids`` that ``institution_id`` holds now (not in
    transit), with a resident ID: what an office writes to the city's index."""
    states = custody.states(session, dossier_ids)
    out = []
    for dossier in session.exec(select(Dossier).where(col(Dossier.id).in_(dossier_ids))):
        state = states.get(dossier.id)
        if (
            dossier.id_number
            and state is not None
            and state.held_by(institution_id)
            and state.since is not None
        ):
            out.append(
                HolderIndex(
                    id_hash=id_hash(dossier.id_number, secret),
                    institution_id=institution_id,
                    since=state.since,
                )
            )
    return out
