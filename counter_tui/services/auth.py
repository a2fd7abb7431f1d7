"""Accounts, log-in and roles.

Passwords are stored as argon2id hashes (argon2-cffi's PasswordHasher, RFC 9106 parameters of
the library's default profile).

Log-in (:func:`authenticate`). Every attempt is an access event. A wrong password is answered
after a delay that doubles with each consecutive failure (1, 2, 4 … capped at 30 seconds),
counted both per username (since its last successful log-in, or an administrator's
``user enable`` / ``user passwd``) and per counter (since the last successful log-in there; the
counter is recorded as the event's ``target_id``, :func:`counter_key`). The service enforces
it: an attempt during the delay is refused (``throttled``) without running argon2. After
``lockout_failures`` consecutive failures (setting ``login_lockout_failures``, default 10) an
account is locked: refused without argon2 until an administrator runs
``counter-tui user enable NAME`` (or sets a new password), or until :data:`LOCKOUT_S` (30
minutes) have passed since its last failure — the time-out keeps a lone administrator who
locked themselves out from locking the whole archive for good; each later failure locks it
again. Names that are no account share one bucket, which gets the delay but no lock-out.

Accounts (:func:`add_user`, :func:`set_password`, :func:`set_active`, :func:`set_own_id`) are
changed only by an active administrator (``actor``), except the first administrator of a
database without accounts. Each change appends an access event (``account_added``,
``account_password_changed``, ``account_disabled``, ``account_enabled``, ``account_changed``)
in the same transaction whose ``reason`` is the SHA-256 of the account row's canonical content
(services.seals.row_content_hash: every column, the password hash included), so
``audit verify`` (services.account_audit) names rows added or edited behind the application's
back.

Own resident ID. A clerk's own ID is stored only as HMAC-SHA256 (RFC 2104) under a 32-byte key
kept in the keyring (secret :data:`~counter_tui.services.secrets.OWN_ID_KEY`, created on first
need), as ``hmac-sha256$<key id>$<hex digest>``: without the key a stored value cannot be
reversed by trying every birth date of an area. Every counter sharing a database needs the
same key (copy it with the keyring tools, like the certificate signing key). Values stored as
argon2id before (``$argon2id$…``) stay verifiable and are replaced by the keyed form with
``counter-tui user own-id NAME``. The check never passes silently: a keyed value that cannot be
checked (no usable keyring, no key, another key) raises :class:`OwnIdCheckUnavailable`, so the
dossier is not opened; and without a usable keyring no new own ID is stored (the
administrator is told why) rather than falling back to a reversible hash.

Roles: ``clerk`` (窗口: serve applicants), ``supervisor`` (counter + dashboard of their
institution), ``archivist`` (intake and receipt), ``auditor`` (read-only access log),
``admin`` (accounts).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import hmac
import logging
import math
import os
import uuid
from dataclasses import dataclass

import keyring
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import Session, col, func, or_, select

from counter_tui.db.engine import Database
from counter_tui.db.models import AccessEvent, Clerk, Institution
from counter_tui.domain import clock, identifiers, resident_id
from counter_tui.domain import text as text_rules
from counter_tui.errors import CounterError
from counter_tui.i18n import N_, _
from counter_tui.services import access_log, seals, secrets
from counter_tui.services.workplace import ClerkRef, InstitutionRef, Workplace, institution_ref

log = logging.getLogger(__name__)

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
LOCKOUT_FAILURES = 10
"""Default of the setting ``login_lockout_failures``."""
LOCKOUT_S = 30 * 60.0
"""How long a locked account stays locked after its last failure (unless an administrator
lifts it sooner)."""
UNKNOWN_USER = "(unknown user)"
ACCOUNT_KINDS = (
    "account_added",
    "account_password_changed",
    "account_disabled",
    "account_enabled",
    "account_changed",
)
"""Access event kinds sealing a change of an account (services.access_log.KIND_LABELS)."""
_UNLOCK_KINDS = ("account_enabled", "account_password_changed")
OWN_ID_SCHEME = "hmac-sha256"
OWN_ID_KEY_BYTES = 32
_COUNTER_NAMESPACE = uuid.UUID("5d1f6f0e-8a43-4c55-9b0e-3c2a1f7d6e10")

_hasher = PasswordHasher()
# Own IDs stored before the keyed hash were argon2id with OWASP's minimum configuration.
_id_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_now = clock.utcnow
"""The clock the log-in delay is measured with (tests move it)."""


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("counter-tui: no such account")


class AuthError(CounterError, PermissionError):
    """A failed log-in or account change. ``reason``: ``unknown``, ``wrong_password``,
    ``disabled``, ``invalid`` (bad field), ``exists``, ``forbidden`` (not an administrator),
    ``throttled`` (an attempt during the delay; the password was not checked), ``locked``
    (too many failures), ``no_key`` (no own-ID key to store with); ``delay_s`` is how long to
    wait before answering (0 unless a password was wrong); ``retry_after_s`` how long until
    the next attempt is checked (``throttled``, ``locked``); the message is for the user."""

    def __init__(
        self, reason: str, message: str, *, delay_s: float = 0.0, retry_after_s: float = 0.0
    ) -> None:
        super().__init__(message, reason=reason)
        self.reason = reason
        self.delay_s = delay_s
        self.retry_after_s = retry_after_s


class OwnIdCheckUnavailable(AuthError):
    """The clerk's own-ID value cannot be checked here (no usable keyring, no key or another
    key, or a malformed stored value): the dossier must not be opened. Reason
    ``own_id_check``."""

    def __init__(self, message: str) -> None:
        super().__init__("own_id_check", message)


def hash_secret(value: str) -> str:
    """An argon2id hash (PHC string format) of ``value`` (library default parameters)."""
    return _hasher.hash(value)


_key_cache: list[tuple[object, bytes]] = []


def _key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def _read_own_id_key() -> bytes | None:
    """The own-ID key from the keyring (cached per keyring backend), or None when not stored.
    Raises SecretsUnavailable / SecretsError."""
    backend = keyring.get_keyring()
    if _key_cache and _key_cache[0][0] is backend:
        return _key_cache[0][1]
    stored = secrets.get_secret(secrets.OWN_ID_KEY)
    if not stored:
        return None
    try:
        key = base64.b64decode(stored, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != OWN_ID_KEY_BYTES:
        raise secrets.SecretsError(
            _("The own-ID key stored in the keyring is not a base64 key of {n} bytes.").format(
                n=OWN_ID_KEY_BYTES
            )
        )
    _key_cache[:] = [(backend, key)]
    return key


def own_id_key(create: bool = False) -> bytes:
    """The key of the own-ID hash (:data:`OWN_ID_KEY_BYTES` bytes, stored base64 in the
    keyring as :data:`~counter_tui.services.secrets.OWN_ID_KEY`). ``create``: make one from the
    OS's random source when none is stored. Raises SecretMissing (none stored, ``create``
    false), SecretsUnavailable (no usable keyring) or SecretsError (a malformed stored key)."""
    key = _read_own_id_key()
    if key is not None:
        return key
    if not create:
        raise secrets.SecretMissing(_("No own-ID key is stored in the keyring."))
    key = os.urandom(OWN_ID_KEY_BYTES)
    secrets.set_secret(secrets.OWN_ID_KEY, base64.b64encode(key).decode("ascii"))
    _key_cache[:] = [(keyring.get_keyring(), key)]
    return key


def _keyed(key: bytes, number: str) -> str:
    digest = hmac.new(key, number.strip().upper().encode("ascii"), hashlib.sha256).hexdigest()
    return f"{OWN_ID_SCHEME}${_key_id(key)}${digest}"


def hash_id_number(number: str, *, key: bytes | None = None) -> str:
    """The stored form of a normalised resident ID: ``hmac-sha256$<key id>$<hex>``, HMAC-SHA256
    (RFC 2104) under ``key`` (default: :func:`own_id_key`, created on first need; the key id is
    the first 8 hex digits of the key's SHA-256). Raises SecretsUnavailable without a usable
    keyring."""
    return _keyed(key if key is not None else own_id_key(create=True), number)


def own_id_matches(stored: str, number: str) -> bool:
    """Whether ``number`` (a normalised resident ID) is the one ``stored`` by
    :func:`hash_id_number` (or by the argon2id hash used before it). Raises
    OwnIdCheckUnavailable when a keyed value cannot be checked here or ``stored`` is
    malformed: the caller must then refuse, never treat it as "not the clerk's own"."""
    if stored.startswith("$argon2"):
        try:
            return _id_hasher.verify(stored, number)
        except VerifyMismatchError:
            return False
        except (VerificationError, InvalidHashError):
            pass
    else:
        scheme, _sep, rest = stored.partition("$")
        kid, _sep, digest = rest.partition("$")
        if scheme == OWN_ID_SCHEME and len(digest) == 64:
            try:
                key = own_id_key()
            except secrets.SecretsError as exc:
                raise OwnIdCheckUnavailable(
                    _(
                        "Your own-dossier check needs the own-ID key from the keyring, which "
                        "cannot be read on this computer ({error}); no dossier is opened until "
                        "it can. Ask the administrator to install the key."
                    ).format(error=exc)
                ) from exc
            if _key_id(key) != kid:
                raise OwnIdCheckUnavailable(
                    _(
                        "Your own ID was stored with another own-ID key than the one in this "
                        "keyring; no dossier is opened until the administrator installs that "
                        "key or enters your ID again (counter-tui user own-id)."
                    )
                )
            return hmac.compare_digest(_keyed(key, number), stored)
    raise OwnIdCheckUnavailable(
        _(
            "The stored value of your own ID is malformed; no dossier is opened until the "
            "administrator enters your ID again (counter-tui user own-id)."
        )
    )


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


def counter_key(counter: str) -> uuid.UUID:
    """The UUID recorded as ``target_id`` of a log-in event for ``counter`` (UUIDv5 of the
    counter's name), so that failures can be counted per counter."""
    return uuid.uuid5(_COUNTER_NAMESPACE, counter)


@dataclass(frozen=True)
class LoginState:
    """Consecutive failed log-ins and the time of the last one, for a username (bucket) and
    for a counter."""

    failures: int
    last_failure: dt.datetime | None
    counter_failures: int
    counter_last_failure: dt.datetime | None


def login_state(
    session: Session, logged_name: str, clerk_id: uuid.UUID | None, counter: str
) -> LoginState:
    """Failed log-ins for ``logged_name`` (a username, or :data:`UNKNOWN_USER`) since its last
    successful log-in or, for the account ``clerk_id``, since an administrator enabled it or
    set its password; and failed log-ins at ``counter`` since the last successful one there.
    One pass over the log-in events of that name, counter and account."""
    counter_id = counter_key(counter)
    targets = [counter_id] if clerk_id is None else [counter_id, clerk_id]
    rows = session.exec(
        select(AccessEvent.kind, AccessEvent.reason, AccessEvent.target_id, AccessEvent.at)
        .where(
            col(AccessEvent.kind).in_(("login", "login_failed", *_UNLOCK_KINDS)),
            or_(AccessEvent.reason == logged_name, col(AccessEvent.target_id).in_(targets)),
        )
        .order_by(col(AccessEvent.seq))
    ).all()
    failures, last, at_counter, counter_last = 0, None, 0, None
    for kind, reason, target, at in rows:
        if kind in _UNLOCK_KINDS:
            if clerk_id is not None and target == clerk_id:
                failures, last = 0, None
            continue
        if reason == logged_name:
            failures, last = (failures + 1, at) if kind == "login_failed" else (0, None)
        if target == counter_id:
            at_counter, counter_last = (at_counter + 1, at) if kind == "login_failed" else (0, None)
    return LoginState(failures, _aware(last), at_counter, _aware(counter_last))


def _aware(moment: object) -> dt.datetime | None:
    if not isinstance(moment, dt.datetime):
        # A value that did not go through the column type (e.g. an aggregate) is text.
        moment = dt.datetime.fromisoformat(str(moment)) if moment else None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


def _remaining(last: dt.datetime | None, wait_s: float, now: dt.datetime) -> float:
    """Seconds of ``wait_s`` after ``last`` still to go at ``now`` (never more than
    ``wait_s``, so a clock set back cannot lengthen it)."""
    if last is None or wait_s <= 0:
        return 0.0
    elapsed = (now - last).total_seconds()
    return min(wait_s, max(0.0, wait_s - elapsed))


def _log_attempt(
    db: Database, kind: str, clerk: Clerk | None, logged_name: str, counter: str
) -> LoginState | None:
    with db.write() as session:
        access_log.append(
            session,
            kind=kind,
            clerk_id=clerk.id if clerk else None,
            institution_id=clerk.institution_id if clerk else None,
            target_id=counter_key(counter),
            reason=logged_name,
        )
        if kind == "login_failed":
            return login_state(session, logged_name, clerk.id if clerk else None, counter)
    return None


def _locked_message(failures: int) -> str:
    return _(
        "Log-in with this username is blocked after {n} failed attempts. An administrator can "
        "lift the block (counter-tui user enable USERNAME); otherwise it lifts {minutes} "
        "minutes after the last attempt."
    ).format(n=failures, minutes=int(LOCKOUT_S // 60))


def authenticate(
    db: Database,
    username: str,
    password: str,
    *,
    counter: str = "1",
    lockout_failures: int = LOCKOUT_FAILURES,
) -> Workplace:
    """Check a log-in at ``counter`` and return the workplace of the account (its institution).

    Every attempt is written to the access log (``login`` / ``login_failed`` /
    ``login_throttled`` / ``login_locked``; reason = the username, or "(unknown user)" when
    no account has that name; target = :func:`counter_key` of ``counter``). Before the
    password is checked (argon2), the attempt is refused without checking it while the delay
    after the last failure (:func:`failure_delay` of the consecutive failures for that
    username and at that counter, whichever ends later) runs: AuthError ``throttled`` with
    ``retry_after_s``; and an account with ``lockout_failures`` (≥ 1) consecutive failures is
    refused with ``locked`` until an administrator enables it or :data:`LOCKOUT_S` have passed
    since its last failure. Two attempts racing from two counters may both be checked.
    Raises AuthError ``invalid``, ``throttled``, ``locked``, ``wrong_password`` (with
    ``delay_s``; ``locked`` instead when this failure locks the account) or ``disabled``.
    """
    name = clean_field(username, what=N_("username"))
    if len(password) > 1024:
        raise AuthError("invalid", _("The password is too long."))
    with db.read() as session:
        clerk = session.exec(select(Clerk).where(Clerk.username == name)).first()
        inst = session.get(Institution, clerk.institution_id) if clerk else None
        # What was typed as a username is logged only when it names an account: a password
        # typed into the wrong field must not end up in the (unchangeable) access log.
        logged_name = name if clerk else UNKNOWN_USER
        state = login_state(session, logged_name, clerk.id if clerk else None, counter)
    now = _now()
    lockout = max(1, lockout_failures)
    if clerk is not None and state.failures >= lockout:
        locked_for = _remaining(state.last_failure, LOCKOUT_S, now)
        if locked_for > 0:
            _log_attempt(db, "login_locked", clerk, logged_name, counter)
            raise AuthError("locked", _locked_message(state.failures), retry_after_s=locked_for)
    wait = max(
        _remaining(state.last_failure, failure_delay(state.failures), now),
        _remaining(state.counter_last_failure, failure_delay(state.counter_failures), now),
    )
    if wait > 0:
        _log_attempt(db, "login_throttled", clerk, logged_name, counter)
        raise AuthError(
            "throttled",
            _(
                "Too many failed log-ins with this username or at this counter: the password "
                "was not checked. Try again in {n} s."
            ).format(n=math.ceil(wait)),
            retry_after_s=wait,
        )
    # Verify even for an unknown name so timing does not tell which usernames exist.
    password_ok = verify_secret(clerk.password_hash if clerk else _dummy_hash(), password)
    ok = clerk is not None and password_ok and clerk.active
    after = _log_attempt(db, "login" if ok else "login_failed", clerk, logged_name, counter)
    failures = max(after.failures, after.counter_failures) if after else 0
    if clerk is None or not password_ok:
        if clerk is not None and after is not None and after.failures >= lockout:
            raise AuthError(
                "locked",
                _("Wrong username or password.") + " " + _locked_message(after.failures),
                delay_s=failure_delay(failures),
                retry_after_s=LOCKOUT_S,
            )
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
    """An account as listed by ``counter-tui user list``. ``own_id``: how the holder's own
    resident ID is stored: "" (none), ``keyed`` or ``argon2`` (the older form, to be entered
    again with ``counter-tui user own-id``)."""

    username: str
    name: str
    role: str
    institution_code: str
    active: bool
    has_password: bool
    has_own_id: bool
    own_id: str = ""


def register_account(
    chain: access_log.Chain,
    clerk: Clerk,
    *,
    kind: str,
    clerk_id: uuid.UUID | None,
) -> None:
    """Seal an account's current content into the chain (``kind``: one of
    :data:`ACCOUNT_KINDS`; ``clerk_id``: the administrator who made the change, or None for a
    build script); call in the transaction that writes the row, after a flush."""
    if kind not in ACCOUNT_KINDS:
        raise ValueError(f"not an account event kind: {kind!r}")
    chain.append(
        kind=kind,
        clerk_id=clerk_id,
        institution_id=clerk.institution_id,
        target_id=clerk.id,
        reason=seals.row_content_hash(clerk),
    )


def _any_account(session: Session) -> bool:
    return (
        session.exec(
            select(func.count()).select_from(Clerk).where(col(Clerk.password_hash).is_not(None))
        ).one()
        > 0
    )


def _require_admin(session: Session, actor: Workplace | None, what: str) -> Clerk:
    """The acting administrator's row, read in the caller's transaction. Raises AuthError
    ``forbidden`` (nobody, or another role) or ``disabled``; the refusal is logged."""
    who = actor.clerk if actor else None
    admin = session.get(Clerk, who.id) if who else None
    if admin is None or admin.role != "admin":
        log.warning(
            "account change (%s) refused to %s (role %s)",
            what,
            admin.username if admin else "nobody",
            admin.role if admin else "-",
        )
        raise AuthError("forbidden", _("Only an administrator may change accounts; log in as one."))
    if not admin.active:
        log.warning("account change (%s) refused to disabled account %s", what, admin.username)
        raise AuthError("disabled", _("This account is disabled; ask the administrator."))
    return admin


def _own_hash(session: Session, own_id: str) -> str:
    """The stored form of ``own_id`` (checked, normalised, keyed). Refuses rather than create
    a second key while accounts hold values made with a key this keyring lacks, and rather
    than store a reversible hash on a computer without a usable keyring."""
    try:
        number = resident_id.parse(own_id)
    except resident_id.ResidentIdError as exc:
        raise AuthError("invalid", str(exc)) from None
    try:
        try:
            key = own_id_key()
        except secrets.SecretMissing:
            keyed = session.exec(
                select(func.count())
                .select_from(Clerk)
                .where(col(Clerk.id_number_hash).startswith(OWN_ID_SCHEME + "$"))
            ).one()
            if keyed:
                raise AuthError(
                    "no_key",
                    _(
                        "Accounts hold own IDs hashed with an own-ID key that this keyring "
                        "lacks: copy the secret {name} of service {service} from the computer "
                        "where it was made before storing more."
                    ).format(name=secrets.OWN_ID_KEY, service=secrets.SERVICE),
                ) from None
            key = own_id_key(create=True)
    except secrets.SecretsError as exc:
        raise AuthError(
            "no_key",
            _(
                "The own ID is stored only with a key from the keyring, which cannot be used "
                "here: {error}"
            ).format(error=exc),
        ) from exc
    return hash_id_number(number, key=key)


def add_user(
    db: Database,
    *,
    username: str,
    name: str,
    role: str,
    institution_code: str,
    password: str,
    own_id: str = "",
    actor: Workplace | None = None,
) -> uuid.UUID:
    """Create an account as the administrator ``actor`` (None only for the first
    administrator of a database without accounts) and seal it (``account_added``).
    ``own_id`` (optional) is the holder's resident ID, stored only keyed (see the module
    docstring) so the counter can refuse their own dossier. Raises AuthError ``invalid``,
    ``exists``, ``forbidden``, ``disabled`` or ``no_key``."""
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
    password_hash = hash_secret(password)
    with db.write() as session:
        if actor is None and not _any_account(session):
            if role != "admin":
                raise AuthError(
                    "forbidden",
                    _("The first account of an archive must be an administrator (--role admin)."),
                )
            admin_id = None
        else:
            admin_id = _require_admin(session, actor, "add").id
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
            password_hash=password_hash,
            id_number_hash=_own_hash(session, own_id) if own_id.strip() else None,
        )
        session.add(clerk)
        session.flush()
        # The first administrator creates itself.
        register_account(
            access_log.Chain(session), clerk, kind="account_added", clerk_id=admin_id or clerk.id
        )
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


def _stand_in(session: Session, clerk: Clerk) -> bool:
    """Whether ``clerk`` is another institution's account kept by the sync as a stand-in
    (services.sync.account_stub: ``username@CODE`` of its institution, no password)."""
    if clerk.password_hash or "@" not in clerk.username:
        return False
    institution = session.get(Institution, clerk.institution_id)
    return institution is not None and clerk.username.endswith("@" + institution.code)


def _change(db: Database, username: str, actor: Workplace | None, kind: str, change) -> None:  # noqa: ANN001
    """Apply ``change(session, clerk)`` to the account as an administrator and seal it."""
    with db.write() as session:
        admin = _require_admin(session, actor, kind)
        clerk = _get(session, username)
        if _stand_in(session, clerk):
            raise AuthError(
                "invalid",
                _(
                    "{name} stands for an account of another office (it came with that "
                    "office's facts); it cannot log in here and is not changed here."
                ).format(name=username),
            )
        change(session, clerk)
        session.add(clerk)
        session.flush()
        register_account(access_log.Chain(session), clerk, kind=kind, clerk_id=admin.id)
        session.flush()


def set_password(db: Database, username: str, password: str, *, actor: Workplace | None) -> None:
    """Replace an account's password as the administrator ``actor`` (sealed:
    ``account_password_changed``; also lifts a lock-out). Raises AuthError ``unknown``,
    ``invalid``, ``forbidden`` or ``disabled``."""
    check_password(password)
    password_hash = hash_secret(password)

    def change(session: Session, clerk: Clerk) -> None:
        clerk.password_hash = password_hash

    _change(db, username, actor, "account_password_changed", change)


def set_active(db: Database, username: str, active: bool, *, actor: Workplace | None) -> None:
    """Enable or disable an account as the administrator ``actor`` (sealed:
    ``account_enabled`` / ``account_disabled``; enabling also lifts a lock-out, so it may be
    run on an active account). The last active administrator cannot be disabled. Raises
    AuthError ``unknown``, ``forbidden``, ``disabled`` or ``invalid``."""

    def change(session: Session, clerk: Clerk) -> None:
        if not active and clerk.role == "admin" and clerk.active:
            others = session.exec(
                select(func.count())
                .select_from(Clerk)
                .where(Clerk.role == "admin", col(Clerk.active).is_(True), Clerk.id != clerk.id)
            ).one()
            if not others:
                raise AuthError("invalid", _("The last active administrator cannot be disabled."))
        clerk.active = active

    _change(db, username, actor, "account_enabled" if active else "account_disabled", change)


def set_own_id(db: Database, username: str, own_id: str, *, actor: Workplace | None) -> None:
    """Store (or replace, e.g. an older argon2id value) the holder's own resident ID of an
    account, keyed, as the administrator ``actor`` (sealed: ``account_changed``). Raises
    AuthError ``unknown``, ``invalid``, ``forbidden``, ``disabled`` or ``no_key``."""
    if not own_id.strip():
        raise AuthError("invalid", _("Please fill in the {what}.").format(what=_("resident ID")))

    def change(session: Session, clerk: Clerk) -> None:
        clerk.id_number_hash = _own_hash(session, own_id)

    _change(db, username, actor, "account_changed", change)


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
                _own_id_form(c.id_number_hash),
            )
            for c in clerks
        ),
        key=lambda a: (a.institution_code, a.username),
    )


def _own_id_form(stored: str | None) -> str:
    if not stored:
        return ""
    return "keyed" if stored.startswith(OWN_ID_SCHEME + "$") else "argon2"


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
    AuthError ``invalid``, or ``exists`` (the code, or the serial prefix: serials are unique per
    prefix, so two institutions never share one)."""
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
        same_prefix = session.exec(
            select(Institution.code).where(func.upper(Institution.serial_prefix) == prefix)
        ).first()
        if same_prefix is not None:
            # Certificate serials are "<prefix>-<year>-<number>": unique only per prefix.
            raise AuthError(
                "exists",
                _(
                    "Institution {other} already issues certificates with the serial prefix "
                    "{prefix}; choose another prefix."
                ).format(other=same_prefix, prefix=prefix),
            )
        institution = Institution(
            code=code,
            name=name,
            kind="district",
            serial_prefix=prefix,
            uscc=uscc.strip(),
            address=address,
        )
        session.add(institution)
        session.flush()
        seals.seal_row(
            access_log.Chain(session),
            "institution_changed",
            institution,
            clerk_id=None,
            institution_id=institution.id,
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
        seals.seal_row(
            access_log.Chain(session),
            "institution_changed",
            inst,
            clerk_id=None,
            institution_id=inst.id,
        )
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
    """Whether ``id_number`` is the clerk's own resident ID (:func:`own_id_matches` against
    the stored value). Raises OwnIdCheckUnavailable when it cannot be checked here."""
    if not id_number:
        return False
    with db.read() as session:
        return is_own_id_number(session, clerk_id, id_number)


def is_own_id_number(session: Session, clerk_id: uuid.UUID, id_number: str | None) -> bool:
    """:func:`is_own_dossier` inside the caller's session (one read for a whole lookup)."""
    if not id_number:
        return False
    clerk = session.get(Clerk, clerk_id)
    if clerk is None or not clerk.id_number_hash:
        return False
    return own_id_matches(clerk.id_number_hash, id_number)
