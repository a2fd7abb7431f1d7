"""Batch intake (issue 12 "Batches"): the demo batch built from the demo generator plus hard
covers is taken in with exactly the expected result per dossier, and no wrong dossier number.
Real SQLite files, real image files, real worker processes."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import pytest
from sqlmodel import select

from counter_tui.db import migrate
from counter_tui.db.engine import Database
from counter_tui.db.models import Clerk, Dossier, Material, Page
from counter_tui.demo.intake_batch import CASES, DemoBatch, build_intake_demo
from counter_tui.services import access_log, fixity, intake_batch
from counter_tui.services.intake_batch import take_in_batch


def _archive(tmp_path: Path) -> tuple[Database, Path]:
    db = Database(f"sqlite:///{tmp_path / 'archive.db'}")
    migrate.upgrade(db)
    return db, tmp_path / "archive"


def _archivist(db: Database, username: str = "arch1") -> uuid.UUID:
    with db.read() as s:
        return s.exec(select(Clerk).where(Clerk.username == username)).one().id


def _snapshot(batch: Path) -> dict[str, str]:
    return {
        p.relative_to(batch).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(batch.rglob("*"))
        if p.is_file()
    }


def _pages_by_dossier(db: Database) -> dict[str, list[Page]]:
    with db.read() as s:
        rows = s.exec(
            select(Dossier.dossier_no, Page)
            .join(Material, Material.dossier_id == Dossier.id)
            .join(Page, Page.material_id == Material.id)
        ).all()
    found: dict[str, list[Page]] = {}
    for number, page in rows:
        found.setdefault(number, []).append(page)
    return found


def _check_against_expected(
    demo: DemoBatch,
    result: intake_batch.BatchResult,
    before: dict[str, str],
    db: Database,
    archive_root: Path,
) -> None:
    report = result.report
    # Exactly the expected result per dossier, in batch order.
    got = [(d.status, d.dossier_no, d.reason_code, d.pages) for d in report.dossiers]
    want = [(e.status, e.dossier_no, e.reason_code, e.pages) for e in demo.expected]
    assert got == want, [e.case for e, g, w in zip(demo.expected, got, want) if g != w]
    # Every file of the batch appears once in the report.
    files = [entry.file for entry in report.files]
    assert sorted(files) == sorted(before) and len(files) == len(set(files))
    entries = {entry.file: entry for entry in report.files}
    for name in demo.not_scans:
        assert entries[name].role == "ignored"
    # No wrong dossier number: every stored page belongs to the dossier its cover named.
    pages = _pages_by_dossier(db)
    taken = {e.dossier_no: e for e in demo.expected if e.status == "taken_in"}
    assert set(pages) == set(taken)
    for expected in demo.expected:
        cover = entries[expected.cover]
        if expected.status == "taken_in":
            assert cover.role == "cover" and cover.dossier_no == expected.dossier_no
            assert len(pages[expected.dossier_no]) == expected.pages
            for page in pages[expected.dossier_no]:
                assert page.rel_path.startswith(f"{expected.dossier_no}/")
        else:
            assert cover.role == "not_taken"
    for entry in report.files:
        if entry.role == "page":
            assert entry.dossier_no in taken
            source_hash = before[entry.file]
            stored = archive_root / entry.stored
            assert hashlib.sha256(stored.read_bytes()).hexdigest() == source_hash
    # Unusable files: moved to quarantine unaltered, with a reason file; the rest stays.
    aside = {f: c for e in demo.expected for f, c in e.set_aside.items()}
    assert {e.file: e.reason_code for e in report.files if e.role == "set_aside"} == aside
    for name in aside:
        moved = Path(entries[name].quarantined)
        assert not (demo.batch_dir / name).exists()
        assert hashlib.sha256(moved.read_bytes()).hexdigest() == before[name]
        reason = moved.with_name(moved.name + ".reason.txt").read_text(encoding="utf-8")
        assert entries[name].reason in reason and "<" not in entries[name].reason
    for name, digest in before.items():
        if name not in aside:
            assert hashlib.sha256((demo.batch_dir / name).read_bytes()).hexdigest() == digest
    # Both reports: the JSON one says the same as the result, the readable one is Chinese.
    data = json.loads(result.json_path.read_text(encoding="utf-8"))
    assert [d["status"] for d in data["dossiers"]] == [e.status for e in demo.expected]
    assert data["totals"]["set_aside"] == len(aside)
    text = result.text_path.read_text(encoding="utf-8")
    assert "扫描批次接收报告" in text


def test_demo_batch_in_folders_is_taken_in_exactly_as_expected(tmp_path: Path) -> None:
    db, archive_root = _archive(tmp_path)
    demo = build_intake_demo(db, tmp_path / "batch", archive_root=archive_root)
    assert [e.case for e in demo.expected] == [c[0] for c in CASES]
    before = _snapshot(demo.batch_dir)
    progress: list[intake_batch.Progress] = []

    result = take_in_batch(
        db,
        batch_dir=demo.batch_dir,
        archive_root=archive_root,
        clerk_id=_archivist(db),
        archivist="arch1",
        workers=0,
        on_progress=progress.append,
    )

    _check_against_expected(demo, result, before, db, archive_root)
    assert result.report.layout == "folders"
    finished = [p.dossier for p in progress if p.dossier is not None]
    assert [d.status for d in finished] == [e.status for e in demo.expected]
    assert progress[-1].files_done == progress[-1].files_total
    assert progress[-1].pages_attached == sum(e.pages for e in demo.expected)
    verified = fixity.verify(db, archive_root=archive_root)
    assert [p for p in verified.problems if p.table in ("page", "material")] == []


def test_flat_batch_split_at_covers_in_worker_processes(tmp_path: Path) -> None:
    db, archive_root = _archive(tmp_path)
    cases = (
        "plain",
        "rotated",
        "truncated",
        "full_width",
        "missing_page",
        "middle_dot",
        "inverted",
    )
    demo = build_intake_demo(
        db, tmp_path / "batch", archive_root=archive_root, layout="flat", cases=cases
    )
    before = _snapshot(demo.batch_dir)

    result = take_in_batch(
        db,
        batch_dir=demo.batch_dir,
        archive_root=archive_root,
        clerk_id=_archivist(db),
        archivist="arch1",
        workers=2,
    )

    _check_against_expected(demo, result, before, db, archive_root)
    assert result.report.layout == "flat"


def test_dossier_number_rule() -> None:
    assert intake_batch.map_dossier_no("ＣＹ００８６００１") == ("CY0086001", "")
    assert intake_batch.map_dossier_no(" cy0086-001 ") == ("CY0086-001", "")
    assert intake_batch.map_dossier_no("CY00086·001") == ("CY00086·001", "·")
    assert intake_batch.map_dossier_no("档案CY1") == ("档案CY1", "档案")
    assert intake_batch.is_dossier_no("CY00086001")
    assert not intake_batch.is_dossier_no("CY00086·001")
    assert not intake_batch.is_dossier_no("AB")  # too short
    assert intake_batch._looks_like_dossier_no("CY00086·001")  # a cover to refuse
    assert not intake_batch._looks_like_dossier_no("https://example.org/a?b=1")
    assert not intake_batch._looks_like_dossier_no("第1卷 共1卷")


def test_missing_batch_folder_is_refused(tmp_path: Path) -> None:
    db, archive_root = _archive(tmp_path)
    with pytest.raises(intake_batch.BatchError) as caught:
        take_in_batch(db, batch_dir=tmp_path / "nowhere", archive_root=archive_root, clerk_id=None)
    assert "nowhere" in str(caught.value)


def test_cancel_leaves_the_remaining_dossiers_alone(tmp_path: Path) -> None:
    import threading

    db, archive_root = _archive(tmp_path)
    demo = build_intake_demo(
        db, tmp_path / "batch", archive_root=archive_root, cases=("plain", "inverted")
    )
    cancel = threading.Event()

    def stop_after_first(progress: intake_batch.Progress) -> None:
        if progress.dossier is not None:
            cancel.set()

    result = take_in_batch(
        db,
        batch_dir=demo.batch_dir,
        archive_root=archive_root,
        clerk_id=_archivist(db),
        workers=0,
        on_progress=stop_after_first,
        cancel=cancel,
    )
    assert [d.status for d in result.report.dossiers] == ["taken_in"]
    left = [e for e in result.report.files if e.reason_code == "cancelled"]
    assert left and all(e.file.startswith("02-inverted/") for e in left)
    assert set(_pages_by_dossier(db)) == {demo.expected[0].dossier_no}


# -- catalogue spreadsheets ---------------------------------------------------------------------


def _new_dossier(db: Database, number: str) -> uuid.UUID:
    with db.write() as s:
        dossier = Dossier(dossier_no=number, barcode=number, person_name="赵磊", gender="M")
        s.add(dossier)
        s.flush()
        return dossier.id


def _folder(folder: Path, number: str, pages: int) -> Path:
    from tests.services.test_intake import _cover, _page

    _cover(folder / "p0.png", number)
    for k in range(1, pages + 1):
        _page(folder / f"p{k}.png", k, dpi=300)
    return folder


CSV = (
    "档号,序号,材料名称,材料形成时间,页数,备注\n"
    "CY00000100,1-1,干部履历表,1972-03-01,2,\n"
    "CY00000100,四-1-1,高等学校毕业生登记表,1971.7.1,1,\n"
    "CY00000100,9-2-1,录用审批表,19720201,1,复印件\n"
    "CY00000077,1-1,职工登记表,1999-01-01,2,\n"
)


def test_catalogue_spreadsheet_adds_the_materials(tmp_path: Path) -> None:
    db, archive_root = _archive(tmp_path)
    dossier_id = _new_dossier(db, "CY00000100")
    _new_dossier(db, "CY00000101")  # no catalogue anywhere
    # A held catalogue the spreadsheet contradicts (1 page, not 2).
    legacy_id = _new_dossier(db, "CY00000077")
    with db.write() as s:
        held = Material(
            dossier_id=legacy_id, category=1, item_no=1, title="职工登记表", page_count=1
        )
        s.add(held)
        s.flush()
        fixity.register_material(access_log.Chain(s), held, clerk_id=None, institution_id=None)
    batch = tmp_path / "batch"
    _folder(batch / "a", "CY00000100", 4)
    _folder(batch / "b", "CY00000101", 1)
    _folder(batch / "c", "CY00000077", 2)
    catalogue = tmp_path / "catalogue.csv"
    catalogue.write_bytes(CSV.encode("gb18030"))  # as Excel saves it on a Chinese system

    result = take_in_batch(
        db,
        batch_dir=batch,
        archive_root=archive_root,
        clerk_id=None,
        catalogue=catalogue,
        workers=0,
    )

    outcomes = [(d.dossier_no, d.status, d.reason_code) for d in result.report.dossiers]
    assert outcomes == [
        ("CY00000100", "taken_in", ""),
        ("CY00000101", "stopped", "no_catalogue"),
        ("CY00000077", "stopped", "catalogue_differs"),
    ]
    with db.read() as s:
        materials = s.exec(select(Material).where(Material.dossier_id == dossier_id)).all()
        got = sorted(
            (
                m.category,
                m.subcategory,
                m.item_no,
                m.title,
                str(m.formed_on),
                m.page_count,
                m.remark,
            )
            for m in materials
        )
    assert got == [
        (1, None, 1, "干部履历表", "1972-03-01", 2, ""),
        (4, 1, 1, "高等学校毕业生登记表", "1971-07-01", 1, ""),
        (9, 2, 1, "录用审批表", "1972-02-01", 1, "复印件"),
    ]
    pages = {e.file: (e.material, e.page_no) for e in result.report.files if e.role == "page"}
    assert pages == {
        "a/p1.png": ("1-1", 1),
        "a/p2.png": ("1-1", 2),
        "a/p3.png": ("4-1-1", 1),
        "a/p4.png": ("9-2-1", 1),
    }
    verified = fixity.verify(db, archive_root=archive_root)
    assert [p for p in verified.problems if p.table in ("page", "material")] == []


def test_xlsx_catalogue(tmp_path: Path) -> None:
    import datetime as dt

    import openpyxl

    from counter_tui.services.intake_catalogue import read_catalogue

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["序号", "材料名称", "材料形成时间", "页数", "档号"])  # any column order
    sheet.append(["1-1", "干部履历表", dt.datetime(1972, 3, 1), 2, "ｃｙ00000100"])
    sheet.append([None, None, None, None, None])
    sheet.append(["9-2-1", "录用审批表", "1972年2月1日", 1.0, "CY00000100"])
    path = tmp_path / "目录.xlsx"
    book.save(path)
    rows = read_catalogue(path)
    assert list(rows) == ["CY00000100"]
    assert [(r.catalogue_number, r.formed_on, r.page_count, r.row) for r in rows["CY00000100"]] == [
        ("1-1", dt.date(1972, 3, 1), 2, 2),
        ("9-2-1", dt.date(1972, 2, 1), 1, 4),
    ]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("档号,材料名称,页数\nCY1,x,1\n", ["序号", "材料形成时间"]),
        ("档号,序号,材料名称,材料形成时间,页数\nCY1,4-1,x,,1\n", ["第 2 行", "序号", "4-1"]),
        ("档号,序号,材料名称,材料形成时间,页数\nCY1,1-1,x,1972-13-01,1\n", ["材料形成时间"]),
        ("档号,序号,材料名称,材料形成时间,页数\nCY1,1-1,x,,-1\n", ["页数"]),
        ("档号,序号,材料名称,材料形成时间,页数\nCY1,1-1,x,,1\nCY1,1-1,y,,1\n", ["重复"]),
    ],
)
def test_bad_catalogue_names_row_and_column(tmp_path: Path, content: str, words: list[str]) -> None:
    from counter_tui.services.intake_catalogue import CatalogueError, read_catalogue

    path = tmp_path / "c.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CatalogueError) as caught:
        read_catalogue(path)
    for word in words:
        assert word in str(caught.value)


def test_every_file_is_reported_even_below_a_dossier_folder(tmp_path: Path) -> None:
    db, archive_root = _archive(tmp_path)
    batch = tmp_path / "batch"
    _folder(batch / "a", "CY00000999", 1)
    (batch / "a" / "old").mkdir()
    (batch / "a" / "old" / "p9.png").write_bytes(b"an older scan")
    (batch / "a" / ".DS_Store").write_bytes(b"\x00")
    result = take_in_batch(db, batch_dir=batch, archive_root=archive_root, clerk_id=None, workers=0)
    roles = {e.file: (e.role, e.reason_code) for e in result.report.files}
    assert roles == {
        "a/p0.png": ("not_taken", "unknown_dossier"),
        "a/p1.png": ("not_taken", "unknown_dossier"),
        "a/.DS_Store": ("ignored", "not_a_scan"),
        "a/old/p9.png": ("ignored", "not_a_scan"),
    }
    assert (batch / "a" / "old" / "p9.png").read_bytes() == b"an older scan"


def test_a_page_with_another_code_stays_a_page(tmp_path: Path) -> None:
    """A Data Matrix only zxing-cpp reads (ZBar has no Data Matrix decoder) goes to review in
    the barcode chain; in a flat batch it must not be taken for a cover."""
    import numpy as np
    import zxingcpp
    from PIL import Image

    db, archive_root = _archive(tmp_path)
    dossier_id = _new_dossier(db, "CY00000100")
    with db.write() as s:
        held = Material(dossier_id=dossier_id, category=1, item_no=1, title="履历", page_count=3)
        s.add(held)
        s.flush()
        fixity.register_material(access_log.Chain(s), held, clerk_id=None, institution_id=None)
    batch = _folder(tmp_path / "batch", "CY00000100", 3)
    code = zxingcpp.create_barcode("CTC1:ABCDEF123", zxingcpp.BarcodeFormat.DataMatrix)
    label = Image.fromarray(np.asarray(zxingcpp.write_barcode_to_image(code, scale=6)))
    with Image.open(batch / "p2.png") as page:
        marked = page.convert("L")
    marked.paste(label.convert("L"), (300, 500))
    marked.save(batch / "p2.png", dpi=(300, 300))

    result = take_in_batch(db, batch_dir=batch, archive_root=archive_root, clerk_id=None, workers=0)

    assert [(d.dossier_no, d.status, d.pages) for d in result.report.dossiers] == [
        ("CY00000100", "taken_in", 3)
    ]
