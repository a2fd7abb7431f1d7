"""`audit verify --central URL`: an office's access chain compared with the copy central holds.

What an office pushed (services.sync) — its access events in ``office_chain_event`` and its
signed checkpoints in ``chain_checkpoint`` — is out of reach of someone who edits the office's
database file. So, for the office's institution (``origin``), this module reports:

* an event central holds whose hash differs from the office's event at the same number
  (``rewritten_here``: the office's chain was changed after it was sent);
* events central holds beyond the office's head (``removed_here``: the office's chain was cut
  or rolled back after they were sent);
* a checkpoint central holds that the office's chain no longer matches (``checkpoint_mismatch``)
  or that the office's database no longer holds (``checkpoint_removed_here``);

and counts the office's events not yet sent. It reads both databases and writes nothing; the
office reads central through its own role (row-level security shows it its own chain only).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlmodel import select

from counter_tui.db.engine import DATABASE_ERRORS, Database, explain
from counter_tui.db.models import AccessEvent, ChainCheckpoint
from counter_tui.i18n import _


@dataclass
class CentralComparison:
    """Outcome of :func:`compare`: events compared, the office's head, central's head, events
    not yet sent, and findings ``(what, message)`` (empty: the chains agree)."""

    compared: int = 0
    office_head: int = 0
    central_head: int = 0
    not_sent: int = 0
    checkpoints: int = 0
    findings: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing disagrees."""
        return not self.findings


def compare(office: Database, central: Database, origin: uuid.UUID) -> CentralComparison:
    """Compare the office's chain with central's copy for ``origin`` (module docstring).
    Raises DatabaseUnavailable (db.engine.explain: unreachable, log-in refused …) when central
    cannot be read."""
    result = CentralComparison()
    with office.read() as session:
        here = {e.seq: e.hash for e in session.exec(select(AccessEvent))}
        checkpoints_here = {
            (c.seq, c.head_hash)
            for c in session.exec(
                select(ChainCheckpoint).where(ChainCheckpoint.institution_id == origin)
            )
        }
    try:
        with central.read() as remote:
            there = dict(
                remote.execute(
                    text("SELECT seq, hash FROM office_chain_event WHERE origin = :o"),
                    {"o": origin},
                ).all()
            )
            checkpoints_there = remote.execute(
                text("SELECT seq, head_hash FROM chain_checkpoint WHERE institution_id = :o"),
                {"o": origin},
            ).all()
    except DATABASE_ERRORS as exc:
        raise explain(exc, central.url) from exc
    result.office_head = max(here, default=0)
    result.central_head = max(there, default=0)
    result.not_sent = sum(1 for seq in here if seq not in there)
    for seq in sorted(there):
        if seq not in here:
            continue
        result.compared += 1
        if here[seq] != there[seq]:
            result.findings.append(
                (
                    "rewritten_here",
                    _(
                        "access event no. {seq} is not the one this office sent to central: "
                        "the office's chain was changed after it was synced"
                    ).format(seq=seq),
                )
            )
            break  # every later event differs too
    missing = [seq for seq in there if seq not in here]
    if missing:
        result.findings.append(
            (
                "removed_here",
                _(
                    "central holds {n} access events of this office (no. {first} to {last}) "
                    "that its database no longer has: they were removed or rolled back after "
                    "they were synced"
                ).format(n=len(missing), first=min(missing), last=max(missing)),
            )
        )
    for seq, head_hash in sorted(checkpoints_there):
        result.checkpoints += 1
        if seq in here and here[seq] != head_hash:
            result.findings.append(
                (
                    "checkpoint_mismatch",
                    _(
                        "the checkpoint central holds for event no. {seq} does not match this "
                        "office's chain: it was rewritten after it was signed and synced"
                    ).format(seq=seq),
                )
            )
        elif (seq, head_hash) not in checkpoints_here:
            result.findings.append(
                (
                    "checkpoint_removed_here",
                    _(
                        "central holds a signed checkpoint at event no. {seq} that this "
                        "office's database no longer has"
                    ).format(seq=seq),
                )
            )
    return result


def summary(result: CentralComparison) -> str:
    """The comparison in one paragraph (UI language)."""
    head = _(
        "Compared with central: {n} access events and {c} checkpoints; this office's chain ends "
        "at no. {office}, central's copy at no. {central}; {unsent} events not yet sent."
    ).format(
        n=result.compared,
        c=result.checkpoints,
        office=result.office_head,
        central=result.central_head,
        unsent=result.not_sent,
    )
    if result.ok:
        return head + " " + _("The chains agree.")
    return "\n".join([head, *(f"  {message}" for _what, message in result.findings)])
