"""补登: adding materials and corrections to a real archive, sealed in the access chain."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from sqlmodel import select

from counter_tui.db.models import AccessEvent, Dossier, Material
from counter_tui.services import fixity, supplement, viewing
from counter_tui.services.supplement import SupplementError
from counter_tui.services.workplace import Workplace
from tests.support.factories import TinyArchive, logged_in, tiny_archive

TODAY = dt.date(2026, 6, 30)


@pytest.fixture
def archive(tmp_path: Path) -> TinyArchive:
    return tiny_archive(tmp_path)


_workplaces: dict[tuple[str, str], Workplace] = {}


def workplace(archive: TinyArchive, username: str) -> Workplace:
    """Log in once per archive and user (argon2 is slow on purpose)."""
    # Keyed by the database URL, not id(archive): ids are reused once an archive is freed,
    # which handed a later test a workplace of another archive's institution.
    key = (archive.settings.db_url, username)
    if key not in _workplaces:
        _workplaces[key] = logged_in(archive, username)
    return _workplaces[key]


def add(archive: TinyArchive, username: str = "clerk1", **overrides) -> viewing.MaterialRow:  # noqa: ANN003
    fields = dict(
        dossier_id=archive.ids["DA00000001"],
        category=3,
        subcategory=None,
        title="2025年度考核登记表",
        formed_on=dt.date(2025, 12, 20),
        page_count=2,
        remark="",
        corrects=None,
        today=TODAY,
    )
    fields.update(overrides)
    return supplement.add_material(archive.db, workplace=workplace(archive, username), **fields)


def test_add_material_happy_path(archive: TinyArchive) -> None:
    row = add(archive, remark="复印件")

    assert row.number == "3-1"
    assert (row.title, row.formed_on, row.page_count, row.remark) == (
        "2025年度考核登记表",
        dt.date(2025, 12, 20),
        2,
        "复印件",
    )
    assert (row.scanned_pages, row.corrects, row.corrected) == (0, None, False)
    with archive.db.read() as s:
        stored = s.get(Material, row.id)
        seal = s.exec(select(AccessEvent).where(AccessEvent.target_id == row.id)).one()
    assert stored.created_by == archive.ids["clerk"]
    assert (seal.kind, seal.clerk_id, seal.institution_id, seal.dossier_id) == (
        "material_added",
        archive.ids["clerk"],
        archive.ids["here"],
        archive.ids["DA00000001"],
    )
    assert seal.reason == fixity.material_content_hash(stored)
    view = viewing.load_view(archive.db, archive.ids["DA00000001"])
    assert [m.number for m in view.materials] == ["1-1", "3-1", "4-1-1", "9-2-1"]
    assert fixity.verify(archive.db, archive_root=archive.settings.archive_dir).ok


def test_item_numbers_continue_within_the_subcategory(archive: TinyArchive) -> None:
    # 4-1 already has item 1; an earlier-dated addition still goes last (pencilled numbers stay).
    first = add(
        archive,
        category=4,
        subcategory=1,
        title="学位证书（复印件）",
        formed_on=dt.date(1971, 7, 2),
    )
    second = add(
        archive, category=4, subcategory=1, title="学历认证报告", formed_on=dt.date(1970, 1, 1)
    )
    other_sub = add(archive, category=4, subcategory=2, title="职称评审表")
    cv2 = add(archive, category=1, title="干部履历表（续）")
    assert [first.number, second.number, other_sub.number, cv2.number] == [
        "4-1-2",
        "4-1-3",
        "4-2-1",
        "1-2",
    ]


def test_title_is_trimmed(archive: TinyArchive) -> None:
    assert add(archive, title="  入党志愿书  ", category=6).title == "入党志愿书"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"category": 0}, "category"),
        ({"category": 11}, "category"),
        ({"category": True}, "category"),
        ({"category": 4, "subcategory": None}, "subcategory"),
        ({"category": 9, "subcategory": 5}, "subcategory"),
        ({"category": 3, "subcategory": 1}, "subcategory"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "履" * 201}, "title"),
        ({"title": "考核\n登记表"}, "title"),
        ({"title": "考核\x00登记表"}, "title"),
        ({"title": "考核\u200b登记表"}, "title"),
        ({"remark": "a" * 201}, "remark"),
        ({"remark": "附\t考察材料"}, "remark"),
        ({"formed_on": None}, "formed_on"),
        ({"formed_on": TODAY + dt.timedelta(days=1)}, "formed_on"),
        ({"formed_on": dt.date(1948, 12, 31)}, "formed_on"),  # born 1949 (ID and as recorded)
        ({"page_count": 0}, "page_count"),
        ({"page_count": 1000}, "page_count"),
        ({"page_count": -1}, "page_count"),
        ({"page_count": 2.0}, "page_count"),
        ({"corrects": uuid.uuid4()}, "corrects"),
        ({"dossier_id": uuid.uuid4()}, "dossier"),
    ],
)
def test_bad_input_is_refused_with_the_field(
    archive: TinyArchive, overrides: dict, field: str
) -> None:
    workplace(archive, "clerk1")
    with archive.db.read() as s:
        before = len(s.exec(select(Material)).all()), len(s.exec(select(AccessEvent)).all())

    with pytest.raises(SupplementError) as info:
        add(archive, **overrides)

    assert info.value.field == field
    assert str(info.value)
    with archive.db.read() as s:
        after = len(s.exec(select(Material)).all()), len(s.exec(select(AccessEvent)).all())
    assert after == before


def test_boundaries_are_accepted(archive: TinyArchive) -> None:
    assert (
        add(
            archive, title="履" * 200, page_count=999, remark="备" * 200, formed_on=TODAY
        ).page_count
        == 999
    )
    assert add(archive, formed_on=dt.date(1949, 1, 1), page_count=1).formed_on.year == 1949


def test_birth_year_from_the_record_when_the_id_is_missing(archive: TinyArchive) -> None:
    with archive.db.write() as s:
        d = Dossier(dossier_no="DA00000009", person_name="无证", birth_date_recorded="1975年3月")
        s.add(d)
    from counter_tui.db.models import CustodyEvent

    with archive.db.write() as s:
        s.add(
            CustodyEvent(
                dossier_id=d.id, kind="received", holder_institution_id=archive.ids["here"]
            )
        )
    with pytest.raises(SupplementError) as info:
        add(archive, dossier_id=d.id, formed_on=dt.date(1974, 12, 31))
    assert info.value.field == "formed_on" and "1975" in str(info.value)
    assert add(archive, dossier_id=d.id, formed_on=dt.date(1975, 1, 1)).number == "3-1"


def test_only_where_the_dossier_is_held(archive: TinyArchive) -> None:
    with pytest.raises(SupplementError) as info:
        add(archive, dossier_id=archive.ids["DA00000003"], formed_on=dt.date(2020, 1, 1))
    assert info.value.field == "dossier"


def test_not_into_ones_own_dossier(archive: TinyArchive) -> None:
    # clerk2's own resident ID is that of DA00000002 (see tiny_archive).
    with pytest.raises(SupplementError) as info:
        add(
            archive,
            "clerk2",
            dossier_id=archive.ids["DA00000002"],
            category=10,
            title="报到证",
            formed_on=dt.date(2000, 7, 1),
        )
    assert info.value.field == "dossier"
    assert (
        add(
            archive,
            "clerk1",
            dossier_id=archive.ids["DA00000002"],
            category=10,
            title="报到证",
            formed_on=dt.date(2000, 7, 1),
        ).number
        == "10-1"
    )


def test_auditor_and_anonymous_may_not_add(archive: TinyArchive) -> None:
    with pytest.raises(SupplementError) as info:
        add(archive, "audit1")
    assert info.value.field == "clerk"
    anonymous = Workplace(workplace(archive, "clerk1").institution, None, "1")
    with pytest.raises(SupplementError) as info:
        supplement.add_material(
            archive.db,
            dossier_id=archive.ids["DA00000001"],
            category=3,
            subcategory=None,
            title="x",
            formed_on=dt.date(2020, 1, 1),
            page_count=1,
            remark="",
            corrects=None,
            workplace=anonymous,
        )
    assert info.value.field == "clerk"


def test_correction_shows_both_and_verifies(archive: TinyArchive) -> None:
    old = archive.ids["m_cv"]  # 1-1 干部履历表, with two scanned pages
    fix = add(
        archive,
        category=5,
        title="关于更正张伟出生时间的认定意见",
        formed_on=dt.date(2026, 3, 1),
        page_count=1,
        remark="更正 1-1 出生时间",
        corrects=old,
        username="super1",
    )

    assert fix.number == "5-1"
    assert fix.corrects == old
    view = viewing.load_view(archive.db, archive.ids["DA00000001"])
    rows = {m.id: m for m in view.materials}
    assert rows[old].corrected is True
    assert rows[old].scanned_pages == 2  # the old material and its pages stay as they were
    assert rows[fix.id].corrects == old and rows[fix.id].corrected is False
    assert [m.number for m in view.materials] == ["1-1", "4-1-1", "5-1", "9-2-1"]
    report = fixity.verify(archive.db, archive_root=archive.settings.archive_dir)
    assert report.ok, fixity.summary(report)
    assert report.materials == 4

    # The same material cannot be corrected twice; the correction itself can be.
    with pytest.raises(SupplementError) as info:
        add(archive, category=5, title="再次更正", corrects=old)
    assert info.value.field == "corrects"
    assert "1-1" in str(info.value)
    again = add(archive, category=5, title="更正认定意见的更正", corrects=fix.id)
    assert again.number == "5-2"


def test_correction_must_be_in_the_same_dossier(archive: TinyArchive) -> None:
    other = add(
        archive,
        dossier_id=archive.ids["DA00000002"],
        category=10,
        title="报到证",
        formed_on=dt.date(2000, 7, 1),
    )
    with pytest.raises(SupplementError) as info:
        add(archive, corrects=other.id)
    assert info.value.field == "corrects"
