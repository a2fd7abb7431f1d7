"""A demo scan batch for batch intake, with the result expected for every dossier.

The dossiers and their catalogues are the demo generator's (:func:`counter_tui.demo.build.
build_demo`, paper-only dossiers held by CY-RC); each gets a scan folder (or a run in one flat
folder, covers separating dossiers) with a cover and one image per catalogue page. Each
dossier plays one case: a cover that is hard to read but readable (drawn by
:func:`counter_tui.demo.hard_covers.cover`: rotated 30°, scanned at 100 dpi, inverted, 16-bit
grey, RGBA on transparent paper, the code on frame 3 of a TIFF; plus a second, unrelated code,
the number in full-width characters), a cover that must be refused (a middle dot in the
number, two dossier numbers, an unknown number), or pages that must stop the dossier
(truncated, zero bytes, not an image, GIF, old-style JPEG in TIFF, too many pixels, two
frames, under 200 dpi, a page scanned twice, mixed formats, a page missing). A scanner log
and a ``Thumbs.db`` lie beside them.

:func:`build_intake_demo` returns what a correct intake must report: per dossier its status,
dossier number and first reason code, and per unusable file why it is set aside.

``page_size`` keeps tests fast (small images whose files say 300 dpi); ``realistic=True``
paints A4 pages with the demo's page painter at 200 dpi for a demonstration.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import barcode
import segno
from barcode.writer import ImageWriter
from PIL import Image, ImageDraw
from sqlmodel import col, func, select

from counter_tui.db.engine import Database
from counter_tui.db.models import Clerk, CustodyEvent, Dossier, Institution, Material, Page
from counter_tui.demo import hard_covers

CASES: tuple[tuple[str, str, str], ...] = (
    # case, expected status, expected first reason code
    ("plain", "taken_in", ""),
    ("rotated", "taken_in", ""),
    ("low_dpi_cover", "taken_in", ""),
    ("inverted", "taken_in", ""),
    ("second_code", "taken_in", ""),
    ("sixteen_bit", "taken_in", ""),
    ("rgba", "taken_in", ""),
    ("multipage_tiff", "taken_in", ""),
    ("full_width", "taken_in", ""),
    ("middle_dot", "stopped", "naming_rule"),
    ("two_codes", "stopped", "two_numbers"),
    ("unknown", "stopped", "unknown_dossier"),
    ("truncated", "stopped", "unusable_page"),
    ("zero_byte", "stopped", "unusable_page"),
    ("not_image", "stopped", "unusable_page"),
    ("gif", "stopped", "unusable_page"),
    ("old_jpeg", "stopped", "unusable_page"),
    ("too_many_pixels", "stopped", "unusable_page"),
    ("extra_frames", "stopped", "unusable_page"),
    ("low_dpi_pages", "stopped", "low_resolution"),
    ("duplicate", "stopped", "duplicate_page"),
    ("mixed", "stopped", "mixed_formats"),
    ("missing_page", "stopped", "page_count_mismatch"),
)
"""Every case of the demo batch: (name, expected status, expected first reason code)."""

SET_ASIDE = {
    "truncated": "truncated",
    "zero_byte": "empty",
    "not_image": "not_image",
    "gif": "unsupported",
    "old_jpeg": "old_jpeg",
    "too_many_pixels": "too_many_pixels",
    "extra_frames": "extra_frames",
}
"""Cases with one unusable page, and the reason code it is set aside with."""

UNKNOWN_NUMBER = "CY09999999"
"""The number on the "unknown" case's cover: no dossier has it."""


@dataclass(frozen=True)
class ExpectedDossier:
    """What intake must report for one dossier of the demo batch: the ``case``; ``folder``
    (sub-folder, or "" in a flat batch) and ``cover`` file relative to the batch; the
    ``dossier_no`` it must be taken in or stopped as (None when no dossier can be named),
    ``status``, the first ``reason_code``, the ``pages`` attached when taken in, and the
    files to be set aside (relative path → reason code)."""

    case: str
    folder: str
    cover: str
    dossier_no: str | None
    status: str
    reason_code: str
    pages: int
    set_aside: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoBatch:
    """The batch folder, the archivist to run it as (username, password "<username>-demo"),
    the expected result per dossier in batch order, and the files that are no scans."""

    batch_dir: Path
    archivist: str
    expected: tuple[ExpectedDossier, ...]
    not_scans: tuple[str, ...]


def build_intake_demo(
    db: Database,
    batch_dir: Path,
    *,
    archive_root: Path | None = None,
    layout: str = "folders",
    cases: tuple[str, ...] | None = None,
    seed: int = 2026,
    page_size: tuple[int, int] = (124, 175),
    realistic: bool = False,
) -> DemoBatch:
    """Write the demo batch into ``batch_dir`` (created; must not hold files) and return the
    expected results.

    ``db``: an archive built by ``build_demo`` (if it holds no dossier, one is built here with
    40 dossiers, about 29 of them paper-only at CY-RC; pages under ``archive_root``, required then); ``layout``:
    ``folders`` (one sub-folder per dossier) or ``flat`` (one folder, covers separating
    dossiers); ``cases``: names from :data:`CASES` (default: all), one paper-only CY-RC
    dossier each, the smallest first; ``page_size``: pixels of a page image (the files say
    300 dpi); ``realistic``: paint A4 pages at 200 dpi with the demo painter instead (slow).
    Raises ValueError for an unknown case or layout, or too few paper-only dossiers.
    """
    if layout not in ("folders", "flat"):
        raise ValueError(f"layout must be 'folders' or 'flat', not {layout!r}")
    wanted = cases or tuple(c[0] for c in CASES)
    by_name = {c[0]: c for c in CASES}
    unknown = [c for c in wanted if c not in by_name]
    if unknown:
        raise ValueError(f"unknown cases {unknown}")
    _ensure_demo(db, archive_root)
    dossiers = _paper_dossiers(db)
    if len(dossiers) < len(wanted) + 1:
        raise ValueError("the archive holds too few paper-only dossiers for the demo batch")
    batch_dir = Path(batch_dir)
    batch_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    painter = _Pages(page_size, realistic, rng)
    expected = []
    serial = 0
    spare = dossiers[len(wanted)]  # a second number for "two_numbers"
    for (number, pages, titles), case in zip(dossiers, wanted):
        _, status, reason = by_name[case]
        if layout == "folders":
            folder = f"{len(expected) + 1:02d}-{case}"
            prefix = f"{folder}/"
            first = 0
        else:
            folder, prefix, first = "", "", serial
        writer = _CaseWriter(batch_dir, prefix, first, painter)
        cover, set_aside, taken_pages = writer.write(case, number, spare[0], pages, titles)
        serial = writer.serial
        expected_no = number if case not in ("middle_dot", "two_codes", "unknown") else None
        expected.append(
            ExpectedDossier(
                case=case,
                folder=folder,
                cover=cover,
                dossier_no=expected_no,
                status=status,
                reason_code=reason,
                pages=taken_pages if status == "taken_in" else 0,
                set_aside=set_aside,
            )
        )
    (batch_dir / "scan.log").write_text("scanner log: batch finished\n", encoding="utf-8")
    (batch_dir / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0 thumbnail cache")
    return DemoBatch(batch_dir, "arch1", tuple(expected), ("scan.log", "Thumbs.db"))


def _ensure_demo(db: Database, archive_root: Path | None) -> None:
    with db.read() as session:
        held = session.exec(select(func.count()).select_from(Dossier)).one()
    if held:
        return
    if archive_root is None:
        raise ValueError("an empty archive needs archive_root to build the demo into")
    from counter_tui.demo.build import build_demo

    build_demo(db, archive_root, dossiers=40, digitised_share=0.0, history_days=0)


def _paper_dossiers(db: Database) -> list[tuple[str, list[int], list[str]]]:
    """CY-RC's paper-only dossiers still held there: (number, page counts, titles) in
    catalogue order, the fewest pages first."""
    with db.read() as session:
        here = session.exec(select(Institution).where(Institution.code == "CY-RC")).one()
        archivist = session.exec(select(Clerk).where(Clerk.username == "arch1")).first()
        if archivist is None:
            raise ValueError("the archive has no archivist account arch1")
        scanned = set(
            session.exec(
                select(Material.dossier_id).join(Page, col(Page.material_id) == Material.id)
            ).all()
        )
        result = []
        for dossier in session.exec(select(Dossier).order_by(Dossier.dossier_no)).all():
            if dossier.id in scanned:
                continue
            events = session.exec(
                select(CustodyEvent)
                .where(CustodyEvent.dossier_id == dossier.id)
                .order_by(col(CustodyEvent.at))
            ).all()
            if not events or events[-1].holder_institution_id != here.id:
                continue
            if events[-1].kind == "transferred_out":
                continue
            materials = session.exec(
                select(Material).where(Material.dossier_id == dossier.id)
            ).all()
            ordered = sorted(materials, key=lambda m: (m.category, m.subcategory or 0, m.item_no))
            counts = [m.page_count for m in ordered]
            if sum(counts) < 4:
                continue
            result.append((dossier.dossier_no, counts, [m.title for m in ordered]))
    result.sort(key=lambda r: (sum(r[1]), r[0]))
    return result


# -- images ------------------------------------------------------------------------------------


class _Pages:
    def __init__(self, size: tuple[int, int], realistic: bool, rng: random.Random) -> None:
        self.size = (1654, 2339) if realistic else size
        self.realistic = realistic
        self.rng = rng
        self.count = 0

    def page(self, title: str) -> Image.Image:
        """A distinct page: blocks of "text" at places drawn at random (grey, 8 bit)."""
        self.count += 1
        width, height = self.size
        page = Image.new("L", self.size, 255)
        draw = ImageDraw.Draw(page)
        unit = max(2, width // 40)
        for row in range(3, height // unit - 3, 2):
            x = 3 * unit
            while x < width - 3 * unit:
                span = self.rng.randint(1, 6) * unit
                if self.rng.random() < 0.7:
                    draw.rectangle((x, row * unit, x + span, row * unit + unit - 1), fill=20)
                x += span + unit
        if self.realistic:
            draw.text((3 * unit, unit), f"{title} #{self.count}", fill=0)
        return page


def _label(symbology: str, text: str, dpi: int = 300) -> Image.Image:
    """A barcode label as a grey image: Code 128 (quiet zones included) or a QR code."""
    if symbology == "qrcode":
        buffer = io.BytesIO()
        segno.make(text, encoding="utf-8", micro=False).save(
            buffer, kind="png", scale=max(3, dpi // 60), border=4
        )
        buffer.seek(0)
        return Image.open(buffer).convert("L")
    module_mm = 0.33
    rendered = barcode.Code128(text, writer=ImageWriter()).render(
        {"dpi": dpi, "module_width": module_mm, "module_height": 8, "write_text": False}
    )
    return rendered.convert("L")


def _cover(labels: list[Image.Image], dpi: int = 300) -> Image.Image:
    """An A5-ish cover page at ``dpi`` with ``labels`` stacked near the top."""
    width, height = int(5.8 * dpi), int(8.3 * dpi)
    width, height = min(width, 1240), min(height, 1754)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    draw.rectangle((8, 8, width - 9, height - 9), outline=0, width=2)
    y = height // 8
    for label in labels:
        if label.width > width - 40:
            label = label.resize((width - 40, label.height * (width - 40) // label.width))
        page.paste(label, ((width - label.width) // 2, y))
        y += label.height + height // 10
    return page


def _tiff_old_jpeg(image: Image.Image) -> bytes:
    """A TIFF whose compression tag says old-style JPEG (6), as some scanners still write."""
    buffer = io.BytesIO()
    image.save(buffer, format="TIFF", dpi=(300, 300))
    data = bytearray(buffer.getvalue())
    endian = "<" if data[:2] == b"II" else ">"
    (offset,) = struct.unpack(endian + "I", data[4:8])
    (count,) = struct.unpack(endian + "H", data[offset : offset + 2])
    for n in range(count):
        entry = offset + 2 + 12 * n
        (tag,) = struct.unpack(endian + "H", data[entry : entry + 2])
        if tag == 259:
            data[entry + 8 : entry + 10] = struct.pack(endian + "H", 6)
    return bytes(data)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` × ``height`` grey pixels (a decompression bomb's
    shape) with almost no data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" + b"\xff" * 64))
        + chunk(b"IEND", b"")
    )


class _CaseWriter:
    """Writes one dossier's files: ``prefix`` (sub-folder) and serial numbers from ``first``."""

    def __init__(self, batch_dir: Path, prefix: str, first: int, pages: _Pages) -> None:
        self.batch_dir = batch_dir
        self.prefix = prefix
        self.serial = first
        self.pages = pages

    def name(self, suffix: str) -> str:
        name = f"{self.prefix}scan-{self.serial:04d}{suffix}"
        self.serial += 1
        return name

    def save(self, name: str, image: Image.Image, **options: object) -> None:
        path = self.batch_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path, **options)

    def write(
        self, case: str, number: str, other: str, counts: list[int], titles: list[str]
    ) -> tuple[str, dict[str, str], int]:
        """Write the cover and pages; returns the cover's name, files to be set aside and
        the page count."""
        cover_name = self._cover(case, number, other)
        total = sum(counts)
        page_titles = [t for t, c in zip(titles, counts) for _ in range(c)]
        suffix = ".tif" if case in ("old_jpeg", "extra_frames") else ".png"
        set_aside: dict[str, str] = {}
        written = 0
        previous: Image.Image | None = None
        for index in range(total):
            if case == "missing_page" and index == total - 1:
                break
            image = self.pages.page(page_titles[index])
            bad = index == 1 and case in SET_ASIDE
            if case == "duplicate" and index == 2 and previous is not None:
                image = previous.copy()
                # A second pass through the scanner: the same sheet, a few specks different.
                ImageDraw.Draw(image).point([(3, 3), (5, 9)], fill=0)
            page_suffix = ".jpg" if case == "mixed" and index == 1 else suffix
            if bad and case == "gif":
                page_suffix = ".gif"
            name = self.name(page_suffix)
            path = self.batch_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            dpi = 150 if case == "low_dpi_pages" else 300
            if bad:
                set_aside[name] = SET_ASIDE[case]
                self._bad(case, path, image)
            elif page_suffix == ".jpg":
                image.save(path, "JPEG", dpi=(dpi, dpi), quality=90)
            elif page_suffix == ".tif":
                image.save(path, "TIFF", dpi=(dpi, dpi), compression="tiff_lzw")
            else:
                image.save(path, dpi=(dpi, dpi), optimize=False)
            previous = image
            written += 1
        return cover_name, set_aside, written

    def _bad(self, case: str, path: Path, image: Image.Image) -> None:
        if case == "truncated":
            buffer = io.BytesIO()
            image.save(buffer, "PNG", dpi=(300, 300))
            data = buffer.getvalue()
            path.write_bytes(data[: len(data) // 2])
        elif case == "zero_byte":
            path.write_bytes(b"")
        elif case == "not_image":
            path.write_text("这不是图像 / not an image\n", encoding="utf-8")
        elif case == "gif":
            image.save(path, "GIF")
        elif case == "old_jpeg":
            path.write_bytes(_tiff_old_jpeg(image))
        elif case == "too_many_pixels":
            path.write_bytes(_png_header_only(15000, 15000))
        elif case == "extra_frames":
            image.save(path, "TIFF", dpi=(300, 300), save_all=True, append_images=[image.copy()])

    def _cover(self, case: str, number: str, other: str) -> str:
        dpi = 150
        if case == "rotated":
            image = hard_covers.cover(number, angle=30)
        elif case == "low_dpi_cover":
            dpi = 100
            image = hard_covers.cover(number, dpi=100, module_mm=0.33)
        elif case == "inverted":
            image = hard_covers.cover(number, inverted=True)
        elif case == "second_code":
            image = hard_covers.cover(number)
            volume = _label("qrcode", "第1卷 共1卷")
            image.paste(
                volume, (image.width - volume.width - 60, image.height - volume.height - 60)
            )
        elif case == "two_codes":
            image = hard_covers.cover(number, second=other)
        elif case == "sixteen_bit":
            image = hard_covers.cover(number).point(lambda v: v * 257, "I").convert("I;16")
        elif case == "rgba":
            base = hard_covers.cover(number)
            image = Image.new("RGBA", base.size, (0, 0, 0, 0))
            image.putalpha(base.point(lambda v: 255 - v))
        elif case == "multipage_tiff":
            page = hard_covers.cover(number)
            blank = Image.new("L", page.size, 255)
            name = self.name(".tif")
            self.save(
                name,
                blank,
                format="TIFF",
                dpi=(dpi, dpi),
                save_all=True,
                append_images=[blank.copy(), page, blank.copy()],
                compression="tiff_lzw",
            )
            return name
        elif case == "full_width":
            wide = "".join(chr(ord(ch) + 0xFEE0) if ch.isalnum() else ch for ch in number)
            image = _cover([_label("qrcode", wide)])
        elif case == "middle_dot":
            image = _cover([_label("qrcode", number[:7] + "·" + number[7:])])
        elif case == "unknown":
            image = hard_covers.cover(UNKNOWN_NUMBER)
        else:
            image = hard_covers.cover(number)
        name = self.name(".png")
        self.save(name, image, dpi=(dpi, dpi))
        return name
