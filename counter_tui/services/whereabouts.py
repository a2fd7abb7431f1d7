"""Where is my dossier: the holder of the dossier of a resident ID or dossier number, for
phone enquiries (``counter-tui locate``), as the 12333 "档案存档情况查看" service tells an
applicant.

Only the holding institution (name, code, address), since when it holds the dossier, or that
the dossier is in transit, is told: nothing of the person (not even the name), so the answer
to a wrong or someone else's number reveals nothing but a whereabouts. Read-only: it opens no
write transaction and logs nothing (the command opens the database read-only; a lookup at the
counter, which is logged, goes through services.lookup). Anyone who can run the command on the
archive's computer may ask, as anyone may verify a certificate (docs/SECURITY.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import or_, select

from counter_tui.db.engine import Database
from counter_tui.db.models import Dossier, Institution
from counter_tui.domain import queries, resident_id
from counter_tui.domain.clock import local_date
from counter_tui.i18n import _
from counter_tui.services import custody, holder_index


@dataclass(frozen=True)
class Whereabouts:
    """The answer to "where is the dossier of …".

    ``status``: ``held`` (an institution holds it), ``in_transit`` (sent, not yet received;
    ``holder_*`` name the receiver when it is in this archive), ``unrecorded`` (a dossier
    without custody events), ``none`` (no dossier of that number here) or ``invalid`` (the
    text is not a resident ID or dossier number; ``message`` says why). ``since``: aware UTC
    time the holder received it (in transit: when it was sent); ``message``: one sentence for
    the operator in the UI language.
    """

    status: str
    message: str
    holder_code: str = ""
    holder_name: str = ""
    holder_address: str = ""
    since: dt.datetime | None = None

    def as_json(self) -> dict[str, object]:
        """A JSON-ready dict: status, holder (code, name, address), since as a Beijing-time
        date ``YYYY-MM-DD`` (or null) and the message."""
        return {
            "status": self.status,
            "holder_code": self.holder_code,
            "holder_name": self.holder_name,
            "holder_address": self.holder_address,
            "since": local_date(self.since) if self.since else None,
            "message": self.message,
        }


def locate(db: Database, text: str) -> Whereabouts:
    """Where the dossier of the resident ID or dossier number ``text`` is (module docstring).
    A resident ID is checked (GB 11643-1999, 15-digit legacy numbers upgraded); a digits-only
    text that is not a valid ID is also tried as a dossier number. Never raises for bad input
    (``invalid``); raises StorageBusyError / SQLAlchemy errors for database failures."""
    query = queries.classify(text)
    if query.kind in ("empty", "too_long", "multi_line", "unrecognised", "name"):
        return Whereabouts(
            "invalid", _("Type one resident ID or dossier number (a name is not enough).")
        )
    with db.read() as session:
        if query.kind == "resident_id":
            number_ok = False
            try:
                number = resident_id.parse(query.value)
            except resident_id.ResidentIdError as exc:
                dossier = _by_number(session, query.value)
                if dossier is None:
                    return Whereabouts("invalid", str(exc))
            else:
                number_ok = True
                dossier = session.exec(select(Dossier).where(Dossier.id_number == number)).first()
            shown = resident_id.mask(query.value)
        else:
            dossier = _by_number(session, query.value)
            shown = query.value
        if dossier is None and query.kind == "resident_id" and number_ok:
            entry = holder_index.lookup(session, number)
            if entry is not None:
                return from_index(shown, entry)
        if dossier is None:
            return Whereabouts(
                "none",
                _("No dossier of {value} is recorded in this archive.").format(value=shown),
            )
        state = custody.states(session, [dossier.id])[dossier.id]
        institutions = {i.id: i for i in session.exec(select(Institution))}
        names = {i.id: i.name for i in institutions.values()}
        where = custody.whereabouts(state, names)
        shown_id = state.destination_id if state.in_transit else state.holder_id
        holder = institutions.get(shown_id) if shown_id else None
        if holder is not None and holder.address:
            message = _("The dossier of {value} is {whereabouts}. Address: {address}.").format(
                value=shown, whereabouts=where, address=holder.address
            )
        else:
            message = _("The dossier of {value} is {whereabouts}.").format(
                value=shown, whereabouts=where
            )
        status = "in_transit" if state.in_transit else "held" if state.holder_id else "unrecorded"
        return Whereabouts(
            status,
            message,
            holder_code=holder.code if holder else "",
            holder_name=holder.name if holder else "",
            holder_address=holder.address if holder else "",
            since=state.since,
        )


def from_index(shown: str, entry: holder_index.HolderEntry) -> Whereabouts:
    """The answer from the city's holder index (the dossier is not in this archive)."""
    contact = " · ".join(
        part
        for part in (
            _("address {address}").format(address=entry.address) if entry.address else "",
            _("phone {phone}").format(phone=entry.phone) if entry.phone else "",
        )
        if part
    )
    message = _(
        "The dossier of {value} is held by {holder} since {since} (city holder index, as of "
        "the last sync)."
    ).format(value=shown, holder=entry.institution_name, since=local_date(entry.since))
    if contact:
        message += " " + contact
    return Whereabouts(
        "held",
        message,
        holder_code=entry.institution_code,
        holder_name=entry.institution_name,
        holder_address=entry.address,
        since=entry.since,
    )


def _by_number(session, value: str) -> Dossier | None:  # noqa: ANN001 - a sqlmodel Session
    value = queries.normalise_dossier_no(value)
    return session.exec(
        select(Dossier).where(or_(Dossier.dossier_no == value, Dossier.barcode == value))
    ).first()
