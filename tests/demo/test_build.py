"""The demo archive: built into a real SQLite file with real page images, then checked for the
facts a real archive would show (valid IDs, dates that fit each life, catalogue rules, 挂接)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import select

from counter_tui.db import migrate
from counter_tui.db.engine import Database
from counter_tui.db.models import (
    Clerk,
    Consultation,
    CustodyEvent,
    Dossier,
    Institution,
    Material,
    Page,
)
from counter_tui.demo import (
    AS_OF,
    DemoError,
    DemoSummary,
    build_demo,
)
from counter_tui.domain import categories, resident_id
from counter_tui.services import auth
from counter_tui.services.barcodes import decode_barcodes

N = 40
SHARE = 0.25
SHELF = re.compile(r"^\d+库-\d+架-\d+层-\d{3}$")
DOSSIER_NO = re.compile(r"^(CY|CJ|JW)\d{8}$")


@dataclass
class Built:
    db: Database
    root: Path
    summary: DemoSummary
    institutions: list[Institution]
    clerks: list[Clerk]
    dossiers: list[Dossier]
    materials: dict[object, list[Material]]
    events: dict[object, list[CustodyEvent]]
    pages: dict[object, list[Page]]


def _new_db(path: Path) -> Database:
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db)
    return db


def _load(db: Database, root: Path, summary: DemoSummary) -> Built:
    with db.read() as s:
        institutions = list(s.exec(select(Institution)).all())
        clerks = list(s.exec(select(Clerk)).all())
        dossiers = list(s.exec(select(Dossier)).all())
        materials: dict[object, list[Material]] = defaultdict(list)
        for m in s.exec(select(Material)).all():
            materials[m.dossier_id].append(m)
        events: dict[object, list[CustodyEvent]] = defaultdict(list)
        for e in s.exec(select(CustodyEvent)).all():
            events[e.dossier_id].append(e)
        pages: dict[object, list[Page]] = defaultdict(list)
        for p in s.exec(select(Page)).all():
            pages[p.material_id].append(p)
    return Built(db, root, summary, institutions, clerks, dossiers, materials, events, pages)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    tmp = tmp_path_factory.mktemp("demo")
    db = _new_db(tmp / "a.db")
    summary = build_demo(db, tmp / "archive", dossiers=N, seed=2026, digitised_share=SHARE)
    return _load(db, tmp / "archive", summary)


def _today() -> dt.date:
    return min(AS_OF, dt.date.today())


def test_summary_matches_the_database(built: Built) -> None:
    s = built.summary
    assert (s.institutions, s.clerks, s.dossiers) == (3, 7, N)
    assert s.materials == sum(len(ms) for ms in built.materials.values())
    assert s.digitised_dossiers == round(N * SHARE)
    assert s.pages == sum(len(ps) for ps in built.pages.values())
    assert s.seconds > 0
    on_disk = sum(p.stat().st_size for p in built.root.rglob("*") if p.is_file())
    assert on_disk <= s.bytes_on_disk < on_disk + 50_000_000


def test_institutions_and_accounts(built: Built) -> None:
    rows = {(i.code, i.name, i.kind, i.parent_code, i.serial_prefix) for i in built.institutions}
    assert rows == {
        ("CY-RC", "北京市朝阳区人才服务中心", "district", None, "CY"),
        ("CY-JY", "北京市朝阳区职业介绍服务中心", "district", None, "CJ"),
        ("CY-JW", "朝阳区建外街道社会保障事务所", "sub-district", "CY-RC", "JW"),
    }
    code = {i.id: i.code for i in built.institutions}
    accounts = {(c.username, c.name, c.role, code[c.institution_id]) for c in built.clerks}
    assert accounts == {
        ("clerk1", "王芳", "clerk", "CY-RC"),
        ("clerk2", "李强", "clerk", "CY-RC"),
        ("super1", "赵敏", "supervisor", "CY-RC"),
        ("arch1", "陈刚", "archivist", "CY-RC"),
        ("audit1", "刘洋", "auditor", "CY-RC"),
        ("admin", "系统管理员", "admin", "CY-RC"),
        ("clerk3", "孙丽", "clerk", "CY-JY"),
    }
    # The README's demo passwords: "<username>-demo".
    assert all(auth.verify_secret(c.password_hash, f"{c.username}-demo") for c in built.clerks)
    assert not any(auth.verify_secret(c.password_hash, "demo") for c in built.clerks)


def test_people_have_valid_ids_names_and_recorded_birth_dates(built: Built) -> None:
    assert len({d.id_number for d in built.dossiers}) == N
    for d in built.dossiers:
        assert resident_id.parse(d.id_number) == d.id_number
        facts = resident_id.facts(d.id_number)
        assert facts.gender == d.gender
        assert dt.date(1950, 1, 1) <= facts.birth_date <= dt.date(2002, 12, 31)
        assert 2 <= len(d.person_name) <= 4
        assert all("\u4e00" <= ch <= "\u9fff" for ch in d.person_name)
        match = re.match(
            r"^(\d{4})(?:年(\d{1,2})月(?:(\d{2})日)?|[.-](\d{1,2})(?:\.(\d{2}))?)$",
            d.birth_date_recorded,
        )
        assert match, d.birth_date_recorded
        year = int(match[1])
        month = int(match[2] or match[4])
        assert month in range(1, 13)
        # As written in the dossier: usually the ID's date, sometimes a little off.
        assert abs(dt.date(year, month, 1) - facts.birth_date.replace(day=1)) < dt.timedelta(
            days=400
        )


def test_dossier_numbers_follow_the_holder_prefix(built: Built) -> None:
    prefix = {i.id: i.serial_prefix for i in built.institutions}
    numbers = [d.dossier_no for d in built.dossiers]
    assert len(set(numbers)) == N
    for d in built.dossiers:
        assert DOSSIER_NO.match(d.dossier_no)
        assert d.barcode == d.dossier_no
        assert d.dossier_no.startswith(prefix[d.origin_institution_id])
    origins = Counter(prefix[d.origin_institution_id] for d in built.dossiers)
    assert origins["CY"] >= 0.6 * N  # most are held by the district talent centre


def test_catalogues_follow_the_ten_categories_and_the_life(built: Built) -> None:
    today = _today()
    for d in built.dossiers:
        born = resident_id.facts(d.id_number).birth_date
        rows = built.materials[d.id]
        assert 15 <= len(rows) <= 60
        assert {m.category for m in rows} >= {4} or len({m.category for m in rows}) >= 3
        for m in rows:
            categories.validate_placement(m.category, m.subcategory)
            assert m.formed_on is not None
            fifteen = born.replace(year=born.year + 15, day=min(born.day, 28))
            assert fifteen <= m.formed_on <= today, (d.dossier_no, m.title, m.formed_on)
            assert m.page_count in range(1, 7)
            assert m.remark in ("", "复印件")
            if "复印件" in m.title:
                assert m.remark == "复印件"
        # Item numbers run from 1 inside each (sub)category in date order.
        numbered = categories.number_items(rows)
        assert all(m.item_no == n for m, n in numbered), d.dossier_no
    all_rows = [m for ms in built.materials.values() for m in ms]
    used = {(m.category, m.subcategory) for m in all_rows}
    assert {c for c, _s in used} >= {1, 2, 3, 4, 6, 9, 10}
    titles = {m.title for m in all_rows}
    assert {"干部履历表", "高等学校毕业生登记表", "入党志愿书", "档案转递通知单"} <= titles


def test_custody_histories(built: Built) -> None:
    now = dt.datetime.now(dt.UTC)
    kinds = Counter()
    for d in built.dossiers:
        events = sorted(built.events[d.id], key=lambda e: e.at)
        assert [e.kind for e in events[:2]] == ["received", "shelved"]
        assert events[0].holder_institution_id == d.origin_institution_id
        assert SHELF.match(events[1].shelf_location)
        assert all(e.at <= now for e in events)
        kinds.update(e.kind for e in events)
    assert kinds["transferred_out"] >= 1
    # Shelf slots are not shared at one institution.
    slots = [
        (e.holder_institution_id, e.shelf_location)
        for es in built.events.values()
        for e in es
        if e.kind == "shelved"
    ]
    assert len(slots) == len(set(slots))


def test_some_dossiers_are_held_elsewhere_after_a_transfer(built: Built) -> None:
    moved = 0
    for d in built.dossiers:
        events = sorted(built.events[d.id], key=lambda e: e.at)
        out = [e for e in events if e.kind == "transferred_out"]
        if out:
            moved += 1
            assert out[0].holder_institution_id != d.origin_institution_id
            assert events[-1].holder_institution_id == out[0].holder_institution_id
    assert moved >= 1


def test_digitised_dossiers_have_all_their_pages(built: Built) -> None:
    digitised = [
        d for d in built.dossiers if any(built.pages.get(m.id) for m in built.materials[d.id])
    ]
    assert len(digitised) == round(N * SHARE)
    for d in digitised:
        expected_serial = 0
        for m in sorted(
            built.materials[d.id], key=lambda m: (m.category, m.subcategory or 0, m.item_no)
        ):
            pages = sorted(built.pages.get(m.id, []), key=lambda p: p.page_no)
            assert [p.page_no for p in pages] == list(range(1, m.page_count + 1))
            for page in pages:
                expected_serial += 1
                assert page.rel_path == f"{d.dossier_no}/{d.dossier_no}-{expected_serial:04d}.png"
                path = built.root / page.rel_path
                assert page.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
                assert (page.dpi, page.width, page.height) == (150, 1240, 1754)
                assert re.fullmatch(r"[0-9a-f]{16}", page.phash)
        assert expected_serial == sum(m.page_count for m in built.materials[d.id])
        files = sorted((built.root / d.dossier_no).iterdir())
        assert len(files) == expected_serial + 1  # the cover has no Page row
        cover = built.root / d.dossier_no / f"{d.dossier_no}-0000.png"
        with Image.open(cover) as image:
            assert image.mode == "1" and image.size == (1240, 1754)
            assert round(image.info["dpi"][0]) == 150
        assert decode_barcodes(cover) == [d.dossier_no]


def test_paper_only_dossiers_have_no_pages_but_a_shelf(built: Built) -> None:
    paper = [
        d for d in built.dossiers if not any(built.pages.get(m.id) for m in built.materials[d.id])
    ]
    assert len(paper) == N - round(N * SHARE)
    for d in paper:
        assert not (built.root / d.dossier_no).exists()
        shelved = [e for e in built.events[d.id] if e.kind == "shelved"]
        assert shelved and all(SHELF.match(e.shelf_location) for e in shelved)


def test_same_seed_gives_the_same_archive(built: Built, tmp_path: Path) -> None:
    db = _new_db(tmp_path / "b.db")
    build_demo(db, tmp_path / "archive", dossiers=N, seed=2026, digitised_share=0.0)
    again = _load(db, tmp_path / "archive", built.summary)

    def people(b: Built) -> list[tuple]:
        out = []
        for d in sorted(b.dossiers, key=lambda d: d.dossier_no):
            catalogue = sorted(
                (m.category, m.subcategory or 0, m.item_no, m.title, m.formed_on, m.page_count)
                for m in b.materials[d.id]
            )
            out.append(
                (d.dossier_no, d.person_name, d.id_number, d.birth_date_recorded, tuple(catalogue))
            )
        return out

    assert people(again) == people(built)
    assert again.pages == {}


def test_a_second_build_into_the_same_database_is_refused(built: Built, tmp_path: Path) -> None:
    with pytest.raises(DemoError):
        build_demo(built.db, tmp_path / "other", dossiers=2)


def test_small_build_renders_in_the_calling_thread(tmp_path: Path) -> None:
    db = _new_db(tmp_path / "c.db")
    summary = build_demo(
        db, tmp_path / "archive", dossiers=3, seed=7, digitised_share=0.34, workers=0
    )
    assert (summary.dossiers, summary.digitised_dossiers) == (3, 1)
    with db.read() as s:
        assert len(s.exec(select(Page)).all()) == summary.pages > 0


def test_arguments_are_checked(tmp_path: Path) -> None:
    db = _new_db(tmp_path / "d.db")
    with pytest.raises(ValueError):
        build_demo(db, tmp_path / "archive", dossiers=0)
    with pytest.raises(ValueError):
        build_demo(db, tmp_path / "archive", dossiers=5, digitised_share=1.5)


def test_every_material_and_page_is_sealed_and_verifies(built: Built) -> None:
    from counter_tui.services import fixity

    report = fixity.verify(built.db, archive_root=built.root)
    assert report.ok, report.problems[:3]
    assert report.materials == sum(len(ms) for ms in built.materials.values())
    assert report.pages == report.files > 0
    # one seal each (generated history certificates and custody events included), nothing else
    with built.db.read() as s:
        custody_events = len(s.exec(select(CustodyEvent)).all())
    from counter_tui.demo.institutions import CLERKS

    accounts = len(CLERKS)  # one seal per account created
    with built.db.read() as s:
        consultations = len(s.exec(select(Consultation)).all())
        dossiers = len(s.exec(select(Dossier)).all())
        institutions = len(s.exec(select(Institution)).all())
    assert report.events == (
        report.materials
        + report.pages
        + report.certificates
        + custody_events
        + accounts
        + consultations
        + dossiers
        + institutions
    )


def test_the_demo_keyring_does_not_bring_the_builder_into_the_counter() -> None:
    """A counter on the demo loads its keyring (``counter_tui.demo.keyring_file``): not the
    builder's modules with it (python-barcode, zxing-cpp, ZBar …, 3–5 MB; issue 13). The
    package's names are still there when asked for."""
    code = (
        "import sys\n"
        "import counter_tui.demo.keyring_file\n"
        "print(sorted(m for m in ('counter_tui.demo.build', 'barcode', 'zxingcpp', 'pyzbar')\n"
        "             if m in sys.modules))\n"
        "from counter_tui.demo import AS_OF, build_demo, generate_history, render_cover\n"
        "import counter_tui.demo as demo\n"
        "print(demo.build_demo is build_demo, callable(render_cover))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["[]", "True True"]
