"""Custody: who holds a dossier now, where it stands, and since when.

Current state is derived from the append-only custody_event rows: the latest event names the
holder and shelf; "since" is the first event of the latest unbroken run with that holder.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, select

from counter_tui.db.models import CustodyEvent


@dataclass(frozen=True)
class CustodyState:
    """A dossier's current holder, shelf location and the time the holder took it over."""

    holder_id: uuid.UUID | None
    shelf_location: str
    since: dt.datetime | None
    transferred_out: bool

    def held_by(self, institution_id: uuid.UUID | None) -> bool:
        """True when ``institution_id`` holds the dossier now ("held here"): it is the latest
        holder and the dossier has not been transferred out. Every service that serves,
        cites or adds to a dossier asks this one question."""
        return (
            institution_id is not None
            and self.holder_id == institution_id
            and not self.transferred_out
        )


def state_from_events(events: Iterable[CustodyEvent]) -> CustodyState:
    """Derive the state from one dossier's events (any order)."""
    ordered = sorted(events, key=lambda e: (e.at, e.id))
    if not ordered:
        return CustodyState(None, "", None, False)
    last = ordered[-1]
    since = last.at
    for event in reversed(ordered):
        if event.holder_institution_id != last.holder_institution_id:
            break
        since = event.at
    shelf = next((e.shelf_location for e in reversed(ordered) if e.shelf_location), "")
    return CustodyState(
        last.holder_institution_id,
        shelf if last.kind != "transferred_out" else "",
        since,
        last.kind == "transferred_out",
    )


def states(session: Session, dossier_ids: list[uuid.UUID]) -> dict[uuid.UUID, CustodyState]:
    """Current custody state of each dossier in ``dossier_ids`` (one query)."""
    if not dossier_ids:
        return {}
    rows = session.exec(
        select(CustodyEvent).where(CustodyEvent.dossier_id.in_(dossier_ids))  # type: ignore[attr-defined]
    ).all()
    grouped: dict[uuid.UUID, list[CustodyEvent]] = {d: [] for d in dossier_ids}
    for row in rows:
        grouped[row.dossier_id].append(row)
    return {d: state_from_events(evts) for d, evts in grouped.items()}
