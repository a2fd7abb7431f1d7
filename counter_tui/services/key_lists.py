"""Which stored key lists to trust when this computer's keyring does not hold an institution's.

An institution's key lists are kept in ``signing_key_list`` so every counter verifies its
certificates and checkpoints offline. Someone who can edit the database could append a list of
their own (a key they made, signed by itself) and forge certificates that verify wherever the
keyring does not hold the real list. So stored lists are taken in the order of their seals in
the access chain (unsealed rows are ignored; `audit verify` names them): an institution's first
sealed list is its root, and each later one must keep every key of the one before and, when it
names a new current key, carry the retired key's endorsement
(certificate_signing.successor_endorsed). A list that does not follow is rejected.

Limit (docs/SECURITY.md): the root itself is trusted on first use; replacing it means rewriting
the chain, which a signed checkpoint verified with a trusted key shows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlmodel import Session, select

from counter_tui.db.models import AccessEvent, Institution, SigningKeyList
from counter_tui.services import certificate_signing


@dataclass
class Lineage:
    """Per institution id: the accepted newest list; and the rejected rows."""

    accepted: dict[uuid.UUID, certificate_signing.KeyList] = field(default_factory=dict)
    rejected: list[SigningKeyList] = field(default_factory=list)


def lineage(session: Session) -> Lineage:
    """Walk every institution's sealed key lists in seal order (module docstring)."""
    order = {
        str(target): seq
        for target, seq in session.exec(
            select(AccessEvent.target_id, AccessEvent.seq).where(
                AccessEvent.kind == "key_list_added"
            )
        )
    }
    codes = {i.id: i.code for i in session.exec(select(Institution))}
    rows = [r for r in session.exec(select(SigningKeyList)) if str(r.id) in order]
    rows.sort(key=lambda r: order[str(r.id)])
    result = Lineage()
    for row in rows:
        previous = result.accepted.get(row.institution_id)
        if previous is None:
            try:
                listed = certificate_signing.load_key_list(bytes(row.key_list))
            except certificate_signing.SigningError:
                result.rejected.append(row)
                continue
            if listed.institution_code != codes.get(row.institution_id):
                result.rejected.append(row)
                continue
            result.accepted[row.institution_id] = listed
        elif certificate_signing.successor_endorsed(previous, bytes(row.key_list), row.endorsement):
            result.accepted[row.institution_id] = certificate_signing.load_key_list(
                bytes(row.key_list)
            )
        else:
            result.rejected.append(row)
    return result


def trusted_by_code(session: Session) -> dict[str, certificate_signing.KeyList]:
    """The accepted stored list of each institution, by institution code."""
    codes = {i.id: i.code for i in session.exec(select(Institution))}
    return {codes[i]: listed for i, listed in lineage(session).accepted.items() if i in codes}
