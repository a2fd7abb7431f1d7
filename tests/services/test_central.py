"""The central PostgreSQL database: init, office roles, grants and row-level security, proved
over real LOGIN connections of each office's role (scram-sha-256 over TCP).

The city: tiny_archive's CY-RC (office A: holds DA00000001 and DA00000002) and CY-JY (office
B: DA00000003 is in transit to it), prepared with ``central.init_central`` and given their
roles with ``central.add_office``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors, sql
from sqlalchemy.engine import make_url

from counter_tui.db.models import new_id
from counter_tui.services import central
from tests.support.factories import tiny_archive
from tests.support.pg import PASSWORD_GROUP

pytestmark = pytest.mark.postgres

NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)

DEFAULTS: dict[str, dict[str, object]] = {
    "dossier": {"gender": "", "birth_date_recorded": "", "created_at": NOW},
    "material": {
        "category": 9,
        "item_no": 1,
        "title": "录用审批表",
        "page_count": 1,
        "remark": "",
        "created_at": NOW,
    },
    "page": {
        "page_no": 1,
        "rel_path": "x/1.png",
        "sha256": "0" * 64,
        "dpi": 150,
        "width": 10,
        "height": 10,
        "phash": "",
        "created_at": NOW,
    },
    "custody_event": {"shelf_location": "", "at": NOW, "remark": ""},
    "service_visit": {"counter": "1", "started_at": NOW},
    "service_event": {"kind": "started", "at": NOW, "detail": ""},
    "certificate": {
        "kind": "archive",
        "applicant_kind": "self",
        "purpose": "入职",
        "cited_material_ids": "",
        "text_path": "c.pdf",
        "text_sha256": "0" * 64,
        "issued_at": NOW,
    },
    "certificate_event": {"kind": "printed", "at": NOW, "reason": ""},
    "consultation": {
        "requesting_unit": "某单位",
        "approval_no": "A-1",
        "purpose": "政审",
        "readers": "",
        "shown_material_ids": "",
        "recorded_at": NOW,
    },
    "clerk": {"name": "新人", "role": "clerk", "active": True, "created_at": NOW},
    "signing_key_list": {"current_key_id": "0" * 16, "key_list": b"k", "stored_at": NOW},
    "chain_checkpoint": {
        "seq": 1,
        "head_hash": "0" * 64,
        "at": NOW,
        "key_id": "0" * 16,
        "signature": b"s",
    },
    "office_chain_event": {"at": NOW, "kind": "login", "reason": "", "prev_hash": "", "hash": ""},
    "holder_index": {"since": NOW},
    "sync_quarantine": {
        "table_name": "material",
        "row_id": uuid.UUID(int=1),
        "reason": "different content",
    },
}


def insert(conn: psycopg.Connection, table: str, **values: object) -> uuid.UUID | None:
    """Insert one row (unset NOT NULL columns from DEFAULTS; a new UUIDv7 ``id`` where the
    table has one); returns the id."""
    row = {**DEFAULTS.get(table, {}), **values}
    if table == "sync_quarantine":  # migration 0011's shape or central's own: its columns only
        columns = {
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
                (table,),
            )
        }
        row = {
            k: v
            for k, v in {"direction": "push", "received": "{}", "held": "{}", **row}.items()
            if k in columns
        }
    if table not in ("holder_index", "sync_quarantine") and "id" not in row:
        row["id"] = new_id()
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, row)),
        sql.SQL(", ").join(sql.Placeholder() * len(row)),
    )
    conn.execute(query, list(row.values()))
    return row.get("id")  # type: ignore[return-value]


@dataclasses.dataclass
class City:
    url: str
    ids: dict[str, object]
    passwords: dict[str, str]

    @property
    def a(self) -> uuid.UUID:
        return self.ids["here"]  # type: ignore[return-value]

    @property
    def b(self) -> uuid.UUID:
        return self.ids["there"]  # type: ignore[return-value]

    @contextlib.contextmanager
    def office(self, code: str, *, autocommit: bool = True) -> Iterator[psycopg.Connection]:
        """A real LOGIN connection of the office's role, with its password over TCP."""
        u = make_url(self.url)
        with psycopg.connect(
            host=u.host,
            port=u.port,
            dbname=u.database,
            user=central.office_role_name(code),
            password=self.passwords[code],
            autocommit=autocommit,
        ) as conn:
            yield conn

    @contextlib.contextmanager
    def admin(self) -> Iterator[psycopg.Connection]:
        u = make_url(self.url)
        with psycopg.connect(
            host=u.host, port=u.port, dbname=u.database, user=u.username, autocommit=True
        ) as conn:
            yield conn


def password_login(url: str, *roles: str) -> None:
    """Put ``roles`` in the test server's group that must log in with a password over TCP."""
    u = make_url(url)
    with psycopg.connect(
        host=u.host, port=u.port, dbname=u.database, user=u.username, autocommit=True
    ) as conn:
        conn.execute(
            f"DO $$ BEGIN CREATE ROLE {PASSWORD_GROUP} NOLOGIN; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
        for role in roles:
            conn.execute(f"GRANT {PASSWORD_GROUP} TO {role}")


@pytest.fixture
def city(tmp_path, postgres_url: str) -> City:
    archive = tiny_archive(tmp_path, db_url=postgres_url)
    archive.db.dispose()
    central.init_central(postgres_url)
    passwords = {code: central.add_office(postgres_url, code) for code in ("CY-RC", "CY-JY")}
    password_login(postgres_url, "office_cy_rc", "office_cy_jy")
    return City(postgres_url, archive.ids, passwords)


def ids_of(conn: psycopg.Connection, query: str, *params: object) -> set[uuid.UUID]:
    return {row[0] for row in conn.execute(query, params).fetchall()}


# --------------------------------------------------------------------------------------------
# init and add_office


def test_init_is_idempotent_logs_the_rows_present_and_records_its_version(city: City) -> None:
    central.init_central(city.url)  # again: nothing changes, nothing fails

    with city.admin() as conn:
        assert conn.execute(
            "SELECT value FROM central_meta WHERE key = 'schema_version'"
        ).fetchone() == (central.SCHEMA_VERSION,)
        logged = conn.execute(
            "SELECT table_name, count(*) FROM central_log GROUP BY table_name"
        ).fetchall()
        order = [r[0] for r in conn.execute("SELECT table_name FROM central_log ORDER BY xid, id")]
        heads = dict(conn.execute("SELECT dossier_id, holder_institution_id FROM custody_head"))
    # The first install logged what tiny_archive had put there, parents first, once.
    assert dict(logged) == {
        "institution": 2,
        "clerk": 4,
        "dossier": 3,
        "custody_event": 7,
        "material": 3,
        "page": 3,
    }
    assert order.index("dossier") < order.index("custody_event") < order.index("material")
    assert order.index("material") < order.index("page")
    assert heads == {
        city.ids["DA00000001"]: city.a,
        city.ids["DA00000002"]: city.a,
        city.ids["DA00000003"]: city.b,  # transferred to CY-JY: in transit to it
    }
    with city.office("CY-RC") as a:  # the offices keep their rights through a rerun
        assert a.execute("SELECT count(*) FROM dossier").fetchone() == (2,)


def test_add_office_makes_a_plain_login_role_and_rekeys_it(city: City) -> None:
    with city.admin() as conn:
        role = conn.execute(
            "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, "
            "rolreplication, rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid "
            "WHERE rolname = 'office_cy_rc'"
        ).fetchone()
        groups = {
            r[0]
            for r in conn.execute(
                "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                "JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = 'office_cy_rc'"
            )
        }
        assert conn.execute(
            "SELECT role_name, institution_id FROM office_role ORDER BY 1"
        ).fetchall() == [
            ("office_cy_jy", city.b),
            ("office_cy_rc", city.a),
        ]
    assert role == (True, False, False, False, False, False, True)
    assert groups == {central.OFFICE_GROUP, PASSWORD_GROUP}

    old = city.passwords["CY-RC"]
    city.passwords["CY-RC"] = central.add_office(city.url, "cy-rc")  # re-key
    assert city.passwords["CY-RC"] != old and len(city.passwords["CY-RC"]) == 32
    with city.office("CY-RC") as conn:
        assert conn.execute("SELECT current_office()").fetchone() == (city.a,)
    city.passwords["CY-RC"] = old
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        with city.office("CY-RC"):
            pass


def test_add_office_refuses_an_unknown_institution_and_an_unprepared_database(
    city: City, postgres_server
) -> None:
    with pytest.raises(central.CentralError) as unknown:
        central.add_office(city.url, "XX-NONE")
    assert unknown.value.reason == "unknown_institution"
    name = f"t_{uuid.uuid4().hex}"
    with postgres_server.connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        with pytest.raises(central.CentralError) as unprepared:
            central.add_office(postgres_server.url(name), "CY-RC")
        assert unprepared.value.reason == "not_prepared"
    finally:
        with postgres_server.connect() as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_init_refuses_a_database_of_another_program(postgres_url: str) -> None:
    u = make_url(postgres_url)
    with psycopg.connect(
        host=u.host, port=u.port, dbname=u.database, user=u.username, autocommit=True
    ) as conn:
        conn.execute("CREATE TABLE invoices (id int)")
    with pytest.raises(central.CentralError) as refused:
        central.init_central(postgres_url)
    assert refused.value.reason == "not_ours"


def test_role_names_and_holder_index_row_ids() -> None:
    assert central.office_role_name("CY-RC") == "office_cy_rc"
    assert central.office_role_name("Hd.Jie Dao 3") == "office_hd_jie_dao_3"
    with pytest.raises(ValueError):
        central.office_role_name("  ")
    assert central.office_url("postgresql://admin@db.example:5432/central", "CY-RC") == (
        "postgresql+psycopg://office_cy_rc@db.example:5432/central"
    )
    assert central.holder_index_row_id("abc") == uuid.UUID("900150983cd24fb0d6963f7d28e17f72")


# --------------------------------------------------------------------------------------------
# What an office reads


def test_an_office_reads_its_scope_and_nothing_of_another_offices(city: City) -> None:
    d1, d2, d3 = (city.ids[f"DA0000000{n}"] for n in (1, 2, 3))
    with city.admin() as conn:  # a certificate of each office on a dossier it holds
        cert_a = insert(conn, "certificate", serial="CY-1", dossier_id=d1, institution_id=city.a)
        cert_b = insert(conn, "certificate", serial="CJ-1", dossier_id=d3, institution_id=city.b)
        insert(conn, "certificate_event", certificate_id=cert_a)
        insert(conn, "holder_index", id_hash="h1", institution_id=city.a)
        insert(conn, "holder_index", id_hash="h3", institution_id=city.b)

    with city.office("CY-JY") as b:
        assert ids_of(b, "SELECT id FROM dossier") == {d3}
        assert ids_of(b, "SELECT office_scope(current_office())") == {d3}
        assert ids_of(b, "SELECT office_scope(%s)", city.a) == set()  # not another's scope
        assert ids_of(b, "SELECT id FROM material") == set()
        assert ids_of(b, "SELECT id FROM page") == set()
        assert ids_of(b, "SELECT id FROM certificate") == {cert_b}
        assert ids_of(b, "SELECT id FROM certificate_event") == set()
        assert ids_of(b, "SELECT id FROM clerk") == set()
        assert ids_of(b, "SELECT dossier_id FROM custody_event") == {d3}
        assert ids_of(b, "SELECT id FROM dossier WHERE id = %s", d1) == set()
        assert b.execute("SELECT count(*) FROM institution").fetchone() == (2,)
        assert b.execute("SELECT count(*) FROM holder_index").fetchone() == (2,)
        assert b.execute("SELECT role_name FROM office_role").fetchall() == [("office_cy_jy",)]
        logged = b.execute("SELECT DISTINCT table_name FROM central_log").fetchall()
        assert {r[0] for r in logged} == {
            "institution",
            "dossier",
            "custody_event",
            "certificate",
            "holder_index",
        }
        assert ids_of(b, "SELECT dossier_id FROM central_log WHERE dossier_id IS NOT NULL") == {d3}
        for table in ("access_event", "alembic_version", "certificate_sequence"):
            with pytest.raises(errors.InsufficientPrivilege):
                b.execute(f"SELECT * FROM {table}")

    with city.office("CY-RC") as a:
        assert ids_of(a, "SELECT id FROM dossier") == {d1, d2}
        assert len(ids_of(a, "SELECT id FROM material")) == 3
        assert len(ids_of(a, "SELECT id FROM page")) == 3
        assert ids_of(a, "SELECT id FROM certificate") == {cert_a}
        assert len(ids_of(a, "SELECT id FROM certificate_event")) == 1
        assert len(ids_of(a, "SELECT id FROM clerk")) == 4
        # DA00000003's events naming CY-RC (received, shelved) stay readable; its transfer
        # naming CY-JY does not.
        kinds = a.execute(
            "SELECT kind FROM custody_event WHERE dossier_id = %s ORDER BY at", (d3,)
        ).fetchall()
        assert kinds == [("received",), ("shelved",)]


# --------------------------------------------------------------------------------------------
# What an office writes


def test_an_office_cannot_insert_facts_as_another(city: City) -> None:
    d1, d3 = city.ids["DA00000001"], city.ids["DA00000003"]
    with city.admin() as conn:
        visit_b = insert(conn, "service_visit", institution_id=city.b)
        cert_b = insert(conn, "certificate", serial="CJ-1", dossier_id=d3, institution_id=city.b)
    attempts = [
        ("certificate", {"serial": "X-1", "dossier_id": d1, "institution_id": city.b}),
        ("material", {"dossier_id": d3}),  # in transit to CY-JY: not CY-RC's
        ("page", {"material_id": city.ids["m_cv"], "page_no": 9}),  # fine for A, see below
        ("custody_event", {"dossier_id": d3, "kind": "received", "holder_institution_id": city.a}),
        ("custody_event", {"dossier_id": d1, "kind": "received", "holder_institution_id": city.b}),
        ("service_visit", {"institution_id": city.b}),
        ("service_event", {"visit_id": visit_b}),
        ("certificate_event", {"certificate_id": cert_b}),
        ("consultation", {"dossier_id": d3, "institution_id": city.b}),
        ("clerk", {"username": "intruder", "institution_id": city.b}),
        ("signing_key_list", {"institution_id": city.b}),
        ("chain_checkpoint", {"institution_id": city.b}),
        ("office_chain_event", {"seq": 1, "origin": city.b}),
        ("holder_index", {"id_hash": "h9", "institution_id": city.b}),
        ("sync_quarantine", {"origin": city.b}),
        ("dossier", {"dossier_no": "X1", "person_name": "某", "origin_institution_id": city.b}),
    ]
    refused = []
    with city.office("CY-JY") as b:  # B, as the intruder, tries A's material page too
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            insert(b, "page", material_id=city.ids["m_cv"], page_no=9)
    with city.office("CY-RC") as a:
        for table, values in attempts:
            if table == "page":
                continue
            try:
                insert(a, table, **values)
            except errors.InsufficientPrivilege as exc:
                assert "row-level security" in str(exc)
                refused.append(table)
    assert refused == [t for t, _ in attempts if t != "page"]
    with city.admin() as conn:
        assert conn.execute("SELECT count(*) FROM certificate").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM material").fetchone() == (3,)


def test_an_office_can_neither_update_nor_delete_nor_change_the_schema(city: City) -> None:
    statements = [
        "UPDATE dossier SET person_name = 'x'",
        "UPDATE material SET title = 'x'",
        "UPDATE custody_event SET kind = 'x'",
        "UPDATE clerk SET active = false",
        "UPDATE institution SET name = 'x'",
        "UPDATE office_role SET institution_id = institution_id",
        "DELETE FROM material",
        "DELETE FROM dossier",
        "DELETE FROM central_log",
        "DELETE FROM holder_index",
        "TRUNCATE custody_event",
        "INSERT INTO office_role VALUES ('office_x', gen_random_uuid())",
        "INSERT INTO central_log (table_name, row_id) VALUES ('material', gen_random_uuid())",
        "INSERT INTO custody_head VALUES (gen_random_uuid(), gen_random_uuid(), now(), 'x', "
        "gen_random_uuid())",
        "CREATE TABLE mine (id int)",
        "ALTER TABLE material ADD COLUMN x int",
        "ALTER TABLE material DISABLE ROW LEVEL SECURITY",
        "DROP POLICY office_read ON material",
        "SELECT * FROM access_event",
    ]
    with city.office("CY-RC") as a:
        for statement in statements:
            with pytest.raises(errors.InsufficientPrivilege):
                a.execute(statement)
    with city.admin() as conn:
        assert conn.execute("SELECT count(*) FROM material").fetchone() == (3,)


def test_an_office_inserts_its_own_facts(city: City) -> None:
    d1 = city.ids["DA00000001"]
    with city.office("CY-RC") as a:
        material = insert(a, "material", dossier_id=d1, item_no=2)
        insert(a, "page", material_id=material)
        visit = insert(a, "service_visit", institution_id=city.a)
        insert(a, "service_event", visit_id=visit, dossier_id=d1)
        cert = insert(a, "certificate", serial="CY-2", dossier_id=d1, institution_id=city.a)
        insert(a, "certificate_event", certificate_id=cert)
        insert(a, "consultation", dossier_id=d1, institution_id=city.a)
        insert(a, "clerk", username="clerk9", institution_id=city.a)
        insert(a, "signing_key_list", institution_id=city.a)
        insert(a, "chain_checkpoint", institution_id=city.a)
        insert(a, "office_chain_event", seq=1, origin=city.a)
        insert(a, "sync_quarantine", origin=city.a)
        insert(a, "holder_index", id_hash="h1", institution_id=city.a)
        # An office may issue a certificate on a dossier held elsewhere (就近办理), as itself.
        insert(
            a,
            "certificate",
            serial="CY-3",
            dossier_id=city.ids["DA00000003"],
            institution_id=city.a,
        )
        assert len(ids_of(a, "SELECT id FROM material")) == 4
        assert len(ids_of(a, "SELECT id FROM page")) == 4
        assert a.execute("SELECT count(*) FROM office_chain_event").fetchone() == (1,)
    with city.office("CY-JY") as b:
        # The holder index: B takes the entry over, naming itself; never names another.
        b.execute(
            "INSERT INTO holder_index (id_hash, institution_id, since) VALUES ('h1', %s, %s) "
            "ON CONFLICT (id_hash) DO UPDATE SET institution_id = EXCLUDED.institution_id, "
            "since = EXCLUDED.since, updated_at = now()",
            (city.b, NOW),
        )
        with pytest.raises(errors.InsufficientPrivilege):
            b.execute(
                "INSERT INTO holder_index (id_hash, institution_id, since) VALUES ('h1', %s, %s) "
                "ON CONFLICT (id_hash) DO UPDATE SET institution_id = EXCLUDED.institution_id",
                (city.a, NOW),
            )
        assert b.execute("SELECT office_chain_event FROM office_chain_event").fetchall() == []
        # B sees A's certificate on the dossier that is coming to it.
        assert b.execute("SELECT serial FROM certificate").fetchall() == [("CY-3",)]
    with city.admin() as conn:
        assert conn.execute("SELECT institution_id FROM holder_index").fetchall() == [(city.b,)]
        assert conn.execute(
            "SELECT count(*) FROM central_log WHERE table_name = 'holder_index' "
            "AND row_id = md5('h1')::uuid"
        ).fetchone() == (2,)


def test_transfers_move_the_scope_sender_records_receiver_receives(city: City) -> None:
    d2, d3 = city.ids["DA00000002"], city.ids["DA00000003"]
    later = NOW + dt.timedelta(hours=1)
    with city.office("CY-JY") as b:
        # In transit to B: B may not send it on before receiving it.
        with pytest.raises(errors.InsufficientPrivilege):
            insert(
                b,
                "custody_event",
                dossier_id=d3,
                kind="transferred_out",
                holder_institution_id=city.a,
            )
        insert(b, "custody_event", dossier_id=d3, kind="received", holder_institution_id=city.b)
        insert(b, "material", dossier_id=d3)
    with city.office("CY-RC") as a:
        with pytest.raises(errors.InsufficientPrivilege):  # no longer A's to send
            insert(
                a,
                "custody_event",
                dossier_id=d3,
                kind="transferred_out",
                holder_institution_id=city.a,
            )
        insert(
            a,
            "custody_event",
            dossier_id=d2,
            kind="transferred_out",
            holder_institution_id=city.b,
            at=later,
        )
        assert city.ids["DA00000002"] not in ids_of(a, "SELECT id FROM dossier")
        with pytest.raises(errors.InsufficientPrivilege):  # sent: A adds nothing more
            insert(a, "material", dossier_id=d2)
        # A brings a new dossier in: the dossier, then its first custody event.
        new = insert(a, "dossier", dossier_no="DA00000009", person_name="新档")
        insert(a, "custody_event", dossier_id=new, kind="received", holder_institution_id=city.a)
        insert(a, "material", dossier_id=new)
        assert new in ids_of(a, "SELECT id FROM dossier")
    with city.office("CY-JY") as b:
        assert ids_of(b, "SELECT office_scope(current_office())") == {d2, d3}
        assert b.execute(
            "SELECT kind FROM custody_head WHERE dossier_id = %s", (d2,)
        ).fetchone() == ("transferred_out",)
        with pytest.raises(errors.InsufficientPrivilege):  # A's new dossier is A's
            insert(
                b, "custody_event", dossier_id=new, kind="received", holder_institution_id=city.b
            )
        # An older event (by time) does not move the head back.
        insert(
            b,
            "custody_event",
            dossier_id=d2,
            kind="received",
            holder_institution_id=city.b,
            at=later + dt.timedelta(days=1),
        )
        insert(
            b,
            "custody_event",
            dossier_id=d3,
            kind="shelved",
            holder_institution_id=city.b,
            at=NOW - dt.timedelta(days=3650),
        )
        heads = dict(b.execute("SELECT dossier_id, kind FROM custody_head").fetchall())
        assert heads == {d2: "received", d3: "received"}


def test_an_office_reads_the_schema_revision_through_central_revision(city: City) -> None:
    from counter_tui.db import migrate

    with city.office("CY-JY") as b:
        assert b.execute("SELECT central_revision()").fetchone() == (migrate.head_revision(),)
        assert b.execute("SELECT value FROM central_meta").fetchall() == [(central.SCHEMA_VERSION,)]


def test_central_existing_answers_for_keys_outside_the_scope(city: City) -> None:
    materials = [city.ids["m_cv"], city.ids["m_hire"]]
    unknown = new_id()
    with city.office("CY-JY") as b:
        found = ids_of(b, "SELECT central_existing('material', %s)", [*materials, unknown])
        assert found == set(materials)
        with pytest.raises(errors.InvalidParameterValue):
            b.execute("SELECT central_existing('office_role', %s)", ([unknown],))


def test_what_a_dossier_brings_along_is_readable_and_no_more(city: City) -> None:
    """Another office's visit is readable where a certificate or consultation the office may
    see names it (never its steps); another office's accounts only through public_accounts
    (no password or own-ID hash); key lists of every institution (public keys)."""
    d1, d3 = city.ids["DA00000001"], city.ids["DA00000003"]
    clerk = city.ids["clerk"]
    with city.admin() as conn:
        named = insert(conn, "service_visit", institution_id=city.a, clerk_id=clerk)
        consulted = insert(conn, "service_visit", institution_id=city.a)
        other = insert(conn, "service_visit", institution_id=city.a)
        insert(conn, "service_event", visit_id=named)
        # On DA00000003 (in transit to CY-JY, so in its scope) and on DA00000001 (not).
        insert(
            conn,
            "certificate",
            serial="CY-9",
            dossier_id=d3,
            institution_id=city.a,
            visit_id=named,
            issued_by=clerk,
        )
        insert(conn, "consultation", dossier_id=d3, institution_id=city.a, visit_id=consulted)
        insert(
            conn,
            "certificate",
            serial="CY-10",
            dossier_id=d1,
            institution_id=city.a,
            visit_id=other,
        )
        insert(conn, "signing_key_list", institution_id=city.a)
        conn.execute("UPDATE clerk SET id_number_hash = 'secret' WHERE id = %s", (clerk,))
    with city.office("CY-JY") as b:
        assert ids_of(b, "SELECT id FROM service_visit") == {named, consulted}
        assert b.execute("SELECT count(*) FROM service_event").fetchone() == (0,)
        assert b.execute("SELECT count(*) FROM signing_key_list").fetchone() == (1,)
        logged = {r[0] for r in b.execute("SELECT table_name FROM central_log")}
        assert "signing_key_list" in logged
        assert ids_of(b, "SELECT id FROM clerk") == set()
        cursor = b.execute("SELECT * FROM public_accounts(%s)", ([clerk, new_id()],))
        columns = [c.name for c in cursor.description]
        rows = cursor.fetchall()
    assert columns == ["id", "institution_id", "username", "name", "role", "created_at"]
    assert [r[:5] for r in rows] == [(clerk, city.a, "clerk1", "王芳", "clerk")]
    with city.admin() as conn:  # not an office: nothing
        assert conn.execute("SELECT count(*) FROM public_accounts(%s)", ([clerk],)).fetchone() == (
            0,
        )


# --------------------------------------------------------------------------------------------
# The log the pull side reads


def test_central_log_rows_carry_institution_and_dossier(city: City) -> None:
    d1 = city.ids["DA00000001"]
    with city.office("CY-RC") as a:
        material = insert(a, "material", dossier_id=d1, item_no=7)
        page = insert(a, "page", material_id=material)
        visit = insert(a, "service_visit", institution_id=city.a)
        event = insert(a, "service_event", visit_id=visit)
        rows = a.execute(
            "SELECT table_name, row_id, institution_id, dossier_id FROM central_log "
            "WHERE row_id = ANY(%s) ORDER BY xid, id",
            ([material, page, visit, event],),
        ).fetchall()
    assert rows == [
        ("material", material, city.a, d1),
        ("page", page, city.a, d1),
        ("service_visit", visit, city.a, None),
        ("service_event", event, city.a, None),
    ]


def test_a_transaction_committed_late_stays_below_the_readers_horizon_until_it_commits(
    city: City,
) -> None:
    d1, d3 = city.ids["DA00000001"], city.ids["DA00000003"]
    horizon = (
        "SELECT table_name, row_id FROM central_log "
        "WHERE xid < pg_snapshot_xmin(pg_current_snapshot()) AND table_name = 'material' "
        "ORDER BY xid, id"
    )
    with (
        city.office("CY-RC", autocommit=False) as early,
        city.office("CY-JY", autocommit=False) as late,
        city.admin() as reader,
    ):
        insert(late, "custody_event", dossier_id=d3, kind="received", holder_institution_id=city.b)
        late.commit()
        first = insert(early, "material", dossier_id=d1, item_no=11)  # takes the older xid
        second = insert(late, "material", dossier_id=d3, item_no=12)
        late.commit()  # the later transaction commits first

        before = reader.execute(horizon).fetchall()
        assert ("material", second) not in before  # committed, but above the horizon
        assert ("material", first) not in before

        early.commit()
        after = [r for r in reader.execute(horizon).fetchall() if r[1] in (first, second)]
        assert after == [("material", first), ("material", second)]  # in xid order
