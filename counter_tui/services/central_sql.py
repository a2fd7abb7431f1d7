"""SQL text of the central database (PostgreSQL 14+): tables, triggers, functions, grants and
row-level security added on top of the app's migrations by :mod:`counter_tui.services.central`.

Every statement is idempotent (``IF NOT EXISTS``, ``CREATE OR REPLACE``, drop-and-create for
triggers and policies), so :func:`init_statements` can run again on a prepared database; the
whole list runs in one transaction. Names of tables and columns are fixed here; nothing typed
by a person is ever put into this text (role names come from :func:`office_role_name`, which
leaves only ``[a-z0-9_]``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SCHEMA_VERSION = "2"
"""Version of the central-only schema below, kept in ``central_meta`` under ``schema_version``
(2: ``public_accounts``, visits readable through the facts that name them, key lists
city-wide)."""

OFFICE_GROUP = "counter_office"
"""NOLOGIN group role holding every office's privileges; each office's LOGIN role is a member.
Policies name this group, so a role outside it (a report reader the administrator made) sees
nothing of a table under row-level security."""

INIT_LOCK = 7358212
"""Transaction advisory lock key serialising concurrent ``central init`` runs (the app's
migrations use 7358211)."""

ME = "(SELECT public.current_office())"
"""The caller's institution, evaluated once per statement (an InitPlan), not once per row."""

SCOPE = f"(SELECT public.office_scope({ME}))"
"""The caller's scope as a subquery: PostgreSQL hashes it once per statement."""


@dataclass(frozen=True)
class Logged:
    """How a row of ``table`` is entered in ``central_log``: the columns of the new row it
    needs (``n.<col>``), joins from ``n`` to reach its institution and dossier, and the two
    expressions. ``row_id``: the logged key (a uuid)."""

    table: str
    columns: tuple[str, ...]
    institution: str
    dossier: str
    joins: str = ""
    row_id: str = "n.id"
    on_update: bool = False


_HEAD = "LEFT JOIN public.custody_head h ON h.dossier_id = {d}"

LOGGED: tuple[Logged, ...] = (
    # Parents before children: the order of the first-install backfill.
    Logged("institution", ("id",), "n.id", "NULL", on_update=True),
    Logged("clerk", ("id", "institution_id"), "n.institution_id", "NULL", on_update=True),
    Logged("dossier", ("id", "origin_institution_id"), "n.origin_institution_id", "n.id"),
    Logged(
        "custody_event",
        ("id", "dossier_id", "holder_institution_id"),
        "n.holder_institution_id",
        "n.dossier_id",
    ),
    # Materials and pages have no institution column: they are logged under the holder of
    # their dossier when they arrive (the office that may add them).
    Logged(
        "material",
        ("id", "dossier_id"),
        "h.holder_institution_id",
        "n.dossier_id",
        _HEAD.format(d="n.dossier_id"),
    ),
    Logged(
        "page",
        ("id", "material_id"),
        "h.holder_institution_id",
        "m.dossier_id",
        "LEFT JOIN public.material m ON m.id = n.material_id " + _HEAD.format(d="m.dossier_id"),
    ),
    Logged("service_visit", ("id", "institution_id"), "n.institution_id", "NULL"),
    Logged(
        "service_event",
        ("id", "visit_id", "dossier_id"),
        "v.institution_id",
        "n.dossier_id",
        "LEFT JOIN public.service_visit v ON v.id = n.visit_id",
    ),
    Logged(
        "consultation", ("id", "institution_id", "dossier_id"), "n.institution_id", "n.dossier_id"
    ),
    Logged(
        "certificate", ("id", "institution_id", "dossier_id"), "n.institution_id", "n.dossier_id"
    ),
    Logged(
        "certificate_event",
        ("id", "certificate_id"),
        "c.institution_id",
        "c.dossier_id",
        "LEFT JOIN public.certificate c ON c.id = n.certificate_id",
    ),
    Logged("signing_key_list", ("id", "institution_id"), "n.institution_id", "NULL"),
    Logged("chain_checkpoint", ("id", "institution_id"), "n.institution_id", "NULL"),
    Logged(
        "holder_index",
        ("id_hash", "institution_id"),
        "n.institution_id",
        "NULL",
        row_id="md5(n.id_hash)::uuid",
        on_update=True,
    ),
)
"""Tables whose inserted rows are appended to ``central_log`` (the pull side's feed)."""

LOGGED_TABLES = tuple(spec.table for spec in LOGGED)

FACT_TABLES = tuple(
    spec.table for spec in LOGGED if spec.table not in ("institution", "holder_index")
)
"""Tables an office may SELECT and INSERT into under row-level security (never UPDATE/DELETE)."""

EXISTING_TABLES = (*FACT_TABLES, "office_chain_event")
"""Tables :sql:`central_existing` answers for."""


def office_role_name(institution_code: str) -> str:
    """The PostgreSQL role of an institution: ``office_`` + the code lowercased, every
    character other than ``a-z``/``0-9`` replaced by ``_`` (``CY-RC`` → ``office_cy_rc``).
    Raises ValueError when the name would pass PostgreSQL's 63-byte identifier limit or the
    code is empty."""
    tail = re.sub(r"[^a-z0-9]", "_", institution_code.strip().lower())
    name = f"office_{tail}"
    if not tail or len(name) > 63:
        raise ValueError(f"no role name for institution code {institution_code!r}")
    return name


# --------------------------------------------------------------------------------------------
# Tables

TABLES = [
    "CREATE TABLE IF NOT EXISTS public.central_meta (key text PRIMARY KEY, value text)",
    """CREATE TABLE IF NOT EXISTS public.office_role (
        role_name text PRIMARY KEY,
        institution_id uuid UNIQUE NOT NULL REFERENCES public.institution(id))""",
    """CREATE TABLE IF NOT EXISTS public.central_log (
        id bigserial PRIMARY KEY,
        xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
        table_name text NOT NULL,
        row_id uuid NOT NULL,
        institution_id uuid,
        dossier_id uuid)""",
    "CREATE INDEX IF NOT EXISTS ix_central_log_xid_id ON public.central_log (xid, id)",
    "CREATE INDEX IF NOT EXISTS ix_central_log_institution "
    "ON public.central_log (institution_id, xid, id)",
    "CREATE INDEX IF NOT EXISTS ix_central_log_dossier ON public.central_log (dossier_id, xid, id)",
    """CREATE TABLE IF NOT EXISTS public.holder_index (
        id_hash text PRIMARY KEY,
        institution_id uuid NOT NULL REFERENCES public.institution(id),
        since timestamptz NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now())""",
    # Migration 0011 makes the table too (an office keeps the pulled index): the default.
    "ALTER TABLE public.holder_index ALTER COLUMN updated_at SET DEFAULT now()",
    # central_log names a holder_index row by md5(id_hash)::uuid; this finds it again.
    "CREATE INDEX IF NOT EXISTS ix_holder_index_row_id ON public.holder_index ((md5(id_hash)::uuid))",
    # The latest custody event of each dossier (by at, then id), kept by the custody_event
    # trigger: office_scope reads it through one index instead of every custody event.
    """CREATE TABLE IF NOT EXISTS public.custody_head (
        dossier_id uuid PRIMARY KEY REFERENCES public.dossier(id),
        event_id uuid NOT NULL,
        at timestamptz NOT NULL,
        kind text NOT NULL,
        holder_institution_id uuid NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS ix_custody_head_holder "
    "ON public.custody_head (holder_institution_id, dossier_id)",
    # Each office's access chain: the columns of access_event (copied now, and any column a
    # later migration adds is copied by add_missing_chain_columns) plus the office.
    "CREATE TABLE IF NOT EXISTS public.office_chain_event "
    "(LIKE public.access_event INCLUDING DEFAULTS, "
    "origin uuid NOT NULL REFERENCES public.institution(id), "
    "CONSTRAINT pk_office_chain_event PRIMARY KEY (origin, seq))",
    "CREATE UNIQUE INDEX IF NOT EXISTS uq_office_chain_event_id ON public.office_chain_event (id)",
    # The app's migration 0011 may already have made sync_quarantine (an office's table, also
    # created on central): then only the columns central needs are added.
    """CREATE TABLE IF NOT EXISTS public.sync_quarantine (
        id bigserial PRIMARY KEY,
        origin uuid,
        table_name text,
        row_id uuid,
        received jsonb,
        held jsonb,
        reason text,
        at timestamptz DEFAULT now())""",
    "ALTER TABLE public.sync_quarantine ADD COLUMN IF NOT EXISTS origin uuid",
    "ALTER TABLE public.sync_quarantine ALTER COLUMN at SET DEFAULT now()",
    # Page images, addressed by their SHA-256 (services.sync sends them with their pages and
    # fetches those of an office's scope, checking each against its address).
    """CREATE TABLE IF NOT EXISTS public.page_file (
        sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        data bytea NOT NULL,
        origin uuid NOT NULL,
        at timestamptz NOT NULL DEFAULT now())""",
    "CREATE INDEX IF NOT EXISTS ix_page_sha256 ON public.page (sha256)",
    # service_visit's read policy asks whether a consultation names the visit.
    "CREATE INDEX IF NOT EXISTS ix_consultation_visit_id ON public.consultation (visit_id)",
    # An account name is unique within its institution, not city-wide: two offices may each
    # have a clerk1 (other offices keep them as stubs named clerk1@CODE, services.sync). The
    # migration's unique index becomes a plain one plus a unique (institution, username).
    """DO $$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = 'public'
                   AND indexname = 'ix_clerk_username' AND indexdef LIKE 'CREATE UNIQUE%') THEN
            DROP INDEX public.ix_clerk_username;
        END IF;
    END $$""",
    "CREATE INDEX IF NOT EXISTS ix_clerk_username ON public.clerk (username)",
    "CREATE UNIQUE INDEX IF NOT EXISTS uq_clerk_institution_username "
    "ON public.clerk (institution_id, username)",
]

ADD_MISSING_CHAIN_COLUMNS = """
DO $$
DECLARE col record;
BEGIN
    FOR col IN
        SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type
        FROM pg_attribute a
        WHERE a.attrelid = 'public.access_event'::regclass AND a.attnum > 0 AND NOT a.attisdropped
          AND NOT EXISTS (
              SELECT 1 FROM pg_attribute b
              WHERE b.attrelid = 'public.office_chain_event'::regclass
                AND b.attname = a.attname AND NOT b.attisdropped)
    LOOP
        EXECUTE format('ALTER TABLE public.office_chain_event ADD COLUMN %I %s', col.attname, col.type);
    END LOOP;
END $$"""
"""Copy into office_chain_event any access_event column a newer migration added."""


# --------------------------------------------------------------------------------------------
# Functions

_FIXED_PATH = "SET search_path = pg_catalog, public"

# PL/pgSQL rather than SQL: a SQL function that cannot be inlined (fixed search_path,
# SECURITY DEFINER) is planned again on every call; PL/pgSQL keeps its plans for the session.
FUNCTIONS = [
    # SECURITY INVOKER on purpose: current_user inside a SECURITY DEFINER function would be its
    # owner. An office reads its own office_role row (row-level security below).
    f"""CREATE OR REPLACE FUNCTION public.current_office() RETURNS uuid
        LANGUAGE plpgsql STABLE {_FIXED_PATH}
        AS $$ BEGIN
            RETURN (SELECT institution_id FROM public.office_role WHERE role_name = current_user);
        END $$""",
    # Reads custody_head, which an office sees only for dossiers whose latest custody event
    # names it: asked for another institution, an office gets nothing.
    f"""CREATE OR REPLACE FUNCTION public.office_scope(inst uuid) RETURNS SETOF uuid
        LANGUAGE plpgsql STABLE ROWS 5000 {_FIXED_PATH}
        AS $$ BEGIN
            RETURN QUERY SELECT dossier_id FROM public.custody_head
                WHERE holder_institution_id = inst;
        END $$""",
    f"""CREATE OR REPLACE FUNCTION public.in_office_scope(d uuid) RETURNS boolean
        LANGUAGE plpgsql STABLE {_FIXED_PATH}
        AS $$ BEGIN
            RETURN EXISTS (SELECT 1 FROM public.custody_head
                           WHERE dossier_id = d AND holder_institution_id = public.current_office());
        END $$""",
    f"""CREATE OR REPLACE FUNCTION public.held_by_office(d uuid) RETURNS boolean
        LANGUAGE plpgsql STABLE {_FIXED_PATH}
        AS $$ BEGIN
            RETURN EXISTS (SELECT 1 FROM public.custody_head
                           WHERE dossier_id = d AND kind <> 'transferred_out'
                             AND holder_institution_id = public.current_office());
        END $$""",
    # Definer helpers answer one narrow question about a row the caller names by its key.
    f"""CREATE OR REPLACE FUNCTION public.dossier_claimable(d uuid, office uuid) RETURNS boolean
        LANGUAGE plpgsql STABLE SECURITY DEFINER {_FIXED_PATH}
        AS $$ BEGIN
            RETURN NOT EXISTS (SELECT 1 FROM public.custody_head WHERE dossier_id = d)
                AND EXISTS (SELECT 1 FROM public.dossier WHERE id = d
                            AND (origin_institution_id IS NULL OR origin_institution_id = office));
        END $$""",
    f"""CREATE OR REPLACE FUNCTION public.material_dossier(m uuid) RETURNS uuid
        LANGUAGE plpgsql STABLE SECURITY DEFINER {_FIXED_PATH}
        AS $$ BEGIN
            RETURN (SELECT dossier_id FROM public.material WHERE id = m);
        END $$""",
    # The app schema's Alembic revision, for the sync's schema check (an office may not read
    # alembic_version itself).
    f"""CREATE OR REPLACE FUNCTION public.central_revision() RETURNS text
        LANGUAGE plpgsql STABLE SECURITY DEFINER {_FIXED_PATH}
        AS $$ BEGIN
            RETURN (SELECT version_num FROM public.alembic_version LIMIT 1);
        END $$""",
    # The public fields of the accounts named (another office's clerks that made the facts of
    # a dossier now in the caller's scope), never a password or own-ID hash; only for a
    # registered office (session_user: inside a definer function current_user is its owner).
    f"""CREATE OR REPLACE FUNCTION public.public_accounts(ids uuid[])
        RETURNS TABLE (id uuid, institution_id uuid, username text, name text, role text,
                       created_at timestamptz)
        LANGUAGE plpgsql STABLE SECURITY DEFINER {_FIXED_PATH}
        AS $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM public.office_role r WHERE r.role_name = session_user)
            THEN
                RETURN;
            END IF;
            RETURN QUERY SELECT c.id, c.institution_id, c.username::text, c.name::text,
                                c.role::text, c.created_at::timestamptz
                FROM public.clerk c WHERE c.id = ANY(ids);
        END $$""",
    f"""CREATE OR REPLACE FUNCTION public.central_existing(tbl text, ids uuid[])
        RETURNS SETOF uuid
        LANGUAGE plpgsql STABLE SECURITY DEFINER {_FIXED_PATH}
        AS $$
        BEGIN
            IF tbl <> ALL (ARRAY[{", ".join(f"'{t}'" for t in EXISTING_TABLES)}]) THEN
                RAISE EXCEPTION 'central_existing: % is not a fact table', tbl
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            RETURN QUERY EXECUTE format('SELECT id FROM public.%I WHERE id = ANY($1)', tbl)
                USING ids;
        END $$""",
    # The custody head: a newer event (at, then id) replaces the stored one. ON CONFLICT takes
    # the row lock, so two transactions adding events to one dossier leave the later event.
    f"""CREATE OR REPLACE FUNCTION public.central_custody_head() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER {_FIXED_PATH}
        AS $$
        BEGIN
            INSERT INTO public.custody_head AS h
                (dossier_id, event_id, at, kind, holder_institution_id)
            VALUES (NEW.dossier_id, NEW.id, NEW.at, NEW.kind, NEW.holder_institution_id)
            ON CONFLICT (dossier_id) DO UPDATE
                SET event_id = EXCLUDED.event_id, at = EXCLUDED.at, kind = EXCLUDED.kind,
                    holder_institution_id = EXCLUDED.holder_institution_id
                WHERE (h.at, h.event_id) < (EXCLUDED.at, EXCLUDED.event_id);
            RETURN NULL;
        END $$""",
]

DEFINER_FUNCTIONS = (
    "public.dossier_claimable(uuid, uuid)",
    "public.material_dossier(uuid)",
    "public.central_existing(text, uuid[])",
    "public.central_revision()",
    "public.public_accounts(uuid[])",
)
"""Callable by offices (EXECUTE revoked from PUBLIC, granted to the office group)."""

INVOKER_FUNCTIONS = (
    "public.current_office()",
    "public.office_scope(uuid)",
    "public.in_office_scope(uuid)",
    "public.held_by_office(uuid)",
)

BACKFILL_HEAD = """
INSERT INTO public.custody_head AS h (dossier_id, event_id, at, kind, holder_institution_id)
SELECT DISTINCT ON (dossier_id) dossier_id, id, at, kind, holder_institution_id
FROM public.custody_event ORDER BY dossier_id, at DESC, id DESC
ON CONFLICT (dossier_id) DO UPDATE
    SET event_id = EXCLUDED.event_id, at = EXCLUDED.at, kind = EXCLUDED.kind,
        holder_institution_id = EXCLUDED.holder_institution_id
    WHERE (h.at, h.event_id) < (EXCLUDED.at, EXCLUDED.event_id)"""
"""Rebuild the custody head from the events already present (first install, or a rerun)."""


def _log_select(spec: Logged, source: str) -> str:
    return (
        f"INSERT INTO public.central_log (table_name, row_id, institution_id, dossier_id) "
        f"SELECT '{spec.table}', {spec.row_id}, {spec.institution}, {spec.dossier} "
        f"FROM {source} {spec.joins}"
    )


def log_trigger_statements(spec: Logged) -> list[str]:
    """The trigger function and AFTER INSERT (and UPDATE, for the mutable tables) trigger
    appending one ``central_log`` row per row of ``spec.table``."""
    new_row = ", ".join(f"NEW.{c} AS {c}" for c in spec.columns)
    function = f"central_log_{spec.table}"
    events = "INSERT OR UPDATE" if spec.on_update else "INSERT"
    return [
        f"""CREATE OR REPLACE FUNCTION public.{function}() RETURNS trigger
            LANGUAGE plpgsql SECURITY DEFINER {_FIXED_PATH}
            AS $$
            BEGIN
                {_log_select(spec, f"(SELECT {new_row}) AS n")};
                RETURN NULL;
            END $$""",
        f"REVOKE ALL ON FUNCTION public.{function}() FROM PUBLIC",
        f"DROP TRIGGER IF EXISTS {spec.table}_central_log ON public.{spec.table}",
        f"CREATE TRIGGER {spec.table}_central_log AFTER {events} ON public.{spec.table} "
        f"FOR EACH ROW EXECUTE FUNCTION public.{function}()",
    ]


def backfill_log_statements() -> list[str]:
    """Log the rows already present (first install on a database that holds data), parents
    first, each table in key order (UUIDv7: creation order)."""
    out = []
    for spec in LOGGED:
        key = "n.id_hash" if spec.table == "holder_index" else "n.id"
        out.append(_log_select(spec, f"public.{spec.table} AS n") + f" ORDER BY {key}")
    return out


HEAD_TRIGGER = [
    "REVOKE ALL ON FUNCTION public.central_custody_head() FROM PUBLIC",
    "DROP TRIGGER IF EXISTS custody_event_central_head ON public.custody_event",
    # Named to fire before custody_event_central_log (triggers fire in name order), so the
    # log row of a material added in the same transaction already sees the new head.
    "CREATE TRIGGER custody_event_central_head AFTER INSERT ON public.custody_event "
    "FOR EACH ROW EXECUTE FUNCTION public.central_custody_head()",
]


# --------------------------------------------------------------------------------------------
# Privileges and row-level security


def _policy(table: str, name: str, command: str, using: str | None, check: str | None) -> list[str]:
    clauses = f"FOR {command} TO {OFFICE_GROUP}"
    if using is not None:
        clauses += f" USING ({using})"
    if check is not None:
        clauses += f" WITH CHECK ({check})"
    return [
        f"DROP POLICY IF EXISTS {name} ON public.{table}",
        f"CREATE POLICY {name} ON public.{table} {clauses}",
    ]


def _in_scope(dossier: str, *, held: bool = False) -> str:
    """A policy expression: the dossier ``dossier`` is in the caller's scope (``held``: held
    there, not in transit to it). ``dossier`` is an SQL expression whose columns are qualified
    by their table's name (inside the subquery a bare ``dossier_id`` would be custody_head's
    own). Written out rather than calling in_office_scope(): a subquery costs an index probe,
    a function call several times that on every inserted row."""
    kind = " AND h.kind <> 'transferred_out'" if held else ""
    return (
        f"EXISTS (SELECT 1 FROM public.custody_head h WHERE h.dossier_id = {dossier} "
        f"AND h.holder_institution_id = {ME}{kind})"
    )


REGISTERED = f"{ME} IS NOT NULL"
"""An office registered in this database (the group role is cluster-wide: a member made for
another database on the same server sees nothing here)."""

POLICIES: dict[str, list[tuple[str, str, str | None, str | None]]] = {
    "page_file": [
        # Readable when a page the office may see names it (page's own policy applies inside).
        (
            "office_read",
            "SELECT",
            "EXISTS (SELECT 1 FROM public.page p WHERE p.sha256 = page_file.sha256)",
            None,
        ),
        # Content-addressed: an office stores files under its own name only; what a file is
        # is its hash, which the reader checks.
        ("office_insert", "INSERT", None, f"origin = {ME}"),
    ],
    # table: [(policy name, command, USING, WITH CHECK)]
    "central_meta": [("office_read", "SELECT", REGISTERED, None)],
    "office_role": [("office_own_role", "SELECT", "role_name = current_user", None)],
    "institution": [("office_read", "SELECT", REGISTERED, None)],
    "holder_index": [
        ("office_read", "SELECT", REGISTERED, None),
        ("office_insert", "INSERT", None, f"institution_id = {ME}"),
        # INSERT … ON CONFLICT DO UPDATE: an office may take an entry over, naming itself.
        ("office_update", "UPDATE", REGISTERED, f"institution_id = {ME}"),
    ],
    "custody_head": [("office_scope", "SELECT", f"holder_institution_id = {ME}", None)],
    "central_log": [
        (
            "office_read",
            "SELECT",
            f"institution_id = {ME} OR dossier_id IN {SCOPE} "
            f"OR (table_name IN ('institution', 'holder_index', 'signing_key_list') "
            f"AND {REGISTERED})",
            None,
        )
    ],
    "dossier": [
        ("office_read", "SELECT", f"id IN {SCOPE} OR origin_institution_id = {ME}", None),
        (
            "office_insert",
            "INSERT",
            None,
            f"{REGISTERED} AND (origin_institution_id IS NULL OR origin_institution_id = {ME})",
        ),
    ],
    "custody_event": [
        ("office_read", "SELECT", f"dossier_id IN {SCOPE} OR holder_institution_id = {ME}", None),
        (
            "office_insert",
            "INSERT",
            None,
            # Its own event on a dossier in its scope (received, shelved, lent …, or the first
            # event of a dossier it brought in); or the sender's transfer naming the receiver.
            f"(holder_institution_id = {ME} AND ({_in_scope('custody_event.dossier_id')} "
            f"OR public.dossier_claimable(dossier_id, {ME}))) "
            f"OR (kind = 'transferred_out' "
            f"AND {_in_scope('custody_event.dossier_id', held=True)})",
        ),
    ],
    "material": [
        ("office_read", "SELECT", f"dossier_id IN {SCOPE}", None),
        ("office_insert", "INSERT", None, _in_scope("material.dossier_id")),
    ],
    "page": [
        # Visible with its material (the subquery is itself under material's policy).
        (
            "office_read",
            "SELECT",
            "EXISTS (SELECT 1 FROM public.material m WHERE m.id = page.material_id)",
            None,
        ),
        (
            "office_insert",
            "INSERT",
            None,
            _in_scope("public.material_dossier(page.material_id)"),
        ),
    ],
    "certificate": [
        ("office_read", "SELECT", f"institution_id = {ME} OR dossier_id IN {SCOPE}", None),
        ("office_insert", "INSERT", None, f"institution_id = {ME}"),
    ],
    "certificate_event": [
        (
            "office_read",
            "SELECT",
            "EXISTS (SELECT 1 FROM public.certificate c "
            "WHERE c.id = certificate_event.certificate_id)",
            None,
        ),
        (
            "office_insert",
            "INSERT",
            None,
            f"EXISTS (SELECT 1 FROM public.certificate c "
            f"WHERE c.id = certificate_event.certificate_id "
            f"AND c.institution_id = {ME})",
        ),
    ],
    "consultation": [
        ("office_read", "SELECT", f"institution_id = {ME} OR dossier_id IN {SCOPE}", None),
        ("office_insert", "INSERT", None, f"institution_id = {ME}"),
    ],
    "service_visit": [
        # Its own visits, and another office's visit a certificate or consultation it may see
        # names (a dossier transferred to it arrives with the visits its facts were made in).
        (
            "office_read",
            "SELECT",
            f"institution_id = {ME} "
            "OR EXISTS (SELECT 1 FROM public.certificate c WHERE c.visit_id = service_visit.id) "
            "OR EXISTS (SELECT 1 FROM public.consultation c "
            "WHERE c.visit_id = service_visit.id)",
            None,
        ),
        ("office_insert", "INSERT", None, f"institution_id = {ME}"),
    ],
    "service_event": [
        # Only of its own visits: another office's visit readable through a fact does not
        # open its steps (which dossiers were opened in it, and when).
        (
            "office_read",
            "SELECT",
            f"EXISTS (SELECT 1 FROM public.service_visit v WHERE v.id = service_event.visit_id "
            f"AND v.institution_id = {ME})",
            None,
        ),
        (
            "office_insert",
            "INSERT",
            None,
            f"EXISTS (SELECT 1 FROM public.service_visit v WHERE v.id = service_event.visit_id "
            f"AND v.institution_id = {ME})",
        ),
    ],
    "signing_key_list": [
        # Public keys: every office verifies every institution's certificates.
        ("office_read", "SELECT", REGISTERED, None),
        ("office_insert", "INSERT", None, f"institution_id = {ME}"),
    ],
    "chain_checkpoint": [
        ("office_read", "SELECT", f"institution_id = {ME}", None),
        ("office_insert", "INSERT", None, f"institution_id = {ME}"),
    ],
    "clerk": [
        ("office_read", "SELECT", f"institution_id = {ME}", None),
        ("office_insert", "INSERT", None, f"institution_id = {ME}"),
    ],
    "office_chain_event": [
        ("office_read", "SELECT", f"origin = {ME}", None),
        ("office_insert", "INSERT", None, f"origin = {ME}"),
    ],
    "sync_quarantine": [
        ("office_read", "SELECT", f"origin = {ME}", None),
        ("office_insert", "INSERT", None, f"origin = {ME}"),
    ],
}
"""Row-level security for the office group, per table."""

GRANTS: dict[str, str] = {
    "central_meta": "SELECT",
    "office_role": "SELECT",
    "institution": "SELECT",
    "holder_index": "SELECT, INSERT, UPDATE (institution_id, since, updated_at)",
    "custody_head": "SELECT",
    "central_log": "SELECT",
    **{table: "SELECT, INSERT" for table in FACT_TABLES},
    "office_chain_event": "SELECT, INSERT",
    "sync_quarantine": "SELECT, INSERT",
    "page_file": "SELECT, INSERT",
}
"""Table privileges of the office group: nothing else (no UPDATE or DELETE of a fact, no
TRUNCATE, no DDL)."""


def group_role_statements() -> list[str]:
    """Create the office group role when the cluster lacks it (needs CREATEROLE)."""
    return [
        f"DO $$ BEGIN CREATE ROLE {OFFICE_GROUP} NOLOGIN; "
        f"EXCEPTION WHEN duplicate_object THEN NULL; END $$"
    ]


def security_statements() -> list[str]:
    """Grants, revocations and policies (re-applied on every init)."""
    out = [
        # No DDL by anyone but the owner (PostgreSQL 15 already revokes this by default).
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA public TO {OFFICE_GROUP}",
    ]
    for table, privileges in GRANTS.items():
        out += [
            f"REVOKE ALL ON public.{table} FROM {OFFICE_GROUP}",
            f"GRANT {privileges} ON public.{table} TO {OFFICE_GROUP}",
            f"ALTER TABLE public.{table} ENABLE ROW LEVEL SECURITY",
            f"ALTER TABLE public.{table} FORCE ROW LEVEL SECURITY",
        ]
        for name, command, using, check in POLICIES[table]:
            out += _policy(table, name, command, using, check)
    out.append(f"GRANT USAGE ON SEQUENCE {_serial_sequence('sync_quarantine')} TO {OFFICE_GROUP}")
    for function in (*DEFINER_FUNCTIONS, *INVOKER_FUNCTIONS):
        out += [
            f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC",
            f"GRANT EXECUTE ON FUNCTION {function} TO {OFFICE_GROUP}",
        ]
    return out


def _serial_sequence(table: str) -> str:
    # Text of a SQL expression is not allowed in GRANT: the sequence is named by convention
    # (serial and bigserial columns both make <table>_id_seq).
    return f"public.{table}_id_seq"


def init_statements(*, first_install: bool) -> list[str]:
    """Everything :func:`counter_tui.services.central.init_central` runs after the app's
    migrations, in order; ``first_install`` adds the backfill of the log and custody head
    for rows already present."""
    out = [*group_role_statements(), *TABLES, ADD_MISSING_CHAIN_COLUMNS, *FUNCTIONS]
    out += HEAD_TRIGGER
    for spec in LOGGED:
        out += log_trigger_statements(spec)
    out.append(BACKFILL_HEAD)
    if first_install:
        out += backfill_log_statements()
    out += security_statements()
    out.append(
        "INSERT INTO public.central_meta (key, value) VALUES ('schema_version', "
        f"'{SCHEMA_VERSION}') ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
    )
    return out
