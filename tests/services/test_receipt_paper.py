"""Paper copies for the receipt comparison (接收比对): a dossier's pages drawn by the demo
generator (counter_tui.demo.pages), then "printed and re-scanned" — skew, another dpi,
brightness, contrast, blur, noise, dust — and, for forgeries, altered before the re-scan.

The helpers are shared by tests/services/test_receipt*.py, tests/screens/test_receive*.py,
tests/test_cli_receive.py and scripts/bench_receipt.py; the tests here check the helpers
themselves.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps

from counter_tui.demo.pages import PAGE_DPI, BatchJob, render_batch
from counter_tui.services.fonts import find_cjk_font

WAGE_FORM = "工资审批表"
ADDED_LINE = "工种：井下采掘（特殊工种）"
ADDED_LINE_XY = (330, 1010)
"""Where the forged line is written on the wage approval form (page pixels, 150 dpi): the
form's 本人简历 cell, empty space below its printed lines."""


@dataclass(frozen=True)
class Rescan:
    """How a sheet is re-scanned: ``skew`` degrees (counter-clockwise), ``dpi``, ``brightness``
    (added to grey 0–255), ``contrast`` (factor), ``blur`` (Gaussian radius, pixels at the
    new dpi), ``noise`` (σ of Gaussian noise, grey levels), ``dust`` (specks), ``shift``
    (pixels the sheet lies off the glass's corner), ``jpeg`` (save as JPEG quality 85)."""

    skew: float = 0.0
    dpi: int = PAGE_DPI
    brightness: float = 0.0
    contrast: float = 1.0
    blur: float = 0.0
    noise: float = 0.0
    dust: int = 0
    shift: tuple[int, int] = (0, 0)
    jpeg: bool = False


def random_rescan(rng: random.Random) -> Rescan:
    """An honest re-scan as scanning stations make them: 0.5–2° skew either way, 150/200/300
    dpi, brightness ±30, contrast 0.75–1.15, blur up to 1 px, noise σ up to 8, a few specks."""
    return Rescan(
        skew=rng.choice((-1, 1)) * rng.uniform(0.5, 2.0),
        dpi=rng.choice((150, 200, 300)),
        brightness=rng.uniform(-30, 30),
        contrast=rng.uniform(0.75, 1.15),
        blur=rng.uniform(0.0, 1.0),
        noise=rng.uniform(0.0, 8.0),
        dust=rng.randint(0, 12),
        shift=(rng.randint(-20, 20), rng.randint(-20, 20)),
        jpeg=rng.random() < 0.3,
    )


def rescan(page: Image.Image, how: Rescan, seed: int = 0) -> Image.Image:
    """``page`` (a 150 dpi sheet) printed and scanned again as ``how`` says; mode "L"."""
    rng = np.random.default_rng(seed)
    sheet = page.convert("L")
    factor = how.dpi / PAGE_DPI
    if factor != 1:
        sheet = sheet.resize(
            (round(sheet.width * factor), round(sheet.height * factor)), Image.Resampling.BICUBIC
        )
    sheet = sheet.rotate(how.skew, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    if how.shift != (0, 0):
        glass = Image.new("L", sheet.size, 255)
        glass.paste(sheet, (round(how.shift[0] * factor), round(how.shift[1] * factor)))
        sheet = glass
    if how.blur:
        sheet = sheet.filter(ImageFilter.GaussianBlur(how.blur * factor))
    pixels = np.asarray(sheet, dtype=np.float32)
    pixels = (pixels - 128) * how.contrast + 128 + how.brightness
    if how.noise:
        pixels = pixels + rng.normal(0, how.noise, pixels.shape)
    for _k in range(how.dust):
        y, x = rng.integers(0, pixels.shape[0]), rng.integers(0, pixels.shape[1])
        r = int(rng.integers(1, 3))
        pixels[max(0, y - r) : y + r, max(0, x - r) : x + r] = 40
    out = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "L")
    out.info["dpi"] = (how.dpi, how.dpi)
    return out


def save_scan(image: Image.Image, path: Path, how: Rescan) -> Path:
    """Save a re-scanned sheet as PNG (or JPEG when ``how.jpeg``), with its dpi."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if how.jpeg:
        path = path.with_suffix(".jpg")
        image.save(path, "JPEG", quality=85, dpi=(how.dpi, how.dpi))
    else:
        image.save(path, "PNG", dpi=(how.dpi, how.dpi))
    return path


def render_pages(
    folder: Path,
    dossier_no: str,
    person: str,
    materials: tuple[tuple[str, str, str, int, str], ...],
    seed: int = 1,
) -> list[Path]:
    """The demo generator's page images for ``materials`` ((catalogue number, title,
    formation date "YYYY-MM-DD", pages, remark), catalogue order) in ``folder``: the cover
    ``scan-0000.png``, then one file per page. Returns the page files (cover excluded)."""
    job = BatchJob(
        str(folder), dossier_no, person, "1960年5月", "北京市朝阳区人才服务中心", seed, materials
    )
    render_batch(job)
    return sorted(folder.glob("scan-*.png"))[1:]


def write_line(page: Image.Image, text: str, xy: tuple[int, int], size: int = 28) -> Image.Image:
    """A copy of ``page`` with ``text`` written at ``xy`` (the forger's added line)."""
    from PIL import ImageFont

    found = find_cjk_font()
    font = (
        ImageFont.truetype(found[0], size, index=found[1])
        if found
        else ImageFont.load_default(size=size)
    )
    if not found:
        text = "Work type: underground (special)"
    altered = page.convert("L").copy()
    ImageDraw.Draw(altered).text(xy, text, font=font, fill=0)
    return altered


def _font(size: int):  # noqa: ANN202
    from PIL import ImageFont

    found = find_cjk_font()
    if found:
        return ImageFont.truetype(found[0], size, index=found[1])
    return ImageFont.load_default(size=size)


def _bitmap(text: str, size: int) -> Image.Image:
    """``text`` as the demo painter draws it (counter_tui.demo.pages: a bilevel, mode "1"
    bitmap of the glyphs' bounding box)."""
    font = _font(size)
    left, top, right, bottom = font.getbbox(text)
    bitmap = Image.new("1", (max(1, right - left), max(1, bottom - top)), 1)
    ImageDraw.Draw(bitmap).text((-left, -top), text, font=font, fill=0)
    return bitmap


def replace_text(
    page: Image.Image, old: str, new: str, xy: tuple[int, int], size: int, anchor: str = "l"
) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """A copy of ``page`` where the text ``old``, drawn by the demo painter at ``xy`` (its
    left or, ``anchor="r"``, right edge) in ``size`` points, is replaced by ``new`` — a
    forger scraping the old strokes away and writing the new ones in place (what lies around
    them, a seal's ring, stays). Returns the page and the box (x, y, width, height) of the
    glyphs that differ."""
    before, after = _bitmap(old, size), _bitmap(new, size)
    x, y = xy
    x_old = x - before.width if anchor == "r" else x
    x_new = x - after.width if anchor == "r" else x
    altered = page.convert("L").copy()
    white = Image.new("L", before.size, 255)
    black = Image.new("L", after.size, 0)
    altered.paste(white, (x_old, y), ImageOps.invert(before.convert("L")))
    altered.paste(black, (x_new, y), ImageOps.invert(after.convert("L")))
    diff = ImageChops.difference(page.convert("L"), altered).getbbox()
    if diff is None:
        return altered, (x_new, y, 0, 0)
    left, top, right, bottom = diff
    return altered, (left, top, right - left, bottom - top)


def erase_box(page: Image.Image, box: tuple[int, int, int, int]) -> Image.Image:
    """A copy of ``page`` with ``box`` (x, y, width, height) whited out."""
    x, y, w, h = box
    altered = page.convert("L").copy()
    ImageDraw.Draw(altered).rectangle((x, y, x + w, y + h), fill=255)
    return altered


def text_box(text: str, xy: tuple[int, int], size: int = 28) -> tuple[int, int, int, int]:
    """Bounding box (x, y, width, height) of :func:`write_line`'s text at 150 dpi."""
    from PIL import ImageFont

    found = find_cjk_font()
    font = (
        ImageFont.truetype(found[0], size, index=found[1])
        if found
        else ImageFont.load_default(size=size)
    )
    if not found:
        text = "Work type: underground (special)"
    left, top, right, bottom = font.getbbox(text)
    return (xy[0] + left, xy[1] + top, right - left, bottom - top)


def scaled_box(box: tuple[int, int, int, int], how: Rescan) -> tuple[int, int, int, int]:
    """``box`` (150 dpi page pixels) on the re-scanned sheet, widened by the skew's sway."""
    f = how.dpi / PAGE_DPI
    sway = int(abs(how.skew) / 57.3 * 1754 * f) + 10
    x, y, w, h = box
    return (
        round(x * f) + round(how.shift[0] * f) - sway,
        round(y * f) + round(how.shift[1] * f) - sway,
        round(w * f) + 2 * sway,
        round(h * f) + 2 * sway,
    )


def formed(text: str) -> dt.date:
    """A date from "YYYY-MM-DD"."""
    return dt.date.fromisoformat(text)


# -- tests of the helpers ------------------------------------------------------------------


def test_rescan_changes_size_and_grey_but_keeps_the_sheet(tmp_path: Path) -> None:
    page = Image.new("1", (1240, 1754), 1)
    ImageDraw.Draw(page).rectangle((100, 100, 400, 200), fill=0)
    out = rescan(page, Rescan(skew=1.5, dpi=300, brightness=-20, contrast=0.8, noise=5), seed=3)
    assert out.size == (2480, 3508)
    pixels = np.asarray(out)
    assert 150 < np.median(pixels) < 255  # darker paper
    assert pixels[300, 500] < 120  # the box is still ink (at 300 dpi: 2 × its place)
    saved = save_scan(out, tmp_path / "p.png", Rescan(dpi=300))
    with Image.open(saved) as again:
        assert round(again.info["dpi"][0]) == 300


def test_write_line_adds_ink_inside_its_box() -> None:
    page = Image.new("L", (1240, 1754), 255)
    altered = write_line(page, ADDED_LINE, ADDED_LINE_XY)
    x, y, w, h = text_box(ADDED_LINE, ADDED_LINE_XY)
    ink = np.asarray(altered) < 128
    assert ink.sum() > 200
    assert ink[y : y + h, x : x + w].sum() == ink.sum()
