"""The institution's certificate signing keys, for the administrator: list, create, rotate.

The private keys stay in the keyring (services.certificate_signing); each change of the key
list is also stored in the database (``signing_key_list``, sealed in the access chain) so
that every counter verifies certificates offline, those signed with retired keys included.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from counter_tui.db.engine import Database
from counter_tui.db.models import Institution, SigningKeyList
from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.services import certificate_signing, issuance
from counter_tui.services.certificate_signing import KeyInfo


class KeyAdminError(CounterError):
    """No such institution (reason ``unknown``)."""


def _institution(session, code: str) -> Institution:  # noqa: ANN001
    inst = session.exec(select(Institution).where(Institution.code == code.strip().upper())).first()
    if inst is None:
        raise KeyAdminError(
            _("There is no institution with code {code}.").format(code=code.strip().upper()),
            reason="unknown",
        )
    return inst


def keys(db: Database, institution_code: str) -> list[KeyInfo]:
    """The institution's keys, oldest first (the last one current): from its newest key list
    stored in the database (what verifiers use); empty when it has none yet. Raises
    KeyAdminError, KeyListAltered for a damaged stored list."""
    with db.read() as session:
        inst = _institution(session, institution_code)
        row = session.exec(
            select(SigningKeyList)
            .where(SigningKeyList.institution_id == inst.id)
            .order_by(SigningKeyList.stored_at.desc())  # type: ignore[attr-defined]
        ).first()
    if row is None:
        return []
    return list(certificate_signing.load_key_list(bytes(row.key_list)).keys)


def _store(db: Database, institution_code: str) -> None:
    with db.write() as session:
        issuance.store_key_list(session, _institution(session, institution_code), None)


def create(db: Database, institution_code: str, *, now: dt.datetime | None = None) -> KeyInfo:
    """The institution's current key, created first when it has none (as the first
    certificate would), its key list stored in the database. Raises KeyAdminError,
    SecretsUnavailable without a keyring, SigningError when the stored key is missing."""
    with db.read() as session:
        code = _institution(session, institution_code).code
    info = certificate_signing.create_signing_key(code, now=now)
    _store(db, code)
    return info


def rotate(db: Database, institution_code: str, *, now: dt.datetime | None = None) -> KeyInfo:
    """Retire the current key and make a new one current (certificate_signing
    .rotate_signing_key), then store the new key list, which keeps the retired keys: a
    certificate signed while an old key was in use still verifies. Returns the new key.
    Raises KeyAdminError, SecretsUnavailable, SigningError (``no_signing_key``:
    nothing to rotate; ``clock_behind``)."""
    with db.read() as session:
        code = _institution(session, institution_code).code
    info = certificate_signing.rotate_signing_key(code, now=now)
    _store(db, code)
    return info
