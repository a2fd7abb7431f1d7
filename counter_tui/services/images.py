"""What every reader of page, cover and certificate images shares (Pillow)."""

from __future__ import annotations

from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_ERRORS: tuple[type[BaseException], ...] = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    Image.DecompressionBombError,
)
"""What Pillow raises for a file that is not an image, is damaged or truncated, or is too
large to open safely (``Image.MAX_IMAGE_PIXELS``)."""


def grey(image: Image.Image) -> Image.Image:
    """``image`` as 8-bit grey ("L"): transparency composited onto white paper first, 16-bit
    and float grey scaled down with autocontrast."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba)
    if image.mode == "L":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return ImageOps.autocontrast(image.convert("I").point(lambda v: v / 256).convert("L"))
    return image.convert("L")
