"""Watermarked copies of page images for the external viewer (查阅专用).

A copy handed out of the application carries a visible, semi-transparent diagonal text tiled
across the whole page: "查阅专用 <clerk> <YYYY-MM-DD HH:MM>" (Beijing time), so a photographed
or forwarded screen shows who opened it and when. The archive file itself is never touched.

The text is drawn with a font that has Chinese glyphs (Noto Sans CJK, WenQuanYi, … — see
:data:`CJK_FONT_CANDIDATES`); on a host without one it falls back to ASCII:
"FOR CONSULTATION ONLY <clerk> <YYYY-MM-DD HH:MM> UTC+8", with each non-ASCII character of the
clerk's name written as its code point (U+738B), which stays unambiguous without a
transliteration table.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import tempfile
import threading
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from counter_tui.domain import clock
from counter_tui.domain import text as text_rules
from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.services.fonts import find_cjk_font
from counter_tui.services.images import IMAGE_ERRORS

MARK_CJK = "查阅专用"
MARK_ASCII = "FOR CONSULTATION ONLY"
"""China Standard Time (no daylight saving since 1991), as the UI shows times."""

INK = 96
"""Grey level (0 black … 255 white) the watermark pulls pixels towards."""
OPACITY = 0.30
"""How much of the ink covers the page under the text (0 invisible … 1 opaque)."""
ANGLE = 30
"""Degrees of the text's slope (counter-clockwise)."""
MAX_NAME_CHARS = 32


class WatermarkError(CounterError, ValueError):
    """A page image that cannot be read or written as a stamped copy; the message is for the
    clerk (it names the file)."""


def _clean_name(name: str) -> str:
    name = text_rules.strip_control(name)
    return name[:MAX_NAME_CHARS]


def ascii_name(name: str) -> str:
    """``name`` in ASCII without transliteration: ASCII characters kept, others as ``U+XXXX``
    (e.g. "王芳" → "U+738B U+82B3")."""
    parts: list[str] = []
    for ch in _clean_name(name):
        if ch.isascii():
            if parts and not parts[-1].startswith("U+"):
                parts[-1] += ch
            else:
                parts.append(ch)
        else:
            parts.append(f"U+{ord(ch):04X}")
    return " ".join(p.strip() for p in parts if p.strip())


def watermark_text(clerk_name: str, when: dt.datetime, *, cjk: bool = True) -> str:
    """The stamped line: "查阅专用 王芳 2026-06-30 14:05" (``when`` in Beijing time, a naive
    ``when`` taken as UTC), or with ``cjk=False`` "FOR CONSULTATION ONLY U+738B U+82B3
    2026-06-30 14:05 UTC+8"."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    stamp_time = clock.local_time(when, "%Y-%m-%d %H:%M")
    if cjk:
        parts = [MARK_CJK, _clean_name(clerk_name), stamp_time]
    else:
        parts = [MARK_ASCII, ascii_name(clerk_name), stamp_time, "UTC+8"]
    return " ".join(p for p in parts if p)


# FreeType faces must not be shared between threads (viewer workers may run side by side).
_local = threading.local()


def _font(spec: tuple[str, int] | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    cache: dict[tuple[object, int], ImageFont.FreeTypeFont | ImageFont.ImageFont]
    cache = _local.__dict__.setdefault("fonts", {})
    key = (spec, size)
    if key not in cache:
        if spec is not None:
            cache[key] = ImageFont.truetype(spec[0], size, index=spec[1])
        else:
            try:
                cache[key] = ImageFont.load_default(size=size)
            except (ImportError, OSError, TypeError):  # Pillow built without FreeType
                cache[key] = ImageFont.load_default()
    return cache[key]


def _displayable(image: Image.Image, fmt: str) -> Image.Image:
    """``image`` in a mode that can show grey and that ``fmt`` can store."""
    mode = image.mode
    if mode in ("1", "L"):
        return image.convert("L")
    if mode.startswith("I;16") or mode == "I":
        # 16-bit greyscale: scale to 8 bits instead of clipping everything above 255 to white.
        return image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if mode == "LA":
        return image if fmt in ("PNG", "TIFF", "WEBP") else image.convert("L")
    if mode == "P" and "transparency" in image.info and fmt in ("PNG", "TIFF", "WEBP"):
        return image.convert("RGBA")
    if mode == "RGBA":
        return image if fmt in ("PNG", "TIFF", "WEBP") else image.convert("RGB")
    return image if mode == "RGB" else image.convert("RGB")


def _text_mask(size: tuple[int, int], text: str, font_spec: tuple[str, int] | None) -> Image.Image:
    """An "L" mask (255 = text) with ``text`` repeated along parallel lines sloping at
    :data:`ANGLE` degrees over the whole of ``size``.

    The pages of a material mostly share one size and the text changes once a minute, so the
    last mask of this thread is reused."""
    key = (size, text, font_spec)
    last = getattr(_local, "mask", None)
    if last is not None and last[0] == key:
        return last[1]
    width, height = size
    font = _font(font_spec, max(12, min(width, height) // 24))
    left, top, right, bottom = font.getbbox(text)
    tile = Image.new("L", (right - left, bottom - top), 0)
    ImageDraw.Draw(tile).text((-left, -top), text, font=font, fill=255)
    # Lay the text out in level rows on a square that still covers the page once turned,
    # turn it, and cut the page out of its middle. Every other row is shifted by half a
    # repeat so that no clean band is left to crop out.
    side = math.ceil(math.hypot(width, height)) + 2
    canvas = Image.new("L", (side, side), 0)
    step_x = tile.width + 2 * tile.height
    step_y = 3 * tile.height
    for row, y in enumerate(range(0, side, step_y)):
        for x in range(-(step_x // 2) * (row % 2), side, step_x):
            canvas.paste(tile, (x, y))
    canvas = canvas.rotate(ANGLE, resample=Image.Resampling.BILINEAR)
    x0, y0 = (side - width) // 2, (side - height) // 2
    mask = canvas.crop((x0, y0, x0 + width, y0 + height)).point(lambda v: round(v * OPACITY))
    _local.mask = (key, mask)
    return mask


def _apply(image: Image.Image, mask: Image.Image) -> Image.Image:
    ink = {"L": INK, "LA": (INK, 255), "RGB": (INK,) * 3, "RGBA": (INK, INK, INK, 255)}
    return Image.composite(Image.new(image.mode, image.size, ink[image.mode]), image, mask)


def _save_params(fmt: str, info: dict, *, same_mode: bool) -> dict[str, object]:
    params: dict[str, object] = {}
    if "dpi" in info:
        params["dpi"] = tuple(round(float(v)) for v in info["dpi"])
    if fmt == "JPEG":
        params.update(quality=90, subsampling=0)
    elif fmt == "TIFF":
        params["compression"] = "tiff_lzw"
    if "icc_profile" in info and same_mode:  # a CMYK profile does not fit the RGB copy
        params["icc_profile"] = info["icc_profile"]
    return params


def stamp(
    source: Path, target: Path, *, clerk_name: str, when: dt.datetime, use_cjk_font: bool = True
) -> None:
    """Write ``target``: a copy of the page image ``source`` with the watermark of
    :func:`watermark_text` tiled diagonally over it, semi-transparent grey.

    The copy keeps the source's format (PNG, JPEG, TIFF; others Pillow can write), pixel size
    (after applying an EXIF orientation) and resolution; bilevel and palette images become
    greyscale or RGB so that grey shows. Only the first frame of a multi-page file is used.
    ``target`` appears atomically with mode 0600. ``use_cjk_font=False`` forces the ASCII text
    (what a host without a CJK font gets).

    Raises WatermarkError when ``source`` is missing, not an image, truncated or corrupt, or
    cannot be stored in its own format; OSError when ``target`` cannot be written.
    """
    try:
        with Image.open(source) as opened:
            fmt = opened.format or "PNG"
            info = dict(opened.info)
            source_mode = opened.mode
            opened.load()
            image = ImageOps.exif_transpose(opened)
            image = _displayable(image, fmt)
    except FileNotFoundError as exc:
        raise WatermarkError(
            _("The page image {name} is missing.").format(name=source.name)
        ) from exc
    except IMAGE_ERRORS as exc:
        raise WatermarkError(
            _("The page image {name} cannot be read ({error}); tell the archive room.").format(
                name=source.name, error=exc
            )
        ) from exc
    font_spec = find_cjk_font() if use_cjk_font else None
    text = watermark_text(clerk_name, when, cjk=font_spec is not None)
    stamped = _apply(image, _text_mask(image.size, text, font_spec))

    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # mkstemp creates the file 0600; the viewer never sees a half-written copy.
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".stamp-", suffix=target.suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            try:
                stamped.save(
                    handle,
                    format=fmt,
                    **_save_params(fmt, info, same_mode=stamped.mode == source_mode),
                )
            except (KeyError, ValueError) as exc:  # a format Pillow reads but cannot write
                raise WatermarkError(
                    _("The page image {name} cannot be copied in its format {format}.").format(
                        name=source.name, format=fmt
                    )
                ) from exc
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
