"""Reading barcodes from page images: dossier covers, box labels, certificates, slips.

Two decoders, as in shared/design/ARCHITECTURE.md ("Real components"): ZBar through pyzbar
first (fast, needs the system library ``libzbar0``), then zxing-cpp as a second pass only when
ZBar finds nothing (it also searches rotated, inverted and down-scaled versions by itself).

Only the symbologies met at a personnel-archive counter are enabled by default (Code 128 —
GB/T 18347 — Code 39, Code 93, EAN-13/EAN-8, QR Code, Data Matrix, PDF417). Leaving out ITF,
Codabar, UPC-E, DataBar and Micro QR keeps pictures of printed text and textures from
"decoding" into short false numbers.
"""

from __future__ import annotations

import functools
import logging
import operator
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import zxingcpp
from PIL import Image, ImageSequence
from pyzbar import pyzbar

from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.services.images import IMAGE_ERRORS, grey

log = logging.getLogger(__name__)

DEFAULT_SYMBOLOGIES: tuple[str, ...] = (
    "code128",
    "code39",
    "code93",
    "ean13",
    "ean8",
    "qrcode",
    "datamatrix",
    "pdf417",
)
"""Symbologies searched by :func:`decode_barcodes` unless told otherwise."""

# ZBar has no Data Matrix decoder and its PDF417 support is incomplete: those two are left to
# zxing-cpp.
_ZBAR_SYMBOLS: dict[str, pyzbar.ZBarSymbol] = {
    "code128": pyzbar.ZBarSymbol.CODE128,
    "code39": pyzbar.ZBarSymbol.CODE39,
    "code93": pyzbar.ZBarSymbol.CODE93,
    "ean13": pyzbar.ZBarSymbol.EAN13,
    "ean8": pyzbar.ZBarSymbol.EAN8,
    "qrcode": pyzbar.ZBarSymbol.QRCODE,
}
_ZXING_FORMATS: dict[str, zxingcpp.BarcodeFormat] = {
    "code128": zxingcpp.BarcodeFormat.Code128,
    "code39": zxingcpp.BarcodeFormat.Code39,
    "code93": zxingcpp.BarcodeFormat.Code93,
    "ean13": zxingcpp.BarcodeFormat.EAN13,
    "ean8": zxingcpp.BarcodeFormat.EAN8,
    "qrcode": zxingcpp.BarcodeFormat.QRCode,
    "datamatrix": zxingcpp.BarcodeFormat.DataMatrix,
    "pdf417": zxingcpp.BarcodeFormat.PDF417,
}
SYMBOLOGIES: frozenset[str] = frozenset(_ZXING_FORMATS)
"""Every symbology name :func:`decode_barcodes` accepts."""

# Below this size (longer side, pixels) a 2x up-scaled copy is also tried: narrow bars one pixel
# wide defeat ZBar's edge detector, and up-scaling a small image costs well under a millisecond.
_UPSCALE_BELOW = 800
# Frames read from a multi-page file (TIFF) before giving up.
_MAX_FRAMES = 16


class BarcodeImageError(CounterError, ValueError):
    """The image file is missing, unreadable, truncated or not an image at all.

    ``path`` is the file as given; ``str(error)`` is a message for the user in the UI language.
    """

    def __init__(self, path: Path | None, message: str) -> None:
        super().__init__(message, reason="bad_image")
        self.path = path


def decode_barcodes(
    image: Path | str | os.PathLike[str] | Image.Image,
    *,
    symbologies: Iterable[str] = DEFAULT_SYMBOLOGIES,
) -> list[str]:
    """Decode every barcode in ``image`` and return the texts, deduplicated, in reading order.

    ``image`` is a file path (PNG, TIFF, JPEG, WebP, BMP … anything Pillow opens; every frame of a
    multi-page TIFF is searched) or an already opened ``PIL.Image`` in any mode (transparent
    pixels count as white paper). ``symbologies`` names what to look for, a subset of
    :data:`SYMBOLOGIES` (default :data:`DEFAULT_SYMBOLOGIES`).

    Texts are decoded as UTF-8 (ISO 8859-1 for bytes that are not UTF-8), exactly as encoded:
    no trimming, no case folding. Reading order is top-to-bottom, then left-to-right by each
    symbol's top-left corner. An image without a barcode gives ``[]``.

    Pass one is ZBar (pyzbar) on the grey-scale image, plus a 2x up-scaled copy for images
    smaller than 800 px; pass two, only if pass one found nothing, is zxing-cpp
    (``zxingcpp.read_barcodes``) on the same images.

    Raises :class:`BarcodeImageError` for a missing, unreadable or corrupt image file,
    ValueError for an unknown symbology name and TypeError for an ``image`` of another type.
    Symbologies: Code 128 (GB/T 18347-2001, ISO/IEC 15417), Code 39 (ISO/IEC 16388), QR Code
    (GB/T 18284-2000, ISO/IEC 18004); decoders: ZBar 0.2x via pyzbar, zxing-cpp.
    """
    wanted = tuple(dict.fromkeys(s.lower() for s in symbologies))
    unknown = [s for s in wanted if s not in SYMBOLOGIES]
    if unknown:
        raise ValueError(f"unknown symbologies {unknown}; choose from {sorted(SYMBOLOGIES)}")
    if isinstance(image, Image.Image):
        return _decode_frames([grey(image)], wanted)
    if not isinstance(image, (str, os.PathLike)):
        raise TypeError(f"image must be a path or a PIL.Image, not {type(image).__name__}")
    path = Path(image)
    try:
        with Image.open(path) as opened:
            frames = [grey(frame.copy()) for frame in _frames(opened)]
    except FileNotFoundError as exc:
        raise BarcodeImageError(
            path, _("The image file {path} does not exist.").format(path=path)
        ) from exc
    except IMAGE_ERRORS as exc:
        raise BarcodeImageError(
            path,
            _("The file {path} is not a readable image ({detail}).").format(
                path=path, detail=str(exc) or type(exc).__name__
            ),
        ) from exc
    return _decode_frames(frames, wanted)


def _frames(image: Image.Image) -> Iterator[Image.Image]:
    for index, frame in enumerate(ImageSequence.Iterator(image)):
        if index >= _MAX_FRAMES:
            break
        frame.load()  # a truncated or corrupt file fails here, not later in a decoder
        yield frame


def _variants(image: Image.Image) -> Iterator[Image.Image]:
    yield image
    width, height = image.size
    if 0 < max(width, height) < _UPSCALE_BELOW and min(width, height) > 1:
        yield image.resize((width * 2, height * 2), Image.Resampling.BICUBIC)


def _decode_frames(frames: list[Image.Image], wanted: tuple[str, ...]) -> list[str]:
    zbar_symbols = [_ZBAR_SYMBOLS[s] for s in wanted if s in _ZBAR_SYMBOLS]
    zxing_formats = [_ZXING_FORMATS[s] for s in wanted]
    texts: list[str] = []
    if zbar_symbols:
        for frame in frames:
            texts.extend(_first_hit(frame, functools.partial(_zbar, symbols=zbar_symbols)))
    if not texts and zxing_formats:
        for frame in frames:
            texts.extend(_first_hit(frame, functools.partial(_zxing, formats=zxing_formats)))
    return list(dict.fromkeys(texts))


def _first_hit(frame: Image.Image, decoder) -> list[str]:  # noqa: ANN001
    for variant in _variants(frame):
        found = decoder(variant)
        if found:
            return [text for _pos, text in sorted(found, key=operator.itemgetter(0))]
    return []


def _zbar(
    image: Image.Image, *, symbols: list[pyzbar.ZBarSymbol]
) -> list[tuple[tuple[int, int], str]]:
    if image.width < 2 or image.height < 2:
        return []
    found = []
    for result in pyzbar.decode(image, symbols=symbols):
        found.append(((result.rect.top, result.rect.left), _text(result.data)))
    return found


def _zxing(
    image: Image.Image, *, formats: list[zxingcpp.BarcodeFormat]
) -> list[tuple[tuple[int, int], str]]:
    if image.width < 2 or image.height < 2:
        return []
    found = []
    for result in zxingcpp.read_barcodes(image, formats=_zxing_format_set(tuple(formats))):
        corner = result.position.top_left
        found.append(((corner.y, corner.x), result.text))
    return found


@functools.cache
def _zxing_format_set(formats: tuple[zxingcpp.BarcodeFormat, ...]):  # noqa: ANN202
    # zxing-cpp 3 takes a sequence of formats; version 2 wanted them or-ed together.
    try:
        zxingcpp.read_barcodes(Image.new("L", (8, 8), 255), formats=formats)
    except TypeError:
        return functools.reduce(operator.or_, formats)
    return formats


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")
