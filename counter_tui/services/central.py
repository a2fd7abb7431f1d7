"""The city-wide central database on PostgreSQL: preparing it and giving each office its role.

The offices' sync engine (issue 11) builds on what this module sets up; the contract below is
what it may rely on. Everything is enforced by PostgreSQL itself (grants and row-level
security), so an office's credentials can do no more than this whatever program uses them.

Preparing (:func:`init_central`, ``counter-tui central init URL``)
    Runs the app's Alembic migrations (the same models as an office's SQLite file), then the
    central-only DDL of :mod:`counter_tui.services.central_sql`, in one transaction, safe to run
    again (upgrades a central prepared by an older version). ``central_meta(key, value)`` holds
    ``schema_version`` (:data:`SCHEMA_VERSION`). Tables added:

    * ``office_role(role_name, institution_id)``: which LOGIN role is which institution.
    * ``central_log(id bigserial, xid xid8 default pg_current_xact_id(), table_name, row_id,
      institution_id, dossier_id)``, index (xid, id): AFTER INSERT triggers on every table of
      :data:`LOGGED_TABLES` append one row per inserted row (and per UPDATE on the three
      mutable ones: institution, clerk, holder_index). ``institution_id`` is the row's own
      institution column (``custody_event.holder_institution_id``; ``dossier``:
      ``origin_institution_id``; ``service_event`` via its visit, ``certificate_event`` via
      its certificate; ``material`` and ``page``: the holder of their dossier when they
      arrive); ``dossier_id`` the row's dossier (``page`` via its material). ``holder_index``
      rows, keyed by text, are logged with ``row_id = md5(id_hash)::uuid`` (an index finds the
      row again: ``WHERE md5(id_hash)::uuid = :row_id``; :func:`holder_index_row_id`). The pull
      side reads ``central_log`` ordered by (xid, id) and only below
      ``pg_snapshot_xmin(pg_current_snapshot())``: a transaction that commits after a later
      one is then still delivered. A first install on a database already holding rows logs
      those rows too (parents first), under the install's own xid.
    * ``holder_index(id_hash, institution_id, since, updated_at)``: keyed hash of a resident
      ID → holding institution (the hash is computed by the caller, never the ID).
    * ``office_chain_event``: each office's access events, the columns of ``access_event``
      plus ``origin`` (the office's institution id), primary key (origin, seq), ``id`` unique.
    * ``sync_quarantine``: the table of migration 0011 when present, plus ``origin uuid`` and
      ``at`` defaulting to ``now()``; else ``(id, origin, table_name, row_id, received jsonb,
      held jsonb, reason, at)``.
    * ``custody_head(dossier_id, event_id, at, kind, holder_institution_id)``: the latest
      custody event of each dossier (by ``at``, then ``id``: services.custody's "latest event
      wins"), kept by a trigger on ``custody_event``; what makes a scope one index range.

    SQL functions: ``current_office() → uuid`` (the institution of ``current_user`` in
    office_role; NULL for any other role); ``office_scope(inst uuid) → setof uuid``: the
    dossiers whose latest custody event names ``inst`` as holder — held there, or a
    ``transferred_out`` naming ``inst``, i.e. in transit to it. It is SECURITY INVOKER over
    ``custody_head`` (fixed search_path), whose row-level security shows an office only the
    heads naming itself: asked for another institution, an office's call returns nothing, where
    a SECURITY DEFINER function taking an institution would hand any office any other's dossier
    ids. Cost: one index range on custody_head(holder_institution_id), whatever the size of
    the city. ``in_office_scope(dossier)`` and ``held_by_office(dossier)`` (held, not in
    transit) answer for one dossier; ``central_existing(table, ids uuid[]) → setof uuid``
    (SECURITY DEFINER) says which of the given keys central already holds, even outside the
    caller's scope, so a push that resumes after its dossier left the scope can skip rows
    already there (PostgreSQL checks the INSERT policy before ON CONFLICT, so re-inserting
    such a row fails even with ON CONFLICT DO NOTHING); ``central_revision() → text``
    (SECURITY DEFINER) the app schema's Alembic revision, which an office may not read from
    ``alembic_version`` itself.

Offices (:func:`add_office`, ``counter-tui central add-office URL CODE``)
    Role ``office_<code lowercased, non-alphanumerics → _>`` (:func:`office_role_name`), LOGIN,
    a random password (scram-sha-256 verifier computed here: the password never reaches the
    server or its log), no attribute (NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
    NOBYPASSRLS), member only of the NOLOGIN group ``counter_office`` that holds the grants.
    Running it again re-keys the role (new password). Row-level security is ENABLEd and
    FORCEd on every table an office can touch; with ``me = current_office()`` and ``scope =
    office_scope(me)`` an office may

    * SELECT ``institution``, ``holder_index``, ``central_meta`` (all rows), its own
      ``office_role`` row, its ``custody_head`` rows; ``dossier`` in scope or of origin me;
      ``custody_event``, ``material`` (and their ``page`` rows), ``certificate`` and
      ``consultation`` of dossiers in scope, plus custody events naming me and certificates
      and consultations of me; ``certificate_event`` of a certificate it sees;
      ``service_visit``/``service_event`` of its own visits, and a visit (not its events) that
      a certificate or consultation it sees names; ``clerk`` and ``chain_checkpoint`` of me;
      every ``signing_key_list`` (public keys: certificates verify anywhere);
      ``office_chain_event``/``sync_quarantine`` of origin me; ``nearby_access`` rows naming
      me as viewer or holder (services.central_nearby_sql); ``central_log`` rows of me, of a
      dossier in scope, and every ``institution``, ``signing_key_list`` and ``holder_index``
      row. Another institution's accounts only through ``public_accounts(ids)`` (SECURITY
      DEFINER: id, institution, username, name, role, created_at — never a hash), and another
      office's dossier only through ``nearby_view`` (就近办理, recorded for the holder).
    * INSERT facts of its own institution only: rows whose institution column is me
      (certificate, consultation, service_visit, signing_key_list, chain_checkpoint, clerk);
      service events of its own visits; certificate events of its own certificates; materials
      of dossiers in scope and pages of such materials; dossiers of origin me or none;
      ``office_chain_event`` and ``sync_quarantine`` rows of origin me; ``holder_index`` rows
      naming me (INSERT … ON CONFLICT DO UPDATE may take an entry over, only to name me).
    * custody events (the transfer rule): an event naming me as holder on a dossier in my
      scope (``received`` when it arrives in transit to me; ``shelved``, ``lent`` … while I
      hold it), or the first event of a dossier nobody holds yet whose origin is me or none;
      and a ``transferred_out`` naming the receiver, recorded by the sender while it holds
      the dossier (not while it is in transit). The receiver's ``received`` then records the
      arrival. The dossier leaves the sender's scope when the transfer is written.
    * never UPDATE or DELETE a fact (no grant; the append-only triggers refuse as well), no
      TRUNCATE, no DDL (CREATE on schema public is revoked from PUBLIC), nothing of another
      office's ``office_role`` row, nothing of ``access_event``, ``alembic_version``, the
      sync tables of migration 0011 or ``certificate_sequence``.

Needs PostgreSQL 13 or newer (xid8) and, for the URL given, a superuser (or a role with
CREATEROLE and BYPASSRLS that owns the database): the log triggers write as that role.
"""

from __future__ import annotations

import hashlib
import logging
import secrets as token_source
import uuid
from dataclasses import dataclass

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError

from counter_tui.db import migrate
from counter_tui.db.engine import DATABASE_ERRORS, Database, explain
from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.services import central_nearby_sql, central_sql
from counter_tui.services.central_sql import (
    LOGGED_TABLES,
    OFFICE_GROUP,
    SCHEMA_VERSION,
    office_role_name,
)

log = logging.getLogger(__name__)

__all__ = [
    "LOGGED_TABLES",
    "OFFICE_GROUP",
    "SCHEMA_VERSION",
    "CentralError",
    "add_office",
    "holder_index_row_id",
    "init_central",
    "office_role_name",
    "office_url",
    "schema_version",
]

MIN_SERVER_VERSION = 130000
"""PostgreSQL 13: the first with xid8 and pg_current_xact_id()."""

PASSWORD_BYTES = 24
"""Random bytes of a generated office password (shown as 32 URL-safe base64 characters)."""


class CentralError(CounterError):
    """The central database cannot be prepared or an office cannot be added; ``str(error)``
    is the administrator's sentence (UI language). ``reason``: ``not_postgresql``,
    ``password_in_url``, ``not_ours``, ``schema_newer``, ``old_server``, ``not_admin``,
    ``not_prepared``, ``unknown_institution``, ``role_too_powerful`` or ``bad_code``."""


def admin_database(admin_url: str) -> Database:
    """A :class:`Database` on ``admin_url`` (``postgresql://`` gets the psycopg 3 driver).
    Raises CentralError (reason ``not_postgresql``) for any other kind of URL."""
    try:
        parsed = make_url(admin_url)
    except (SQLAlchemyError, ValueError) as exc:
        raise CentralError(
            _("{url} is not a database URL.").format(url=admin_url), reason="not_postgresql"
        ) from exc
    if parsed.get_backend_name() != "postgresql":
        raise CentralError(
            _("The central database must be PostgreSQL (postgresql://…), not {url}.").format(
                url=parsed.render_as_string(hide_password=True)
            ),
            reason="not_postgresql",
        )
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return Database(parsed)


def init_central(admin_url: str) -> None:
    """Prepare the PostgreSQL database ``admin_url`` (SQLAlchemy URL of a superuser, password
    included when one is needed) as the central database: the app's migrations, then the
    central tables, triggers, functions, grants and policies (see the module docstring);
    idempotent.

    Raises CentralError: ``not_ours`` (the database holds tables but no Counter TUI schema),
    ``schema_newer`` (written by a newer version), ``old_server`` (before PostgreSQL 13),
    ``not_admin`` (the role can neither create roles nor bypass row-level security);
    DatabaseUnavailable (server unreachable, log-in refused …; engine.explain)."""
    db = admin_database(admin_url)
    try:
        _check_before_init(db)
        migrate.upgrade(db)
        with db.begin_write_connection() as connection:
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({central_sql.INIT_LOCK})")
            first = _schema_version(connection) is None
            statements = central_sql.init_statements(first_install=first)
            for statement in [*statements, *central_nearby_sql.statements()]:
                # The driver reads "%" as a placeholder mark even without parameters.
                connection.exec_driver_sql(statement.replace("%", "%%"))
        log.info("central database %s prepared (schema %s)", db.describe(), SCHEMA_VERSION)
    except DATABASE_ERRORS as exc:
        raise explain(exc, db.url) from exc
    finally:
        db.dispose()


def add_office(admin_url: str, institution_code: str, password: str | None = None) -> str:
    """Create (or re-key) the LOGIN role of the institution ``institution_code`` on the
    prepared central database ``admin_url`` and record it in ``office_role``; returns its
    password: ``password`` when given, else :data:`PASSWORD_BYTES` random bytes as URL-safe
    base64 (RFC 4648 §5). The server receives only the SCRAM-SHA-256 verifier (RFC 7677).

    Raises CentralError: ``not_prepared`` (run init first), ``unknown_institution``,
    ``prefix_taken`` (another institution has the same certificate serial prefix),
    ``bad_code`` (no role name can be made of the code), ``role_too_powerful`` (a role of
    that name exists and is a superuser or holds another powerful membership: not changed),
    ``not_admin``; DatabaseUnavailable when the server cannot be used."""
    code = institution_code.strip().upper()
    try:
        role = office_role_name(code)
    except ValueError as exc:
        raise CentralError(
            _("{code} cannot name an office role (letters, digits and - only, at most 56).").format(
                code=institution_code
            ),
            reason="bad_code",
        ) from exc
    secret = password or token_source.token_urlsafe(PASSWORD_BYTES)
    db = admin_database(admin_url)
    try:
        with db.begin_write_connection() as connection:
            _prepared(connection, db)
            institution = connection.execute(
                text("SELECT id FROM institution WHERE upper(code) = :code"), {"code": code}
            ).scalar()
            if institution is None:
                raise CentralError(
                    _("No institution with code {code} in the central database.").format(code=code),
                    reason="unknown_institution",
                )
            # Serials carry the institution's prefix: two offices issuing offline under the
            # same prefix would collide (central keeps serials unique and would refuse one).
            shared = connection.execute(
                text(
                    "SELECT o.code FROM institution o JOIN institution i ON i.id = :inst "
                    "WHERE o.id <> i.id AND upper(o.serial_prefix) = upper(i.serial_prefix) "
                    "ORDER BY o.code LIMIT 1"
                ),
                {"inst": institution},
            ).scalar()
            if shared is not None:
                raise CentralError(
                    _(
                        "Institution {code} has the same certificate serial prefix as {other}; "
                        "their serials would collide. Give one of them another prefix first."
                    ).format(code=code, other=shared),
                    reason="prefix_taken",
                )
            _create_or_rekey(connection, role, secret)
            database = connection.exec_driver_sql("SELECT current_database()").scalar()
            connection.exec_driver_sql(f'GRANT CONNECT ON DATABASE "{database}" TO {role}')
            # One role per institution: a role recorded earlier for this institution under
            # another name (its code changed) loses the office's rights here.
            connection.execute(
                text("DELETE FROM office_role WHERE institution_id = :inst AND role_name <> :role"),
                {"inst": institution, "role": role},
            )
            connection.execute(
                text(
                    "INSERT INTO office_role (role_name, institution_id) VALUES (:role, :inst) "
                    "ON CONFLICT (role_name) DO UPDATE SET institution_id = EXCLUDED.institution_id"
                ),
                {"role": role, "inst": institution},
            )
        log.info("central office role %s set for %s on %s", role, code, db.describe())
    except DATABASE_ERRORS as exc:
        raise explain(exc, db.url) from exc
    finally:
        db.dispose()
    return secret


INSTITUTION_FIELDS = (
    "code",
    "name",
    "kind",
    "parent_code",
    "serial_prefix",
    "uscc",
    "address",
    "phone",
)
"""The columns of ``institution`` :func:`register_institutions` copies (with ``id``)."""


@dataclass(frozen=True)
class InstitutionsRegistered:
    """What :func:`register_institutions` did, by institution code: ``added``, ``updated``
    (a field differed), ``unchanged``, and ``refused`` (code → why: the code is held by
    another id on central, or the serial prefix is another institution's)."""

    added: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    refused: dict[str, str]


def register_institutions(admin_url: str, archive: Database) -> InstitutionsRegistered:
    """Copy every institution of the archive ``archive`` (an office's, or the city's list)
    into the prepared central database ``admin_url`` (an administrator's URL), keeping its id:
    new ones inserted, changed ones updated (offices pull the change). An institution whose
    code central holds under another id, or whose serial prefix another institution uses, is
    refused and named, never merged. One transaction. Raises CentralError ``not_prepared``,
    ``not_admin``; DatabaseUnavailable when a database cannot be used."""
    from sqlmodel import select

    from counter_tui.db.models import Institution

    with archive.read() as session:
        rows = [
            {"id": i.id, **{f: getattr(i, f) for f in INSTITUTION_FIELDS}}
            for i in session.exec(select(Institution).order_by(Institution.code))
        ]
    added: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    refused: dict[str, str] = {}
    db = admin_database(admin_url)
    try:
        with db.begin_write_connection() as connection:
            _prepared(connection, db)
            columns = ", ".join(INSTITUTION_FIELDS)
            for row in rows:
                code = row["code"]
                other = connection.execute(
                    text("SELECT id FROM institution WHERE upper(code) = upper(:c) AND id <> :i"),
                    {"c": code, "i": row["id"]},
                ).scalar()
                if other is not None:
                    refused[code] = _("central holds this code under another institution id")
                    continue
                prefix = connection.execute(
                    text(
                        "SELECT code FROM institution WHERE upper(serial_prefix) = upper(:p) "
                        "AND id <> :i LIMIT 1"
                    ),
                    {"p": row["serial_prefix"], "i": row["id"]},
                ).scalar()
                if prefix is not None:
                    refused[code] = _("serial prefix {prefix} is {other}'s").format(
                        prefix=row["serial_prefix"], other=prefix
                    )
                    continue
                held = connection.execute(
                    text(f"SELECT {columns} FROM institution WHERE id = :i"), {"i": row["id"]}
                ).first()
                if held is None:
                    connection.execute(
                        text(
                            f"INSERT INTO institution (id, {columns}) VALUES (:id, "
                            + ", ".join(f":{f}" for f in INSTITUTION_FIELDS)
                            + ")"
                        ),
                        row,
                    )
                    added.append(code)
                elif tuple(held) != tuple(row[f] for f in INSTITUTION_FIELDS):
                    connection.execute(
                        text(
                            "UPDATE institution SET "
                            + ", ".join(f"{f} = :{f}" for f in INSTITUTION_FIELDS)
                            + " WHERE id = :id"
                        ),
                        row,
                    )
                    updated.append(code)
                else:
                    unchanged.append(code)
    except DATABASE_ERRORS as exc:
        raise explain(exc, db.url) from exc
    finally:
        db.dispose()
    return InstitutionsRegistered(tuple(added), tuple(updated), tuple(unchanged), refused)


def office_institution(office_central: Database) -> tuple[uuid.UUID, str]:
    """The institution (id, code) whose office role ``office_central`` logs in with
    (``current_office()``): what a new office's empty archive learns before its first pull.
    Raises CentralError ``not_an_office`` when the role is no registered office's; SQLAlchemy
    or driver errors when central cannot be reached."""
    with office_central.read() as session:
        row = session.execute(
            text("SELECT i.id, i.code FROM institution i WHERE i.id = current_office()")
        ).first()
    if row is None:
        raise CentralError(
            _(
                "The central database does not know this office's role as an office "
                "(counter-tui central add-office)."
            ),
            reason="not_an_office",
        )
    return uuid.UUID(str(row[0])), str(row[1])


def office_url(admin_url: str, institution_code: str) -> str:
    """The URL an office's counter uses (``--db``): ``admin_url`` with the office's role as
    user and no password (the password lives in the office's keyring)."""
    parsed = make_url(admin_url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.set(username=office_role_name(institution_code), password=None).render_as_string(
        hide_password=False
    )


def holder_index_row_id(id_hash: str) -> uuid.UUID:
    """The ``central_log.row_id`` of the holder_index row ``id_hash``: PostgreSQL's
    ``md5(id_hash)::uuid`` (the MD5 digest of the UTF-8 text read as a UUID; an address, not
    a protection)."""
    return uuid.UUID(hashlib.md5(id_hash.encode("utf-8"), usedforsecurity=False).hexdigest())


def schema_version(connection: Connection) -> str | None:
    """The central schema version recorded in ``central_meta`` (None: not a prepared central
    database). Raises SQLAlchemyError when the database cannot be read."""
    return _schema_version(connection)


# --------------------------------------------------------------------------------------------


def _prepared(connection: Connection, db: Database) -> None:
    """Take the administrators' lock and check that ``db`` is a prepared central database
    and the connection an administrator's. Raises CentralError ``not_prepared`` /
    ``not_admin``."""
    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({central_sql.INIT_LOCK})")
    if _schema_version(connection) is None:
        raise CentralError(
            _(
                "{where} is not a prepared central database; run counter-tui central init first."
            ).format(where=db.describe()),
            reason="not_prepared",
        )
    _check_admin(connection, db)


def _schema_version(connection: Connection) -> str | None:
    exists = connection.exec_driver_sql(
        "SELECT to_regclass('public.central_meta') IS NOT NULL"
    ).scalar()
    if not exists:
        return None
    return connection.exec_driver_sql(
        "SELECT value FROM public.central_meta WHERE key = 'schema_version'"
    ).scalar()


def _check_before_init(db: Database) -> None:
    with db.engine.connect() as connection:
        version = connection.exec_driver_sql("SHOW server_version_num").scalar()
        if int(version or 0) < MIN_SERVER_VERSION:
            raise CentralError(
                _("The central database needs PostgreSQL 13 or newer; this server is {v}.").format(
                    v=connection.exec_driver_sql("SHOW server_version").scalar()
                ),
                reason="old_server",
            )
        _check_admin(connection, db)
        tables = connection.exec_driver_sql(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).scalar()
        has_alembic = connection.exec_driver_sql(
            "SELECT to_regclass('public.alembic_version') IS NOT NULL"
        ).scalar()
        revision = None
        if has_alembic:
            revision = connection.exec_driver_sql(
                "SELECT version_num FROM public.alembic_version"
            ).scalar()
        connection.rollback()
    if tables and revision is None:
        raise CentralError(
            _(
                "{where} already holds tables of another program; prepare the central "
                "database in an empty PostgreSQL database."
            ).format(where=db.describe()),
            reason="not_ours",
        )
    if revision is not None:
        try:
            known = ScriptDirectory.from_config(migrate.alembic_config()).get_revision(revision)
        except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown id
            known = None
        if known is None:
            raise CentralError(
                _(
                    "The central database {where} was written by a newer version of Counter "
                    "TUI (schema {revision}); update this program."
                ).format(where=db.describe(), revision=revision),
                reason="schema_newer",
            )


def _check_admin(connection: Connection, db: Database) -> None:
    row = connection.exec_driver_sql(
        "SELECT rolsuper, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    ).one()
    if not (row[0] or (row[1] and row[2])):
        raise CentralError(
            _(
                "The user in {where} may not prepare the central database: a superuser (or a "
                "role with CREATEROLE and BYPASSRLS owning the database) is needed."
            ).format(where=db.describe()),
            reason="not_admin",
        )


_POWERFUL = (
    "SELECT r.rolname FROM pg_auth_members a "
    "JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member "
    "WHERE m.rolname = :role AND (r.rolsuper OR r.rolcreaterole OR r.rolcreatedb "
    "OR r.rolbypassrls OR r.rolreplication OR r.rolname LIKE 'pg\\_%')"
)


def _create_or_rekey(connection: Connection, role: str, password: str) -> None:
    existing = connection.execute(
        text("SELECT rolsuper FROM pg_roles WHERE rolname = :role"), {"role": role}
    ).first()
    if existing is not None:
        powerful = connection.execute(text(_POWERFUL), {"role": role}).scalars().all()
        if existing[0] or powerful:
            raise CentralError(
                _(
                    "A role {role} already exists and is a superuser or a member of {groups}; "
                    "it was left unchanged. Remove those rights or the role first."
                ).format(role=role, groups=", ".join(powerful) or "—"),
                reason="role_too_powerful",
            )
    verifier = _scram_verifier(connection, role, password)
    attributes = (
        "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT "
        f"PASSWORD '{verifier}'"
    )
    verb = "ALTER" if existing is not None else "CREATE"
    connection.exec_driver_sql(f"{verb} ROLE {role} {attributes}")
    connection.exec_driver_sql(f"GRANT {OFFICE_GROUP} TO {role}")


def _scram_verifier(connection: Connection, role: str, password: str) -> str:
    """The SCRAM-SHA-256 verifier of ``password`` for ``role``, computed by libpq on this
    computer (PQencryptPasswordConn), as psql's ``\\password`` does."""
    raw = connection.connection.driver_connection
    verifier = raw.pgconn.encrypt_password(  # type: ignore[union-attr]
        password.encode("utf-8"), role.encode("ascii"), b"scram-sha-256"
    ).decode("ascii")
    if "'" in verifier:  # base64 and "$:" only; never a quote
        raise ValueError("unexpected character in a SCRAM verifier")
    return verifier
