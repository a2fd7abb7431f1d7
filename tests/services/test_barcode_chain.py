"""The trusted barcode chain (services.barcodes.read_file) on real generated images: Code 39
full ASCII, Code 128 extended characters, QR character sets, inversion, rotation with positions
in the original page, every TIFF frame and PDF page, disagreements sent to review, cover numbers
and the hard covers of counter_tui.demo.hard_covers."""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import barcode
import numpy as np
import pytest
import segno
import zxingcpp
from barcode.writer import ImageWriter
from PIL import Image

from counter_tui.demo import hard_covers
from counter_tui.services import barcodes
from counter_tui.services.barcodes import RawRead, cover_number, read_file

DOSSIER_NO = re.compile(r"^[A-Z]{2}\d{8}$").fullmatch


def _is_dossier_no(text: str) -> bool:
    return DOSSIER_NO(text) is not None


def _qr(text: str, *, encoding: str, eci: bool) -> Image.Image:
    buffer = io.BytesIO()
    segno.make(text, encoding=encoding, eci=eci, micro=False, mode="byte").save(
        buffer, kind="png", scale=4
    )
    buffer.seek(0)
    return Image.open(buffer).convert("L")


def _read(image: Image.Image, tmp_path: Path, name: str = "x.png", **options) -> barcodes.FileRead:
    path = tmp_path / name
    image.save(path)
    return read_file(path, **options)


def test_code39_full_ascii_is_resolved(tmp_path: Path) -> None:
    image = barcode.Code39("+A+B", writer=ImageWriter(), add_checksum=False).render(
        {"dpi": 200, "module_width": 0.3}
    )
    read = _read(image, tmp_path)
    assert [(c.text, c.format, c.decoders) for c in read.codes] == [
        ("ab", "Code39", ("zxing", "zbar"))
    ]
    assert barcodes.code39_full_ascii("+A+B") == "ab"
    assert barcodes.code39_full_ascii("CY00086001") is None
    assert barcodes.code39_full_ascii("%U$A/Z") == "\x00\x01:"


def test_code128_extended_characters_are_read_and_zbar_agrees(tmp_path: Path) -> None:
    symbol = zxingcpp.create_barcode("Aé-ÿB", zxingcpp.BarcodeFormat.Code128)
    image = Image.fromarray(np.array(symbol.to_image(scale=3, add_quiet_zones=True)))
    read = _read(image, tmp_path)
    assert [(c.text, c.decoders) for c in read.codes] == [("Aé-ÿB", ("zxing", "zbar"))]
    assert read.review == ()


@pytest.mark.parametrize(
    ("encoding", "eci", "text"),
    [
        ("utf-8", False, "档案CY00086001"),
        ("utf-8", True, "档案CY00086001"),
        ("gb18030", True, "人事档案，存档证明"),
        ("gb18030", False, "档案CY00086001"),
        ("iso-8859-1", False, "Größe"),
    ],
)
def test_qr_character_sets(tmp_path: Path, encoding: str, eci: bool, text: str) -> None:
    read = _read(_qr(text, encoding=encoding, eci=eci), tmp_path)
    assert [c.text for c in read.codes] == [text]
    assert read.codes[0].format == "QRCode"
    # ZBar's guess agrees byte for byte, except where an ECI named a set ZBar ignores.
    assert read.codes[0].decoders in {("zxing", "zbar"), ("zxing",) if eci else ()}


def test_gb18030_qr_without_eci_that_cannot_be_told_apart_is_never_accepted_wrong(
    tmp_path: Path,
) -> None:
    # Longer GB 18030 text without ECI: zxing-cpp guesses Shift_JIS kanji, ZBar Big5 — the
    # chain accepts neither guess.
    read = _read(_qr("人事档案，存档证明。", encoding="gb18030", eci=False), tmp_path)
    assert all(c.text == "人事档案，存档证明。" for c in read.codes)


def test_inverted_code_is_read(tmp_path: Path) -> None:
    page = hard_covers.cover("CY00086001", inverted=True, dpi=100, module_mm=0.5)
    read = _read(page, tmp_path)
    assert [c.text for c in read.codes] == ["CY00086001"]
    assert read.codes[0].decoders == ("zxing", "zbar")


def test_rotated_code_is_found_and_placed_in_original_coordinates(tmp_path: Path) -> None:
    upright = hard_covers.cover("CY00086001", dpi=100, module_mm=0.5)
    tag = hard_covers.label("CY00086001", dpi=100, module_mm=0.5)
    # The label's centre on the upright page, then where a 30° rotation puts it.
    cx, cy = upright.width / 2, round(upright.height * 0.16) + tag.height / 2
    rotated = upright.rotate(30, expand=True, fillcolor=255)
    a = math.radians(30)
    dx, dy = cx - upright.width / 2, cy - upright.height / 2
    rx = dx * math.cos(a) + dy * math.sin(a) + rotated.width / 2
    ry = -dx * math.sin(a) + dy * math.cos(a) + rotated.height / 2
    read = _read(rotated, tmp_path)
    assert [c.text for c in read.codes] == ["CY00086001"]
    x, y, w, h = read.codes[0].position
    assert x <= rx <= x + w and y <= ry <= y + h
    assert w < tag.width * 1.2 and h < tag.width  # the label, not the page


def test_every_tiff_frame_is_searched_frame_20(tmp_path: Path) -> None:
    blank = Image.new("1", (400, 300), 1)
    cover = Image.new("L", (400, 300), 255)
    cover.paste(hard_covers.label("CY00000020", dpi=100, module_mm=0.5), (20, 80))
    path = tmp_path / "batch.tif"
    frames = [blank] * 19 + [cover.convert("1")] + [blank] * 2
    frames[0].save(path, save_all=True, append_images=frames[1:], compression="group4")
    read = read_file(path)
    assert read.pages == 22
    assert [(c.text, c.page) for c in read.codes] == [("CY00000020", 20)]


def test_every_pdf_page_is_searched_page_2(tmp_path: Path) -> None:
    cover = Image.new("L", (600, 400), 255)
    cover.paste(hard_covers.label("CY00000002", dpi=100, module_mm=0.5), (40, 100))
    path = tmp_path / "scan.pdf"
    Image.new("L", (600, 400), 255).save(path, save_all=True, append_images=[cover], resolution=100)
    read = read_file(path)
    assert read.pages == 2
    assert [(c.text, c.page) for c in read.codes] == [("CY00000002", 2)]
    x, _y, w, _h = read.codes[0].position
    assert 100 < x < 200 and w > 300  # rendered at 300 dpi: three times the page's pixels


def _one_text(text: str):  # noqa: ANN202
    def decode(image: Image.Image, symbologies: frozenset[str]) -> list[RawRead]:
        poly = ((10.0, 10.0), (200.0, 10.0), (200.0, 60.0), (10.0, 60.0))
        return [RawRead(text, "Code128", text.encode(), poly)]

    return decode


def _nothing(image: Image.Image, symbologies: frozenset[str]) -> list[RawRead]:
    return []


def test_disagreement_goes_to_review_never_to_the_codes(tmp_path: Path) -> None:
    path = tmp_path / "page.png"
    Image.new("L", (300, 100), 255).save(path)
    read = read_file(
        path, decoders={"zxing": _one_text("CY00000001"), "zbar": _one_text("CY00000007")}
    )
    assert read.codes == ()
    assert (
        len(read.review) == 1 and "CY00000001" in read.review[0] and "CY00000007" in read.review[0]
    )
    cover = cover_number(read, is_dossier_no=_is_dossier_no)
    assert (cover.number, cover.reason_code) == (None, "disagreement")


def test_single_read_needs_the_callers_check(tmp_path: Path) -> None:
    path = tmp_path / "page.png"
    Image.new("L", (300, 100), 255).save(path)
    chain = {"zxing": _one_text("CY00000001"), "zbar": _nothing}
    assert [c.text for c in read_file(path, decoders=chain, validate=_is_dossier_no).codes] == [
        "CY00000001"
    ]
    chain = {"zxing": _one_text("XY-1"), "zbar": _nothing}
    refused = read_file(path, decoders=chain, validate=_is_dossier_no)
    assert refused.codes == () and len(refused.review) == 1
    assert cover_number(refused, is_dossier_no=_is_dossier_no).reason_code == "disagreement"


def test_cover_number_outcomes(tmp_path: Path) -> None:
    path = tmp_path / "f.png"
    code = barcodes.CodeRead("CY00000001", "Code128", 1, (0, 0, 10, 10), ("zxing", "zbar"))
    other = barcodes.CodeRead("CY00000002", "Code128", 1, (0, 50, 10, 10), ("zxing", "zbar"))
    label = barcodes.CodeRead("BOX-7", "Code128", 1, (0, 90, 10, 10), ("zxing", "zbar"))

    def outcome(**kw) -> tuple[str | None, str]:  # noqa: ANN003
        got = cover_number(barcodes.FileRead(path, **kw), is_dossier_no=_is_dossier_no)
        return got.number, got.reason_code

    assert outcome(codes=(code, code)) == ("CY00000001", "ok")
    assert outcome(codes=(code, other)) == (None, "several_numbers")
    assert outcome(codes=(label,)) == (None, "not_a_dossier_no")
    assert outcome() == (None, "no_code")
    assert outcome(error="x", error_code="truncated") == (None, "unreadable")


def test_hard_covers_give_exactly_what_they_expect(tmp_path: Path) -> None:
    for cover in hard_covers.generate(tmp_path, full=False):
        read = read_file(cover.path, validate=_is_dossier_no)
        assert read.error_code == cover.error_code, cover.path.name
        assert tuple(c.text for c in read.codes) == cover.expected, cover.path.name
        if cover.page is not None:
            assert {c.page for c in read.codes} == {cover.page}, cover.path.name
        if cover.category == "two_codes":
            assert cover_number(read, is_dossier_no=_is_dossier_no).reason_code == "several_numbers"
        elif cover.expected:
            assert cover_number(read, is_dossier_no=_is_dossier_no).number == cover.expected[0]


def test_error_reasons_are_plain_words(tmp_path: Path) -> None:
    bad = tmp_path / "cover.png"
    bad.write_bytes(b"\x00\x01 not a PNG" * 50)
    read = read_file(bad)
    assert read.error_code == "not_image"
    assert "cover.png" in read.error and "<" not in read.error and "identify" not in read.error
    assert read_file(tmp_path / "none.png").error_code == "missing"
    assert read_file(tmp_path).error_code == "folder"
