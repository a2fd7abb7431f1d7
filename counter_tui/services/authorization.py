"""Who may do what: the rules as one table, checked inside every service that reads or writes
dossier data (ARCHITECTURE.md principle 7; shared/reference/domain.md §6).

:data:`RULES` maps each action to the roles (services.auth.ROLES) allowed to do it and the
dossier scope it needs. :func:`require` applies a rule inside the caller's session: it re-reads
the account (so a disabled account or a changed role takes effect at the next action), and for
a dossier checks that the workplace's institution holds it (services.custody) and that it is
not the clerk's own (services.auth.is_own_id_number: "任何人不得查阅或借用本人及其直系亲属的档案").
A refusal is a :class:`Forbidden` with a reason code (:data:`REASONS`) and a message in the UI
language.

Every refusal is written to the access log as an event of kind ``refused`` (reason
``"<action>: <why>"``) in a transaction of its own, so that it stays even when the caller's
transaction rolls back: run the service's transactions inside :func:`refusals_logged`, which
writes the event after they have ended (a second write transaction opened inside the first
would wait on SQLite's write lock). :func:`check` does both for a service without a session of
its own. docs/SECURITY.md ("Authorization") shows :func:`markdown_table`; a test keeps the two
equal.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from sqlmodel import Session

from counter_tui.db.engine import Database
from counter_tui.db.models import Clerk, Dossier, Institution
from counter_tui.errors import CounterError
from counter_tui.i18n import N_, _
from counter_tui.read_models import Workplace
from counter_tui.services import access_log, auth, custody

log = logging.getLogger(__name__)

ROLE_ORDER: tuple[str, ...] = tuple(auth.ROLES)
"""The roles in the order of the table's columns (clerk, supervisor, archivist, auditor,
admin)."""

SCOPES = ("none", "held", "not_elsewhere", "arriving", "not_own")
"""Dossier scope of an action: ``none`` (no dossier), ``held`` (held by the workplace's
institution now, and not the clerk's own), ``not_elsewhere`` (not held by another institution
nor in transit — held here or without any custody record, as legacy data before its receipt is
recorded — and not the clerk's own), ``arriving`` (in transit to the workplace's institution or
held by it, and not the clerk's own: a dossier being received), ``not_own`` (not the clerk's
own; any holder)."""

REASONS = ("no_account", "inactive", "role", "not_held", "own_dossier", "out_of_scope")
"""Reason codes of a :class:`Forbidden`: ``no_account`` (nobody logged in, or no such account),
``inactive`` (the account is disabled: the app ends the session), ``role`` (the role may not),
``not_held`` (the dossier is held by another institution or in transit), ``own_dossier`` (the
clerk's own dossier), ``out_of_scope`` (an institution the account may not look at)."""

ACCOUNT_REASONS = frozenset({"no_account", "inactive", "role", "out_of_scope"})
"""Reasons about the account (form field ``clerk``); the others concern the dossier."""

_COUNTER = frozenset({"clerk", "supervisor", "archivist"})
_ISSUERS = frozenset({"clerk", "supervisor"})


@dataclass(frozen=True)
class Rule:
    """Who may do one action.

    ``roles``: the roles allowed (services.auth.ROLES keys); ``scope``: one of :data:`SCOPES`;
    ``label``: a msgid naming the action as a verb phrase ("issue certificates"), shown in
    refusals; ``services``: where the rule is enforced (for docs/SECURITY.md); ``condition``:
    what the service checks besides (English, for docs/SECURITY.md); ``role_message``: a msgid
    said instead of the generic role refusal ("" for the generic one).
    """

    roles: frozenset[str]
    scope: str
    label: str
    services: str
    condition: str = ""
    role_message: str = ""


RULES: dict[str, Rule] = {
    "lookup": Rule(
        _COUNTER,
        "none",
        N_("look up dossiers"),
        "lookup.find, lookup.scan",
        "an ID or dossier number held elsewhere tells only the holder and since when (logged); "
        "a name search lists dossiers held here and only counts the others",
    ),
    "open_dossier": Rule(
        _COUNTER,
        "held",
        N_("open dossiers"),
        "viewing.open_dossier, viewing.open_for_visit, viewing.load_view, lookup.scan",
    ),
    "view_pages": Rule(_COUNTER, "held", N_("view page images"), "viewing.open_material_pages"),
    "reveal_id": Rule(_COUNTER, "held", N_("reveal a full resident ID"), "viewing.reveal_id"),
    "record_consultation": Rule(
        _COUNTER, "held", N_("register consultations"), "consultation.record"
    ),
    "add_material": Rule(_COUNTER, "held", N_("add materials"), "supplement.add_material"),
    "issue_certificate": Rule(_ISSUERS, "held", N_("issue certificates"), "issuance.issue"),
    "serve_nearby": Rule(
        _COUNTER,
        "none",
        N_("serve at the nearest office"),
        "nearby.open_nearby",
        "online only; the applicant's full resident ID; read-only catalogue from central; "
        "logged for the viewing office and the holder; not the clerk's own",
    ),
    "issue_nearby": Rule(
        _ISSUERS,
        "none",
        N_("issue certificates for dossiers held elsewhere"),
        "nearby.issue_nearby, issuance.issue",
        "after a nearby view in this service, online; names the holder; this office's serial",
    ),
    "certificate_history": Rule(
        _COUNTER,
        "held",
        N_("see a dossier's certificates"),
        "certificate_events.history",
    ),
    "print_certificate": Rule(
        _ISSUERS,
        "not_own",
        N_("print certificates"),
        "certificate_events.print_certificate",
        "issued by this institution (also from a dossier held elsewhere, 就近办理)",
    ),
    "reprint_certificate": Rule(
        _ISSUERS,
        "held",
        N_("reprint certificates"),
        "certificate_events.reprint",
        "issued by this institution",
    ),
    "void_certificate": Rule(
        _ISSUERS,
        "not_own",
        N_("void certificates"),
        "certificate_events.void",
        "issued by this institution; a clerk only their own, on the day of issue",
    ),
    "verify_certificate": Rule(
        _COUNTER | {"auditor"},
        "none",
        N_("verify certificates"),
        "certificate_verify.verify, certificate_verify.verify_input",
        "the command line verifies without an account (offline, anyone holding a copy)",
    ),
    "intake": Rule(
        frozenset({"archivist"}),
        "not_elsewhere",
        N_("attach scan batches"),
        "intake.ingest_scan_batch, intake_batch.take_in_batch (per dossier)",
        "without an account only for an operator's import (demo build)",
    ),
    "receive": Rule(
        frozenset({"archivist"}),
        "arriving",
        N_("audit and accept transferred dossiers"),
        "receipt.compare, receipt.decide",
        "the accept / refuse decision names the comparison report by its SHA-256",
    ),
    "receipt_deadlines": Rule(
        frozenset({"supervisor", "archivist"}),
        "none",
        N_("see the receipt deadlines"),
        "receipt.pending",
        "own institution (2018 条例 第二十五条: two months from receipt)",
    ),
    "read_access_log": Rule(
        frozenset({"auditor", "admin"}),
        "none",
        N_("read the access log"),
        "audit_log.recent_events",
        role_message=N_("Only auditors and administrators may read the access log."),
    ),
    "read_reports": Rule(
        frozenset({"supervisor"}),
        "none",
        N_("read the service figures"),
        "reports.day_figures, reports.range_figures",
        "own institution; every institution from a city-level one; "
        "`counter-tui report` runs as the operator",
    ),
}
"""The authorization table: action → :class:`Rule`."""


class Forbidden(CounterError):
    """A refusal by the authorization rules.

    ``reason`` (and ``why``, which subclasses never change) is one of :data:`REASONS`;
    ``action`` a key of :data:`RULES`; ``dossier_id`` the dossier concerned (or None);
    ``field`` is ``clerk`` for account reasons and ``dossier`` for dossier ones; ``logged``
    turns True once the refusal is in the access log. ``str(error)`` is the clerk's message.

    Services whose callers catch their own error class raise a subclass that is both (e.g.
    supplement.SupplementRefused); its ``__init__`` must keep this signature.
    """

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        action: str,
        dossier_id: uuid.UUID | None = None,
        clerk_id: uuid.UUID | None = None,
    ) -> None:
        field = "clerk" if reason in ACCOUNT_REASONS else "dossier"
        # Not super(): in a subclass that is also another service error, the next class in
        # the MRO has its own signature.
        CounterError.__init__(self, message, reason=reason, field=field)
        self.why = reason
        self.action = action
        self.dossier_id = dossier_id
        self.clerk_id = clerk_id
        self.logged = False


def ends_session(error: BaseException) -> bool:
    """Whether ``error`` means the account was disabled since it logged in: the app then ends
    the session (back to the log-in screen) instead of just showing the message."""
    return isinstance(error, Forbidden) and error.why == "inactive"


def _roles_text(roles: frozenset[str]) -> str:
    return ", ".join(_(auth.ROLES[r]) for r in ROLE_ORDER if r in roles)


def _refusal(
    error: type[Forbidden],
    reason: str,
    action: str,
    *,
    role: str = "",
    dossier: Dossier | None = None,
    institution: str = "",
    clerk_id: uuid.UUID | None = None,
) -> Forbidden:
    rule = RULES[action]
    what = _(rule.label)
    if reason == "no_account":
        message = _("Nobody is logged in with an active account here; log in to {what}.").format(
            what=what
        )
    elif reason == "inactive":
        message = _("This account is disabled; ask the administrator.")
    elif reason == "role":
        message = (
            _(rule.role_message)
            if rule.role_message
            else _("A {role} may not {what}; this needs one of: {roles}.").format(
                role=_(auth.ROLES.get(role, role)), what=what, roles=_roles_text(rule.roles)
            )
        )
    elif reason == "not_held":
        message = _(
            "Dossier {no} is not held by {institution}; only the institution holding a "
            "dossier may {what}."
        ).format(no=dossier.dossier_no if dossier else "?", institution=institution, what=what)
    elif reason == "own_dossier":
        message = _("This is your own dossier: you may not {what}. Ask a colleague.").format(
            what=what
        )
    else:
        message = _("You may not {what} for {institution}.").format(
            what=what, institution=institution
        )
    return error(
        reason,
        message,
        action=action,
        dossier_id=dossier.id if dossier else None,
        clerk_id=clerk_id,
    )


def dossier_refusal(
    session: Session,
    workplace: Workplace,
    action: str,
    dossier: Dossier,
    state: custody.CustodyState | None = None,
    *,
    error: type[Forbidden] = Forbidden,
) -> Forbidden | None:
    """The dossier part of :func:`require` for ``dossier`` (inside the caller's session),
    returned instead of raised (viewing.check_opening logs it with the opening): ``not_held``
    when the action's scope is ``held`` and the workplace's institution does not hold it now,
    ``arriving`` and it neither holds it nor is it in transit to it, or ``not_elsewhere`` and
    another institution holds it or it is in transit (``state``: its
    custody state if already read); ``own_dossier`` when it is the clerk's own (argon2 check
    of the account's stored ID hash, ~25 ms); else None."""
    rule = RULES[action]
    if rule.scope == "none":
        return None
    clerk_id = workplace.clerk.id if workplace.clerk else None
    if rule.scope in ("held", "not_elsewhere", "arriving"):
        if state is None:
            state = custody.states(session, [dossier.id])[dossier.id]
        unrecorded = state.holder_id is None and not state.in_transit
        arriving = state.in_transit and state.destination_id == workplace.institution.id
        if not state.held_by(workplace.institution.id) and not (
            (rule.scope == "not_elsewhere" and unrecorded)
            or (rule.scope == "arriving" and arriving)
        ):
            return _refusal(
                error,
                "not_held",
                action,
                dossier=dossier,
                institution=workplace.institution.name,
                clerk_id=clerk_id,
            )
    if clerk_id is not None and auth.is_own_id_number(session, clerk_id, dossier.id_number):
        return _refusal(error, "own_dossier", action, dossier=dossier, clerk_id=clerk_id)
    return None


def require(
    session: Session,
    workplace: Workplace | None,
    action: str,
    *,
    dossier_id: uuid.UUID | None = None,
    error: type[Forbidden] = Forbidden,
) -> Clerk:
    """Check that ``workplace``'s account may do ``action`` (a key of :data:`RULES`), on
    ``dossier_id`` if given, inside the caller's ``session``; return the account's row.

    Order: an account (``no_account``), active (``inactive``: read from the database now, so
    disabling takes effect at the next action), role (``role``), then, for an action with a
    dossier scope, :func:`dossier_refusal` (``not_held``, ``own_dossier``). A ``dossier_id``
    that names no dossier is not a refusal: the service reports it as missing. Raises
    ``error`` (:class:`Forbidden` or a subclass) without logging it: run the caller's
    transactions inside :func:`refusals_logged`. Raises KeyError for an unknown action.
    """
    rule = RULES[action]
    who = workplace.clerk if workplace else None
    clerk = session.get(Clerk, who.id) if who else None
    if clerk is None:
        raise _refusal(error, "no_account", action)
    if not clerk.active:
        raise _refusal(error, "inactive", action, clerk_id=clerk.id)
    if clerk.role not in rule.roles:
        raise _refusal(error, "role", action, role=clerk.role, clerk_id=clerk.id)
    if dossier_id is not None and rule.scope != "none":
        assert workplace is not None
        dossier = session.get(Dossier, dossier_id)
        if dossier is not None:
            refusal = dossier_refusal(session, workplace, action, dossier, error=error)
            if refusal is not None:
                raise refusal
    return clerk


def out_of_scope(workplace: Workplace, action: str, institution_name: str) -> Forbidden:
    """A ``out_of_scope`` refusal: the account may do ``action`` but not for the institution
    named (e.g. another district's figures); raise it inside :func:`refusals_logged`."""
    clerk_id = workplace.clerk.id if workplace.clerk else None
    return _refusal(
        Forbidden, "out_of_scope", action, institution=institution_name, clerk_id=clerk_id
    )


def log_refusal(db: Database, workplace: Workplace | None, refusal: Forbidden) -> None:
    """Write ``refusal`` to the access log (kind ``refused``, reason ``"<action>: <why>"``) in
    a write transaction of its own, and mark it ``logged``. Call it outside any open write
    transaction. A database failure here is logged (Python logging) and swallowed: the caller
    still raises the refusal."""
    if refusal.logged:
        return
    try:
        with db.write() as session:
            institution_id = workplace.institution.id if workplace else None
            if institution_id is not None and session.get(Institution, institution_id) is None:
                institution_id = None
            clerk_id = refusal.clerk_id
            if clerk_id is None and workplace is not None and workplace.clerk is not None:
                clerk_id = workplace.clerk.id if session.get(Clerk, workplace.clerk.id) else None
            access_log.append(
                session,
                kind="refused",
                clerk_id=clerk_id,
                institution_id=institution_id,
                dossier_id=refusal.dossier_id,
                target_id=refusal.dossier_id,
                reason=f"{refusal.action}: {refusal.why}",
            )
        refusal.logged = True
    except Exception:  # noqa: BLE001 - the refusal itself must still reach the caller
        log.exception("could not log the refusal %s: %s", refusal.action, refusal.why)


@contextlib.contextmanager
def refusals_logged(db: Database, workplace: Workplace | None) -> Iterator[None]:
    """Run a service's transactions; a :class:`Forbidden` leaving them is logged
    (:func:`log_refusal`, after they rolled back) and raised again."""
    try:
        yield
    except Forbidden as refusal:
        log_refusal(db, workplace, refusal)
        raise


def check(
    db: Database,
    workplace: Workplace | None,
    action: str,
    *,
    dossier_id: uuid.UUID | None = None,
    error: type[Forbidden] = Forbidden,
) -> Clerk:
    """:func:`require` in a read transaction of its own, a refusal logged; returns the
    account's row (detached). For services that check before their own transactions."""
    with refusals_logged(db, workplace), db.read() as session:
        return require(session, workplace, action, dossier_id=dossier_id, error=error)


_SCOPE_TEXT = {
    "none": "—",
    "held": "held here, not own",
    "not_elsewhere": "not held elsewhere, not own",
    "arriving": "in transit to or held here, not own",
    "not_own": "not own",
}


def markdown_table() -> str:
    """The authorization table as Markdown (docs/SECURITY.md "Authorization" shows exactly
    this): one row per action, ✔ / ✘ per role, the dossier scope and further conditions."""
    header = ["action", "services", *ROLE_ORDER, "dossier", "conditions"]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _h in header) + "|",
    ]
    for action, rule in RULES.items():
        marks = ["✔" if role in rule.roles else "✘" for role in ROLE_ORDER]
        services = ", ".join(f"`{s.strip()}`" for s in rule.services.split(","))
        cells = [f"`{action}`", services, *marks, _SCOPE_TEXT[rule.scope], rule.condition]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
