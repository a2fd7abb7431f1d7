"""Signed checkpoints of the access chain: tamper evidence that needs the institution's key.

The access chain (services.access_log) shows an edited, deleted or reordered row — unless the
editor also re-hashes every later event, which takes anyone with the database file less than
a second, or simply cuts the tail. A **checkpoint** closes that gap: the chain's head
(``seq`` and ``hash`` of the newest event) and the time are put in a CBOR statement (RFC 8949,
canonical) ``{"v": 1, "type": "chain-checkpoint", "institution": code, "seq": n, "hash": hex,
"at": "YYYY-MM-DDTHH:MM:SSZ"}`` and signed with the institution's Ed25519 key from the keyring
(COSE_Sign1, services.certificate_signing.sign_statement), stored in ``chain_checkpoint``.
The same head is remembered in this computer's keyring (``chain-checkpoint:<institution>``),
which the database's editor cannot change either.

:func:`check` (called by ``audit verify``) then reports, without needing the private key:

* a checkpoint whose signature or statement does not verify against the institution's key
  list (this keyring's copy when it has one, else the newest list stored in the database),
  or signed by a key not in use at its time (``checkpoint_invalid``);
* a chain whose event at a checkpoint's ``seq`` no longer has the signed hash: something at
  or before it was changed and re-hashed (``rewritten``);
* a chain shorter than a checkpoint (``truncated``), or checkpoints missing behind the one
  this keyring remembers (``checkpoints_removed``).

Events after the latest checkpoint are protected by the chain alone until the next one;
:data:`INTERVAL` sets how often the app signs (and it signs on quitting; commands that write
sign when they finish). Key rotation keeps old checkpoints verifiable (the key list keeps
retired keys).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from typing import Protocol

import cbor2
from sqlmodel import Session, select

from counter_tui.db.engine import Database
from counter_tui.db.models import AccessEvent, ChainCheckpoint, Institution
from counter_tui.domain import clock
from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.services import certificate_signing, chain_key, key_lists, secrets

log = logging.getLogger(__name__)

STATEMENT_TYPE = "chain-checkpoint"
STATEMENT_VERSION = 1
INTERVAL = dt.timedelta(minutes=5)
"""How often the app signs a checkpoint while events are being added."""
REMEMBERED = "chain-checkpoint"
"""Keyring user name prefix of the last checkpoint this computer signed (``<seq>:<hash>``)."""


def _iso(moment: dt.datetime) -> str:
    return clock.beijing(moment).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def statement(institution_code: str, seq: int, head_hash: str, at: dt.datetime) -> bytes:
    """The CBOR statement a checkpoint signs (module docstring)."""
    return cbor2.dumps(
        {
            "v": STATEMENT_VERSION,
            "type": STATEMENT_TYPE,
            "institution": institution_code,
            "seq": seq,
            "hash": head_hash,
            "at": _iso(at),
        },
        canonical=True,
    )


def _head(session: Session) -> AccessEvent | None:
    return session.exec(select(AccessEvent).order_by(AccessEvent.seq.desc()).limit(1)).first()  # type: ignore[attr-defined]


class CheckpointRefused(CounterError, RuntimeError):
    """The chain is not signed because signing would bless tampering: ``reason`` ``rolled_back``
    (the chain or its checkpoints are behind the checkpoint this computer signed last) or
    ``unkeyed`` (an event after the latest checkpoint has no valid MAC of this keyring's chain
    key: appended behind the application's back). ``str()`` says what to do (UI language)."""


def _kept(code: str) -> tuple[int, str] | None:
    """The last checkpoint this computer signed for ``code`` as the keyring remembers it
    (sequence number, head hash); None when it remembers none or there is no usable keyring."""
    try:
        kept = certificate_signing.remembered(f"{REMEMBERED}:{code}")
    except secrets.SecretsError:
        return None
    seq_text, _sep, kept_hash = (kept or "").partition(":")
    return (int(seq_text), kept_hash) if seq_text.isdigit() else None


def _still_there(session: Session, kept: tuple[int, str]) -> bool:
    """Whether the chain still holds, at the remembered number, the remembered hash."""
    event = session.exec(select(AccessEvent).where(AccessEvent.seq == kept[0])).first()
    return event is not None and event.hash == kept[1]


def _refusal(session: Session, institution_id: object, code: str, head: AccessEvent) -> None:
    """Raise CheckpointRefused when signing ``head`` would bless a rollback or an event
    appended without the chain key (see :class:`CheckpointRefused`)."""
    kept = _kept(code)
    kept_seq = kept[0] if kept else None
    if kept is not None:
        if head.seq < kept[0] or not _still_there(session, kept):
            raise CheckpointRefused(
                _(
                    "The access log was not signed: this computer signed it up to event no. "
                    "{seq}, and the database no longer holds that event as it was (rolled back "
                    "or rewritten). Run counter-tui audit verify and tell the auditor."
                ).format(seq=kept_seq),
                reason="rolled_back",
            )
    try:
        key = chain_key.read()
    except secrets.SecretsError:
        key = None
    if key is None:
        return
    # From the checkpoint this computer signed last (the keyring's memory, which the file's
    # editor cannot change; a checkpoint row in the database could be a fake), else from the
    # database's latest.
    start = kept_seq
    if start is None:
        start = session.exec(
            select(ChainCheckpoint.seq)
            .where(ChainCheckpoint.institution_id == institution_id)
            .order_by(ChainCheckpoint.seq.desc())  # type: ignore[attr-defined]
            .limit(1)
        ).first()
    since = chain_key.since()
    for event in session.exec(
        select(AccessEvent).where(AccessEvent.seq > (start or 0)).order_by(AccessEvent.seq)
    ):
        if since is not None and event.seq < since and not event.mac:
            continue  # written before this key sealed anything
        if key.check(event.hash, event.mac) != "ok":
            raise CheckpointRefused(
                _(
                    "The access log was not signed: event no. {seq} carries no valid MAC of "
                    "this computer's chain key (appended behind the application's back, or "
                    "written by a computer with another key). Run counter-tui audit verify "
                    "and tell the auditor."
                ).format(seq=event.seq),
                reason="unkeyed",
            )


def sign(
    db: Database, institution_code: str, *, now: dt.datetime | None = None
) -> ChainCheckpoint | None:
    """Sign the chain's current head for ``institution_code`` (its key is created first if it
    has none, as for a first certificate) and remember it in the keyring. Returns the new
    checkpoint, the latest one when the head has not moved since, or None for an empty chain.
    Raises CheckpointRefused (a rollback behind what this computer signed, or an event without
    a valid chain MAC since the latest checkpoint: signing would bless it), SecretsUnavailable
    without a usable keyring, SigningError when the key is missing, LookupError for an
    unknown institution."""
    moment = now or clock.utcnow()
    certificate_signing.create_signing_key(institution_code, now=moment)
    with db.write() as session:
        institution = session.exec(
            select(Institution).where(Institution.code == institution_code)
        ).first()
        if institution is None:
            raise LookupError(institution_code)
        from counter_tui.services import issuance  # PDF and image libraries: not at start

        issuance.store_key_list(session, institution, None)  # may seal a new list first
        session.flush()
        head = _head(session)
        if head is None:
            return None
        latest = session.exec(
            select(ChainCheckpoint)
            .where(ChainCheckpoint.institution_id == institution.id)
            .order_by(ChainCheckpoint.seq.desc())  # type: ignore[attr-defined]
            .limit(1)
        ).first()
        # Checked even when the head has not moved: a rolled-back copy whose head carries an
        # old checkpoint must not be reported as signed.
        _refusal(session, institution.id, institution_code, head)
        if latest is not None and latest.seq == head.seq and latest.head_hash == head.hash:
            return latest
        signed = certificate_signing.sign_statement(
            institution_code, statement(institution_code, head.seq, head.hash, moment)
        )
        row = ChainCheckpoint(
            institution_id=institution.id,
            seq=head.seq,
            head_hash=head.hash,
            at=moment,
            key_id=certificate_signing.statement_key_id(signed) or "",
            signature=signed,
        )
        session.add(row)
        session.flush()
        result = ChainCheckpoint.model_validate(row.model_dump())
    certificate_signing.remember(
        f"{REMEMBERED}:{institution_code}", f"{result.seq}:{result.head_hash}"
    )
    return result


class Findings(Protocol):
    """Where findings go (services.fixity.VerifyReport)."""

    def add(self, table: str, row_id: str, what: str, message: str) -> None:
        """Record one finding."""
        ...


def check(session: Session, report: Findings) -> tuple[int, int]:
    """Add the checkpoint findings (module docstring) to ``report``; returns (checkpoints
    checked, events after the latest valid checkpoint)."""
    codes = {i.id: i.code for i in session.exec(select(Institution))}
    keyring_lists: dict[object, certificate_signing.KeyList] = {}
    for institution_id, code in codes.items():
        try:
            own = certificate_signing.stored_key_list(code)
        except (secrets.SecretsError, certificate_signing.SigningError, ValueError):
            own = None
        if own is not None:
            keyring_lists[institution_id] = own
    stored: dict[object, list[certificate_signing.KeyList]] = defaultdict(list)
    for institution_id, listed in key_lists.lineage(session).accepted.items():
        stored[institution_id].append(listed)
    head = _head(session)
    head_seq = head.seq if head else 0
    count, latest_valid = 0, 0
    highest: dict[object, int] = defaultdict(int)
    rows = session.exec(select(ChainCheckpoint).order_by(ChainCheckpoint.seq)).all()
    for row in rows:
        count += 1
        code = codes.get(row.institution_id, "?")
        label = _("checkpoint no. {seq} of {institution}").format(seq=row.seq, institution=code)
        lists = (
            [keyring_lists[row.institution_id]]
            if row.institution_id in keyring_lists
            else stored[row.institution_id][-1:]
        )
        problem = _verify_statement(row, code, lists)
        if problem:
            report.add("chain_checkpoint", str(row.id), "checkpoint_invalid", f"{label}: {problem}")
            continue
        highest[row.institution_id] = max(highest[row.institution_id], row.seq)
        event = session.exec(select(AccessEvent).where(AccessEvent.seq == row.seq)).first()
        if event is None or row.seq > head_seq:
            report.add(
                "chain_checkpoint",
                str(row.id),
                "truncated",
                _(
                    "{label} signed the chain up to event no. {seq} on {at}, but the chain now "
                    "ends at no. {head}: events were removed from its end"
                ).format(label=label, seq=row.seq, at=clock.local_time(row.at), head=head_seq),
            )
        elif event.hash != row.head_hash:
            report.add(
                "chain_checkpoint",
                str(row.id),
                "rewritten",
                _(
                    "{label}: the chain up to event no. {seq} is not the one signed on {at}; "
                    "rows at or before it were changed and the chain re-hashed"
                ).format(label=label, seq=row.seq, at=clock.local_time(row.at)),
            )
        else:
            latest_valid = max(latest_valid, row.seq)
    for institution_id, code in codes.items():
        if institution_id not in keyring_lists:
            continue
        kept = _kept(code)
        if kept is not None and kept[0] > highest[institution_id]:
            report.add(
                "chain_checkpoint",
                code,
                "checkpoints_removed",
                _(
                    "this computer signed a checkpoint of {institution} at event no. {seq}, "
                    "which the database no longer holds: checkpoints (and perhaps events) "
                    "were removed"
                ).format(institution=code, seq=kept[0]),
            )
    return count, max(0, head_seq - latest_valid)


def _verify_statement(
    row: ChainCheckpoint, code: str, lists: list[certificate_signing.KeyList]
) -> str | None:
    """None when ``row`` is a valid checkpoint of ``code``; else why not (translated)."""
    if not lists:
        return _("no key list of the institution to check it with")
    try:
        payload, key = certificate_signing.open_statement(bytes(row.signature), lists[-1])
    except certificate_signing.StatementInvalid as exc:
        if exc.reason == "unknown_key":
            return _("signed with a key the institution's key list does not hold")
        return _("its signature does not verify")
    try:
        data = cbor2.loads(payload)
    except (ValueError, cbor2.CBORDecodeError):
        return _("its statement is not readable")
    if not isinstance(data, dict):
        return _("its statement is not readable")
    expected = {
        "v": STATEMENT_VERSION,
        "type": STATEMENT_TYPE,
        "institution": code,
        "seq": row.seq,
        "hash": row.head_hash,
        "at": _iso(row.at),
    }
    if data != expected:
        return _("the row does not match what was signed")
    if not key.active_at(row.at):
        return _("signed with a key that was not in use at {at}").format(
            at=clock.local_time(row.at)
        )
    return None


def sign_held(
    db: Database, *, create_for: tuple[str, ...] = (), refused: list[str] | None = None
) -> list[str]:
    """Sign a checkpoint for every institution whose key this computer's keyring holds (and
    for those in ``create_for``, creating their key when missing), as commands that write do
    when they finish. Returns the institution codes signed for; an empty list when there is no
    usable keyring (the chain is then protected by itself until a counter signs). A
    :class:`CheckpointRefused` is not raised: its message is appended to ``refused`` (and
    logged). Never raises for the keyring; raises StorageBusyError when the database stays
    locked."""
    with db.read() as session:
        codes = [i.code for i in session.exec(select(Institution).order_by(Institution.code))]
    signed = []
    for code in codes:
        try:
            held = certificate_signing.stored_key_list(code) is not None
        except (secrets.SecretsError, certificate_signing.SigningError, ValueError):
            return signed
        if held or code in create_for:
            try:
                sign(db, code)
            except (secrets.SecretsError, certificate_signing.SigningError):
                continue
            except CheckpointRefused as exc:
                log.warning("checkpoint of %s refused: %s", code, exc)
                if refused is not None:
                    refused.append(str(exc))
                continue
            signed.append(code)
    return signed


def rolled_back(session: Session) -> str | None:
    """A sentence (UI language) when this database is behind a checkpoint this computer
    signed — the chain no longer holds, at the remembered number, the remembered hash (a
    rollback or a rewrite) — else None. Cheap (one lookup per institution); read-only; None
    when there is no usable keyring or it remembers nothing."""
    for institution in session.exec(select(Institution).order_by(Institution.code)):
        kept = _kept(institution.code)
        if kept is not None and not _still_there(session, kept):
            return _(
                "This archive is behind what this computer signed (event no. {seq} of "
                "{institution} is gone or changed): it was rolled back or rewritten, so its "
                "records cannot be trusted here. Run counter-tui audit verify."
            ).format(seq=kept[0], institution=institution.code)
    return None


def forget_rollback(institution_code: str) -> None:
    """Drop this computer's memory of the last checkpoint it signed for ``institution_code``
    (after an auditor has examined a rollback, e.g. a restored backup), so that the chain as
    it now is can be signed. Raises SecretsUnavailable."""
    certificate_signing.remember(f"{REMEMBERED}:{institution_code}", "")
