"""Finding a dossier from what the counter received: a resident ID, a dossier number or a name.

:func:`find` classifies the text (counter_tui.domain.queries), validates a resident ID
(GB 11643-1999) and searches. Only the counter roles look up (services.authorization rule
``lookup``). Clerks serve dossiers held by their own institution. A resident ID or dossier number
held elsewhere tells only where it is (holder and since when: an applicant asking where their
dossier is; nothing of the person) and is written to the access log (kind ``refused``, reason
``lookup: held_elsewhere`` or ``lookup: in_transit``). A name search lists only dossiers held
here and says how many of that name are held elsewhere, without naming them.

Reads are SQLAlchemy Core, rows as tuples, no ORM objects (issue 13: at the counter the ORM
cost about ten times the statements themselves). A dossier number, barcode or resident ID is
one statement: the account's ``active`` and ``role``, the dossier, its custody events (refused
ones left out, custody.not_refused) and their institutions' names; the custody state is
derived by custody.state_from_events, the rule custody.states applies.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import Session, func, select

from counter_tui.db.engine import Database
from counter_tui.db.models import Clerk, CustodyEvent, Dossier, Institution
from counter_tui.domain import queries, resident_id
from counter_tui.domain.clock import local_date
from counter_tui.i18n import _, ngettext
from counter_tui.read_models import DossierSummary, LookupOutcome, Visit
from counter_tui.services import access_log, authorization, custody, holder_index, viewing, visits
from counter_tui.services.workplace import Workplace

NAME_RESULTS_LIMIT = 50

# The tables as Core: a lookup reads tuples, never ORM rows (issue 13: the ORM cost ~10× the
# statements themselves at the counter).
_DOSSIER = Dossier.__table__  # type: ignore[attr-defined]
_CUSTODY = CustodyEvent.__table__  # type: ignore[attr-defined]
_INSTITUTION = Institution.__table__  # type: ignore[attr-defined]
_CLERK = Clerk.__table__  # type: ignore[attr-defined]
_DOSSIER_FACTS = (
    _DOSSIER.c.id,
    _DOSSIER.c.dossier_no,
    _DOSSIER.c.person_name,
    _DOSSIER.c.id_number,
    _DOSSIER.c.gender,
    _DOSSIER.c.birth_date_recorded,
)


class _DossierFacts(NamedTuple):
    """What a lookup shows of a dossier, read without the ORM."""

    id: uuid.UUID
    dossier_no: str
    person_name: str
    id_number: str | None
    gender: str
    birth_date_recorded: str


class _EventFacts(NamedTuple):
    """What custody.state_from_events reads of a custody event, read without the ORM."""

    id: uuid.UUID
    kind: str
    holder_institution_id: uuid.UUID
    shelf_location: str
    at: dt.datetime  # aware UTC (the column's type converts it)


@dataclasses.dataclass(frozen=True)
class _Read:
    """The dossiers one statement found, with their custody states and the names of the
    institutions their custody events name; ``account_ok``: whether the same statement saw an
    active account allowed to look up (None when it found no dossier, so saw no account)."""

    dossiers: list[_DossierFacts]
    states: dict[uuid.UUID, custody.CustodyState]
    names: dict[uuid.UUID, str]
    account_ok: bool | None


def _summaries(
    dossiers: list[_DossierFacts],
    workplace: Workplace,
    states: dict[uuid.UUID, custody.CustodyState],
    names: dict[uuid.UUID, str],
) -> list[DossierSummary]:
    """Summaries of ``dossiers``; one held elsewhere keeps only its holder and since-date
    (and its number: the caller drops it when it was not typed). ``states``: their custody
    states and ``names``: the names of the institutions their custody events name, both read
    by the same statement as the dossiers (:func:`_collect`)."""
    here_id = workplace.institution.id
    if all(states[d.id].holder_id in (None, here_id) for d in dossiers):
        names = {**names, here_id: workplace.institution.name}
    out = []
    for d in dossiers:
        st = states[d.id]
        if not st.held_by(workplace.institution.id):
            out.append(
                DossierSummary(
                    id=d.id,
                    dossier_no=d.dossier_no,
                    person_name="",
                    id_masked="",
                    gender="",
                    birth_date_recorded="",
                    holder_name=names.get(st.holder_id, "") if st.holder_id else "",
                    held_here=False,
                    since=st.since,
                )
            )
            continue
        out.append(
            DossierSummary(
                id=d.id,
                dossier_no=d.dossier_no,
                person_name=d.person_name,
                id_masked=resident_id.mask(d.id_number or ""),
                gender=d.gender,
                birth_date_recorded=d.birth_date_recorded,
                holder_name=names.get(st.holder_id, "") if st.holder_id else "",
                held_here=st.held_by(workplace.institution.id),
                since=st.since,
            )
        )
    return out


def find(db: Database, text: str, workplace: Workplace) -> LookupOutcome:
    """Look up what was typed or scanned, in one read session (and one write transaction when
    a resident ID or dossier number held elsewhere is logged). A dossier number, barcode or
    valid resident ID is one statement (on PostgreSQL in autocommit: no BEGIN / ROLLBACK
    round trips); a name search one per batch of 51 candidates (the account, the candidates
    in name order, their custody and names), and a count. Never raises for bad input:
    returns ``invalid``. Raises authorization.Forbidden (logged) when the account may not
    look up (rule ``lookup``: none, disabled, or not a counter role), StorageBusyError /
    SQLAlchemy errors for database failures."""
    with authorization.refusals_logged(db, workplace), contextlib.ExitStack() as opened:
        # A read session is opened only if the lookup needs one: a dossier found by number,
        # barcode or resident ID is read by db.read_rows, outside any session or transaction.
        session = functools.cache(lambda: opened.enter_context(db.read()))
        outcome = _find(db, session, text, workplace)
    told = _whereabouts_told(outcome)
    if told is not None or outcome.reason == "holder_index":
        with db.write() as session:
            _log_whereabouts(session, workplace, told, outcome)
    return outcome


def _whereabouts_told(outcome: LookupOutcome) -> uuid.UUID | None:
    """The dossier whose whereabouts the outcome tells (a resident ID or dossier number held
    elsewhere), which the access log records; else None."""
    if outcome.status == "held_elsewhere" and outcome.matches:
        return outcome.matches[0].id
    return None


def _log_whereabouts(
    session: Session, workplace: Workplace, dossier_id: uuid.UUID | None, outcome: LookupOutcome
) -> None:
    access_log.append(
        session,
        kind="refused",
        clerk_id=workplace.clerk.id if workplace.clerk else None,
        institution_id=workplace.institution.id,
        dossier_id=dossier_id,
        target_id=dossier_id,
        reason="lookup: " + (outcome.reason or "held_elsewhere"),
    )


def _find(
    db: Database, session: Callable[[], Session], text: str, workplace: Workplace
) -> LookupOutcome:
    """Look up what was typed or scanned. Never raises for bad input: returns ``invalid``.
    A dossier number, barcode or resident ID is read by one statement outside any session
    (:func:`_read_dossiers`); ``session()`` gives the read session for the rest (name
    search, the authorization rule when refused, the holder index), the same one each call.

    Raises authorization.Forbidden (not logged: the caller's refusals_logged does) when the
    account may not look up; StorageBusyError / SQLAlchemy errors for database failures.
    """
    query = queries.classify(text)
    number, id_error = None, None
    if query.kind == "resident_id":
        try:
            number = resident_id.parse(query.value)
        except resident_id.ResidentIdError as exc:
            id_error = exc
    if query.kind == "dossier_no" or number is not None:
        # The common case (a scan, a typed number or ID): one statement reads the account,
        # the dossier, its custody events and their institutions' names.
        if number is not None:
            read = _read_dossiers(db, workplace, id_number=number)
        else:
            read = _read_dossiers(db, workplace, dossier_no=query.value)
        if not read.account_ok:
            # Refused, or no dossier found (so no account read): the rule itself decides.
            authorization.require(session(), workplace, "lookup")
        if not read.dossiers:
            return _not_found(session(), query)
        return _outcome(read, query, workplace)
    if query.kind == "name" and query.value:
        return _find_by_name(session(), query, workplace)  # checks the account itself
    authorization.require(session(), workplace, "lookup")
    if query.kind == "empty":
        return LookupOutcome(
            "invalid",
            query.kind,
            _("Scan a barcode or type a resident ID, a dossier number or /name."),
            reason="empty",
        )
    if query.kind == "too_long":
        return LookupOutcome(
            "invalid",
            query.kind,
            _(
                "That is too long for an ID or dossier "
                "number ({n} characters); was something pasted by mistake?"
            ).format(n=len(query.value)),
            reason="too_long",
        )
    if query.kind == "multi_line":
        return LookupOutcome(
            "invalid",
            query.kind,
            _("Several lines were pasted; keep only one ID or dossier number."),
            reason="multi_line",
        )
    if query.kind == "unrecognised":
        return LookupOutcome(
            "invalid",
            query.kind,
            _("Not a resident ID, dossier number or name; use /name to search by name."),
            reason="unrecognised",
        )
    if id_error is not None:
        # Some archives number dossiers with digits only: try that before blaming the ID.
        read = _read_dossiers(db, workplace, dossier_no=query.value)
        if read.dossiers:
            return _outcome(read, queries.Query("dossier_no", query.value), workplace)
        message = str(id_error)
        if len(query.value) < 15:
            message = _("No dossier number {value}; as a resident ID: {error}").format(
                value=query.value, error=message
            )
        return LookupOutcome("invalid", query.kind, message, reason=id_error.reason)
    if not query.value:
        return LookupOutcome("invalid", query.kind, _("Type a name after /."), reason="empty")
    return _find_by_name(session(), query, workplace)


def _find_by_name(session: Session, query: queries.Query, workplace: Workplace) -> LookupOutcome:
    """Dossiers held here whose name starts with the query, at most NAME_RESULTS_LIMIT; of
    those held elsewhere only how many there are is told (not when the list is truncated)."""
    here_id = workplace.institution.id
    clerk = workplace.clerk if workplace else None
    byte_range, params = _name_starts_with(session, query.value)
    params.update(here_id=here_id, clerk_id=clerk.id if clerk else None)
    batch = NAME_RESULTS_LIMIT + 1
    here: list[_DossierFacts] = []
    held_states: dict[uuid.UUID, custody.CustodyState] = {}
    names: dict[uuid.UUID, str] = {}
    connection = session.connection()
    keyset = False  # the next batch starts after the last candidate (keyset, not OFFSET)
    account_checked = False
    while len(here) <= NAME_RESULTS_LIMIT:
        read = _collect(
            connection.execute(_name_batch_statement(byte_range, keyset), params), workplace
        )
        if not account_checked and not read.account_ok:
            # Refused, or no candidate (so no account read): the rule itself decides.
            authorization.require(session, workplace, "lookup")
        account_checked = True
        names.update(read.names)
        held_states.update(read.states)
        here.extend(d for d in read.dossiers if read.states[d.id].held_by(here_id))
        if len(read.dossiers) < batch:
            break
        keyset = True
        params.update(last_name=read.dossiers[-1].person_name, last_no=read.dossiers[-1].dossier_no)
    truncated = len(here) > NAME_RESULTS_LIMIT
    matches = _summaries(here[:NAME_RESULTS_LIMIT], workplace, held_states, names)
    elsewhere = 0
    if not truncated:
        total = connection.execute(_name_count_statement(byte_range), params).scalar_one()
        elsewhere = total - len(matches)
    note = (
        ngettext(
            "{n} dossier of this name is held by another institution (not listed).",
            "{n} dossiers of this name are held by other institutions (not listed).",
            elsewhere,
        ).format(n=elsewhere)
        if elsewhere
        else ""
    )
    if len(matches) == 1:
        return LookupOutcome("found", query.kind, matches=matches, message=note)
    if matches:
        message = _("{n} dossiers match; choose one.").format(n=len(matches))
        if truncated:
            message = _(
                "More than {n} names match; the first {n} are listed — type more of the name."
            ).format(n=NAME_RESULTS_LIMIT)
        return LookupOutcome(
            "choices", query.kind, matches=matches, message=" ".join(filter(None, [message, note]))
        )
    if elsewhere:
        return LookupOutcome(
            "held_elsewhere",
            query.kind,
            reason="name",
            message=_("No dossier of the name {name} is held here.").format(name=query.value)
            + " "
            + note,
        )
    return LookupOutcome(
        "none",
        query.kind,
        message=_("No dossier found for {what} {value}.").format(what=_("name"), value=query.value),
    )


PAST_ANY_CHARACTER = "\U0010ffff"
"""The largest code point: every name starting with a prefix sorts below prefix + this one
(SQLite's BINARY collation compares UTF-8 bytes, and U+10FFFF encodes highest)."""


def _name_starts_with(session: Session, prefix: str) -> tuple[bool, dict[str, object]]:
    """How to select "person_name starts with ``prefix``" (surname first; % and _ literal):
    whether to add the byte range, and the parameters of :func:`_name_conditions`.

    SQLite never uses an index for ``LIKE ? || '%'`` (case-insensitive LIKE against a BINARY
    index, and a pattern that is an expression), so at city scale (1.71 million dossiers)
    every name search read the whole table. On SQLite the same condition is also written as
    the index range [prefix, prefix + U+10FFFF), which selects exactly the names starting
    with ``prefix`` byte for byte; the LIKE stays as the definition. A prefix holding ASCII
    letters keeps the LIKE alone: LIKE matches them case-insensitively, a range would not.
    """
    # The escaping of SQLAlchemy's startswith(autoescape=True): "/" escapes itself, % and _.
    escaped = prefix.replace("/", "//").replace("%", "/%").replace("_", "/_")
    params: dict[str, object] = {"pattern": escaped + "%"}
    bind = session.get_bind()
    if bind.dialect.name != "sqlite" or any(ch.isascii() and ch.isalpha() for ch in prefix):
        return False, params
    params.update(low=prefix, high=prefix + PAST_ANY_CHARACTER)
    return True, params


def _name_conditions(byte_range: bool) -> list[sa.ColumnElement[bool]]:
    """The name search's conditions (parameters ``pattern``, and ``low`` / ``high`` with
    ``byte_range``): see :func:`_name_starts_with`."""
    name = _DOSSIER.c.person_name
    named = [name.like(sa.bindparam("pattern", type_=name.type), escape="/")]
    if not byte_range:
        return named
    return [
        name >= sa.bindparam("low", type_=name.type),
        name < sa.bindparam("high", type_=name.type),
        *named,
    ]


@functools.cache
def _name_batch_statement(byte_range: bool, keyset: bool) -> sa.Select:
    """One batch of the name search (built once per shape; SQLAlchemy reuses the compiled
    form): the account, the next NAME_RESULTS_LIMIT + 1 candidates in (person_name,
    dossier_no) order — dossiers whose name starts with the prefix and that the institution
    ``here_id`` ever held (a superset of those it holds now: the current holder is worked
    out from all events) — after (``last_name``, ``last_no``) with ``keyset``, each with its
    custody events and their institutions' names, laid out as :func:`_dossiers_statement`."""
    d, e = _DOSSIER, _CUSTODY
    ever_here = (
        sa.exists()
        .where(
            e.c.dossier_id == d.c.id,
            e.c.holder_institution_id
            == sa.bindparam("here_id", type_=e.c.holder_institution_id.type),
        )
        .correlate(d)
    )
    order = (d.c.person_name, d.c.dossier_no)
    after = (
        [
            sa.tuple_(*order)
            > sa.tuple_(
                sa.bindparam("last_name", type_=d.c.person_name.type),
                sa.bindparam("last_no", type_=d.c.dossier_no.type),
            )
        ]
        if keyset
        else []
    )
    candidates = (
        sa.select(*_DOSSIER_FACTS)
        .where(*_name_conditions(byte_range), ever_here, *after)
        .order_by(*order)
        .limit(NAME_RESULTS_LIMIT + 1)
        .subquery("candidate")
    )
    clerk_id = sa.bindparam("clerk_id", type_=_CLERK.c.id.type)
    return _with_custody(candidates, clerk_id).order_by(
        candidates.c.person_name, candidates.c.dossier_no
    )


@functools.cache
def _name_count_statement(byte_range: bool) -> sa.Select:
    """How many dossiers (any holder) have a name starting with the prefix. Built once."""
    return sa.select(sa.func.count()).select_from(_DOSSIER).where(*_name_conditions(byte_range))


@functools.cache
def _dossiers_statement(by: str) -> sa.Select:
    """The one statement of a lookup by dossier number / barcode (``by`` ``dossier_no``) or
    resident ID (``id_number``): each matching dossier once per custody event (a row with
    NULL event columns when it has none), the event's institution name, and the account's
    ``active`` and ``role`` (scalar subqueries). Refused custody events are left out as in
    custody.states. Built once: SQLAlchemy then reuses its compiled form (Core, no ORM)."""
    d, e, i, c = _DOSSIER, _CUSTODY, _INSTITUTION, _CLERK
    clerk_id = sa.bindparam("clerk_id", type_=c.c.id.type)
    value = sa.bindparam("value", type_=d.c.dossier_no.type)
    matches = (
        sa.or_(d.c.dossier_no == value, d.c.barcode == value)
        if by == "dossier_no"
        else d.c.id_number == value
    )
    return (
        sa.select(
            sa.select(c.c.active).where(c.c.id == clerk_id).scalar_subquery().label("active"),
            sa.select(c.c.role).where(c.c.id == clerk_id).scalar_subquery().label("role"),
            *_DOSSIER_FACTS,
            e.c.id.label("event_id"),
            e.c.kind,
            e.c.holder_institution_id,
            e.c.shelf_location,
            e.c.at,
            i.c.name.label("holder_name"),
        )
        .select_from(
            d.outerjoin(
                e,
                sa.and_(
                    e.c.dossier_id == d.c.id,
                    custody.not_refused(e.c.id),
                ),
            ).outerjoin(i, i.c.id == e.c.holder_institution_id)
        )
        .where(matches)
    )


def _with_custody(candidates: sa.Subquery, clerk_id: object) -> sa.Select:
    """The rows of ``candidates`` (a subquery of the dossier facts' columns) laid out as
    :func:`_dossiers_statement`'s: the account's ``active`` and ``role`` (``clerk_id``: the
    account's id, or a bound parameter), the facts, each custody event (refused ones left
    out) and its institution's name."""
    e, i, c = _CUSTODY, _INSTITUTION, _CLERK
    return sa.select(
        sa.select(c.c.active).where(c.c.id == clerk_id).scalar_subquery().label("active"),
        sa.select(c.c.role).where(c.c.id == clerk_id).scalar_subquery().label("role"),
        *(candidates.c[col.name] for col in _DOSSIER_FACTS),
        e.c.id.label("event_id"),
        e.c.kind,
        e.c.holder_institution_id,
        e.c.shelf_location,
        e.c.at,
        i.c.name.label("holder_name"),
    ).select_from(
        candidates.outerjoin(
            e, sa.and_(e.c.dossier_id == candidates.c.id, custody.not_refused(e.c.id))
        ).outerjoin(i, i.c.id == e.c.holder_institution_id)
    )


def _read_dossiers(
    db: Database,
    workplace: Workplace,
    *,
    dossier_no: str | None = None,
    id_number: str | None = None,
) -> _Read:
    """The dossiers whose number or barcode is ``dossier_no`` (or whose resident ID is
    ``id_number``, normalised), their custody states (custody.state_from_events, the same
    rule as custody.states) and the names of the institutions their events name, in one
    statement; with whether the workplace's account may look up (rule ``lookup``: an
    active account of a counter role). The statement is its own snapshot, outside any
    transaction (Database.read_rows: on SQLite through the driver directly, on PostgreSQL
    in autocommit, sparing the BEGIN and ROLLBACK round trips)."""
    by = "dossier_no" if dossier_no is not None else "id_number"
    clerk = workplace.clerk if workplace else None
    rows = db.read_rows(
        _dossiers_statement(by),
        {"clerk_id": clerk.id if clerk else None, "value": dossier_no or id_number},
    )
    return _collect(rows, workplace)


def _collect(rows: Iterable[Sequence[Any]], workplace: Workplace) -> _Read:
    """A :class:`_Read` from rows laid out as :func:`_dossiers_statement`'s (tuples or
    SQLAlchemy rows, read by position): ``active``, ``role``, the dossier's facts, the
    event's (NULL for none), its institution's name."""
    clerk = workplace.clerk if workplace else None
    dossiers: dict[uuid.UUID, _DossierFacts] = {}
    events: dict[uuid.UUID, list[_EventFacts]] = {}
    names: dict[uuid.UUID, str] = {}
    account_ok: bool | None = None
    roles = authorization.RULES["lookup"].roles
    for row in rows:
        if account_ok is None:
            account_ok = clerk is not None and bool(row[0]) and row[1] in roles
        dossier_id = row[2]
        if dossier_id not in dossiers:
            dossiers[dossier_id] = _DossierFacts(*row[2:8])
            events[dossier_id] = []
        if row[8] is not None:  # the event's id: NULL for a dossier without events
            event = _EventFacts(*row[8:13])
            events[dossier_id].append(event)
            names[event.holder_institution_id] = row[13]
    states = {d: custody.state_from_events(evts) for d, evts in events.items()}
    return _Read(list(dossiers.values()), states, names, account_ok)


def _outcome(read: _Read, query: queries.Query, workplace: Workplace) -> LookupOutcome:
    """What the counter is told of the dossiers ``read`` found (at least one) for ``query``
    (a dossier number or resident ID): the one held here, the choice among several, or
    where it is when held elsewhere."""
    rows = read.dossiers
    truncated = len(rows) > NAME_RESULTS_LIMIT
    matches = _summaries(rows[:NAME_RESULTS_LIMIT], workplace, read.states, read.names)
    here = [m for m in matches if m.held_here]
    if len(here) == 1:
        return LookupOutcome("found", query.kind, matches=here)
    if here:
        message = _("{n} dossiers match; choose one.").format(n=len(here))
        if truncated:
            message = _(
                "More than {n} names match; the first {n} are listed — type more of the name."
            ).format(n=NAME_RESULTS_LIMIT)
        return LookupOutcome("choices", query.kind, matches=here, message=message)
    if matches:
        # Where it is, and nothing of the person (an applicant asking where their dossier is).
        first = matches[0]
        state = read.states[first.id]
        whereabouts = custody.whereabouts(state, read.names)
        if query.kind == "dossier_no":
            message = _("Dossier {no} is {whereabouts}; it is not served at this counter.").format(
                no=first.dossier_no, whereabouts=whereabouts
            )
        else:
            first = dataclasses.replace(first, dossier_no="")
            message = _(
                "The dossier of resident ID {id} is {whereabouts}; it is not served at this "
                "counter."
            ).format(id=resident_id.mask(query.value), whereabouts=whereabouts)
        return LookupOutcome(
            "held_elsewhere",
            query.kind,
            matches=[first],
            reason="in_transit" if state.in_transit else "",
            message=message,
        )
    raise AssertionError("_outcome needs at least one dossier")


def _not_found(session: Session, query: queries.Query) -> LookupOutcome:
    """No dossier of this archive matches ``query`` (a dossier number or resident ID): where
    the city's holder index says a resident ID's dossier is, else ``none``."""
    if query.kind == "resident_id":
        entry = holder_index.lookup(session, query.value)
        if entry is not None:
            # Not in this archive, but the city's index knows where (offline too).
            return LookupOutcome(
                "held_elsewhere",
                query.kind,
                reason="holder_index",
                message=_(
                    "The dossier of resident ID {id} is held by {holder} since {since} (city "
                    "holder index); it is not served at this counter."
                ).format(
                    id=resident_id.mask(query.value),
                    holder=entry.institution_name,
                    since=local_date(entry.since),
                )
                + (
                    " " + _("Address: {address}.").format(address=entry.address)
                    if entry.address
                    else ""
                )
                + (" " + _("Phone: {phone}.").format(phone=entry.phone) if entry.phone else ""),
            )
    what = {"resident_id": _("resident ID"), "dossier_no": _("dossier number"), "name": _("name")}[
        query.kind
    ]
    return LookupOutcome(
        "none",
        query.kind,
        message=_("No dossier found for {what} {value}.").format(
            what=what,
            value=resident_id.mask(query.value) if query.kind == "resident_id" else query.value,
        ),
    )


def scan(
    db: Database,
    text: str,
    workplace: Workplace,
    visit: Visit | None,
    successor: Visit | None = None,
) -> LookupOutcome:
    """What the counter does with one scan or typed query, in one read and one write
    transaction: look ``text`` up and, when exactly one dossier held here matches, open it.
    Opening a different person's dossier than ``visit`` already served ends ``visit`` and
    records the opening in ``successor`` (viewing.record_opening); ``outcome.visit`` says
    which visit the lookup belongs to.

    The write stores ``visit`` if it is new (the service starts at its first lookup, whatever
    it finds) and, for an opened dossier, the access and service events
    (viewing.record_opening). Returns the :func:`find` outcome, with ``view`` set when the
    dossier was opened; a refused opening (own dossier, not held) returns status ``refused``
    with the refusal's reason and message (its access event written); a resident ID or
    dossier number held elsewhere is logged in the same write (see :func:`find`). Raises
    authorization.Forbidden (logged) when the account may not look up or open dossiers,
    StorageBusyError / SQLAlchemy errors for database failures, ViewingError ``not_found``
    if the dossier vanished.
    """
    view, refusal = None, None
    with authorization.refusals_logged(db, workplace), db.read() as session:
        outcome = _find(db, lambda: session, text, workplace)
        if outcome.status == "found":
            view, refusal = viewing.check_opening(session, outcome.matches[0].id, workplace)
    told = _whereabouts_told(outcome)
    from_index = outcome.reason == "holder_index"
    if visit is not None or view is not None or told is not None or from_index:
        with db.write() as session:
            if told is not None or from_index:
                _log_whereabouts(session, workplace, told, outcome)
            if view is not None:
                visit = viewing.record_opening(
                    session, view.id, workplace, visit, refusal, successor
                )
            elif visit is not None:
                visits.ensure_started(session, workplace, visit)
    if refusal is not None:
        return dataclasses.replace(
            outcome, status="refused", reason=refusal.reason, message=str(refusal), visit=visit
        )
    return dataclasses.replace(outcome, view=view, visit=visit)


def count_dossiers(db: Database) -> int:
    """How many dossiers the archive database holds (any holder)."""
    with db.read() as session:
        return session.exec(select(func.count()).select_from(Dossier)).one()
