"""Barcode decoding from real images: the zxing-cpp sample corpus in tests/fixtures/barcodes (copied from shared/),
corrupt files, and covers rendered by the demo builder."""

from __future__ import annotations

from pathlib import Path

import barcode
import pytest
from barcode.writer import ImageWriter
from PIL import Image

from counter_tui.demo import pages
from counter_tui.services.barcodes import (
    DEFAULT_SYMBOLOGIES,
    BarcodeImageError,
    decode_barcodes,
)

IMAGE_SUFFIXES = {".png", ".webp", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}


# A copy inside the repository (tests/fixtures/barcodes, with its licence note): a lone
# clone passes without shared/ beside it.
CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "barcodes"

# Found / expected measured with scripts/barcode_decode_rate.py (pyzbar, then zxing-cpp); the
# tests keep these as floors so a regression shows while a better reader passes.
MEASURED_RATE_FLOOR = {"code128-2": 1.0, "code128-3": 1.0, "code39-3": 1.0, "qrcode-1": 1.0}
MEASURED_FALSE_POSITIVES = 0


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _expected(image: Path) -> str | None:
    text = image.with_suffix(".txt")
    # Bytes, not read_text(): QR payloads keep their CR LF line ends.
    return text.read_bytes().decode("utf-8") if text.exists() else None


def _rate(folder: Path) -> tuple[int, int]:
    found = expected = 0
    for image in _images(folder):
        text = _expected(image)
        if text is None:
            continue
        expected += 1
        found += text in decode_barcodes(image)
    return found, expected


CODE128_IMAGES = [
    p
    for folder in sorted(CORPUS.glob("code128-*"))
    for p in _images(folder)
    if _expected(p) is not None
]


@pytest.mark.parametrize("image", CODE128_IMAGES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_code128_images_decode_to_the_expected_text(image: Path) -> None:
    assert _expected(image) in decode_barcodes(image)


def test_every_expected_folder_is_in_the_corpus() -> None:
    folders = {p.name for p in CORPUS.iterdir() if p.is_dir()}
    assert set(MEASURED_RATE_FLOOR) <= folders
    assert any(name.startswith("falsepositives") for name in folders)


@pytest.mark.parametrize("folder", sorted(MEASURED_RATE_FLOOR))
def test_decode_rate_per_folder_is_at_least_the_measured_rate(folder: str) -> None:
    found, expected = _rate(CORPUS / folder)
    assert expected > 0
    assert found / expected >= MEASURED_RATE_FLOOR[folder], f"{folder}: {found}/{expected}"


def test_code39_and_qr_texts_are_exact() -> None:
    qr = CORPUS / "qrcode-1" / "17.webp"
    texts = decode_barcodes(qr)
    assert texts == [_expected(qr)]
    assert "\r\n" in texts[0]
    assert decode_barcodes(CORPUS / "code39-3" / "05.webp") == ["001EC947D49B"]


def test_false_positive_images_decode_to_nothing() -> None:
    hits = {}
    for folder in sorted(CORPUS.glob("falsepositives-*")):
        for image in _images(folder):
            texts = decode_barcodes(image)
            if texts:
                hits[image.name] = texts
    assert len(hits) == MEASURED_FALSE_POSITIVES, hits


def test_pil_image_input_and_transparent_background() -> None:
    label = barcode.Code128("CY00000042", writer=ImageWriter()).render(
        {"dpi": 150, "module_width": 0.4, "module_height": 10}
    )
    assert decode_barcodes(label) == ["CY00000042"]
    # Black bars on transparent "paper", as a PNG exported from a label program may be.
    rgba = Image.new("RGBA", label.size, (0, 0, 0, 0))
    rgba.putalpha(label.convert("L").point(lambda v: 255 if v < 128 else 0))
    assert decode_barcodes(rgba) == ["CY00000042"]


def test_image_without_barcode_gives_an_empty_list(tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    Image.new("L", (400, 300), 255).save(blank)
    assert decode_barcodes(blank) == []
    assert decode_barcodes(Image.new("1", (1, 1), 1)) == []


def test_several_barcodes_come_back_deduplicated_in_reading_order() -> None:
    def label(text: str) -> Image.Image:
        return barcode.Code128(text, writer=ImageWriter()).render(
            {"dpi": 150, "module_width": 0.4, "module_height": 8, "write_text": False}
        )

    top, bottom = label("CY00000002"), label("CY00000001")
    sheet = Image.new("RGB", (top.width + 40, 3 * top.height + 80), "white")
    sheet.paste(top, (20, 20))
    sheet.paste(bottom, (20, top.height + 40))
    sheet.paste(top, (20, 2 * top.height + 60))  # the same label twice
    assert decode_barcodes(sheet) == ["CY00000002", "CY00000001"]


def test_corrupt_image_file_raises_barcode_image_error(tmp_path: Path) -> None:
    garbage = tmp_path / "cover.png"
    garbage.write_bytes(b"\x00\x01this is not a PNG at all" * 50)
    with pytest.raises(BarcodeImageError) as caught:
        decode_barcodes(garbage)
    assert caught.value.path == garbage
    assert "cover.png" in str(caught.value)


def test_truncated_png_raises_barcode_image_error(tmp_path: Path) -> None:
    whole = tmp_path / "whole.png"
    pages.render_cover("CY00000007", "王芳").save(whole)
    cut = tmp_path / "cut.png"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    with pytest.raises(BarcodeImageError):
        decode_barcodes(cut)


def test_missing_file_and_directory_raise_barcode_image_error(tmp_path: Path) -> None:
    with pytest.raises(BarcodeImageError):
        decode_barcodes(tmp_path / "nowhere.png")
    with pytest.raises(BarcodeImageError):
        decode_barcodes(tmp_path)


def test_wrong_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        decode_barcodes(Image.new("L", (10, 10), 255), symbologies=["code11"])
    with pytest.raises(TypeError):
        decode_barcodes(b"not a path")  # type: ignore[arg-type]
    assert "code128" in DEFAULT_SYMBOLOGIES


@pytest.mark.parametrize("dossier_no", ["CY00086001", "CJ00031415", "JW00002100", "CY99999999"])
def test_demo_rendered_covers_decode_to_their_dossier_number(
    tmp_path: Path, dossier_no: str
) -> None:
    cover = pages.render_cover(dossier_no, "欧阳建国", birth_recorded="1975年3月", seed=3)
    assert cover.mode == "1" and cover.size == pages.PAGE_SIZE
    assert decode_barcodes(cover) == [dossier_no]
    path = tmp_path / f"{dossier_no}-0000.png"
    cover.save(path, dpi=(150, 150))
    assert decode_barcodes(path) == [dossier_no]


def test_cover_without_a_cjk_font_still_carries_the_barcode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from counter_tui.services import fonts

    monkeypatch.setattr(fonts, "CJK_FONT_CANDIDATES", ())
    monkeypatch.delenv("COUNTER_TUI_CJK_FONT", raising=False)
    fonts.find_cjk_font.cache_clear()
    try:
        assert fonts.find_cjk_font() is None
        cover = pages.render_cover("CY00012345", "张伟")
        assert decode_barcodes(cover) == ["CY00012345"]
    finally:
        fonts.find_cjk_font.cache_clear()


def test_every_frame_of_a_multi_page_tiff_is_searched(tmp_path: Path) -> None:
    blank = Image.new("1", pages.PAGE_SIZE, 1)
    cover = pages.render_cover("CY00000099", "李娜")
    path = tmp_path / "batch.tif"
    blank.save(path, save_all=True, append_images=[cover], compression="group4", dpi=(150, 150))
    assert decode_barcodes(path) == ["CY00000099"]
