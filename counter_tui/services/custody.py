"""Custody: who holds a dossier now, where it stands, and since when — or where it is going.

Current state is derived from the append-only custody_event rows, in time order. An event of
kind ``transferred_out`` names the receiving institution as its holder: from then on the
dossier is in transit (转出待接收), held by neither the sender nor the receiver, until an event
of the receiver (``received``, ``shelved``…) records its arrival. "Since" is the time the
current holder took the dossier over (its receipt), or, in transit, the send date.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlmodel import Session, col, exists, select

from counter_tui.db.models import CustodyEvent, SyncQuarantine
from counter_tui.domain.clock import local_date
from counter_tui.i18n import _
from counter_tui.services import access_log, seals


@dataclass(frozen=True)
class CustodyState:
    """A dossier's current custody.

    ``holder_id``: the institution holding it now (None while in transit or without events);
    ``shelf_location``: its place on the holder's shelves ("" until shelved there);
    ``since``: aware UTC time the holder received it or, in transit, the time it was sent;
    ``in_transit``: sent out and not yet received (转出待接收);
    ``destination_id``: the receiving institution while in transit (None when the receiver is
    not in this database).
    """

    holder_id: uuid.UUID | None
    shelf_location: str
    since: dt.datetime | None
    in_transit: bool = False
    destination_id: uuid.UUID | None = None

    def held_by(self, institution_id: uuid.UUID | None) -> bool:
        """True when ``institution_id`` holds the dossier now ("held here"). A dossier in
        transit is held by neither end. Every service that serves, cites or adds to a dossier
        asks this one question."""
        return (
            institution_id is not None and not self.in_transit and self.holder_id == institution_id
        )


class EventFacts(Protocol):
    """What :func:`state_from_events` reads of a custody event: a :class:`CustodyEvent` row,
    or a tuple of these columns read without the ORM (services.lookup)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def kind(self) -> str: ...
    @property
    def holder_institution_id(self) -> uuid.UUID: ...
    @property
    def shelf_location(self) -> str: ...
    @property
    def at(self) -> dt.datetime: ...


def state_from_events(events: Iterable[EventFacts]) -> CustodyState:
    """Derive the state from one dossier's events (any order; the latest by ``(at, id)``
    decides, see the module docstring). ``events``: CustodyEvent rows or any objects with
    their ``id``, ``kind``, ``holder_institution_id``, ``shelf_location`` and ``at``."""
    holder: uuid.UUID | None = None
    destination: uuid.UUID | None = None
    in_transit = False
    since: dt.datetime | None = None
    shelf = ""
    for event in sorted(events, key=lambda e: (e.at, e.id)):
        if event.kind == "transferred_out":
            # The event names the receiver; one naming the sender itself went to a receiver
            # outside this database.
            sender = holder
            destination = (
                None if event.holder_institution_id == sender else event.holder_institution_id
            )
            holder, in_transit, since, shelf = None, True, event.at, ""
            continue
        if in_transit or event.holder_institution_id != holder:
            holder, destination, in_transit = event.holder_institution_id, None, False
            since, shelf = event.at, ""
        if event.shelf_location:
            shelf = event.shelf_location
    return CustodyState(holder, shelf, since, in_transit, destination)


def states(session: Session, dossier_ids: list[uuid.UUID]) -> dict[uuid.UUID, CustodyState]:
    """Current custody state of each dossier in ``dossier_ids`` (one query).

    The rule for concurrent custody changes (two counters offline each sending a dossier
    away): the central database accepts the first that reaches it; the other, recorded by an
    office that by then no longer held the dossier there, is refused by central
    (services.sync keeps it in ``sync_quarantine`` as ``refused``). Such a refused event stays
    a fact of this database but is left out here, so every office derives the holder central
    derives; the archivist resolves the conflict (a new transfer or receipt)."""
    if not dossier_ids:
        return {}
    rows = session.exec(
        select(CustodyEvent).where(
            CustodyEvent.dossier_id.in_(dossier_ids),  # type: ignore[attr-defined]
            not_refused(CustodyEvent.id),
        )
    ).all()
    grouped: dict[uuid.UUID, list[CustodyEvent]] = {d: [] for d in dossier_ids}
    for row in rows:
        grouped[row.dossier_id].append(row)
    return {d: state_from_events(evts) for d, evts in grouped.items()}


def not_refused(event_id):  # noqa: ANN001, ANN201 - SQL expressions
    """The condition "custody event ``event_id`` (a column) was not refused by central": no
    ``sync_quarantine`` row of direction ``refused`` names it. :func:`states` and every other
    reader of custody (services.lookup) leave refused events out with it, so all derive the
    same holder. ``NOT EXISTS`` probes ix_sync_quarantine_row_id per event, so a lookup does
    not read the whole quarantine (central's grows with every office's refused pushes)."""
    return ~exists().where(
        col(SyncQuarantine.row_id) == event_id,
        col(SyncQuarantine.direction) == "refused",
        col(SyncQuarantine.table_name) == "custody_event",
    )


def whereabouts(state: CustodyState, names: Mapping[uuid.UUID, str]) -> str:
    """Where the dossier is, in the UI language, to follow "Dossier X (name) is …": "held by
    {holder} since {date}" or "in transit to {receiver} since {date}, not yet received"
    (转出待接收), dates in Beijing time. ``names`` maps institution ids to names
    (services.workplace.institution_names)."""
    since = local_date(state.since) or "?"
    if state.in_transit:
        receiver = names.get(state.destination_id) if state.destination_id else None
        return _("in transit to {receiver} since {since}, not yet received").format(
            receiver=receiver or _("an institution outside this archive"), since=since
        )
    if state.holder_id is None:
        return _("without any custody record")
    holder = names.get(state.holder_id) or _("an unknown institution")
    return _("held by {holder} since {since}").format(holder=holder, since=since)


def register_event(
    chain: access_log.Chain,
    event: CustodyEvent,
    *,
    clerk_id: uuid.UUID | None = None,
) -> None:
    """Seal a newly recorded custody event into the chain (``custody_event_added``, content
    :func:`services.seals.row_content_hash`); call in the transaction that inserts it."""
    chain.append(
        kind="custody_event_added",
        clerk_id=clerk_id or event.clerk_id,
        institution_id=event.holder_institution_id,
        dossier_id=event.dossier_id,
        target_id=event.id,
        reason=seals.row_content_hash(event),
    )
