"""Tamper evidence: after dropping the append-only triggers with raw SQL, every edit, deletion
and reordering of access events, materials, pages and page files is found, and the first broken
row is named exactly."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Uuid, bindparam, text
from sqlmodel import select

from counter_tui import cli
from counter_tui.db import append_only, migrate
from counter_tui.db.engine import Database
from counter_tui.db.models import AccessEvent, CustodyEvent, Dossier, Institution, Material, Page
from counter_tui.services import access_log, fixity, viewing
from tests.support.factories import TinyArchive, logged_in, tiny_archive


def drop_guards(db: Database) -> None:
    """What an intruder with database access does first."""
    with db.begin_write_connection() as conn:
        for statement in append_only.drop_statements(conn.dialect.name):
            conn.exec_driver_sql(statement)


def sql(db: Database, statement: str, **params: object) -> int:
    """Run one raw SQL statement (``:id``-style UUID parameters bound as UUIDs); rows changed."""
    query = text(statement)
    uuids = [name for name, value in params.items() if isinstance(value, uuid.UUID)]
    if uuids:
        query = query.bindparams(*(bindparam(n, type_=Uuid) for n in uuids))
    with db.begin_write_connection() as conn:
        return conn.execute(query, params).rowcount


def event_at(db: Database, seq: int) -> AccessEvent:
    with db.read() as s:
        return s.exec(select(AccessEvent).where(AccessEvent.seq == seq)).one()


def first_problem(db: Database, archive_root: Path | None = None) -> fixity.Problem:
    report = fixity.verify(db, archive_root=archive_root)
    assert not report.ok, "tampering went unnoticed"
    return report.problems[0]


@pytest.fixture
def archive(tmp_path: Path) -> TinyArchive:
    """The tiny archive with a working day on top of its sealed materials, pages, custody
    events and accounts: a log-in, a dossier opened, a material's pages viewed (27 access
    events), then the guards dropped."""
    archive = tiny_archive(tmp_path)
    workplace = logged_in(archive)
    viewing.open_dossier(archive.db, archive.ids["DA00000001"], workplace, None)
    viewing.open_material_pages(
        archive.db,
        archive.ids["m_cv"],
        workplace,
        None,
        archive_root=archive.settings.archive_dir,
        private_dir=tmp_path / "view",
    )
    report = fixity.verify(archive.db, archive_root=archive.settings.archive_dir)
    assert report.ok, fixity.summary(report)
    with archive.db.read() as s:
        custody_events = len(s.exec(select(CustodyEvent)).all())
    # 11 views and seals of materials and pages, one seal per custody event and account, and
    # the seals of the 2 institutions and 3 dossiers.
    assert (report.events, report.materials, report.pages, report.files) == (
        11 + custody_events + 4 + 5,
        3,
        3,
        3,
    )
    drop_guards(archive.db)
    return archive


def test_clean_archive_verifies(archive: TinyArchive) -> None:
    report = fixity.verify(archive.db, archive_root=archive.settings.archive_dir)
    assert report.ok
    assert report.head_seq == 27
    assert report.head_hash == event_at(archive.db, 27).hash
    assert "27" in fixity.summary(report)


# --------------------------------------------------------------------------------------------
# The access-event chain


def test_edited_reason_names_that_event(archive: TinyArchive) -> None:
    victim = event_at(archive.db, 24)  # the "dossier" view of DA00000001
    assert victim.kind == "dossier"
    assert sql(archive.db, "UPDATE access_event SET reason = 'audit' WHERE seq = 24") == 1

    problem = first_problem(archive.db)

    assert (problem.table, problem.what, problem.seq, problem.row_id) == (
        "access_event",
        "hash",
        24,
        str(victim.id),
    )
    assert "24" in problem.message


@pytest.mark.parametrize(
    "column, value",
    [
        ("at", "2020-01-01 00:00:00.000000"),
        ("kind", "page"),
        ("clerk_id", None),
    ],
)
def test_any_edited_column_breaks_the_hash(
    archive: TinyArchive, column: str, value: object
) -> None:
    victim = event_at(archive.db, 23)
    sql(archive.db, f"UPDATE access_event SET {column} = :v WHERE seq = 23", v=value)
    problem = first_problem(archive.db)
    assert (problem.what, problem.seq, problem.row_id) == ("hash", 23, str(victim.id))


def test_deleted_event_is_a_gap_at_the_next_seq(archive: TinyArchive) -> None:
    following = event_at(archive.db, 6)
    assert sql(archive.db, "DELETE FROM access_event WHERE seq = 5") == 1

    problem = first_problem(archive.db)

    assert (problem.table, problem.what, problem.seq, problem.row_id) == (
        "access_event",
        "gap",
        6,
        str(following.id),
    )


def test_deleted_first_event_is_a_gap_at_seq_2(archive: TinyArchive) -> None:
    second = event_at(archive.db, 2)
    sql(archive.db, "DELETE FROM access_event WHERE seq = 1")
    problem = first_problem(archive.db)
    assert (problem.what, problem.seq, problem.row_id) == ("gap", 2, str(second.id))


@pytest.mark.parametrize("a, b", [(4, 5), (3, 20)])
def test_swapped_events_name_the_first_affected_seq(archive: TinyArchive, a: int, b: int) -> None:
    moved_up = event_at(archive.db, b)  # now stands at seq a
    sql(archive.db, "UPDATE access_event SET seq = -1 WHERE seq = :a", a=a)
    sql(archive.db, "UPDATE access_event SET seq = :a WHERE seq = :b", a=a, b=b)
    sql(archive.db, "UPDATE access_event SET seq = :b WHERE seq = -1", b=b)

    problem = first_problem(archive.db)

    assert (problem.table, problem.what, problem.seq, problem.row_id) == (
        "access_event",
        "prev_hash",
        a,
        str(moved_up.id),
    )


def test_swapped_seq_with_recomputed_links_still_breaks_the_hash(archive: TinyArchive) -> None:
    # A careful intruder also swaps the prev_hash values so that the links look right: the
    # content hashes (which cover seq and prev_hash) still give it away at the first row.
    four, five = event_at(archive.db, 4), event_at(archive.db, 5)
    sql(
        archive.db,
        "UPDATE access_event SET seq = -1, prev_hash = :p WHERE seq = 5",
        p=four.prev_hash,
    )
    sql(archive.db, "UPDATE access_event SET seq = 5, prev_hash = :p WHERE seq = 4", p=five.hash)
    sql(archive.db, "UPDATE access_event SET seq = 4 WHERE seq = -1")
    problem = first_problem(archive.db)
    assert (problem.what, problem.seq, problem.row_id) == ("hash", 4, str(five.id))


def test_changed_prev_hash_names_that_event(archive: TinyArchive) -> None:
    victim = event_at(archive.db, 21)
    sql(archive.db, "UPDATE access_event SET prev_hash = :h WHERE seq = 21", h="0" * 64)
    problem = first_problem(archive.db)
    assert (problem.table, problem.what, problem.seq, problem.row_id) == (
        "access_event",
        "prev_hash",
        21,
        str(victim.id),
    )


def test_rewritten_hash_breaks_the_next_link(archive: TinyArchive) -> None:
    # Editing a row and recomputing its own hash moves the break to the next row.
    victim = event_at(archive.db, 19)
    victim.reason = "audit"
    sql(
        archive.db,
        "UPDATE access_event SET reason = 'audit', hash = :h WHERE seq = 19",
        h=access_log.compute_hash(victim),
    )
    problem = first_problem(archive.db)
    assert (problem.what, problem.seq, problem.row_id) == (
        "prev_hash",
        20,
        str(event_at(archive.db, 20).id),
    )


def test_only_the_first_break_is_reported_for_the_chain(archive: TinyArchive) -> None:
    sql(archive.db, "UPDATE access_event SET reason = 'x' WHERE seq = 3")
    sql(archive.db, "DELETE FROM access_event WHERE seq = 20")
    report = fixity.verify(archive.db)
    chain_problems = [p for p in report.problems if p.table == "access_event"]
    assert [(p.what, p.seq) for p in chain_problems] == [("hash", 3)]


def test_forged_event_before_the_chain_start_is_found(archive: TinyArchive) -> None:
    # An extra row slipped in ahead of seq 1 (seq 0) must not pass as part of the log.
    with archive.db.write() as s:
        forged = AccessEvent(
            seq=0, kind="login", clerk_id=None, institution_id=None, reason="clerk1"
        )
        forged.hash = access_log.compute_hash(forged)
        s.add(forged)
    problem = first_problem(archive.db)
    assert (problem.table, problem.what, problem.seq, problem.row_id) == (
        "access_event",
        "out_of_chain",
        0,
        str(forged.id),
    )


# --------------------------------------------------------------------------------------------
# Materials and pages (sealed in the chain when added)


def test_edited_material_title_is_changed(archive: TinyArchive) -> None:
    material = archive.ids["m_hire"]
    assert (
        sql(
            archive.db, "UPDATE material SET title = '录用审批表（改）' WHERE id = :id", id=material
        )
        == 1
    )
    report = fixity.verify(archive.db, archive_root=archive.settings.archive_dir)
    assert [(p.table, p.row_id, p.what) for p in report.problems] == [
        ("material", str(material), "changed")
    ]


@pytest.mark.parametrize(
    "column, value",
    [
        ("formed_on", dt.date(1980, 1, 1)),
        ("page_count", 3),
        ("remark", "原件"),
        ("category", 2),
        ("item_no", 7),
        ("created_at", "2001-01-01 00:00:00.000000"),
        ("created_by", "CLERK"),
    ],
)
def test_any_edited_material_field_is_changed(
    archive: TinyArchive, column: str, value: object
) -> None:
    material = archive.ids["m_grad"]
    if value == "CLERK":  # who added it: pretend a colleague did
        value = archive.ids["clerk"].hex
    sql(archive.db, f"UPDATE material SET {column} = :v WHERE id = :id", v=value, id=material)
    problem = first_problem(archive.db)
    assert (problem.table, problem.row_id, problem.what) == ("material", str(material), "changed")


def test_material_inserted_without_sealing_is_unsealed(archive: TinyArchive) -> None:
    with archive.db.write() as s:
        sneaked = Material(
            dossier_id=archive.ids["DA00000001"],
            category=4,
            subcategory=1,
            item_no=2,
            title="学位证书",
            formed_on=dt.date(1971, 7, 1),
            page_count=1,
        )
        s.add(sneaked)
    report = fixity.verify(archive.db, archive_root=archive.settings.archive_dir)
    assert [(p.table, p.row_id, p.what) for p in report.problems] == [
        ("material", str(sneaked.id), "unsealed")
    ]


def test_deleted_material_is_missing(archive: TinyArchive) -> None:
    # 擅自抽取: a material taken out of the dossier (the paper-only one, so no pages hold it).
    material = archive.ids["m_grad"]
    assert sql(archive.db, "DELETE FROM material WHERE id = :id", id=material) == 1
    report = fixity.verify(archive.db, archive_root=archive.settings.archive_dir)
    assert [(p.table, p.row_id, p.what) for p in report.problems] == [
        ("material", str(material), "missing")
    ]


def test_deleted_page_row_is_missing(archive: TinyArchive) -> None:
    page = archive.ids["m_cv_p2"]
    sql(archive.db, "DELETE FROM page WHERE id = :id", id=page)
    report = fixity.verify(archive.db, archive_root=archive.settings.archive_dir)
    assert [(p.table, p.row_id, p.what) for p in report.problems] == [
        ("page", str(page), "missing")
    ]


def test_changed_page_sha256_is_found(archive: TinyArchive) -> None:
    page = archive.ids["m_cv_p2"]
    sql(archive.db, "UPDATE page SET sha256 = :h WHERE id = :id", h="f" * 64, id=page)
    report = fixity.verify(archive.db, archive_root=archive.settings.archive_dir)
    assert [(p.table, p.row_id, p.what) for p in report.problems] == [
        ("page", str(page), "changed"),
        ("page", str(page), "file_changed"),
    ]


def page_path(archive: TinyArchive, key: str) -> Path:
    with archive.db.read() as s:
        return archive.settings.archive_dir / s.get(Page, archive.ids[key]).rel_path


def test_overwritten_page_file_is_file_changed(archive: TinyArchive) -> None:
    path = page_path(archive, "m_hire_p1")
    path.write_bytes(page_path(archive, "m_cv_p2").read_bytes())  # a real image, another page
    assert path.read_bytes() != page_path(archive, "m_cv_p1").read_bytes()
    report = fixity.verify(archive.db, archive_root=archive.settings.archive_dir)
    assert [(p.table, p.row_id, p.what) for p in report.problems] == [
        ("page", str(archive.ids["m_hire_p1"]), "file_changed")
    ]
    # Without the archive root only the database is checked.
    assert fixity.verify(archive.db).ok


def test_deleted_page_file_is_file_missing(archive: TinyArchive) -> None:
    page_path(archive, "m_cv_p1").unlink()
    report = fixity.verify(archive.db, archive_root=archive.settings.archive_dir)
    assert [(p.table, p.row_id, p.what) for p in report.problems] == [
        ("page", str(archive.ids["m_cv_p1"]), "file_missing")
    ]


# --------------------------------------------------------------------------------------------
# counter-tui audit verify


def audit(archive: TinyArchive, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = cli.main(
        [
            "--db",
            archive.settings.db_url,
            "--archive-root",
            str(archive.settings.archive_dir),
            "--lang",
            "en",
            "audit",
            "verify",
        ]
    )
    return status, capsys.readouterr().out


def test_cli_exits_0_when_clean(archive: TinyArchive, capsys: pytest.CaptureFixture[str]) -> None:
    status, out = audit(archive, capsys)
    assert status == 0
    assert "No tampering found." in out
    assert "27 access events" in out


def test_cli_exits_1_and_names_the_first_broken_row(
    archive: TinyArchive, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = event_at(archive.db, 20)
    sql(archive.db, "UPDATE access_event SET reason = 'x' WHERE seq = 20")

    status, out = audit(archive, capsys)

    assert status == 1
    first = next(line for line in out.splitlines() if line.startswith("  ["))
    assert first.startswith(f"  [access event {victim.id}]")
    assert "no. 20" in first


def test_cli_names_a_changed_page_file(
    archive: TinyArchive, capsys: pytest.CaptureFixture[str]
) -> None:
    page_path(archive, "m_cv_p2").write_bytes(b"\x89PNG\r\n\x1a\n overwritten")
    status, out = audit(archive, capsys)
    assert status == 1
    assert f"[page {archive.ids['m_cv_p2']}]" in out


# --------------------------------------------------------------------------------------------
# PostgreSQL


@pytest.mark.postgres
def test_edited_event_on_postgresql(postgres_url: str) -> None:
    db = Database(postgres_url)
    try:
        migrate.upgrade(db)
        with db.write() as s:
            inst = Institution(
                code="CY-RC", name="北京市朝阳区人才服务中心", kind="district", serial_prefix="CY"
            )
            s.add(inst)
            s.flush()
            dossier = Dossier(dossier_no="DA00000001", person_name="张伟")
            s.add(dossier)
            s.flush()
            material = Material(
                dossier_id=dossier.id,
                category=1,
                item_no=1,
                title="干部履历表",
                formed_on=dt.date(1972, 3, 1),
                page_count=1,
            )
            s.add(material)
            s.flush()
            chain = access_log.Chain(s)
            fixity.register_material(chain, material, clerk_id=None, institution_id=inst.id)
            for reason in ("counter", "counter", "counter", "counter"):
                chain.append(
                    kind="dossier",
                    clerk_id=None,
                    institution_id=inst.id,
                    dossier_id=dossier.id,
                    target_id=dossier.id,
                    reason=reason,
                )
            fixity.register_institution(chain, inst, clerk_id=None)
            fixity.register_dossier(chain, dossier, clerk_id=None, institution_id=inst.id)
        assert fixity.verify(db).ok
        drop_guards(db)
        victim = event_at(db, 3)
        sql(db, "UPDATE access_event SET reason = 'audit' WHERE seq = 3")

        problem = first_problem(db)

        assert (problem.table, problem.what, problem.seq, problem.row_id) == (
            "access_event",
            "hash",
            3,
            str(victim.id),
        )
        sql(db, "UPDATE material SET title = '改' WHERE id = :id", id=material.id)
        sql(db, "UPDATE access_event SET reason = 'counter' WHERE seq = 3")
        problem = first_problem(db)
        assert (problem.table, problem.what, problem.row_id) == (
            "material",
            "changed",
            str(material.id),
        )
    finally:
        db.dispose()
