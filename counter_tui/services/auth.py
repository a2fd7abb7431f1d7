"""Accounts, log-in and roles.

Passwords are stored as argon2id hashes (argon2-cffi's PasswordHasher, RFC 9106 parameters of
the library's default profile). A wrong password is logged as an access event
(``login_failed``) and answered after a delay that doubles with each consecutive failure for
that username (1, 2, 4 … capped at 30 seconds). A clerk's own resident ID is stored only as an
argon2id hash so that the counter can refuse their own dossier without keeping the number.

Roles: ``clerk`` (窗口: serve applicants), ``supervisor`` (counter + dashboard of their
institution), ``archivist`` (intake and receipt), ``auditor`` (read-only access log),
``admin`` (accounts).
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import Session, col, func, select

from counter_tui.db.engine import Database
from counter_tui.db.models import AccessEvent, Clerk, Institution
from counter_tui.domain import identifiers, resident_id
from counter_tui.domain import text as text_rules
from counter_tui.errors import CounterError
from counter_tui.i18n import N_, _
from counter_tui.services import access_log
from counter_tui.services.workplace import ClerkRef, InstitutionRef, Workplace, institution_ref

ROLES: dict[str, str] = {
    "clerk": N_("clerk"),
    "supervisor": N_("supervisor"),
    "archivist": N_("archivist"),
    "auditor": N_("auditor"),
    "admin": N_("administrator"),
}
COUNTER_ROLES = frozenset({"clerk", "supervisor", "archivist"})
MIN_PASSWORD_CHARS = 8
MAX_FIELD_CHARS = 64
MAX_DELAY_S = 30.0
UNKNOWN_USER = "(unknown user)"

_hasher = PasswordHasher()
# The own-ID check runs on every dossier opened, so it uses OWASP's minimum argon2id
# configuration (m=19 MiB, t=2, p=1: ~25 ms here) instead of the library default (~300 ms).
_id_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("counter-tui: no such account")


class AuthError(CounterError, PermissionError):
    """A failed log-in or account change. ``reason``: ``unknown``, ``wrong_password``,
    ``disabled``, ``invalid`` (bad field), ``exists``; ``delay_s`` is how long to wait before
    answering (0 unless a password was wrong); the message is for the user."""

    def __init__(self, reason: str, message: str, *, delay_s: float = 0.0) -> None:
        super().__init__(message, reason=reason)
        self.reason = reason
        self.delay_s = delay_s


def hash_secret(value: str) -> str:
    """An argon2id hash (PHC string format) of ``value`` (library default parameters)."""
    return _hasher.hash(value)


def hash_id_number(number: str) -> str:
    """An argon2id hash of a normalised resident ID, with OWASP's minimum parameters
    (m=19456 KiB, t=2, p=1) so that checking it on every dossier opened stays fast."""
    return _id_hasher.hash(number)


def verify_secret(hashed: str | None, value: str) -> bool:
    """Whether ``value`` matches the argon2 ``hashed`` (False for None or a malformed hash)."""
    if not hashed:
        return False
    try:
        return _hasher.verify(hashed, value)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def failure_delay(consecutive_failures: int) -> float:
    """Seconds to wait after the n-th consecutive wrong password: 1, 2, 4 … at most 30."""
    if consecutive_failures <= 0:
        return 0.0
    return min(MAX_DELAY_S, 2.0 ** (consecutive_failures - 1))


def clean_field(text: str, *, what: str, limit: int = MAX_FIELD_CHARS) -> str:
    """Trim and check a short one-line field (username, name): no control characters, at most
    ``limit`` characters. Raises AuthError ``invalid`` naming ``what``."""
    value = text_rules.fold(text)
    if not value:
        raise AuthError("invalid", _("Please fill in the {what}.").format(what=_(what)))
    if len(value) > limit or text_rules.has_control(value):
        raise AuthError(
            "invalid",
            _("The {what} must be one line of at most {n} characters.").format(
                what=_(what), n=limit
            ),
        )
    return value


def _consecutive_failures(session: Session, username: str) -> int:
    """Failed log-ins for ``username`` since its last successful one."""
    last_ok = (
        session.exec(
            select(func.max(AccessEvent.seq)).where(
                AccessEvent.kind == "login", AccessEvent.reason == username
            )
        ).one()
        or 0
    )
    return session.exec(
        select(func.count())
        .select_from(AccessEvent)
        .where(
            AccessEvent.kind == "login_failed",
            AccessEvent.reason == username,
            AccessEvent.seq > last_ok,
        )
    ).one()


def authenticate(db: Database, username: str, password: str, *, counter: str = "1") -> Workplace:
    """Check a log-in and return the workplace of the account (its institution).

    Every attempt is written to the access log (``login`` / ``login_failed``, reason = the
    username, or "(unknown user)" when no account has that name; unknown names share one
    growing delay). Raises AuthError ``invalid``, ``unknown``,
    ``wrong_password`` (with ``delay_s``) or ``disabled``.
    """
    name = clean_field(username, what=N_("username"))
    if len(password) > 1024:
        raise AuthError("invalid", _("The password is too long."))
    with db.read() as session:
        clerk = session.exec(select(Clerk).where(Clerk.username == name)).first()
        inst = session.get(Institution, clerk.institution_id) if clerk else None
    # Verify even for an unknown name so timing does not tell which usernames exist.
    password_ok = verify_secret(clerk.password_hash if clerk else _dummy_hash(), password)
    ok = clerk is not None and password_ok and clerk.active
    with db.write() as session:
        # What was typed as a username is logged only when it names an account: a password
        # typed into the wrong field must not end up in the (unchangeable) access log.
        logged_name = name if clerk else UNKNOWN_USER
        access_log.append(
            session,
            kind="login" if ok else "login_failed",
            clerk_id=clerk.id if clerk else None,
            institution_id=clerk.institution_id if clerk else None,
            reason=logged_name,
        )
        failures = 0 if ok else _consecutive_failures(session, logged_name)
    if clerk is None or not password_ok:
        raise AuthError(
            "wrong_password", _("Wrong username or password."), delay_s=failure_delay(failures)
        )
    if not clerk.active:
        raise AuthError(
            "disabled",
            _("This account is disabled; ask the administrator."),
            delay_s=failure_delay(failures),
        )
    assert inst is not None
    return Workplace(
        institution_ref(inst), ClerkRef(clerk.id, clerk.username, clerk.name, clerk.role), counter
    )


@dataclass(frozen=True)
class AccountInfo:
    """An account as listed by ``counter-tui user list``."""

    username: str
    name: str
    role: str
    institution_code: str
    active: bool
    has_password: bool
    has_own_id: bool


def add_user(
    db: Database,
    *,
    username: str,
    name: str,
    role: str,
    institution_code: str,
    password: str,
    own_id: str = "",
) -> uuid.UUID:
    """Create an account. ``own_id`` (optional) is the holder's resident ID, stored only as an
    argon2id hash so the counter can refuse their own dossier. Raises AuthError ``invalid`` or
    ``exists``."""
    username = clean_field(username, what=N_("username"))
    name = clean_field(name, what=N_("name"))
    if role not in ROLES:
        raise AuthError(
            "invalid",
            _("Unknown role {role}; choose one of {roles}.").format(
                role=role, roles=", ".join(ROLES)
            ),
        )
    check_password(password)
    own_hash = None
    if own_id.strip():
        try:
            own_hash = hash_id_number(resident_id.parse(own_id))
        except resident_id.ResidentIdError as exc:
            raise AuthError("invalid", str(exc)) from None
    with db.write() as session:
        inst = session.exec(select(Institution).where(Institution.code == institution_code)).first()
        if inst is None:
            raise AuthError(
                "invalid",
                _("No institution with code {code} in this database.").format(
                    code=institution_code
                ),
            )
        if session.exec(select(Clerk).where(Clerk.username == username)).first():
            raise AuthError(
                "exists", _("An account named {name} already exists.").format(name=username)
            )
        clerk = Clerk(
            username=username,
            name=name,
            role=role,
            institution_id=inst.id,
            password_hash=hash_secret(password),
            id_number_hash=own_hash,
        )
        session.add(clerk)
        session.flush()
        return clerk.id


def check_password(password: str) -> None:
    """Raise AuthError ``invalid`` unless ``password`` has 8–1024 characters."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise AuthError(
            "invalid", _("A password needs at least {n} characters.").format(n=MIN_PASSWORD_CHARS)
        )
    if len(password) > 1024:
        raise AuthError("invalid", _("The password is too long."))


def _get(session: Session, username: str) -> Clerk:
    clerk = session.exec(select(Clerk).where(Clerk.username == username)).first()
    if clerk is None:
        raise AuthError("unknown", _("No account named {name}.").format(name=username))
    return clerk


def set_password(db: Database, username: str, password: str) -> None:
    """Replace an account's password. Raises AuthError ``unknown`` or ``invalid``."""
    check_password(password)
    with db.write() as session:
        clerk = _get(session, username)
        clerk.password_hash = hash_secret(password)
        session.add(clerk)


def set_active(db: Database, username: str, active: bool) -> None:
    """Enable or disable an account. Raises AuthError ``unknown``."""
    with db.write() as session:
        clerk = _get(session, username)
        clerk.active = active
        session.add(clerk)


def list_users(db: Database) -> list[AccountInfo]:
    """All accounts, by institution then username."""
    with db.read() as session:
        codes = {i.id: i.code for i in session.exec(select(Institution))}
        clerks = session.exec(select(Clerk).order_by(Clerk.username)).all()
    return sorted(
        (
            AccountInfo(
                c.username,
                c.name,
                c.role,
                codes.get(c.institution_id, "?"),
                c.active,
                bool(c.password_hash),
                bool(c.id_number_hash),
            )
            for c in clerks
        ),
        key=lambda a: (a.institution_code, a.username),
    )


def active_account(db: Database, username: str, roles: frozenset[str] | set[str]) -> ClerkRef:
    """The active account ``username`` if its role is one of ``roles`` (e.g. the archivist
    named on ``counter-tui intake``). Raises AuthError ``unknown`` (no such active account)
    or ``forbidden`` (another role)."""
    with db.read() as session:
        clerk = session.exec(select(Clerk).where(Clerk.username == username)).first()
    if clerk is None or not clerk.active:
        raise AuthError("unknown", _("No active account named {name}.").format(name=username))
    if clerk.role not in roles:
        raise AuthError(
            "forbidden",
            _("{name} is a {role}; this needs one of: {roles}.").format(
                name=username,
                role=_(ROLES.get(clerk.role, clerk.role)),
                roles=", ".join(_(ROLES[r]) for r in sorted(roles) if r in ROLES),
            ),
        )
    return ClerkRef(clerk.id, clerk.username, clerk.name, clerk.role)


def list_institutions(db: Database) -> list[InstitutionRef]:
    """Every institution of this database, by code."""
    with db.read() as session:
        return [
            institution_ref(i) for i in session.exec(select(Institution).order_by(Institution.code))
        ]


def first_institution_code(db: Database) -> str | None:
    """The code of the first institution (by code) of this database, or None when it has
    none yet (the first start of a real archive)."""
    with db.read() as session:
        inst = session.exec(select(Institution).order_by(Institution.code)).first()
    return inst.code if inst else None


def add_institution(
    db: Database,
    *,
    code: str,
    name: str,
    serial_prefix: str,
    uscc: str = "",
    address: str = "",
) -> str:
    """Create a district institution (the first start of a real archive); returns its code.
    ``code`` is NFKC-folded and upper-cased; ``serial_prefix`` (the certificate serial's
    prefix) must be 1–8 letters; ``uscc``, if given, a 统一社会信用代码 with a correct GB 32100
    check character (stored normalised); ``address`` is printed on certificates. Raises
    AuthError ``invalid`` or ``exists``."""
    code = clean_field(code, what=N_("institution code")).upper()
    name = clean_field(name, what=N_("institution name"))
    prefix = text_rules.fold(serial_prefix).upper()
    if not (prefix.isascii() and prefix.isalpha() and len(prefix) <= 8):
        raise AuthError(
            "invalid",
            _("Institution code, name and a prefix of 1–8 letters are needed."),
        )
    if uscc.strip():
        uscc = _valid_uscc(uscc)
    try:
        address = text_rules.collapse(address, 200)
    except ValueError:
        raise AuthError(
            "invalid", _("The address may have at most {n} characters.").format(n=200)
        ) from None
    with db.write() as session:
        if session.exec(select(Institution).where(Institution.code == code)).first():
            raise AuthError(
                "exists", _("An institution with code {code} already exists.").format(code=code)
            )
        session.add(
            Institution(
                code=code,
                name=name,
                kind="district",
                serial_prefix=prefix,
                uscc=uscc.strip(),
                address=address,
            )
        )
    return code


def _valid_uscc(uscc: str) -> str:
    try:
        return identifiers.validate_uscc(uscc)
    except identifiers.InvalidUSCC:
        raise AuthError(
            "invalid",
            _(
                "{code} is not a valid unified social credit code (18 characters, "
                "GB 32100 check character)."
            ).format(code=uscc.strip()),
        ) from None


def set_institution_details(
    db: Database, code: str, *, uscc: str | None = None, address: str | None = None
) -> InstitutionRef:
    """Record an institution's 统一社会信用代码 (GB 32100 check character verified, stored
    normalised) and/or address (at most 200 characters), both printed on its certificates;
    None leaves a value as it is. Returns the institution as now stored. Raises AuthError
    ``invalid`` (bad code or address) or ``unknown`` (no such institution)."""
    wanted = clean_field(code, what=N_("institution code")).upper()
    new_uscc = _valid_uscc(uscc) if uscc is not None else None
    new_address = None
    if address is not None:
        try:
            new_address = text_rules.collapse(address, 200)
        except ValueError:
            raise AuthError(
                "invalid", _("The address may have at most {n} characters.").format(n=200)
            ) from None
    with db.write() as session:
        inst = session.exec(select(Institution).where(Institution.code == wanted)).first()
        if inst is None:
            raise AuthError(
                "unknown", _("There is no institution with code {code}.").format(code=wanted)
            )
        if new_uscc is not None:
            inst.uscc = new_uscc
        if new_address is not None:
            inst.address = new_address
        session.add(inst)
        session.flush()
        return institution_ref(inst)


def has_accounts(db: Database) -> bool:
    """Whether any account with a password exists (False on a new, real database)."""
    with db.read() as session:
        return (
            session.exec(
                select(func.count()).select_from(Clerk).where(col(Clerk.password_hash).is_not(None))
            ).one()
            > 0
        )


def is_own_dossier(db: Database, clerk_id: uuid.UUID, id_number: str | None) -> bool:
    """Whether ``id_number`` is the clerk's own resident ID (argon2 check of the stored hash;
    the PHC string carries its own parameters, so either hasher verifies it)."""
    if not id_number:
        return False
    with db.read() as session:
        return is_own_id_number(session, clerk_id, id_number)


def is_own_id_number(session: Session, clerk_id: uuid.UUID, id_number: str | None) -> bool:
    """:func:`is_own_dossier` inside the caller's session (one read for a whole lookup)."""
    if not id_number:
        return False
    clerk = session.get(Clerk, clerk_id)
    return bool(clerk and verify_secret(clerk.id_number_hash, id_number))
