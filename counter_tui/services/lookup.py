"""Finding a dossier from what the counter received: a resident ID, a dossier number or a name.

:func:`find` classifies the text (counter_tui.domain.queries), validates a resident ID
(GB 11643-1999) and searches. Only the counter roles look up (services.authorization rule
``lookup``). Clerks serve dossiers held by their own institution. A resident ID or dossier number
held elsewhere tells only where it is (holder and since when: an applicant asking where their
dossier is; nothing of the person) and is written to the access log (kind ``refused``, reason
``lookup: held_elsewhere`` or ``lookup: in_transit``). A name search lists only dossiers held
here and says how many of that name are held elsewhere, without naming them.
"""

from __future__ import annotations

import dataclasses
import uuid

from sqlmodel import Session, and_, col, exists, func, or_, select

from counter_tui.db.engine import Database
from counter_tui.db.models import CustodyEvent, Dossier
from counter_tui.domain import queries, resident_id
from counter_tui.domain.clock import local_date
from counter_tui.i18n import _, ngettext
from counter_tui.read_models import DossierSummary, LookupOutcome, Visit
from counter_tui.services import access_log, authorization, custody, holder_index, viewing, visits
from counter_tui.services.workplace import Workplace, institution_names

NAME_RESULTS_LIMIT = 50


def _summaries(
    session: Session,
    dossiers: list[Dossier],
    workplace: Workplace,
    states: dict[uuid.UUID, custody.CustodyState] | None = None,
) -> list[DossierSummary]:
    """Summaries of ``dossiers``; one held elsewhere keeps only its holder and since-date
    (and its number: the caller drops it when it was not typed). ``states``: their custody
    states when the caller has read them already in this session."""
    if states is None or any(d.id not in states for d in dossiers):
        states = custody.states(session, [d.id for d in dossiers])
    here_id = workplace.institution.id
    # The institution list is read only for a dossier held by another institution: a
    # dossier held here is named by the workplace (institution names never change).
    if all(states[d.id].holder_id in (None, here_id) for d in dossiers):
        names = {here_id: workplace.institution.name}
    else:
        names = institution_names(session)
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
    """Look up what was typed or scanned, in one read transaction (and one write when a
    resident ID or dossier number held elsewhere is logged). Never raises for bad input:
    returns ``invalid``. Raises authorization.Forbidden (logged) when the account may not
    look up (rule ``lookup``: none, disabled, or not a counter role), StorageBusyError /
    SQLAlchemy errors for database failures."""
    with authorization.refusals_logged(db, workplace), db.read() as session:
        outcome = _find(session, text, workplace)
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


def _find(session: Session, text: str, workplace: Workplace) -> LookupOutcome:
    """Look up what was typed or scanned. Never raises for bad input: returns ``invalid``.

    Raises authorization.Forbidden (not logged: the caller's refusals_logged does) when the
    account may not look up; StorageBusyError / SQLAlchemy errors for database failures.
    """
    authorization.require(session, workplace, "lookup")
    query = queries.classify(text)
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
    if query.kind == "resident_id":
        try:
            number = resident_id.parse(query.value)
        except resident_id.ResidentIdError as exc:
            # Some archives number dossiers with digits only: try that before blaming the ID.
            outcome = _find_by_dossier_no(session, query.value, workplace)
            if outcome.status != "none":
                return outcome
            message = str(exc)
            if len(query.value) < 15:
                message = _("No dossier number {value}; as a resident ID: {error}").format(
                    value=query.value, error=message
                )
            return LookupOutcome("invalid", query.kind, message, reason=exc.reason)
        stmt = select(Dossier).where(Dossier.id_number == number)
    elif query.kind == "dossier_no":
        return _find_by_dossier_no(session, query.value, workplace)
    else:
        if not query.value:
            return LookupOutcome("invalid", query.kind, _("Type a name after /."), reason="empty")
        return _find_by_name(session, query, workplace)
    return _outcome(session, stmt, query, workplace)


def _find_by_name(session: Session, query: queries.Query, workplace: Workplace) -> LookupOutcome:
    """Dossiers held here whose name starts with the query, at most NAME_RESULTS_LIMIT; of
    those held elsewhere only how many there are is told (not when the list is truncated)."""
    here_id = workplace.institution.id
    named = _name_starts_with(session, query.value)
    # Candidates: dossiers with any custody event naming this institution (a superset of
    # those it holds now: the current holder is worked out from all events).
    ever_here = exists().where(
        col(CustodyEvent.dossier_id) == col(Dossier.id),
        col(CustodyEvent.holder_institution_id) == here_id,
    )
    batch = NAME_RESULTS_LIMIT + 1
    here: list[Dossier] = []
    held_states: dict[uuid.UUID, custody.CustodyState] = {}
    offset = 0
    while len(here) <= NAME_RESULTS_LIMIT:
        rows = list(
            session.exec(
                select(Dossier)
                .where(named, ever_here)
                .order_by(Dossier.person_name, Dossier.dossier_no)
                .offset(offset)
                .limit(batch)
            )
        )
        states = custody.states(session, [d.id for d in rows])
        held_states.update(states)
        here.extend(d for d in rows if states[d.id].held_by(here_id))
        if len(rows) < batch:
            break
        offset += batch
    truncated = len(here) > NAME_RESULTS_LIMIT
    matches = _summaries(session, here[:NAME_RESULTS_LIMIT], workplace, held_states)
    elsewhere = 0
    if not truncated:
        total = session.exec(select(func.count()).select_from(Dossier).where(named)).one()
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


def _name_starts_with(session: Session, prefix: str):  # noqa: ANN202 - a SQL expression
    """The condition "person_name starts with ``prefix``" (surname first; % and _ literal).

    SQLite never uses an index for ``LIKE ? || '%'`` (case-insensitive LIKE against a BINARY
    index, and a pattern that is an expression), so at city scale (1.71 million dossiers)
    every name search read the whole table. On SQLite the same condition is also written as
    the index range [prefix, prefix + U+10FFFF), which selects exactly the names starting
    with ``prefix`` byte for byte; the LIKE stays as the definition. A prefix holding ASCII
    letters keeps the LIKE alone: LIKE matches them case-insensitively, a range would not.
    """
    named = col(Dossier.person_name).startswith(prefix, autoescape=True)
    bind = session.get_bind()
    if bind.dialect.name != "sqlite" or any(ch.isascii() and ch.isalpha() for ch in prefix):
        return named
    return and_(
        col(Dossier.person_name) >= prefix,
        col(Dossier.person_name) < prefix + PAST_ANY_CHARACTER,
        named,
    )


def _find_by_dossier_no(session: Session, value: str, workplace: Workplace) -> LookupOutcome:
    stmt = select(Dossier).where(or_(Dossier.dossier_no == value, Dossier.barcode == value))
    return _outcome(session, stmt, queries.Query("dossier_no", value), workplace)


def _outcome(session: Session, stmt, query: queries.Query, workplace: Workplace) -> LookupOutcome:  # noqa: ANN001
    rows = list(session.exec(stmt))
    truncated = len(rows) > NAME_RESULTS_LIMIT
    matches = _summaries(session, rows[:NAME_RESULTS_LIMIT], workplace)
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
        state = custody.states(session, [first.id])[first.id]
        whereabouts = custody.whereabouts(state, institution_names(session))
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
        outcome = _find(session, text, workplace)
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
