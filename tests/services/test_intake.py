"""Intake of scan batches into real SQLite files and real image files (DA/T 31-2017 §9.6, §11)."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path

import barcode
import pytest
from barcode.writer import ImageWriter
from PIL import Image, ImageDraw
from sqlmodel import select

from counter_tui.db import migrate
from counter_tui.db.engine import Database
from counter_tui.db.models import Dossier, Institution, Material, Page
from counter_tui.services.intake import (
    REASONS,
    IntakeError,
    IntakeResult,
    difference_hash,
    ingest_scan_batch,
)

DOSSIER_NO = "CY00086001"


@dataclass
class Archive:
    db: Database
    root: Path
    dossier_id: uuid.UUID
    material_ids: dict[str, uuid.UUID]


def _cover(path: Path, number: str | None) -> None:
    page = Image.new("L", (1240, 1754), 255)
    draw = ImageDraw.Draw(page)
    draw.rectangle((80, 80, 1160, 1674), outline=0, width=4)
    if number is not None:
        label = barcode.Code128(number, writer=ImageWriter()).render(
            {"dpi": 150, "module_width": 0.5, "module_height": 15}
        )
        page.paste(label, (450, 300))
    path.parent.mkdir(parents=True, exist_ok=True)
    page.save(path, dpi=(150, 150))


def _page(
    path: Path, marker: int, *, dpi: int | None = 150, size: tuple[int, int] = (620, 877)
) -> None:
    """A distinct page: ``marker`` black bars at distinct places (so hashes differ)."""
    page = Image.new("L", size, 255)
    draw = ImageDraw.Draw(page)
    for k in range(marker):
        draw.rectangle((40 + 45 * k, 60 + 30 * k, 70 + 45 * k, 400 + 20 * k), fill=0)
    draw.text((40, size[1] - 60), f"page {marker}", fill=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    if dpi is None:
        page.save(path)
    else:
        page.save(path, dpi=(dpi, dpi))


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    migrate.upgrade(db)
    ids: dict[str, uuid.UUID] = {}
    with db.write() as s:
        here = Institution(
            code="CY-RC", name="北京市朝阳区人才服务中心", kind="district", serial_prefix="CY"
        )
        s.add(here)
        s.flush()
        dossier = Dossier(
            dossier_no=DOSSIER_NO,
            barcode=DOSSIER_NO,
            person_name="王建国",
            id_number="11010519491231002X",
            gender="M",
            birth_date_recorded="1949年12月",
        )
        legacy = Dossier(
            dossier_no="CY00000077",
            barcode="LEGACY-0077",
            person_name="李娜",
            gender="F",
            birth_date_recorded="1980.01.01",
        )
        s.add_all([dossier, legacy])
        s.flush()
        # Inserted out of catalogue order on purpose: intake must sort them.
        rows = [
            ("hire", 9, 2, 1, "录用审批表", dt.date(1972, 2, 1), 3, ""),
            ("grad", 4, 1, 1, "高等学校毕业生登记表", dt.date(1971, 7, 1), 2, ""),
            ("cv", 1, None, 1, "干部履历表", dt.date(1972, 3, 1), 4, ""),
            ("copy", 4, 1, 2, "学位证书（复印件）", dt.date(1971, 7, 2), 1, "复印件"),
            ("note", 5, None, 1, "参加工作时间认定审批表", None, 0, ""),
        ]
        for key, cat, sub, item, title, formed, pages, remark in rows:
            m = Material(
                dossier_id=dossier.id,
                category=cat,
                subcategory=sub,
                item_no=item,
                title=title,
                formed_on=formed,
                page_count=pages,
                remark=remark,
            )
            s.add(m)
            s.flush()
            ids[key] = m.id
        m = Material(
            dossier_id=legacy.id,
            category=1,
            subcategory=None,
            item_no=1,
            title="职工登记表",
            formed_on=dt.date(1999, 1, 1),
            page_count=1,
        )
        s.add(m)
        s.flush()
        ids["legacy"] = m.id
        ids["legacy_dossier"] = legacy.id
        dossier_id = dossier.id
    return Archive(db=db, root=tmp_path / "archive", dossier_id=dossier_id, material_ids=ids)


def _batch(folder: Path, number: str | None, pages: int) -> Path:
    """Cover "p0.png" and pages "p1.png" … (natural order differs from text order past p9)."""
    _cover(folder / "p0.png", number)
    for k in range(1, pages + 1):
        _page(folder / f"p{k}.png", k)
    return folder


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _page_rows(db: Database) -> list[Page]:
    with db.read() as s:
        return list(s.exec(select(Page)).all())


def test_batch_is_attached_in_catalogue_order(archive: Archive, tmp_path: Path) -> None:
    batch = _batch(tmp_path / "batch", DOSSIER_NO, 10)
    (batch / "scan.log").write_text("scanner log, not an image")
    (batch / ".DS_Store").write_bytes(b"\x00\x01")

    result = ingest_scan_batch(archive.db, batch_dir=batch, archive_root=archive.root)

    assert result == IntakeResult(
        dossier_no=DOSSIER_NO, dossier_id=archive.dossier_id, pages=10, materials=4
    )
    rows = _page_rows(archive.db)
    assert len(rows) == 10
    by_material: dict[uuid.UUID, list[Page]] = {}
    for row in rows:
        by_material.setdefault(row.material_id, []).append(row)
    # Catalogue order: 1-1 (4 pages), 4-1-1 (2), 4-1-2 (1), 5-1 (0), 9-2-1 (3).
    expected = [("cv", 1, 4), ("grad", 5, 2), ("copy", 7, 1), ("hire", 8, 3)]
    for key, first_serial, count in expected:
        pages = sorted(by_material[archive.material_ids[key]], key=lambda p: p.page_no)
        assert [p.page_no for p in pages] == list(range(1, count + 1))
        for offset, page in enumerate(pages):
            serial = first_serial + offset
            assert page.rel_path == f"{DOSSIER_NO}/{DOSSIER_NO}-{serial:04d}.png"
            stored = archive.root / page.rel_path
            source = batch / f"p{serial}.png"
            assert stored.read_bytes() == source.read_bytes()
            assert page.sha256 == hashlib.sha256(stored.read_bytes()).hexdigest()
            assert (page.dpi, page.width, page.height) == (150, 620, 877)
            with Image.open(stored) as image:
                assert page.phash == difference_hash(image)
            assert len(page.phash) == 16 and int(page.phash, 16) >= 0
    assert archive.material_ids["note"] not in by_material
    assert len({p.phash for p in rows}) == 10
    assert (archive.root / DOSSIER_NO / f"{DOSSIER_NO}-0000.png").read_bytes() == (
        batch / "p0.png"
    ).read_bytes()
    assert len(_files(archive.root)) == 11  # cover + 10 pages, nothing else copied


def test_dpi_is_read_from_the_file_or_defaults_to_150(archive: Archive, tmp_path: Path) -> None:
    batch = _batch(tmp_path / "batch", DOSSIER_NO, 10)
    _page(batch / "p1.png", 1, dpi=300, size=(1240, 1754))
    _page(batch / "p2.png", 2, dpi=None)
    jpeg = batch / "p3.JPG"
    (batch / "p3.png").unlink()
    Image.new("L", (500, 700), 230).save(jpeg, "JPEG", dpi=(200, 200))

    ingest_scan_batch(archive.db, batch_dir=batch, archive_root=archive.root)

    rows = {p.rel_path: p for p in _page_rows(archive.db)}
    first = rows[f"{DOSSIER_NO}/{DOSSIER_NO}-0001.png"]
    assert (first.dpi, first.width, first.height) == (300, 1240, 1754)
    assert rows[f"{DOSSIER_NO}/{DOSSIER_NO}-0002.png"].dpi == 150
    third = rows[f"{DOSSIER_NO}/{DOSSIER_NO}-0003.jpg"]  # extension kept, lower case
    assert (third.dpi, third.width, third.height) == (200, 500, 700)


def test_dossier_is_found_by_its_barcode_column(archive: Archive, tmp_path: Path) -> None:
    batch = _batch(tmp_path / "batch", "LEGACY-0077", 1)
    result = ingest_scan_batch(archive.db, batch_dir=batch, archive_root=archive.root)
    assert (result.dossier_no, result.pages, result.materials) == ("CY00000077", 1, 1)
    assert (archive.root / "CY00000077" / "CY00000077-0001.png").is_file()


def _assert_nothing_stored(archive: Archive) -> None:
    assert _page_rows(archive.db) == []
    assert _files(archive.root) == []
    assert not (archive.root / DOSSIER_NO).exists()


def test_cover_without_barcode_is_refused(archive: Archive, tmp_path: Path) -> None:
    batch = _batch(tmp_path / "batch", None, 10)
    with pytest.raises(IntakeError) as caught:
        ingest_scan_batch(archive.db, batch_dir=batch, archive_root=archive.root)
    assert caught.value.reason == "no_barcode"
    assert "p0.png" in str(caught.value)
    _assert_nothing_stored(archive)


def test_empty_or_missing_batch_folder_is_refused(archive: Archive, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    for folder in (empty, tmp_path / "missing"):
        with pytest.raises(IntakeError) as caught:
            ingest_scan_batch(archive.db, batch_dir=folder, archive_root=archive.root)
        assert caught.value.reason == "no_barcode"
    _assert_nothing_stored(archive)


def test_unknown_dossier_number_is_refused(archive: Archive, tmp_path: Path) -> None:
    batch = _batch(tmp_path / "batch", "CY99999999", 10)
    with pytest.raises(IntakeError) as caught:
        ingest_scan_batch(archive.db, batch_dir=batch, archive_root=archive.root)
    assert caught.value.reason == "unknown_dossier"
    assert "CY99999999" in str(caught.value)
    _assert_nothing_stored(archive)


@pytest.mark.parametrize("pages", [9, 11])
def test_page_count_mismatch_is_refused(archive: Archive, tmp_path: Path, pages: int) -> None:
    batch = _batch(tmp_path / "batch", DOSSIER_NO, pages)
    with pytest.raises(IntakeError) as caught:
        ingest_scan_batch(archive.db, batch_dir=batch, archive_root=archive.root)
    assert caught.value.reason == "page_count_mismatch"
    assert "10" in str(caught.value) and str(pages) in str(caught.value)
    _assert_nothing_stored(archive)


def test_second_batch_for_a_digitised_dossier_is_refused(archive: Archive, tmp_path: Path) -> None:
    first = _batch(tmp_path / "first", DOSSIER_NO, 10)
    ingest_scan_batch(archive.db, batch_dir=first, archive_root=archive.root)
    files_before = {p: p.read_bytes() for p in _files(archive.root)}

    again = _batch(tmp_path / "again", DOSSIER_NO, 10)
    with pytest.raises(IntakeError) as caught:
        ingest_scan_batch(archive.db, batch_dir=again, archive_root=archive.root)
    assert caught.value.reason == "already_digitised"
    assert len(_page_rows(archive.db)) == 10
    assert {p: p.read_bytes() for p in _files(archive.root)} == files_before


def test_damaged_page_image_is_refused_and_nothing_is_kept(
    archive: Archive, tmp_path: Path
) -> None:
    batch = _batch(tmp_path / "batch", DOSSIER_NO, 10)
    (batch / "p6.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 100)
    with pytest.raises(IntakeError) as caught:
        ingest_scan_batch(archive.db, batch_dir=batch, archive_root=archive.root)
    assert caught.value.reason == "bad_image"
    assert "p6.png" in str(caught.value)
    _assert_nothing_stored(archive)


def test_damaged_cover_is_a_bad_image(archive: Archive, tmp_path: Path) -> None:
    batch = _batch(tmp_path / "batch", DOSSIER_NO, 10)
    (batch / "p0.png").write_bytes(b"not an image")
    with pytest.raises(IntakeError) as caught:
        ingest_scan_batch(archive.db, batch_dir=batch, archive_root=archive.root)
    assert caught.value.reason == "bad_image"
    _assert_nothing_stored(archive)


def test_files_written_before_a_failure_are_removed(archive: Archive, tmp_path: Path) -> None:
    # A file left behind by some earlier, interrupted run sits where page 8 would go: intake
    # fails half-way through writing, must remove what it wrote and keep the stranger's file.
    batch = _batch(tmp_path / "batch", DOSSIER_NO, 10)
    stranger = archive.root / DOSSIER_NO / f"{DOSSIER_NO}-0008.png"
    stranger.parent.mkdir(parents=True)
    stranger.write_bytes(b"left over")
    with pytest.raises(IntakeError) as caught:
        ingest_scan_batch(archive.db, batch_dir=batch, archive_root=archive.root)
    assert caught.value.reason == "already_digitised"
    assert _page_rows(archive.db) == []
    assert _files(archive.root) == [stranger]
    assert stranger.read_bytes() == b"left over"


def test_every_reason_is_documented() -> None:
    assert set(REASONS) == {
        "no_barcode",
        "unknown_dossier",
        "page_count_mismatch",
        "already_digitised",
        "bad_image",
        "catalogue_differs",
    }
    assert issubclass(IntakeError, ValueError)


def test_difference_hash_tracks_visual_similarity(tmp_path: Path) -> None:
    _page(tmp_path / "a.png", 5)
    _page(tmp_path / "b.png", 5)
    _page(tmp_path / "c.png", 1)
    with (
        Image.open(tmp_path / "a.png") as a,
        Image.open(tmp_path / "b.png") as b,
        Image.open(tmp_path / "c.png") as c,
    ):
        ha, hb, hc = difference_hash(a), difference_hash(b), difference_hash(c)
        noisy = a.copy()
        ImageDraw.Draw(noisy).point([(300, 300), (301, 301), (500, 20)], fill=0)
        hn = difference_hash(noisy)
        bilevel = difference_hash(a.convert("1"))

    def distance(x: str, y: str) -> int:
        return bin(int(x, 16) ^ int(y, 16)).count("1")

    assert ha == hb and len(ha) == 16
    assert distance(ha, hn) <= 2
    assert distance(ha, bilevel) <= 4
    assert distance(ha, hc) >= 8
