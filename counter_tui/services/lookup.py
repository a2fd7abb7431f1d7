"""Finding a dossier from what the counter received: a resident ID, a dossier number or a name.

:func:`find` classifies the text (counter_tui.domain.queries), validates a resident ID
(GB 11643-1999) and searches. Clerks serve dossiers held by their own institution; a dossier
held elsewhere is reported with its holder and since when.
"""

from __future__ import annotations

import dataclasses

from sqlmodel import Session, col, func, or_, select

from counter_tui.db.engine import Database
from counter_tui.db.models import Dossier
from counter_tui.domain import queries, resident_id
from counter_tui.i18n import _
from counter_tui.read_models import DossierSummary, LookupOutcome, Visit
from counter_tui.services import custody, viewing, visits
from counter_tui.services.workplace import Workplace, institution_names

NAME_RESULTS_LIMIT = 50


def _summaries(
    session: Session, dossiers: list[Dossier], workplace: Workplace
) -> list[DossierSummary]:
    names = institution_names(session)
    states = custody.states(session, [d.id for d in dossiers])
    out = []
    for d in dossiers:
        st = states[d.id]
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
    """Look up what was typed or scanned, in one read transaction. Never raises for bad
    input: returns ``invalid``. Raises StorageBusyError / SQLAlchemy errors only for database
    failures."""
    with db.read() as session:
        return _find(session, text, workplace)


def _find(session: Session, text: str, workplace: Workplace) -> LookupOutcome:
    """Look up what was typed or scanned. Never raises for bad input: returns ``invalid``.

    Raises StorageBusyError / SQLAlchemy errors only for database failures.
    """
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
        # Names are searched from their start (surname first); % and _ are literal.
        stmt = (
            select(Dossier)
            .where(col(Dossier.person_name).startswith(query.value, autoescape=True))
            .order_by(Dossier.person_name, Dossier.dossier_no)
            .limit(NAME_RESULTS_LIMIT + 1)
        )
    return _outcome(session, stmt, query, workplace)


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
        first = matches[0]
        state = custody.states(session, [first.id])[first.id]
        return LookupOutcome(
            "held_elsewhere",
            query.kind,
            matches=matches,
            reason="in_transit" if state.in_transit else "",
            message=_(
                "Dossier {no} ({name}) is {whereabouts}; it is not served at this counter."
            ).format(
                no=first.dossier_no,
                name=first.person_name,
                whereabouts=custody.whereabouts(state, institution_names(session)),
            ),
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
    with the refusal's reason and message (its access event written). Raises
    StorageBusyError / SQLAlchemy errors for database failures, ViewingError ``not_found`` if
    the dossier vanished.
    """
    view, refusal = None, None
    with db.read() as session:
        outcome = _find(session, text, workplace)
        if outcome.status == "found":
            view, refusal = viewing.check_opening(session, outcome.matches[0].id, workplace)
    if visit is not None or view is not None:
        with db.write() as session:
            if view is not None:
                visit = viewing.record_opening(
                    session, view.id, workplace, visit, refusal, successor
                )
            else:
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
