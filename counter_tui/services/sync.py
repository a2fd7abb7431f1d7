"""Sync between an office's database (SQLite, often offline) and the city's central database
(PostgreSQL, services.central): facts are append-only with UUIDv7 keys, so sync is a set union.

**Push.** Every fact the office inserts is numbered in ``sync_outbox`` by a trigger in the
fact's own transaction (migration 0011): the push cursor (``sync_state`` ``push_cursor``) is
that number, never UUIDv7 order, so a fact whose transaction committed late is never skipped.
A batch of up to :data:`BATCH` outbox entries is sent to central in one transaction, table by
table in :data:`PUSHED` order (parents first; the batch's transfers after its materials and
pages, which central would refuse once the dossier has left the scope): ``INSERT … SELECT … FROM
jsonb_populate_recordset(…) ON CONFLICT DO NOTHING RETURNING id``; access events go to
``office_chain_event`` under the office's institution id (``origin``). The local cursor moves
only after central committed, so a push killed anywhere is simply repeated: rows central
already holds are compared, not inserted twice.

**Same key, other content.** A row whose key central (or, pulling, this office) already holds
with different content (:func:`services.seals.row_content_hash` over every column) is never
applied and never silently dropped: it is kept in ``sync_quarantine`` (both versions, canonical
JSON) and reported as a possible tampering in the result and the status line. A dossier with a
number central already holds under another key is quarantined the same way.

**Pull.** Central logs every inserted row in ``central_log`` (``xid`` = the inserting
transaction's id). The office reads, through row-level security, the entries of its scope in
(xid, id) order **below the snapshot's xmin** (``pg_snapshot_xmin(pg_current_snapshot())``):
every transaction below it has ended, so no later-committing transaction can still add an
entry behind the cursor, whatever order transactions commit in. Rows are read with one query
per table and batch (plain rows, not ORM objects), stored with one executemany per table and
sealed in the local access chain with one more (a pulled material gets ``material_added`` with
its content hash, as an intake would; each seal hashed and MACed as
``access_log.Chain.append`` does), and the pull cursor ``"<xid>:<id>"`` moves in the same local
transaction: kill-safe by construction. A row that cannot be applied stops the pull there
without moving the cursor, saying why.

**History and references.** A dossier that comes into the scope (a transfer to this office)
brings its earlier rows, read by dossier from central's log. What those facts name and this
office lacks is fetched first: the service visits its certificates and consultations were made
in (central shows an office another's visit when a fact it may see names it) and the accounts
that made them. Another institution's account comes through central's ``public_accounts``
(id, institution, username, name, role, creation time: never a password or own-ID hash) and is
stored as an inactive stub without any secret (:func:`account_stub`: username
``username@CODE``), sealed ``account_added``: it cannot log in, and like every pulled row it is
not pushed back. Signing key lists are public: every institution's are pulled, so that a
certificate issued elsewhere verifies here (those logged before the cursor are caught up at
the start of each pull).

**Schema.** Every batch names the schema revision of both sides (services.schema): a side that
is not at the same revision stops before applying anything and says which.

Status (``sync_state``): ``last_sync`` (ISO 8601 UTC), ``last_error`` (plain words, "" when the
last sync succeeded), and the unsynced count (outbox entries after the push cursor).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import time
import types
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, SQLModel, col, func, select

from counter_tui.db import models
from counter_tui.db.engine import DATABASE_ERRORS, Database, explain, make_private_dir
from counter_tui.db.models import SyncOutbox, SyncQuarantine, SyncState
from counter_tui.domain import clock
from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.services import (
    access_log,
    certificate_audit,
    custody,
    fixity,
    holder_index,
    nearby_records,
    seals,
    secrets,
)

log = logging.getLogger(__name__)

BATCH = 2000
"""Outbox entries (push) or central log entries (pull) per transaction."""

PUSHED: dict[str, type[SQLModel]] = {
    "clerk": models.Clerk,
    "dossier": models.Dossier,
    "custody_event": models.CustodyEvent,
    "material": models.Material,
    "page": models.Page,
    "service_visit": models.ServiceVisit,
    "service_event": models.ServiceEvent,
    "consultation": models.Consultation,
    "certificate": models.Certificate,
    "certificate_event": models.CertificateEvent,
    "signing_key_list": models.SigningKeyList,
    "access_event": models.AccessEvent,
    "chain_checkpoint": models.ChainCheckpoint,
}
"""Tables an office pushes, parents before children (migration 0011 numbers their inserts).
Accounts (``clerk``) are pushed once, when added (later changes stay with the office: the
account's sealed events record them); the others are append-only facts."""
MUTABLE = frozenset({"clerk", "institution"})
"""Tables whose rows change after insert: a key already held is not compared."""

PULLED: dict[str, type[SQLModel]] = {
    "institution": models.Institution,
    "clerk": models.Clerk,
    "dossier": models.Dossier,
    "custody_event": models.CustodyEvent,
    "material": models.Material,
    "page": models.Page,
    "consultation": models.Consultation,
    "certificate": models.Certificate,
    "certificate_event": models.CertificateEvent,
    "signing_key_list": models.SigningKeyList,
}
"""Tables an office pulls from its scope, parents before children. Service visits and events
and access events stay with the office that made them (statistics and the access trail); a
visit a pulled certificate or consultation was made in comes with it (:data:`APPLIED`)."""

APPLIED: dict[str, type[SQLModel]] = {
    "institution": models.Institution,
    "clerk": models.Clerk,
    "service_visit": models.ServiceVisit,
    **{table: model for table, model in PULLED.items() if table not in ("institution", "clerk")},
}
"""The order pulled rows are stored in (parents first): :data:`PULLED` and the service visits
pulled facts name (stored, not sealed: an office seals none of its visits either)."""

SEAL_KIND = {
    "material": "material_added",
    "page": "page_added",
    "certificate": "certificate_added",
    "certificate_event": "certificate_event_added",
    "signing_key_list": "key_list_added",
    "custody_event": "custody_event_added",
    "consultation": "consultation_added",
    "clerk": "account_added",
    "dossier": "dossier_added",
    "institution": "institution_changed",
}
"""The access event kind that seals a pulled row of each table (services.fixity.SEAL_KINDS)."""

CHAIN_TABLE = "office_chain_event"
"""Central's copy of every office's access events, keyed by (origin, seq)."""


class SyncError(CounterError, RuntimeError):
    """Sync stopped; ``str()`` says why in plain words (UI language). ``reason``: ``schema``
    (the two databases are at different revisions), ``unreachable`` (central cannot be
    reached or refused the log-in), ``refused`` (central refused a row: permissions or
    constraints), ``cannot_apply`` (a pulled row cannot be applied here)."""


@dataclasses.dataclass
class SyncResult:
    """What one :func:`sync_once` did: rows pushed (new to central) and already there,
    rows pulled (new here), rows quarantined, batches, seconds taken."""

    pushed: int = 0
    already_there: int = 0
    files: int = 0
    """Page image files sent (push) or stored here (pull), each checked by its SHA-256."""
    files_missing: int = 0
    """Page files not sent or not received: missing, or not matching their SHA-256 (logged)."""
    not_ours: int = 0
    """Rows of other institutions in this database (a shared or demo archive): not sent."""
    refused: int = 0
    """Rows central refused (not this office's to send: row-level security, constraints);
    kept in the office's sync_quarantine with the reason, not retried."""
    pulled: int = 0
    skipped: int = 0
    """Pulled rows of dossiers outside this office's scope (nothing here to attach them to)."""
    quarantined: int = 0
    batches: int = 0
    seconds: float = 0.0


@dataclasses.dataclass(frozen=True)
class SyncStatus:
    """For the status line: ``unsynced`` outbox entries, ``last_sync`` (aware UTC or None),
    ``last_error`` ("" when the last sync succeeded), ``quarantined`` rows held here."""

    unsynced: int
    last_sync: dt.datetime | None
    last_error: str
    quarantined: int


# --- state ---------------------------------------------------------------------------------


def _get(session: Session, key: str, default: str = "") -> str:
    row = session.get(SyncState, key)
    return row.value if row else default


def _set(session: Session, key: str, value: str) -> None:
    row = session.get(SyncState, key)
    if row is None:
        session.add(SyncState(key=key, value=value))
    else:
        row.value = value
        session.add(row)


def status(office: Database) -> SyncStatus:
    """The office's sync status (one read transaction; writes nothing)."""
    with office.read() as session:
        cursor = int(_get(session, "push_cursor", "0") or 0)
        unsynced = session.exec(
            select(func.count()).select_from(SyncOutbox).where(col(SyncOutbox.seq) > cursor)
        ).one()
        last = _get(session, "last_sync")
        error = _get(session, "last_error")
        quarantined = session.exec(
            select(func.count())
            .select_from(SyncQuarantine)
            .where(SyncQuarantine.direction != "refused")
        ).one()
    return SyncStatus(
        unsynced=unsynced,
        last_sync=dt.datetime.fromisoformat(last) if last else None,
        last_error=error,
        quarantined=quarantined,
    )


def record_outcome(office: Database, error: str = "") -> None:
    """Remember the last sync's time (when it succeeded) and error ("" for none)."""
    with office.write() as session:
        if not error:
            _set(session, "last_sync", clock.utcnow().isoformat())
        _set(session, "last_error", error[:1000])


# --- rows as JSON ----------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return moment.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    return value


def row_json(row: SQLModel) -> dict[str, Any]:
    """Every column of ``row`` as JSON-ready values: UUIDs as text, times ISO 8601 with
    offset, bytes in PostgreSQL's hex form ``\\x…`` (what ``jsonb_populate_recordset``
    reads)."""
    table = row.__table__  # type: ignore[attr-defined]
    return {c.name: _json_value(getattr(row, c.name)) for c in table.columns}


def _canonical_json(row: SQLModel) -> str:
    return json.dumps(row_json(row), ensure_ascii=False, sort_keys=True)


# --- schema --------------------------------------------------------------------------------


def _revision(session: Session) -> str:
    """The database's Alembic revision: ``alembic_version`` itself, or on central (where an
    office's role may not read it) the SECURITY DEFINER function ``central_revision()``
    (services.central_sql); "" when neither answers."""
    queries = ["SELECT version_num FROM alembic_version"]
    if session.get_bind().dialect.name == "postgresql":
        queries.insert(0, "SELECT central_revision()")
    for query in queries:
        try:
            with session.begin_nested():
                return session.execute(text(query)).scalar() or ""
        except DATABASE_ERRORS:
            continue
    return ""


def _check_schema(office_session: Session, central_session: Session) -> None:
    central_session.execute(text("SELECT 1"))  # an unreachable central fails here, as such
    here, there = _revision(office_session), _revision(central_session)
    if here != there:
        raise SyncError(
            _(
                "This office's database is at schema revision {here} and the central database "
                "at {there}; nothing was sent or received. Upgrade the one that is behind "
                "(counter-tui db upgrade) and sync again."
            ).format(here=here or "?", there=there or "?"),
            reason="schema",
        )


# --- push ----------------------------------------------------------------------------------


def push(
    office: Database,
    central: Database,
    origin: uuid.UUID,
    *,
    batch: int = BATCH,
    result: SyncResult | None = None,
    after_central_commit: Callable[[], None] | None = None,
    archive_root: Path | None = None,
) -> SyncResult:
    """Push every outbox entry after the push cursor to central, batch by batch (module
    docstring). ``origin``: this office's institution id. ``after_central_commit`` is called
    between central's commit and the local cursor's move (tests kill there). Raises SyncError
    (``schema``, ``refused``) and SQLAlchemy/driver errors for an unreachable central."""
    result = result or SyncResult()
    while True:
        with office.read() as session:
            cursor = int(_get(session, "push_cursor", "0") or 0)
            entries = session.exec(
                select(SyncOutbox)
                .where(col(SyncOutbox.seq) > cursor)
                .order_by(col(SyncOutbox.seq))
                .limit(batch)
            ).all()
            if not entries:
                return result
            rows = _load(session, entries)
            with central.write() as remote:
                _check_schema(session, remote)
                quarantined = _push_rows(session, remote, rows, origin, result, archive_root)
                remote.flush()
        if after_central_commit is not None:
            after_central_commit()
        with office.write() as session:
            for item in quarantined:
                session.add(item)
            _set(session, "push_cursor", str(entries[-1].seq))
        result.batches += 1


def _load(session: Session, entries: Iterable[SyncOutbox]) -> list[tuple[str, SQLModel]]:
    """The outbox entries' rows, in outbox order."""
    wanted: dict[str, list[uuid.UUID]] = {}
    order = []
    for entry in entries:
        wanted.setdefault(entry.table_name, []).append(entry.row_id)
        order.append((entry.table_name, entry.row_id))
    found: dict[tuple[str, uuid.UUID], SQLModel] = {}
    for table, ids in wanted.items():
        model = PUSHED.get(table)
        if model is None:
            continue
        for row in _by_id(session, model, ids):
            found[(table, row.id)] = row  # type: ignore[attr-defined]
    return [(t, found[(t, i)]) for t, i in order if (t, i) in found]


class _Ownership:
    """Which rows of a batch are this office's facts to send (mirrors central's row-level
    security, services.central, so that rows central would refuse are not sent at all): its
    own institution's accounts, visits, consultations, certificates, key lists and
    checkpoints (and their events); dossiers it registered (or nobody did); custody events
    naming it or transferring a dossier away; materials and pages of dossiers it holds now.
    Anything else (another institution's facts in a shared or demo database) stays here."""

    def __init__(self, session: Session, origin: uuid.UUID) -> None:
        self.session, self.origin = session, origin
        self._held: dict[uuid.UUID, bool] = {}
        self._visit: dict[uuid.UUID, bool] = {}
        self._certificate: dict[uuid.UUID, bool] = {}

    def held(self, dossier_ids: Iterable[uuid.UUID]) -> None:
        """Learn the holders of ``dossier_ids`` (one query, and one more for dossiers in
        transit). A dossier this office has sent away counts as held for its materials and
        pages: they were recorded before the transfer (commit order), and central, which
        takes a batch's transfers last, still sees this office holding it when they arrive."""
        wanted = [d for d in set(dossier_ids) if d not in self._held]
        found = custody.states(self.session, wanted)
        sent = _sent_by(self.session, [d for d, s in found.items() if s.in_transit])
        for dossier_id, state in found.items():
            self._held[dossier_id] = (
                state.held_by(self.origin)
                or (state.holder_id is None and not state.in_transit)
                or sent.get(dossier_id) == self.origin
            )

    def ours(self, table: str, row: Any) -> bool:
        """Whether ``row`` of ``table`` is this office's to send."""
        origin = self.origin
        if table in ("clerk", "service_visit", "consultation", "certificate"):
            return row.institution_id == origin
        if table in ("signing_key_list", "chain_checkpoint"):
            return row.institution_id == origin
        if table == "dossier":
            return row.origin_institution_id in (origin, None)
        if table == "custody_event":
            return row.holder_institution_id == origin or row.kind == "transferred_out"
        if table == "material":
            return self._held.get(row.dossier_id, False)
        if table == "page":
            material = self.session.get(models.Material, row.material_id)
            return material is not None and self._held.get(material.dossier_id, False)
        if table == "service_event":
            if row.visit_id not in self._visit:
                visit = self.session.get(models.ServiceVisit, row.visit_id)
                self._visit[row.visit_id] = visit is not None and visit.institution_id == origin
            return self._visit[row.visit_id]
        if table == "certificate_event":
            if row.certificate_id not in self._certificate:
                cert = self.session.get(models.Certificate, row.certificate_id)
                self._certificate[row.certificate_id] = (
                    cert is not None and cert.institution_id == origin
                )
            return self._certificate[row.certificate_id]
        return True  # access events: the office's own chain


def _sent_by(session: Session, dossier_ids: list[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID | None]:
    """The institution that held each of ``dossier_ids`` (dossiers in transit) before its
    latest transfer (services.custody's order and rule: refused events left out)."""
    if not dossier_ids:
        return {}
    refused = select(SyncQuarantine.row_id).where(
        SyncQuarantine.direction == "refused", SyncQuarantine.table_name == "custody_event"
    )
    events: dict[uuid.UUID, list[models.CustodyEvent]] = {d: [] for d in dossier_ids}
    for event in session.exec(
        select(models.CustodyEvent).where(
            col(models.CustodyEvent.dossier_id).in_(dossier_ids),
            col(models.CustodyEvent.id).not_in(refused),
        )
    ):
        events[event.dossier_id].append(event)
    out: dict[uuid.UUID, uuid.UUID | None] = {}
    for dossier_id, listed in events.items():
        listed.sort(key=lambda e: (e.at, e.id))
        last = max((i for i, e in enumerate(listed) if e.kind == "transferred_out"), default=None)
        if last is not None:
            out[dossier_id] = custody.state_from_events(listed[:last]).holder_id
    return out


def ours_filter(session: Session, rows: list[tuple[str, SQLModel]], origin: uuid.UUID):  # noqa: ANN201
    """The predicate ``(table, row) -> bool`` of :class:`_Ownership` for ``rows``."""
    owner = _Ownership(session, origin)
    dossiers = [getattr(r, "dossier_id", None) for _t, r in rows]
    pages = [r.material_id for t, r in rows if t == "page"]  # type: ignore[attr-defined]
    if pages:
        dossiers += list(
            session.exec(
                select(models.Material.dossier_id).where(col(models.Material.id).in_(pages))
            )
        )
    owner.held(d for d in dossiers if d is not None)
    return owner.ours


def _push_rows(
    session: Session,
    remote: Session,
    rows: list[tuple[str, SQLModel]],
    origin: uuid.UUID,
    result: SyncResult,
    archive_root: Path | None = None,
) -> list[SyncQuarantine]:
    by_table: dict[str, list[SQLModel]] = {}
    ours = ours_filter(session, rows, origin)
    for table, row in rows:
        if ours(table, row):
            by_table.setdefault(table, []).append(row)
        else:
            result.not_ours += 1
    quarantined: list[SyncQuarantine] = []
    for table, group in _push_order(by_table):
        if table == "access_event":
            quarantined += _push_chain(remote, group, origin, result)
        else:
            quarantined += _push_table(remote, table, group, result)
    _push_holder_entries(session, remote, by_table.get("custody_event", []), origin)
    if archive_root is not None:
        _push_files(remote, by_table.get("page", []), origin, archive_root, result)
    suspicious = [q for q in quarantined if q.direction == "push"]
    if suspicious:
        for item in suspicious:
            remote.execute(
                text(
                    "INSERT INTO sync_quarantine (origin, table_name, row_id, direction, "
                    "received, held, reason, at) VALUES (:origin, :t, :r, 'push', :received, "
                    ":held, :reason, now())"
                ),
                {
                    "origin": origin,
                    "t": item.table_name,
                    "r": item.row_id,
                    "received": item.received,
                    "held": item.held,
                    "reason": item.reason,
                },
            )
        result.quarantined += len(suspicious)
    return quarantined


def _push_order(by_table: dict[str, list[SQLModel]]) -> list[tuple[str, list[SQLModel]]]:
    """The batch's groups of rows in :data:`PUSHED` order, except that transfers go after the
    materials and pages: a transfer takes the dossier out of this office's scope on central,
    which would then refuse the office's materials and pages of it recorded before the
    transfer in the same batch."""
    out: list[tuple[str, list[SQLModel]]] = []
    moves: list[SQLModel] = []
    for table in PUSHED:
        group = by_table.get(table, [])
        if table == "custody_event":
            moves = [e for e in group if e.kind == "transferred_out"]  # type: ignore[attr-defined]
            group = [e for e in group if e.kind != "transferred_out"]  # type: ignore[attr-defined]
        if group:
            out.append((table, group))
        if table == "page" and moves:
            out.append(("custody_event", moves))
    return out


def _push_files(
    remote: Session,
    pages: list[SQLModel],
    origin: uuid.UUID,
    archive_root: Path,
    result: SyncResult,
) -> None:
    """Send the image file of each page, addressed by its SHA-256, after checking it against
    the page's recorded hash (a missing or altered file is not sent: logged and counted)."""
    for page in pages:
        path = archive_root / page.rel_path  # type: ignore[attr-defined]
        try:
            data = path.read_bytes()
        except OSError as exc:
            log.warning("page file %s not sent: %s", path, exc)
            result.files_missing += 1
            continue
        if hashlib.sha256(data).hexdigest() != page.sha256:  # type: ignore[attr-defined]
            log.warning("page file %s not sent: it differs from its recorded SHA-256", path)
            result.files_missing += 1
            continue
        remote.execute(
            text(
                "INSERT INTO page_file (sha256, data, origin) VALUES (:h, :d, :o) "
                "ON CONFLICT (sha256) DO NOTHING"
            ),
            {"h": page.sha256, "d": data, "o": origin},  # type: ignore[attr-defined]
        )
        result.files += 1


def fetch_files(
    central: Database, pages: Iterable[SQLModel], archive_root: Path, result: SyncResult
) -> None:
    """Fetch the image file of each page that is not yet under ``archive_root``, check it
    against the page's SHA-256 and store it (0600, folders 0700) at the page's path; a file
    central does not have, or whose bytes do not match, is counted in ``files_missing`` and
    logged, never stored."""
    wanted = [p for p in pages if not (archive_root / p.rel_path).exists()]  # type: ignore[attr-defined]
    if not wanted:
        return
    with central.read() as remote:
        for page in wanted:
            data = remote.execute(
                text("SELECT data FROM page_file WHERE sha256 = :h"),
                {"h": page.sha256},  # type: ignore[attr-defined]
            ).scalar()
            if data is None or hashlib.sha256(bytes(data)).hexdigest() != page.sha256:  # type: ignore[attr-defined]
                log.warning("page file for %s not available or altered", page.rel_path)  # type: ignore[attr-defined]
                result.files_missing += 1
                continue
            target = archive_root / page.rel_path  # type: ignore[attr-defined]
            make_private_dir(target.parent)
            partial = target.with_name(target.name + ".part")
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                out.write(bytes(data))
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, target)
            result.files += 1


def _push_holder_entries(
    session: Session, remote: Session, custody_rows: list[SQLModel], origin: uuid.UUID
) -> None:
    """Write the holder index entries of the dossiers whose custody the batch changed and
    that this office holds now (services.holder_index); the later ``since`` wins."""
    if not custody_rows:
        return
    try:
        secret = holder_index.key(create=True)
    except secrets.SecretsError as exc:
        log.warning("holder index not written (no key): %s", exc)
        return
    dossiers = list({r.dossier_id for r in custody_rows})  # type: ignore[attr-defined]
    entries = holder_index.entries_held(session, origin, dossiers, secret)
    if not entries:
        return
    payload = json.dumps([{**row_json(e), "updated_at": None} for e in entries], ensure_ascii=False)
    remote.execute(
        text(
            "INSERT INTO holder_index (id_hash, institution_id, since, updated_at) "
            "SELECT id_hash, institution_id, since, now() FROM "
            "jsonb_populate_recordset(NULL::holder_index, CAST(:rows AS jsonb)) "
            "ON CONFLICT (id_hash) DO UPDATE SET institution_id = EXCLUDED.institution_id, "
            "since = EXCLUDED.since, updated_at = now() "
            "WHERE holder_index.since <= EXCLUDED.since"
        ),
        {"rows": payload},
    )


def _insert_rows(remote: Session, table: str, rows: list[SQLModel]) -> None:
    """INSERT … ON CONFLICT DO NOTHING of ``rows`` in one statement. No RETURNING: a new row
    the office may not yet read back (a dossier before its first custody event) would make
    PostgreSQL refuse the whole statement under row-level security."""
    columns = ", ".join(f'"{c.name}"' for c in PUSHED[table].__table__.columns)  # type: ignore[attr-defined]
    remote.execute(
        text(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM "
            f"jsonb_populate_recordset(NULL::{table}, CAST(:rows AS jsonb)) "
            "ON CONFLICT DO NOTHING"
        ),
        {"rows": json.dumps([row_json(r) for r in rows], ensure_ascii=False)},
    )


def _existing(remote: Session, table: str, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``ids`` central already holds, also outside this office's scope (central's
    SECURITY DEFINER ``central_existing``; PostgreSQL checks the INSERT policy before ON
    CONFLICT, so re-sending such a row would be refused)."""
    try:
        with remote.begin_nested():
            return {
                uuid.UUID(str(r[0]))
                for r in remote.execute(
                    text("SELECT central_existing(:t, CAST(:ids AS uuid[]))"),
                    {"t": table, "ids": [str(i) for i in ids]},
                )
            }
    except DATABASE_ERRORS:
        return set()


def _push_table(
    remote: Session, table: str, group: list[SQLModel], result: SyncResult
) -> list[SyncQuarantine]:
    existing = _existing(remote, table, [r.id for r in group])  # type: ignore[attr-defined]
    new = [r for r in group if r.id not in existing]  # type: ignore[attr-defined]
    refused: list[SyncQuarantine] = []
    inserted: set[uuid.UUID] = set()
    if new:
        try:
            with remote.begin_nested():
                _insert_rows(remote, table, new)
        except DATABASE_ERRORS:
            # One row central refuses (row-level security: not this office's to send, or a
            # constraint) must not hold back the others: row by row, the refused ones kept.
            for row in new:
                try:
                    with remote.begin_nested():
                        _insert_rows(remote, table, [row])
                except DATABASE_ERRORS as exc:
                    detail = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
                    refused.append(
                        SyncQuarantine(
                            table_name=table,
                            row_id=row.id,  # type: ignore[attr-defined]
                            direction="refused",
                            received=_canonical_json(row),
                            held="",
                            reason=f"refused by central: {detail}",
                        )
                    )
    refused_ids = {q.row_id for q in refused}
    if new:
        candidates = [r.id for r in new if r.id not in refused_ids]  # type: ignore[attr-defined]
        inserted = _existing(remote, table, candidates) if candidates else set()
    result.pushed += len(inserted)
    result.refused += len(refused)
    rest = [r for r in group if r.id not in inserted and r.id not in refused_ids]  # type: ignore[attr-defined]
    if not rest:
        return refused
    model = PUSHED[table]
    held = {
        r.id: r  # type: ignore[attr-defined]
        for r in remote.exec(
            select(model).where(col(model.id).in_([r.id for r in rest]))  # type: ignore[attr-defined]
        )
    }
    out = refused
    for row in rest:
        there = held.get(row.id)  # type: ignore[attr-defined]
        if (there is None and row.id in existing) or (  # type: ignore[attr-defined]
            there is not None
            and (table in MUTABLE or seals.row_content_hash(there) == seals.row_content_hash(row))
        ):
            result.already_there += 1  # (outside this office's view: cannot be compared here)
            continue
        out.append(
            SyncQuarantine(
                table_name=table,
                row_id=row.id,  # type: ignore[attr-defined]
                direction="push",
                received=_canonical_json(row),
                held=_canonical_json(there) if there is not None else "",
                reason=(
                    "same key, other content"
                    if there is not None
                    else "conflicts on a unique value"
                ),
            )
        )
    return out


def _push_chain(
    remote: Session, group: list[SQLModel], origin: uuid.UUID, result: SyncResult
) -> list[SyncQuarantine]:
    items = [{**row_json(r), "origin": str(origin)} for r in group]
    columns = ", ".join(
        f'"{c}"'
        for c in [*(c.name for c in models.AccessEvent.__table__.columns), "origin"]  # type: ignore[attr-defined]
    )
    inserted = {
        int(r[0])
        for r in remote.execute(
            text(
                f"INSERT INTO {CHAIN_TABLE} ({columns}) SELECT {columns} FROM "
                f"jsonb_populate_recordset(NULL::{CHAIN_TABLE}, CAST(:rows AS jsonb)) "
                "ON CONFLICT DO NOTHING RETURNING seq"
            ),
            {"rows": json.dumps(items, ensure_ascii=False)},
        )
    }
    result.pushed += len(inserted)
    rest = [r for r in group if r.seq not in inserted]  # type: ignore[attr-defined]
    if not rest:
        return []
    held = {
        int(seq): (hash_, str(id_))
        for seq, hash_, id_ in remote.execute(
            text(f"SELECT seq, hash, id FROM {CHAIN_TABLE} WHERE origin = :o AND seq = ANY(:s)"),
            {"o": origin, "s": [r.seq for r in rest]},  # type: ignore[attr-defined]
        )
    }
    out = []
    for row in rest:
        there = held.get(row.seq)  # type: ignore[attr-defined]
        if there == (row.hash, str(row.id)):  # type: ignore[attr-defined]
            result.already_there += 1
            continue
        out.append(
            SyncQuarantine(
                table_name="access_event",
                row_id=row.id,  # type: ignore[attr-defined]
                direction="push",
                received=_canonical_json(row),
                held=json.dumps({"seq": row.seq, "hash": there[0], "id": there[1]})  # type: ignore[attr-defined]
                if there
                else "",
                reason="another event under the same chain number",
            )
        )
    return out


# --- pull ----------------------------------------------------------------------------------


class _Pulled(types.SimpleNamespace):
    """A row read from central (or from this database for a comparison) as plain attributes,
    with its table's ``__table__``: what the content hashes (services.seals, fixity,
    certificate_audit) and :func:`row_json` read, without an ORM object's cost. Subclassed
    per table by :func:`_row_type`."""

    __table__: Any


_ROW_TYPES: dict[str, type[_Pulled]] = {}


def _row_type(table: str) -> type[_Pulled]:
    """The :class:`_Pulled` class of ``table`` (one per table, made once)."""
    made = _ROW_TYPES.get(table)
    if made is None:
        model = APPLIED[table]
        made = _ROW_TYPES[table] = type(
            f"Pulled{model.__name__}", (_Pulled,), {"__table__": model.__table__}
        )
    return made


def _values(row: Any) -> dict[str, Any]:
    """Every column of ``row`` (a :class:`_Pulled` or a model instance) by name."""
    if isinstance(row, _Pulled):
        return vars(row)
    return {c.name: getattr(row, c.name) for c in row.__table__.columns}


def _pull_cursor(session: Session) -> tuple[str, int]:
    value = _get(session, "pull_cursor", "0:0")
    xid, _sep, last = value.partition(":")
    return xid or "0", int(last or 0)


def pull(
    office: Database,
    central: Database,
    origin: uuid.UUID,
    *,
    batch: int = BATCH,
    result: SyncResult | None = None,
    archive_root: Path | None = None,
) -> SyncResult:
    """Pull this office's scope from central, batch by batch (module docstring); with
    ``archive_root``, the image files of the pages received are fetched too (:func:`fetch_files`).
    Every institution's key lists are brought up to date first (:func:`_catch_up_key_lists`).
    Raises SyncError (``schema``, ``cannot_apply``) and SQLAlchemy/driver errors."""
    result = result or SyncResult()
    _catch_up_key_lists(office, central, origin, result)
    while True:
        with office.write() as session:
            xid, last = _pull_cursor(session)
            with central.read() as remote:
                _check_schema(session, remote)
                entries = remote.execute(
                    text(
                        "SELECT id, xid::text, table_name, row_id FROM central_log "
                        "WHERE (xid > CAST(:x AS xid8) OR (xid = CAST(:x AS xid8) AND id > :i)) "
                        "AND xid < pg_snapshot_xmin(pg_current_snapshot()) "
                        "ORDER BY xid, id LIMIT :n"
                    ),
                    {"x": xid, "i": last, "n": batch},
                ).all()
                if not entries:
                    return result
                rows = _fetch(remote, entries)
                rows = _with_history(session, remote, rows, origin) + rows
                rows = _referenced(session, remote, rows, origin) + rows
            _apply(session, rows, origin, result)
            _set(session, "pull_cursor", f"{entries[-1][1]}:{entries[-1][0]}")
        if archive_root is not None:
            fetch_files(central, [r for t, r in rows if t == "page"], archive_root, result)
        result.batches += 1


def _catch_up_key_lists(
    office: Database, central: Database, origin: uuid.UUID, result: SyncResult
) -> None:
    """Store the signing key lists central holds and this office does not, of institutions
    this office knows (every institution's: public keys, to verify the certificates of
    dossiers that come here), oldest first, sealed like pulled rows, in one local transaction
    before the log is read. The log brings new lists in order; this brings those it logged
    before the pull cursor (e.g. before central made them city-wide), so that each
    institution's lists are still sealed here in their own order (services.key_lists)."""
    with office.write() as session, central.read() as remote:
        _check_schema(session, remote)
        known = set(session.execute(sa_select(models.Institution.id)).scalars())  # type: ignore[call-overload]
        there = remote.execute(
            text("SELECT id FROM signing_key_list WHERE institution_id = ANY(:known)"),
            {"known": list(known)},
        ).scalars()
        listed = list(there)
        missing = set(listed) - _present(session, "signing_key_list", listed)
        if not missing:
            return
        rows = _read_rows(remote, "signing_key_list", missing)
        rows.sort(key=lambda r: (r.stored_at, r.id))
        _apply(session, [("signing_key_list", r) for r in rows], origin, result)


def _read_rows(session: Session, table: str, ids: Iterable[Any]) -> list[_Pulled]:
    """The rows of ``table`` whose id is in ``ids`` (what the session's role may read), as
    :class:`_Pulled` rows, 2,000 ids to a query."""
    columns = APPLIED[table].__table__  # type: ignore[attr-defined]
    make = _row_type(table)
    listed = list(ids)
    out: list[_Pulled] = []
    for start in range(0, len(listed), 2000):
        # An IN list, not "= ANY(array)": PostgreSQL plans the array form worse under the
        # row-level security policies (measured: twice the wait in scripts/bench_sync.py).
        query = sa_select(columns).where(columns.c.id.in_(listed[start : start + 2000]))
        found = session.execute(query)
        names = tuple(found.keys())
        for values in found:
            row = make()
            row.__dict__.update(zip(names, values, strict=True))
            out.append(row)
    return out


def _fetch(remote: Session, entries: list[Any]) -> list[tuple[str, Any]]:
    wanted: dict[str, list[uuid.UUID]] = {}
    order = []
    for _id, _xid, table, row_id in entries:
        row_uuid = row_id if isinstance(row_id, uuid.UUID) else uuid.UUID(str(row_id))
        if table in PULLED or table == "holder_index":
            wanted.setdefault(table, []).append(row_uuid)
            order.append((table, row_uuid))
    found: dict[tuple[str, uuid.UUID], Any] = {}
    for table, ids in wanted.items():
        if table == "holder_index":
            for id_hash_, institution_id, since, updated_at, key in remote.execute(
                text(
                    "SELECT id_hash, institution_id, since, updated_at, md5(id_hash)::uuid "
                    "FROM holder_index WHERE md5(id_hash)::uuid = ANY(:ids)"
                ),
                {"ids": ids},
            ):
                found[(table, key)] = _HolderRow(
                    id_hash=id_hash_,
                    institution_id=institution_id,
                    since=since,
                    updated_at=updated_at,
                )
            continue
        for row in _read_rows(remote, table, set(ids)):
            found[(table, row.id)] = row
    # One entry per row, at its last mention (an updated index entry is logged again).
    seen: set[tuple[str, uuid.UUID]] = set()
    out = []
    for item in reversed(order):
        if item in found and item not in seen:
            seen.add(item)
            out.append((item[0], found[item]))
    return out[::-1]


class _HolderRow(_Pulled):
    """A pulled holder-index entry."""

    __table__ = models.HolderIndex.__table__  # type: ignore[attr-defined]


def _with_history(
    session: Session, remote: Session, rows: list[tuple[str, Any]], origin: uuid.UUID
) -> list[tuple[str, Any]]:
    """Rows of dossiers that have just come into this office's scope (a transfer to it):
    their earlier rows were logged before the pull cursor, so they are fetched by dossier
    from central's log (``central_log.dossier_id``; what row-level security lets this office
    see), oldest first, to be applied before the batch. A dossier this office has only as a
    copy (its header and custody, kept when it was served here for another office:
    services.nearby) counts as new: it has custody events, none naming this office; and so
    does a dossier the batch sends here (again), whose rows added elsewhere meanwhile are
    behind the cursor as well."""
    in_batch = {r.id for t, r in rows if t == "dossier"}
    referenced = {getattr(r, "dossier_id", None) for _t, r in rows} - {None} - in_batch
    if not referenced:
        return []
    missing = referenced - _present(session, "dossier", referenced)
    missing |= _copies_only(session, referenced - missing, origin)
    # Sent here (again): what others added since it left is behind the cursor too.
    missing |= {
        r.dossier_id
        for t, r in rows
        if t == "custody_event"
        and r.kind == "transferred_out"
        and r.holder_institution_id == origin
    } - in_batch
    if not missing:
        return []
    entries = remote.execute(
        text(
            "SELECT id, xid::text, table_name, row_id FROM central_log "
            "WHERE dossier_id = ANY(CAST(:ids AS uuid[])) ORDER BY xid, id"
        ),
        {"ids": [str(i) for i in missing]},
    ).all()
    return _fetch(remote, entries)


CLERK_COLUMNS: dict[str, tuple[str, ...]] = {
    "custody_event": ("clerk_id",),
    "material": ("created_by",),
    "service_visit": ("clerk_id",),
    "consultation": ("recorded_by",),
    "certificate": ("issued_by",),
    "certificate_event": ("clerk_id",),
}
"""Columns of pulled rows naming the account that made them (foreign keys to ``clerk``)."""

STUB_USERNAME = "{username}@{code}"
"""Local username of another institution's account (the local column is unique; central's
usernames are unique city-wide, so the institution code keeps them apart from this office's)."""


def _referenced(
    session: Session, remote: Session, rows: list[tuple[str, Any]], origin: uuid.UUID
) -> list[tuple[str, Any]]:
    """What the pulled ``rows`` refer to and this office lacks, to be applied before them:
    the service visits their certificates and consultations were made in (central shows an
    office another's visit when a fact it may see names it), and the accounts that made them
    or the visits. Accounts of another institution come through central's ``public_accounts``
    (public fields only) as :func:`account_stub` rows; this institution's own accounts come
    with the log (a missing one stops the pull, saying why)."""
    in_batch: dict[str, set[Any]] = {}
    for table, row in rows:
        if table in ("clerk", "service_visit"):
            in_batch.setdefault(table, set()).add(row.id)
    visit_ids = {
        r.visit_id for t, r in rows if t in ("certificate", "consultation") and r.visit_id
    } - in_batch.get("service_visit", set())
    out: list[tuple[str, Any]] = []
    if visit_ids:
        missing = visit_ids - _present(session, "service_visit", visit_ids)
        out += [("service_visit", v) for v in _read_rows(remote, "service_visit", missing)]
    clerk_ids = (
        {
            getattr(row, column)
            for table, row in [*rows, *out]
            for column in CLERK_COLUMNS.get(table, ())
        }
        - {None}
        - in_batch.get("clerk", set())
    )
    if clerk_ids:
        missing = clerk_ids - _present(session, "clerk", clerk_ids)
        if missing:
            out[:0] = [("clerk", s) for s in _account_stubs(session, remote, missing, origin)]
    return out


def _account_stubs(
    session: Session, remote: Session, ids: set[Any], origin: uuid.UUID
) -> list[_Pulled]:
    codes = dict(session.execute(sa_select(models.Institution.id, models.Institution.code)).all())  # type: ignore[arg-type]
    try:
        found = remote.execute(
            text("SELECT * FROM public_accounts(CAST(:ids AS uuid[]))"),
            {"ids": [str(i) for i in ids]},
        ).mappings()
    except DATABASE_ERRORS as exc:
        if getattr(getattr(exc, "orig", None), "sqlstate", None) != "42883":  # undefined_function
            raise
        raise SyncError(
            _(
                "The central database was prepared by an older version (it lacks {what}); "
                "nothing was received. Its administrator runs counter-tui central init "
                "again, then sync again."
            ).format(what="public_accounts"),
            reason="schema",
        ) from exc
    return [
        account_stub(row, codes.get(row["institution_id"], str(row["institution_id"])[:8]))
        for row in found
        if row["institution_id"] != origin
    ]


def account_stub(public: Any, institution_code: str) -> Any:
    """The local stand-in of another institution's account, from its public fields
    (``public``: a mapping with ``id``, ``institution_id``, ``username``, ``name``, ``role``,
    ``created_at``, as central's ``public_accounts`` returns them): the same id, institution,
    name, role and creation time; username :data:`STUB_USERNAME` (at most 64 characters: a
    long username is cut and keeps 8 hex digits of the id); inactive, no password hash, no
    own-ID hash — it names who made a fact and can never log in here."""
    suffix = "@" + institution_code
    username = str(public["username"])
    if len(username) + len(suffix) > 64:
        username = f"{username[: 64 - len(suffix) - 9]}~{uuid.UUID(str(public['id'])).hex[-8:]}"
    return _row_type("clerk")(
        id=public["id"],
        username=STUB_USERNAME.format(username=username, code=institution_code),
        name=str(public["name"])[:64],
        role=str(public["role"])[:16],
        institution_id=public["institution_id"],
        password_hash=None,
        id_number_hash=None,
        active=False,
        created_at=public["created_at"],
    )


def _apply(
    session: Session, rows: list[tuple[str, Any]], origin: uuid.UUID, result: SyncResult
) -> None:
    """Store the pulled ``rows`` (in central's log order) that are new here, table by table
    (parents first, :data:`APPLIED` order) in bulk; compare those already held (quarantine on
    a difference); skip those whose dossier or material is not here; seal the new ones in the
    access chain; and take them out of the outbox (they are not this office's to push)."""
    ids: dict[str, list[uuid.UUID]] = {}
    for table, row in rows:
        if table != "holder_index":
            ids.setdefault(table, []).append(row.id)
    held: dict[tuple[str, uuid.UUID], Any] = {}
    for table, wanted in ids.items():
        for row in _read_rows(session, table, set(wanted)):
            held[(table, row.id)] = row
    dossiers = _present(
        session, "dossier", {getattr(r, "dossier_id", None) for _t, r in rows} - {None}
    ) | {r.id for t, r in rows if t == "dossier"}
    materials = _present(
        session, "material", {getattr(r, "material_id", None) for _t, r in rows} - {None}
    ) | {r.id for t, r in rows if t == "material"}
    fresh: dict[str, list[Any]] = {}
    entries: list[Any] = []
    for table, row in rows:
        if table == "holder_index":
            entries.append(row)
            continue
        dossier_id = getattr(row, "dossier_id", None)
        material_id = getattr(row, "material_id", None)
        if (dossier_id is not None and dossier_id not in dossiers) or (
            material_id is not None and material_id not in materials
        ):
            # A fact of a dossier outside this office's scope (e.g. a custody event naming
            # this office, of a dossier since sent on): nothing here to attach it to.
            log.info("pulled %s %s skipped: its dossier or material is not here", table, row.id)
            result.skipped += 1
            continue
        there = held.get((table, row.id))
        if there is not None:
            if table not in MUTABLE and seals.row_content_hash(there) != seals.row_content_hash(
                row
            ):
                session.add(
                    SyncQuarantine(
                        table_name=table,
                        row_id=row.id,
                        direction="pull",
                        received=_canonical_json(row),
                        held=_canonical_json(there),
                        reason="same key, other content",
                    )
                )
                result.quarantined += 1
            continue
        held[(table, row.id)] = row
        fresh.setdefault(table, []).append(row)
    if fresh:
        _store(session, fresh, origin, result)
    _apply_holder_entries(session, entries)


def _store(
    session: Session, fresh: dict[str, list[Any]], origin: uuid.UUID, result: SyncResult
) -> None:
    """Insert the new rows table by table (one executemany each), take them out of the
    outbox, and seal them in the access chain after every earlier event (one executemany)."""
    session.flush()
    before = session.execute(text("SELECT max(seq) FROM sync_outbox")).scalar() or 0
    for table, model in APPLIED.items():
        group = fresh.get(table)
        if not group:
            continue
        try:
            session.execute(sa_insert(model.__table__), [_values(r) for r in group])  # type: ignore[attr-defined]
        except DATABASE_ERRORS as exc:
            raise SyncError(
                _(
                    "A {table} row ({id}) from the central database cannot be stored here "
                    "({error}); the pull stopped before it and will retry."
                ).format(
                    table=table,
                    id=group[0].id,
                    error=str(getattr(exc, "orig", exc)).splitlines()[0][:200],
                ),
                reason="cannot_apply",
            ) from exc
    # Pulled, not made here: not to be pushed back (the seals below are this office's own).
    session.execute(
        text("DELETE FROM sync_outbox WHERE seq > :before AND table_name <> 'access_event'"),
        {"before": before},
    )
    sealed = []
    dossier_of = _seal_dossiers(session, fresh)
    for table in APPLIED:
        for row in fresh.get(table, ()):
            if table in SEAL_KIND:
                sealed.append(
                    (
                        SEAL_KIND[table],
                        dossier_of(table, row),
                        row.id,
                        _CONTENT.get(table, seals.row_content_hash)(row),
                    )
                )
            result.pulled += 1
    _append_seals(session, sealed, origin)


def _seal_dossiers(session: Session, fresh: dict[str, list[Any]]) -> Callable[[str, Any], Any]:
    """``(table, row) -> dossier id`` for the seal of a pulled row, as the office's own seals
    name it: a dossier itself, a page's material's dossier, a certificate event's
    certificate's dossier (services.certificate_verify reads a certificate's seals by
    dossier), the row's ``dossier_id`` otherwise."""
    material = {r.id: r.dossier_id for r in fresh.get("material", ())}
    certificate = {r.id: r.dossier_id for r in fresh.get("certificate", ())}
    material.update(
        _dossiers_of(
            session, "material", {r.material_id for r in fresh.get("page", ())} - set(material)
        )
    )
    certificate.update(
        _dossiers_of(
            session,
            "certificate",
            {r.certificate_id for r in fresh.get("certificate_event", ())} - set(certificate),
        )
    )

    def dossier_of(table: str, row: Any) -> Any:
        if table == "dossier":
            return row.id
        if table == "page":
            return material.get(row.material_id)
        if table == "certificate_event":
            return certificate.get(row.certificate_id)
        return getattr(row, "dossier_id", None)

    return dossier_of


def _dossiers_of(session: Session, table: str, ids: set[Any]) -> dict[Any, Any]:
    """``id -> dossier_id`` of the rows of ``table`` here whose id is in ``ids``."""
    columns = APPLIED[table].__table__.c  # type: ignore[attr-defined]
    listed = list(ids)
    found: dict[Any, Any] = {}
    for start in range(0, len(listed), 2000):
        query = sa_select(columns.id, columns.dossier_id).where(
            columns.id.in_(listed[start : start + 2000])
        )
        found.update(session.execute(query).tuples().all())
    return found


_CONTENT: dict[str, Callable[[Any], str]] = {
    "material": fixity.material_content_hash,
    "page": fixity.page_content_hash,
    "certificate": certificate_audit.certificate_content_hash,
    "certificate_event": certificate_audit.certificate_event_content_hash,
    "signing_key_list": certificate_audit.key_list_content_hash,
}
"""Content hash of a sealed row, by table (services.seals.row_content_hash for the others)."""


def _append_seals(
    session: Session, sealed: list[tuple[str, Any, Any, str]], origin: uuid.UUID
) -> None:
    """Append one access event per ``(kind, dossier id, target id, content hash)`` after the
    chain's head, hashed and MACed as services.access_log.Chain.append does (canonical
    content, SHA-256 over it and the previous hash, HMAC under the chain key), inserted in
    one executemany instead of one ORM object each."""
    if not sealed:
        return
    chain = access_log.Chain(session)  # the head, the chain key (and PostgreSQL's lock)
    seq, head, key = chain.seq, chain.head, chain.key
    events = []
    for kind, dossier_id, target_id, reason in sealed:
        if kind not in access_log.KINDS:
            raise ValueError(f"unknown access event kind {kind!r}")
        seq += 1
        event = types.SimpleNamespace(
            id=models.new_id(),
            seq=seq,
            at=models.utcnow(),
            clerk_id=None,
            institution_id=origin,
            kind=kind,
            dossier_id=dossier_id,
            target_id=target_id,
            reason=reason[:255],
            prev_hash=head,
        )
        event.hash = head = access_log.compute_hash(event)  # type: ignore[arg-type]
        event.mac = key.mac(head) if key else ""
        events.append(vars(event))
    session.execute(sa_insert(models.AccessEvent.__table__), events)  # type: ignore[attr-defined]


def _by_id(session: Session, model: type[SQLModel], ids: Iterable[Any]) -> list[SQLModel]:
    """The rows of ``model`` whose id is in ``ids``, read 500 ids to a query."""
    listed = list(ids)
    rows: list[SQLModel] = []
    for start in range(0, len(listed), 500):
        chunk = listed[start : start + 500]
        rows += session.exec(select(model).where(col(model.id).in_(chunk))).all()  # type: ignore[attr-defined]
    return rows


def _copies_only(session: Session, dossier_ids: set[Any], origin: uuid.UUID) -> set[Any]:
    """Which of ``dossier_ids`` have custody events here but none naming ``origin``: copies
    kept to serve another office's dossier (services.nearby), whose catalogue is not here."""
    if not dossier_ids:
        return set()
    table = models.CustodyEvent.__table__  # type: ignore[attr-defined]
    listed = list(dossier_ids)
    with_events: set[Any] = set()
    ours: set[Any] = set()
    for start in range(0, len(listed), 2000):
        chunk = listed[start : start + 2000]
        for dossier_id, holder in session.execute(
            sa_select(table.c.dossier_id, table.c.holder_institution_id)
            .where(table.c.dossier_id.in_(chunk))
            .distinct()
        ):
            with_events.add(dossier_id)
            if holder == origin:
                ours.add(dossier_id)
    return with_events - ours


def _present(session: Session, table: str, wanted: Iterable[Any]) -> set[Any]:
    """Which of the ids ``wanted`` exist in ``table`` here (ids only, 2,000 to a query)."""
    column = APPLIED[table].__table__.c.id  # type: ignore[attr-defined]
    listed = list(set(wanted))
    found: set[Any] = set()
    for start in range(0, len(listed), 2000):
        chunk = listed[start : start + 2000]
        found.update(session.execute(sa_select(column).where(column.in_(chunk))).scalars())
    return found


def _apply_holder_entries(session: Session, entries: list[Any]) -> None:
    """Apply pulled holder-index entries (after the institutions they name) in one upsert
    statement per entry, executed together: the later ``since`` wins."""
    if not entries:
        return
    table = models.HolderIndex.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    upsert = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)
    statement = upsert.on_conflict_do_update(
        index_elements=[table.c.id_hash],
        set_={
            "institution_id": upsert.excluded.institution_id,
            "since": upsert.excluded.since,
            "updated_at": upsert.excluded.updated_at,
        },
        where=table.c.since <= upsert.excluded.since,
    )
    session.execute(statement, [_values(e) for e in entries])


def apply_rows(
    session: Session,
    rows: list[tuple[str, SQLModel]],
    origin: uuid.UUID,
    *,
    central: Session | None = None,
) -> SyncResult:
    """Store rows of central's tables read by another path than the pull (services.nearby:
    a dossier served here for another office) exactly as pulled rows are stored: new ones
    sealed, known ones compared (quarantined on a difference), never pushed back. Inside the
    caller's write transaction; ``rows`` parents first. With ``central`` (a session on the
    central database), the accounts and visits the rows name and this office lacks are
    fetched first, as the pull does (:func:`_referenced`). Raises SyncError ``cannot_apply``
    (e.g. a row naming an account this office does not have, without ``central``)."""
    result = SyncResult()
    listed: list[tuple[str, Any]] = list(rows)
    if central is not None:
        listed = _referenced(session, central, listed, origin) + listed
    _apply(session, listed, origin, result)
    return result


# --- once ----------------------------------------------------------------------------------


def sync_once(
    office: Database,
    central: Database,
    origin: uuid.UUID,
    *,
    archive_root: Path | None = None,
    batch: int = BATCH,
) -> SyncResult:
    """Push, then pull, then record the outcome (module docstring). Raises SyncError (a
    database failure of central is one too: ``unreachable`` or ``refused``, with the operator's
    sentence of db.engine.explain), after recording the error for the status line; errors of
    the office's own database propagate as they are."""
    started = time.perf_counter()
    result = SyncResult()
    try:
        try:
            push(office, central, origin, batch=batch, result=result, archive_root=archive_root)
            pull(office, central, origin, batch=batch, result=result, archive_root=archive_root)
            nearby_records.pull_records(office, central, origin)
        except DATABASE_ERRORS as exc:
            explained = explain(exc, central.url)
            reason = getattr(explained, "reason", "unreachable")
            raise SyncError(
                str(explained), reason="refused" if reason == "refused" else "unreachable"
            ) from exc
    except SyncError as exc:
        record_outcome(office, str(exc).splitlines()[0])
        raise
    record_outcome(office)
    result.seconds = time.perf_counter() - started
    return result


def status_text(state: SyncStatus, *, online: bool | None) -> str:
    """One short line for the counter's top bar (UI language): online or offline (with the
    last error in plain words), unsynced facts, the last successful sync (Beijing time), and
    quarantined rows when there are any. ``online`` None: no sync tried yet."""
    parts = []
    if online is None:
        parts.append(_("central: not yet synced"))
    elif online:
        parts.append(_("central: online"))
    else:
        parts.append(_("central: offline"))
    parts.append(_("unsynced {n}").format(n=state.unsynced))
    if state.last_sync is not None:
        parts.append(_("last sync {time}").format(time=clock.local_time(state.last_sync)))
    if state.quarantined:
        parts.append(_("{n} quarantined: tell the auditor").format(n=state.quarantined))
    line = " · ".join(parts)
    if online is False and state.last_error:
        line += " — " + state.last_error
    return line
