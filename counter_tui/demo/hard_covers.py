"""Dossier covers that are hard to read, with what a correct reader must find on each.

For the barcode reader's tests and benchmark (scripts/bench_barcodes.py) and for demo intake
batches: covers carrying the dossier number (format of the demo, e.g. ``CY00086001``) as Code 128
(GB/T 18347-2001), Code 39 or QR Code (GB/T 18284-2000), rotated, scanned at low resolution,
inverted (light bars on a dark label), with two different labels, stored as 16-bit grey, RGBA
with transparent paper, CMYK, palette, inside a multi-page TIFF or a PDF; and files that cannot
be read at all (zero bytes, truncated, not an image, over the pixel budget).

Every :class:`HardCover` says what is expected — the texts, or the error code of
:data:`counter_tui.services.barcodes.ERROR_CODES` — so tests and benchmarks compare exactly.
Deterministic for a given seed. Labels are drawn at four times the resolution and reduced with
a box filter, as a scanner's sensor averages, so low-resolution bars are grey-edged like real
scans.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import barcode
import segno
from PIL import Image, ImageDraw, ImageFont

A4_MM = (210, 297)
"""A4 paper, millimetres (width, height)."""


@dataclass(frozen=True)
class HardCover:
    """One generated file and what a reader must find in it.

    ``path``: the file; ``category``: e.g. ``rotated``, ``low_dpi``, ``unreadable``;
    ``variant``: the detail (``30deg``, ``100dpi`` …); ``expected``: the texts of the accepted
    codes, in reading order (empty for an unreadable file); ``error_code``: the expected
    ``FileRead.error_code`` (None when readable); ``page``: 1-based page or frame carrying the
    cover's codes (None when unreadable).
    """

    path: Path
    category: str
    variant: str
    expected: tuple[str, ...]
    error_code: str | None
    page: int | None


def dossier_numbers(count: int, *, seed: int = 0) -> list[str]:
    """``count`` distinct dossier numbers in the demo's format: two letters (the institution's
    serial prefix, CY / CJ / JW) and eight digits."""
    rng = random.Random(seed)
    numbers: list[str] = []
    while len(numbers) < count:
        number = f"{rng.choice(('CY', 'CJ', 'JW'))}{rng.randrange(10**8):08d}"
        if number not in numbers:
            numbers.append(number)
    return numbers


def label(
    text: str, symbology: str = "code128", *, dpi: int = 150, module_mm: float = 0.4
) -> Image.Image:
    """A barcode label (mode "L", white paper) for ``text`` at ``dpi``, modules ``module_mm``
    wide, bars ``module_mm`` × 40 high for 1-D codes; quiet zones included (10 modules, 4 for
    QR). ``symbology``: ``code128``, ``code39`` (no check character) or ``qrcode`` (UTF-8,
    level M)."""
    scale = 4
    px = module_mm / 25.4 * dpi * scale  # module width at the drawing resolution
    if symbology == "qrcode":
        qr = segno.make(text, error="m", micro=False)
        matrix = [list(row) for row in qr.matrix]
        n = len(matrix) + 8
        size = math.ceil(n * px)
        big = Image.new("L", (size, size), 255)
        draw = ImageDraw.Draw(big)
        for r, row in enumerate(matrix):
            for c, bit in enumerate(row):
                if bit:
                    x, y = (c + 4) * px, (r + 4) * px
                    draw.rectangle(
                        (round(x), round(y), round(x + px) - 1, round(y + px) - 1), fill=0
                    )
    else:
        if symbology == "code128":
            modules = barcode.Code128(text).build()[0]
        elif symbology == "code39":
            modules = barcode.Code39(text, add_checksum=False).build()[0]
        else:
            raise ValueError(f"unknown symbology {symbology!r}")
        n = len(modules) + 20
        height = round(px * 40)
        big = Image.new("L", (math.ceil(n * px), height + round(px * 8)), 255)
        draw = ImageDraw.Draw(big)
        for i, bit in enumerate(modules):
            if bit == "1":
                x = (i + 10) * px
                draw.rectangle(
                    (round(x), round(px * 4), round(x + px) - 1, round(px * 4) + height), fill=0
                )
    return big.resize(
        (max(1, round(big.width / scale)), max(1, round(big.height / scale))), Image.Resampling.BOX
    )


def cover(
    dossier_no: str,
    *,
    symbology: str = "code128",
    dpi: int = 150,
    module_mm: float = 0.4,
    inverted: bool = False,
    angle: float = 0.0,
    second: str | None = None,
) -> Image.Image:
    """An A4 dossier cover (mode "L") at ``dpi`` with a ``symbology`` label of ``dossier_no``
    near the top; ``inverted``: light bars on a dark label; ``second``: another dossier
    number's label below the first (two labels); ``angle``: the whole scan rotated
    counter-clockwise by this many degrees (canvas grown, white)."""
    width, height = (round(mm / 25.4 * dpi) for mm in A4_MM)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    margin = round(15 / 25.4 * dpi)
    draw.rectangle(
        (margin, margin, width - margin, height - margin), outline=0, width=max(1, dpi // 50)
    )
    font = ImageFont.load_default(size=max(10, dpi // 6))
    draw.text(
        (width // 2, round(height * 0.1)), "PERSONNEL DOSSIER", fill=0, font=font, anchor="mm"
    )
    y = round(height * 0.16)
    for text in (dossier_no, second):
        if text is None:
            continue
        tag = label(text, symbology, dpi=dpi, module_mm=module_mm)
        if inverted:
            tag = tag.point(lambda v: 255 - v)
        page.paste(tag, ((width - tag.width) // 2, y))
        draw.text((width // 2, y + tag.height + dpi // 15), text, fill=0, font=font, anchor="mt")
        y += tag.height + dpi // 2
    lines = ("Name: ----", f"Dossier: {dossier_no}", "Holder: CY-RC")
    for k, line in enumerate(lines):
        draw.text((margin * 3, round(height * 0.55) + k * dpi // 2), line, fill=0, font=font)
    if angle % 360:
        page = page.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    return page


def generate(folder: Path | str, *, seed: int = 0, full: bool = True) -> list[HardCover]:
    """Write the hard covers into ``folder`` (created) and return what each must give.

    ``full``: every category at every angle (about 60 files, a few seconds); False: one of
    each kind (for fast tests). File names say the category and variant.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    numbers = iter(dossier_numbers(200, seed=seed))
    made: list[HardCover] = []

    def save(
        image: Image.Image,
        category: str,
        variant: str,
        expected: Sequence[str],
        *,
        suffix: str = ".png",
        page: int = 1,
        **params: object,
    ) -> None:
        path = folder / f"{category}-{variant}{suffix}"
        image.save(path, **params)
        made.append(HardCover(path, category, variant, tuple(expected), None, page))

    for symbology in ("code128", "code39", "qrcode"):
        no = next(numbers)
        save(cover(no, symbology=symbology), "upright", symbology, [no], dpi=(150, 150))
    angles = (15, 30, 45, 60, 75, 105, 135, 165, 200, 250, 290, 330) if full else (30,)
    for degrees in angles:
        no = next(numbers)
        save(cover(no, angle=degrees), "rotated", f"code128-{degrees}deg", [no])
    for symbology, degrees in (("code39", 30), ("qrcode", 45)) if full else ():
        no = next(numbers)
        save(
            cover(no, symbology=symbology, angle=degrees),
            "rotated",
            f"{symbology}-{degrees}deg",
            [no],
        )
    for dpi, module_mm, symbology in (
        ((100, 0.33, "code128"), (100, 0.4, "code39"), (150, 0.25, "code128"), (100, 0.5, "qrcode"))
        if full
        else ((100, 0.33, "code128"),)
    ):
        no = next(numbers)
        save(
            cover(no, symbology=symbology, dpi=dpi, module_mm=module_mm),
            "low_dpi",
            f"{symbology}-{dpi}dpi-{module_mm}mm",
            [no],
            dpi=(dpi, dpi),
        )
    for symbology in ("code128", "code39", "qrcode") if full else ("code128",):
        no = next(numbers)
        save(cover(no, symbology=symbology, inverted=True), "inverted", symbology, [no])
    first, second = next(numbers), next(numbers)
    save(cover(first, second=second), "two_codes", "code128", [first, second])
    # Storage kinds: 16-bit grey, RGBA with transparent paper, CMYK, palette.
    no = next(numbers)
    grey16 = cover(no).point(lambda v: v * 257, "I").convert("I;16")
    save(grey16, "storage", "16bit", [no])
    no = next(numbers)
    base = cover(no)
    rgba = Image.new("RGBA", base.size, (0, 0, 0, 0))
    rgba.putalpha(base.point(lambda v: 255 - v))
    save(rgba, "storage", "rgba", [no])
    no = next(numbers)
    save(cover(no).convert("CMYK"), "storage", "cmyk", [no], suffix=".tif", compression="tiff_lzw")
    no = next(numbers)
    save(cover(no).convert("RGB").quantize(16), "storage", "palette", [no])
    # A multi-page TIFF with the cover on frame 20 of 24, and a PDF with the cover on page 2.
    no = next(numbers)
    blank = Image.new("1", cover(no).size, 1)
    frames = [blank] * 19 + [cover(no).convert("1")] + [blank] * 4
    save(
        frames[0],
        "multipage",
        "tiff-frame20",
        [no],
        suffix=".tif",
        page=20,
        save_all=True,
        append_images=frames[1:],
        compression="group4",
        dpi=(150, 150),
    )
    no = next(numbers)
    save(
        Image.new("L", blank.size, 255),
        "multipage",
        "pdf-page2",
        [no],
        suffix=".pdf",
        page=2,
        save_all=True,
        append_images=[cover(no)],
        resolution=150,
    )
    # Files that cannot be read.
    bad: list[tuple[str, bytes | None, str]] = []
    whole = io.BytesIO()
    cover(next(numbers)).save(whole, format="PNG")
    bad.append(("zero-byte.png", b"", "empty"))
    bad.append(("truncated.png", whole.getvalue()[: len(whole.getvalue()) // 3], "truncated"))
    bad.append(("not-an-image.tif", "扫描仪日志 scanner log\n".encode() * 40, "not_image"))
    huge = io.BytesIO()
    Image.new("1", (12_000, 12_000), 1).save(huge, format="PNG")  # 144 Mpx, a few kB
    bad.append(("too-many-pixels.png", huge.getvalue(), "too_many_pixels"))
    for name, data, code in bad:
        path = folder / f"unreadable-{name}"
        path.write_bytes(data or b"")
        made.append(HardCover(path, "unreadable", Path(name).stem, (), code, None))
    return made
