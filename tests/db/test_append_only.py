"""Append-only facts, enforced by the database itself: SQLite (the tiny archive) and PostgreSQL.

Every statement here is what a script or a hand-typed SQL session could do behind the
application's back; the triggers must refuse each with a message saying "append-only".
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import func, select

from counter_tui.db import append_only, migrate
from counter_tui.db.engine import Database
from counter_tui.db.models import (
    AccessEvent,
    Certificate,
    CertificateEvent,
    ChainCheckpoint,
    Consultation,
    CustodyEvent,
    Dossier,
    Institution,
    Material,
    Page,
    ServiceEvent,
    ServiceVisit,
    SigningKeyList,
)
from counter_tui.services import access_log
from tests.support.factories import tiny_archive

FACT_TABLES = (
    "material",
    "page",
    "certificate",
    "service_event",
    "access_event",
    "custody_event",
    "consultation",
    "certificate_event",
    "signing_key_list",
    "chain_checkpoint",
)


def seed_facts(db: Database) -> None:
    """Insert one row into every fact table (and the rows they refer to), the ORM way."""
    tag = uuid.uuid4().hex[:8]
    with db.write() as s:
        inst = Institution(code=f"T-{tag}", name="测试中心", kind="district", serial_prefix="TT")
        s.add(inst)
        s.flush()
        dossier = Dossier(
            dossier_no=f"T{tag}", person_name="测试", gender="F", birth_date_recorded="1980年1月"
        )
        s.add(dossier)
        s.flush()
        s.add(CustodyEvent(dossier_id=dossier.id, kind="received", holder_institution_id=inst.id))
        material = Material(
            dossier_id=dossier.id,
            category=1,
            item_no=1,
            title="履历表",
            formed_on=dt.date(2000, 1, 1),
            page_count=1,
        )
        s.add(material)
        s.flush()
        s.add(
            Page(
                material_id=material.id,
                page_no=1,
                rel_path=f"T{tag}/T{tag}-0001.png",
                sha256="0" * 64,
                dpi=150,
                width=10,
                height=10,
            )
        )
        visit = ServiceVisit(institution_id=inst.id, counter="1")
        s.add(visit)
        s.flush()
        s.add(ServiceEvent(visit_id=visit.id, kind="started"))
        certificate = Certificate(
            serial=f"TT-2026-{tag}",
            kind="archive",
            dossier_id=dossier.id,
            visit_id=visit.id,
            institution_id=inst.id,
            applicant_kind="self",
            purpose="测试",
            text_path=f"{tag}.txt",
            text_sha256="0" * 64,
        )
        s.add(certificate)
        s.flush()
        s.add(CertificateEvent(certificate_id=certificate.id, kind="printed"))
        s.add(SigningKeyList(institution_id=inst.id, current_key_id="0" * 16, key_list=b"x"))
        s.add(
            ChainCheckpoint(
                institution_id=inst.id, seq=1, head_hash="0" * 64, key_id="0" * 16, signature=b"x"
            )
        )
        s.add(
            Consultation(
                dossier_id=dossier.id,
                visit_id=visit.id,
                institution_id=inst.id,
                requesting_unit="某单位",
                approval_no="2026-1",
                purpose="政审",
                shown_material_ids=str(material.id),
            )
        )
        access_log.append(
            s,
            kind="dossier",
            clerk_id=None,
            institution_id=inst.id,
            dossier_id=dossier.id,
            target_id=dossier.id,
            reason="test",
        )


def row_count(db: Database, table: str) -> int:
    with db.engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def refused(db: Database, sql: str) -> str:
    """Run ``sql`` in a write transaction; return the database's error text (it must fail)."""
    with pytest.raises(DBAPIError) as info, db.begin_write_connection() as conn:
        conn.execute(text(sql))
    return str(info.value)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fact_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The tiny archive (SQLite) or a migrated PostgreSQL database, with a row in every fact
    table."""
    if request.param == "sqlite":
        db = tiny_archive(tmp_path).db
    else:
        db = Database(request.getfixturevalue("postgres_url"))
        migrate.upgrade(db)
    seed_facts(db)
    try:
        yield db
    finally:
        db.dispose()


def test_guarded_tables_are_the_fact_tables() -> None:
    assert set(append_only.APPEND_ONLY_TABLES) == set(FACT_TABLES)


@pytest.mark.parametrize("table", FACT_TABLES)
def test_update_and_delete_are_refused(fact_db: Database, table: str) -> None:
    rows = row_count(fact_db, table)
    assert rows >= 1

    update_error = refused(fact_db, f"UPDATE {table} SET id = id")
    delete_error = refused(fact_db, f"DELETE FROM {table}")

    for error, op in ((update_error, "UPDATE"), (delete_error, "DELETE")):
        assert "append-only" in error
        assert f"{table} is append-only: {op} is not allowed" in error
    assert row_count(fact_db, table) == rows


def test_insert_still_works(fact_db: Database) -> None:
    before = {t: row_count(fact_db, t) for t in FACT_TABLES}
    seed_facts(fact_db)
    assert {t: row_count(fact_db, t) for t in FACT_TABLES} == {t: n + 1 for t, n in before.items()}


def test_orm_edit_of_a_material_is_refused(fact_db: Database) -> None:
    with fact_db.read() as s:
        material_id = s.exec(select(Material.id).limit(1)).one()
    with pytest.raises(DBAPIError) as info, fact_db.write() as s:
        material = s.get(Material, material_id)
        material.title = "篡改后的标题"
        s.add(material)
    assert append_only.is_append_only_violation(info.value)
    with fact_db.read() as s:
        assert s.get(Material, material_id).title != "篡改后的标题"


def test_orm_delete_of_an_access_event_is_refused(fact_db: Database) -> None:
    with fact_db.read() as s:
        count = s.exec(select(func.count()).select_from(AccessEvent)).one()
        event_id = s.exec(select(AccessEvent.id).limit(1)).one()
    with pytest.raises(DBAPIError) as info, fact_db.write() as s:
        s.delete(s.get(AccessEvent, event_id))
    assert "append-only" in str(info.value)
    with fact_db.read() as s:
        assert s.exec(select(func.count()).select_from(AccessEvent)).one() == count


@pytest.mark.postgres
@pytest.mark.parametrize("table", FACT_TABLES)
def test_truncate_is_refused_on_postgresql(postgres_url: str, table: str) -> None:
    db = Database(postgres_url)
    try:
        migrate.upgrade(db)
        seed_facts(db)
        rows = row_count(db, table)
        # CASCADE, so that foreign keys pointing at the table do not refuse it first.
        error = refused(db, f"TRUNCATE {table} CASCADE")
        assert "append-only" in error
        assert "TRUNCATE is not allowed" in error
        assert row_count(db, table) == rows
    finally:
        db.dispose()
