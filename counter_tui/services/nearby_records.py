"""Who looked at this office's dossiers elsewhere: central's 就近办理 records (services.nearby,
services.central_nearby_sql ``nearby_access``) copied into the holder's own access chain by
every sync (services.sync.sync_once), so the holder's auditors see them beside the views made
at their own counters."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from counter_tui.db.engine import Database
from counter_tui.db.models import Dossier, Institution, SyncState
from counter_tui.services import access_log

CURSOR_KEY = "nearby_cursor"
"""sync_state key of :func:`pull_records`'s cursor ``"<xid>:<record uuid>"``."""

_START = "0:00000000-0000-0000-0000-000000000000"


def pull_records(
    office: Database, central: Database, origin: uuid.UUID, *, batch: int = 500
) -> int:
    """Copy central's records of other offices viewing or issuing from dossiers that
    ``origin`` holds into this office's access chain (``nearby_viewed_elsewhere`` /
    ``nearby_issued_elsewhere``; institution = the other office; target = the central record;
    reason = its code, the clerk's username and name, the serial), in central's (xid, id)
    order below the snapshot's xmin (as services.sync's pull), the cursor moving in the same
    local transaction. Returns the number of records copied. Raises SQLAlchemy / driver
    errors (the caller, services.sync, reports them)."""
    copied = 0
    while True:
        with office.write() as session:
            cursor = session.get(SyncState, CURSOR_KEY)
            xid, _sep, last = (cursor.value if cursor else _START).partition(":")
            with central.read() as remote:
                rows = remote.execute(
                    text(
                        "SELECT id, xid::text, action, dossier_id, office_institution_id, "
                        "clerk_username, clerk_name, serial FROM nearby_access "
                        "WHERE holder_institution_id = :me AND office_institution_id <> :me "
                        "AND (xid > CAST(:x AS xid8) OR (xid = CAST(:x AS xid8) "
                        "AND id > CAST(:i AS uuid))) "
                        "AND xid < pg_snapshot_xmin(pg_current_snapshot()) "
                        "ORDER BY xid, id LIMIT :n"
                    ),
                    {"me": origin, "x": xid, "i": last, "n": batch},
                ).all()
            if not rows:
                return copied
            _record(session, rows)
            end = f"{rows[-1][1]}:{rows[-1][0]}"
            if cursor is None:
                session.add(SyncState(key=CURSOR_KEY, value=end))
            else:
                cursor.value = end
                session.add(cursor)
            copied += len(rows)


def _record(session: Session, rows: list[Any]) -> None:
    dossiers = {r[3] for r in rows}
    present = set(session.exec(select(Dossier.id).where(col(Dossier.id).in_(dossiers))))
    codes = {
        i.id: i.code
        for i in session.exec(
            select(Institution).where(col(Institution.id).in_({r[4] for r in rows}))
        )
    }
    chain = access_log.Chain(session)
    for record_id, _xid, action, dossier_id, office_id, username, name, serial in rows:
        office_code = codes.get(office_id, str(office_id))
        chain.append(
            kind="nearby_issued_elsewhere" if action == "issue" else "nearby_viewed_elsewhere",
            clerk_id=None,
            institution_id=office_id if office_id in codes else None,
            dossier_id=dossier_id if dossier_id in present else None,
            target_id=record_id,
            reason=" ".join(p for p in (office_code, username, name, serial) if p),
        )
