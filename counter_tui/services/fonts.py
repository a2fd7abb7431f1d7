"""Fonts with Chinese glyphs: for demo pages and watermarks (Pillow) and for certificates
(the PDF writer), with a common-character copy that loads three times faster."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
from pathlib import Path

import platformdirs
from PIL import ImageFont

log = logging.getLogger(__name__)

CJK_FONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-sans-cjk-fonts/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simsun.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)
"""Where :func:`find_cjk_font` looks for a font with Chinese glyphs (after the environment
variable ``COUNTER_TUI_CJK_FONT``)."""


@functools.cache
def find_cjk_font() -> tuple[str, int] | None:
    """A font file with Chinese glyphs and the face index to use in it, or None.

    Looks at ``COUNTER_TUI_CJK_FONT`` (a path) first, then :data:`CJK_FONT_CANDIDATES`. In a
    Noto CJK collection the Simplified Chinese face ("… CJK SC") is chosen. The answer is
    cached for the life of the process.
    """
    for path in (os.environ.get("COUNTER_TUI_CJK_FONT", ""), *CJK_FONT_CANDIDATES):
        if not path or not os.path.isfile(path):
            continue
        index = 0
        for i in range(8):
            try:
                face = ImageFont.truetype(path, 12, index=i)
            except OSError:
                break
            if "SC" in face.getname()[0].split():
                index = i
                break
        try:
            ImageFont.truetype(path, 12, index=index)
        except OSError:
            continue
        return path, index
    return None


CACHE_ENV = "COUNTER_TUI_CACHE_DIR"
"""Environment variable naming the cache folder (default: platformdirs' user cache dir)."""


def cache_dir() -> Path:
    """Where derived files (the common-character font) are kept: ``COUNTER_TUI_CACHE_DIR``
    or the platform's user cache folder (``~/.cache/counter-tui`` on Linux)."""
    return Path(os.environ.get(CACHE_ENV) or platformdirs.user_cache_dir("counter-tui", False))


@functools.cache
def gb2312_characters() -> frozenset[int]:
    """The code points of GB 2312-1980 (6,763 汉字 and 682 symbols; decoded with Python's
    ``gb2312`` codec) plus printable ASCII: what nearly every certificate is written in."""
    chars = set(range(0x20, 0x7F))
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                chars.add(ord(bytes((high, low)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return frozenset(chars)


_subset_lock = threading.Lock()
COMMON_SUBSET_VERSION = "v2"
"""Part of the common-character copy's file name: a copy built another way gets a new name."""


def _merge_components(ttfont: object) -> int:
    """Replace each composite glyph of a TrueType ``ttfont`` (fontTools TTFont) by one simple
    glyph with its components' outlines (transformed as the composite placed them); a font
    without ``glyf`` (CFF outlines have no components) is left alone. Advance widths are not
    touched; the glyph's instructions (hinting, unused in a PDF) are dropped. Returns how many
    glyphs were merged."""
    from fontTools.pens.recordingPen import DecomposingRecordingPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    if "glyf" not in ttfont:
        return 0
    glyf = ttfont["glyf"]
    glyph_set = ttfont.getGlyphSet()
    merged = 0
    for name in ttfont.getGlyphOrder():
        if not glyf[name].isComposite():
            continue
        recording = DecomposingRecordingPen(glyph_set)
        glyph_set[name].draw(recording)
        pen = TTGlyphPen(None)
        recording.replay(pen)
        glyf[name] = pen.glyph()
        merged += 1
    return merged


def common_subset(font: tuple[str, int], *, build: bool = True) -> tuple[str, int] | None:
    """A copy of ``font`` (path, face index) reduced to :func:`gb2312_characters`, built once
    with fontTools' subsetter and kept in :func:`cache_dir` (named after the font's path,
    size and modification time, so an updated font gets a new copy); None when it cannot be
    built or stored (the full font is then used). A 5 MB CJK collection becomes about 1.7 MB:
    loading and embedding it costs a third of the full font's time. Outlines, advance widths
    and names are kept; layout tables (GSUB, GPOS, GDEF) are dropped, as the PDF writer does,
    and so are the vertical metrics (vhea, vmtx, VORG: certificates are set horizontally).
    A TrueType glyph made of components (WenQuanYi builds ~6,100 of its GB 2312 characters
    from shared parts) gets its components' outlines merged into its own, so that the parts
    need no glyphs of their own: 13,197 glyphs become 7,546, and the document the counter
    keeps ready holds 4.6 MB of parsed font instead of 8 (issue 13). The same characters are
    drawn with the same outlines (compared page by page at 200 dpi). ``build=False``: only
    an existing copy is returned (None otherwise). Thread-safe; building takes about 3–5 s
    (once per machine and font: the file is named after :data:`COMMON_SUBSET_VERSION` too)."""
    path, index = font
    try:
        stat = os.stat(path)
    except OSError:
        return None
    key = hashlib.sha256(f"{path}|{index}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
    target = cache_dir() / "fonts" / f"{key[:24]}-gb2312-{COMMON_SUBSET_VERSION}.ttf"
    if not build:  # never waits for a build under way (3–5 s): the copy appears whole
        return (str(target), 0) if target.is_file() else None  # (os.replace) or not at all
    with _subset_lock:
        if target.is_file():
            return str(target), 0
        try:
            from fontTools import subset, ttLib

            ttfont = ttLib.TTFont(path, fontNumber=index, recalcTimestamp=False)
            options = subset.Options()
            options.notdef_outline = True
            options.recommended_glyphs = True
            options.name_IDs = ["*"]
            options.name_languages = ["*"]
            options.layout_features = []
            options.drop_tables += ["GSUB", "GPOS", "GDEF", "FFTM", "vhea", "vmtx", "VORG"]
            subsetter = subset.Subsetter(options)
            subsetter.populate(unicodes=gb2312_characters())
            subsetter.subset(ttfont)
            if _merge_components(ttfont):  # the parts no glyph uses any more are dropped
                subsetter = subset.Subsetter(options)
                subsetter.populate(unicodes=gb2312_characters())
                subsetter.subset(ttfont)
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
            ttfont.save(str(temp))
            os.replace(temp, target)
        except Exception:  # noqa: BLE001 - the full font still works
            log.warning("could not build the common-character font from %s", path, exc_info=True)
            return None
    return str(target), 0
