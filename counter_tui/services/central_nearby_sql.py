"""SQL text of 就近办理 (serving an applicant at the nearest office) on the central database:
the ``nearby_access`` record and the two SECURITY DEFINER functions through which an office
reads a dossier another office holds and records what it issued from it
(services.nearby; the policy is in docs/SECURITY.md, "Serving at the nearest office").

An office cannot read another office's dossiers under row-level security
(services.central_sql). ``nearby_view(id_number, record, username, name)`` is the one door:
given the applicant's full resident ID (GB 11643, 18 characters: the applicant is present and
showed the card), it returns that dossier's header, custody events, catalogue and holder, and
in the same statement appends a ``view`` row to ``nearby_access`` naming the office, the clerk
and the holder. ``nearby_issue(record, view, serial, username, name)`` appends an ``issue``
row for a certificate issued after such a view (the same office, within
:data:`VIEW_VALID_HOURS` hours). Offices cannot insert into ``nearby_access`` themselves; each
reads the rows that name it as viewer or as holder (the holder's auditors see who looked).

The caller's office is ``session_user``'s (inside a SECURITY DEFINER function ``current_user``
is the function's owner): offices log in with their own role (services.central.add_office).
Every statement is idempotent, like central_sql's.
"""

from __future__ import annotations

from counter_tui.services.central_sql import ME, OFFICE_GROUP

VIEW_VALID_HOURS = 4
"""How long after a nearby view the viewing office may record certificates issued from it."""

_FIXED_PATH = "SET search_path = pg_catalog, public"

TABLE = [
    """CREATE TABLE IF NOT EXISTS public.nearby_access (
        id uuid PRIMARY KEY,
        xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
        at timestamptz NOT NULL DEFAULT now(),
        action text NOT NULL CHECK (action IN ('view', 'issue')),
        dossier_id uuid NOT NULL REFERENCES public.dossier(id),
        holder_institution_id uuid NOT NULL REFERENCES public.institution(id),
        office_institution_id uuid NOT NULL REFERENCES public.institution(id),
        clerk_username text NOT NULL,
        clerk_name text NOT NULL,
        serial text NOT NULL DEFAULT '',
        view_id uuid)""",
    "CREATE INDEX IF NOT EXISTS ix_nearby_access_holder "
    "ON public.nearby_access (holder_institution_id, xid, id)",
    "CREATE INDEX IF NOT EXISTS ix_nearby_access_office "
    "ON public.nearby_access (office_institution_id, xid, id)",
]

_CALLER = """
    me := (SELECT institution_id FROM public.office_role WHERE role_name = session_user);
    IF me IS NULL THEN
        RAISE EXCEPTION 'only an office''s own role may serve at the nearest office'
            USING ERRCODE = 'insufficient_privilege';
    END IF;"""

FUNCTIONS = [
    f"""CREATE OR REPLACE FUNCTION public.nearby_view(
            p_id_number text, p_record uuid, p_username text, p_name text)
        RETURNS jsonb
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER {_FIXED_PATH}
        AS $$
        DECLARE
            me uuid;
            found_id uuid;
            holder uuid;
            head_kind text;
        BEGIN
            {_CALLER}
            IF p_id_number IS NULL OR p_id_number !~ '^[0-9]{{17}}[0-9X]$' THEN
                RAISE EXCEPTION 'nearby_view: a full 18-character resident ID is required'
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            SELECT d.id, h.holder_institution_id, h.kind INTO found_id, holder, head_kind
            FROM public.dossier d JOIN public.custody_head h ON h.dossier_id = d.id
            WHERE d.id_number = p_id_number
            ORDER BY h.at DESC, h.event_id DESC LIMIT 1;
            IF found_id IS NULL THEN
                RETURN jsonb_build_object('status', 'not_found');
            END IF;
            IF head_kind = 'transferred_out' THEN
                RETURN jsonb_build_object('status', 'in_transit', 'holder', holder);
            END IF;
            IF holder = me THEN
                RETURN jsonb_build_object('status', 'held_here');
            END IF;
            INSERT INTO public.nearby_access (id, action, dossier_id, holder_institution_id,
                office_institution_id, clerk_username, clerk_name)
            VALUES (p_record, 'view', found_id, holder, me,
                    left(coalesce(p_username, ''), 64), left(coalesce(p_name, ''), 64))
            ON CONFLICT (id) DO NOTHING;
            RETURN jsonb_build_object(
                'status', 'ok',
                'record', p_record,
                'dossier', (SELECT to_jsonb(x) FROM public.dossier x WHERE x.id = found_id),
                'custody', (SELECT coalesce(jsonb_agg(to_jsonb(e) ORDER BY e.at, e.id), '[]')
                            FROM public.custody_event e WHERE e.dossier_id = found_id),
                'materials', (SELECT coalesce(jsonb_agg(to_jsonb(m) || jsonb_build_object(
                                  'scanned_pages', (SELECT count(*) FROM public.page p
                                                    WHERE p.material_id = m.id))
                                  ORDER BY m.category, m.subcategory, m.item_no), '[]')
                              FROM public.material m WHERE m.dossier_id = found_id),
                'holder', (SELECT to_jsonb(i) FROM public.institution i WHERE i.id = holder));
        END $$""",
    f"""CREATE OR REPLACE FUNCTION public.nearby_issue(
            p_record uuid, p_view uuid, p_serial text, p_username text, p_name text)
        RETURNS void
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER {_FIXED_PATH}
        AS $$
        DECLARE
            me uuid;
            viewed record;
        BEGIN
            {_CALLER}
            SELECT * INTO viewed FROM public.nearby_access
            WHERE id = p_view AND action = 'view' AND office_institution_id = me
              AND at > now() - interval '{VIEW_VALID_HOURS} hours';
            IF NOT FOUND THEN
                RAISE EXCEPTION 'nearby_issue: no nearby view of this office to issue from'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            INSERT INTO public.nearby_access (id, action, dossier_id, holder_institution_id,
                office_institution_id, clerk_username, clerk_name, serial, view_id)
            VALUES (p_record, 'issue', viewed.dossier_id, viewed.holder_institution_id, me,
                    left(coalesce(p_username, ''), 64), left(coalesce(p_name, ''), 64),
                    left(coalesce(p_serial, ''), 32), p_view)
            ON CONFLICT (id) DO NOTHING;
        END $$""",
]

FUNCTION_SIGNATURES = (
    "public.nearby_view(text, uuid, text, text)",
    "public.nearby_issue(uuid, uuid, text, text, text)",
)


def statements() -> list[str]:
    """Everything :func:`counter_tui.services.central.init_central` runs for 就近办理, after
    central_sql's statements (the office group, ``office_role`` and ``current_office()``
    exist by then): table, functions, grants and the read policy."""
    out = [*TABLE, *FUNCTIONS]
    for function in FUNCTION_SIGNATURES:
        out += [
            f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC",
            f"GRANT EXECUTE ON FUNCTION {function} TO {OFFICE_GROUP}",
        ]
    out += [
        f"REVOKE ALL ON public.nearby_access FROM {OFFICE_GROUP}",
        f"GRANT SELECT ON public.nearby_access TO {OFFICE_GROUP}",
        "ALTER TABLE public.nearby_access ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE public.nearby_access FORCE ROW LEVEL SECURITY",
        "DROP POLICY IF EXISTS office_read ON public.nearby_access",
        f"CREATE POLICY office_read ON public.nearby_access FOR SELECT TO {OFFICE_GROUP} "
        f"USING (holder_institution_id = {ME} OR office_institution_id = {ME})",
    ]
    return out
