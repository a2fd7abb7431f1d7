"""Fonts with Chinese glyphs, for rendering demo pages and watermarks with Pillow."""

from __future__ import annotations

import functools
import os

from PIL import ImageFont

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
