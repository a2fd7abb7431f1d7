"""What ``counter-tui certificate verify INPUT`` was given, turned into the text to verify.

INPUT is one of (issue 9, "Verification anyone can do"):

- a certificate PDF: its pages are rendered (pypdfium2, PDFium) and searched for the QR;
- a photo or scan of the paper (PNG, JPEG, TIFF, WebP, BMP, GIF): searched for the QR, with a
  few prepared variants of the picture when the first look finds nothing;
- the QR text itself, as a 2-D scanner types it (``CTC1:…``, perhaps with a trailing Enter);
- the typable verification code (查验码, ``XXXX-XXXX-XXX``, Crockford Base32 with a check
  symbol; :func:`counter_tui.domain.identifiers.normalise_verification_code`).

This module only finds texts; it verifies nothing. A found QR text is returned exactly as
decoded and only when it starts with :data:`~counter_tui.services.certificate_signing.PREFIX`
(``"CTC1:"``): any other QR (a WeChat code, a web address) is never taken for a certificate.
QR codes are read with zxing-cpp restricted to the QR Code symbology (ISO/IEC 18004, GB/T
18284-2000; no Micro QR, no rMQR, no 1-D codes), whose Reed-Solomon error correction rejects a
misread symbol rather than returning wrong text. ZBar (:mod:`counter_tui.services.barcodes`)
is not used: it needs a system library that a verifying office may not have.
"""

from __future__ import annotations

import enum
import logging
import os
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageFilter, ImageOps, ImageSequence

from counter_tui.domain.identifiers import InvalidVerificationCode, normalise_verification_code
from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.services.certificate_signing import PREFIX
from counter_tui.services.images import IMAGE_ERRORS, grey

if TYPE_CHECKING:
    import zxingcpp

log = logging.getLogger(__name__)

PDF_SUFFIXES = frozenset({".pdf"})
"""File name endings taken for a PDF when the file's first bytes do not say (lower case)."""
IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".tif", ".tiff", ".webp", ".bmp", ".gif"}
)
"""File name endings taken for an image when the file's first bytes do not say (lower case)."""

DEFAULT_DPI = 300
"""Resolution at which PDF pages are rendered for the QR search (dots per inch)."""
DEFAULT_MAX_PAGES = 5
"""Pages of a PDF (frames of a multi-page TIFF) searched; a certificate has one or two."""
DEFAULT_BUDGET_SECONDS = 2.0
"""Wall-clock time after which no further picture variant is tried (seconds)."""

# A rendered page is kept below this many pixels (an A4 page at 300 dpi has 8.7 million); a
# PDF with a poster-sized page is rendered at a lower resolution instead of exhausting memory.
_MAX_PAGE_PIXELS = 40_000_000
# The first look at a photo is at most this long (pixels, longer side): a 48-megapixel phone
# photo is shrunk to about 19 megapixels, where a 34 mm QR on an A4 page keeps 5 px a module.
_FIRST_LOOK_MAX_SIDE = 5000
# Long side of the "whole page" variant: an A4 page at about 170 dpi.
_PAGE_SIDE = 2000
# Pictures whose long side is below this are also tried up-scaled 3x (a cropped QR, a thumbnail).
_UPSCALE_BELOW = 1200
# Explicit rotations (degrees, counter-clockwise) tried last and cheaply (about 10 ms each on a
# page). zxing-cpp's QR detector finds symbols at any angle by itself: on the test photos
# (7° and 30°, blur, JPEG) no rotation read what the up-scaled, sharpened page did not; they
# stay as a last resort for a symbol whose finder patterns blur smears along a slanted edge.
_ROTATIONS = (15, 30, 45)
# The most variants tried on one picture, whatever the time budget.
_MAX_VARIANTS = 12


class InputKind(enum.StrEnum):
    """What a ``certificate verify`` argument is (:func:`classify_input`)."""

    PDF = "pdf"
    IMAGE = "image"
    PAYLOAD = "payload"
    CODE = "code"
    UNKNOWN = "unknown"


class CertificateInputError(CounterError):
    """The input cannot be read or holds no certificate.

    ``reason``: ``missing`` (no such file), ``unreadable`` (a corrupt, truncated, encrypted or
    mislabelled file), ``no_certificate`` (readable, but no QR code starting with ``CTC1:``),
    ``bad_code`` (looks like a verification code but its check symbol or length is wrong),
    ``unrecognised`` (neither a file, a QR text nor a verification code). ``path`` is the file
    (None for a typed text); ``str(error)`` is a sentence in the UI language.
    """

    def __init__(self, message: str, *, reason: str, path: Path | None = None) -> None:
        super().__init__(message, reason=reason)
        self.path = path


@dataclass(frozen=True)
class CertificateInput:
    """A ``certificate verify`` argument, read (:func:`read_input`).

    ``kind``: what it was; ``payloads``: the QR texts found (PDF, image) or typed (payload), in
    reading order, deduplicated — empty for a code; ``code``: the normalised verification code
    ``XXXX-XXXX-XXX`` for kind ``code``, else ""; ``path``: the file read, or None.
    """

    kind: InputKind
    payloads: tuple[str, ...] = ()
    code: str = ""
    path: Path | None = None


# --- classification ---------------------------------------------------------------------------


def _sniff(path: str) -> InputKind | None:
    """PDF or image by the file's first bytes, None when they say neither (or unreadable)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError:
        return None
    # "%PDF-" may follow a little junk (ISO 32000-1 §7.5.2 readers allow 1024 bytes); a real
    # certificate file starts with it.
    if head.startswith(b"%PDF"):
        return InputKind.PDF
    if (
        head.startswith(b"\x89PNG\r\n\x1a\n")
        or head.startswith(b"\xff\xd8\xff")  # JPEG (JFIF, Exif)
        or head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # TIFF, BigTIFF
        or (head.startswith(b"RIFF") and head[8:12] == b"WEBP")
        or head.startswith(b"BM")
        or head[:6] in (b"GIF87a", b"GIF89a")
    ):
        return InputKind.IMAGE
    return None


def _by_suffix(path: str) -> InputKind | None:
    suffix = os.path.splitext(path)[1].lower()
    if suffix in PDF_SUFFIXES:
        return InputKind.PDF
    if suffix in IMAGE_SUFFIXES:
        return InputKind.IMAGE
    return None


def _looks_like_payload(text: str) -> bool:
    return text.strip().upper().startswith(PREFIX)


def _code_symbols(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text)  # full-width letters and digits from an IME
    return "".join(ch for ch in folded if not ch.isspace() and ch not in "-\u2010\u2011\u2212")


def _looks_like_code(text: str) -> bool:
    """11 letters and digits once spaces and hyphens are gone (the shape of a 查验码, checked
    or not)."""
    symbols = _code_symbols(text)
    return len(symbols) == 11 and symbols.isascii() and symbols.isalnum()


def classify_input(arg: str) -> InputKind:
    """What the ``certificate verify`` argument ``arg`` is, without reading more than a file's
    first 16 bytes.

    In this order: an existing file whose first bytes are ``%PDF`` → ``pdf``; an existing file
    that starts like a PNG, JPEG, TIFF, WebP, BMP or GIF → ``image``; any other existing file
    by its name's ending (``.pdf`` → ``pdf``; ``.png .jpg .jpeg .tif .tiff .webp .bmp .gif`` →
    ``image``; so that reading it reports it unreadable) or else ``unknown``. A text that starts
    with ``CTC1:`` in any case, blanks and line ends around it allowed (a 2-D scanner types the
    QR text and Enter) → ``payload``. A text that is a valid verification code
    (:func:`~counter_tui.domain.identifiers.normalise_verification_code`: 11 Crockford Base32
    symbols, hyphens and spaces anywhere) → ``code``; 11 letters and digits with a wrong check
    symbol are a mistyped code and also ``code`` (reading it says so). A path that does not
    exist but ends like a PDF or an image → that kind (reading it says it is missing).
    Anything else → ``unknown``. Never raises.
    """
    if not isinstance(arg, str) or not arg.strip():
        return InputKind.UNKNOWN
    if os.path.isfile(arg):  # False (not an error) for texts too long or odd to be a path
        return _sniff(arg) or _by_suffix(arg) or InputKind.UNKNOWN
    if _looks_like_payload(arg):
        return InputKind.PAYLOAD
    try:
        normalise_verification_code(arg)
    except InvalidVerificationCode:
        if _looks_like_code(arg):
            return InputKind.CODE
    else:
        return InputKind.CODE
    return _by_suffix(arg.strip()) or InputKind.UNKNOWN


# --- QR search --------------------------------------------------------------------------------


@dataclass
class _Found:
    payloads: list[str]
    others: int  # QR codes read that are not certificates


def _qr_texts(image: Image.Image, binarizer: zxingcpp.Binarizer | None = None) -> list[str]:
    """Every QR text zxing-cpp reads in ``image`` (8-bit grey), top to bottom, left to right."""
    import zxingcpp  # only when a certificate is read (not at the app's start)

    if image.width < 21 or image.height < 21:  # smaller than a version-1 QR at 1 px a module
        return []
    options = {"binarizer": binarizer} if binarizer is not None else {}
    results = zxingcpp.read_barcodes(
        image,
        formats=zxingcpp.BarcodeFormat.QRCode,
        try_rotate=True,
        try_downscale=True,
        try_invert=True,
        **options,
    )
    placed = []
    for result in results:
        if result.format != zxingcpp.BarcodeFormat.QRCode or not result.valid:
            continue
        corner = result.position.top_left
        placed.append(((corner.y, corner.x), result.text))
    return [text for _where, text in sorted(placed, key=lambda item: item[0])]


def _sort_out(texts: list[str], found: _Found) -> bool:
    """Add certificate texts in ``texts`` to ``found``; True when there was one."""
    hit = False
    for text in texts:
        if text.startswith(PREFIX):
            hit = True
            if text not in found.payloads:
                found.payloads.append(text)
        else:
            found.others += 1
    return hit


def _resize_long_side(image: Image.Image, side: int) -> Image.Image:
    width, height = image.size
    scale = side / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resample = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC
    return image.resize(size, resample, reducing_gap=3.0 if scale < 0.5 else None)


def _sharpened(image: Image.Image, radius: float = 2, percent: int = 160) -> Image.Image:
    return image.filter(ImageFilter.UnsharpMask(radius=radius, percent=percent, threshold=0))


def _variants(image: Image.Image) -> Iterator[tuple[str, Image.Image, zxingcpp.Binarizer | None]]:
    """Pictures to search, likeliest first, each built only when asked for."""
    import zxingcpp

    long_side = max(image.size)
    base = image
    if long_side > _FIRST_LOOK_MAX_SIDE:
        base = _resize_long_side(image, _FIRST_LOOK_MAX_SIDE)
    yield "as is", base, None
    page = base
    if long_side > _PAGE_SIDE * 1.3:
        page = _resize_long_side(image, _PAGE_SIDE)
        yield f"{_PAGE_SIDE} px", page, None
    yield "contrast, sharpened", _sharpened(ImageOps.autocontrast(page, cutoff=1)), None
    # Measured on a 150 dpi page photo (2.7 px a QR module, blur, JPEG): up-scaling before
    # sharpening recovers modules that sharpening at the original size merges. A large photo
    # is sharpened at its own (first-look) size instead.
    if page is base:
        larger = page.resize((page.width * 2, page.height * 2), Image.Resampling.BICUBIC)
        yield "2x sharpened", _sharpened(larger, 3, 200), None
        del larger
    else:
        yield "sharpened", _sharpened(base, 3, 200), None
    if max(page.size) < _UPSCALE_BELOW:
        larger = page.resize((page.width * 3, page.height * 3), Image.Resampling.BICUBIC)
        yield "3x sharpened", _sharpened(larger, 4, 200), None
        del larger
    yield "global threshold", page, zxingcpp.Binarizer.GlobalHistogram
    if max(page.size) > 1400:
        yield "1000 px", _resize_long_side(page, 1000), None
    for angle in _ROTATIONS:
        rotated = page.rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=255)
        yield f"rotated {angle}°", rotated, None


def _search(image: Image.Image, found: _Found, deadline: float, *, thorough: bool) -> bool:
    """Search ``image`` (8-bit grey); with ``thorough``, try :func:`_variants` until one holds a
    certificate, :data:`_MAX_VARIANTS` were tried or ``deadline`` (time.monotonic) passed — the
    first look always runs. True when a certificate text was found."""
    variants = _variants(image) if thorough else iter([("as is", image, None)])
    for tried, (name, variant, binarizer) in enumerate(variants):
        if tried and (tried >= _MAX_VARIANTS or time.monotonic() > deadline):
            log.debug("QR search stopped after %d variants", tried)
            return False
        start = time.perf_counter()
        hit = _sort_out(_qr_texts(variant, binarizer), found)
        log.debug(
            "QR search %s %dx%d: %s in %.0f ms",
            name,
            variant.width,
            variant.height,
            "certificate" if hit else "nothing",
            (time.perf_counter() - start) * 1000,
        )
        if hit:
            return True
    return False


# --- files ------------------------------------------------------------------------------------


def _missing(path: Path) -> CertificateInputError:
    return CertificateInputError(
        _("The file {path} does not exist.").format(path=path), reason="missing", path=path
    )


def _open_image_frames(path: Path, max_frames: int) -> list[Image.Image]:
    try:
        with Image.open(path) as opened:
            frames = []
            for index, frame in enumerate(ImageSequence.Iterator(opened)):
                if index >= max_frames:
                    break
                frame.load()  # a truncated or corrupt file fails here
                try:
                    upright = ImageOps.exif_transpose(frame)  # always a new image
                except Exception:  # noqa: BLE001 - a damaged EXIF block: keep the pixels
                    upright = frame.copy()
                frames.append(grey(upright))
            return frames
    except FileNotFoundError as exc:
        raise _missing(path) from exc
    except IsADirectoryError as exc:
        raise CertificateInputError(
            _("{path} is a folder, not a file.").format(path=path), reason="unreadable", path=path
        ) from exc
    except IMAGE_ERRORS as exc:
        raise CertificateInputError(
            _(
                "The file {path} is not a readable image ({detail}). Scan or photograph the "
                "certificate again and save it as PNG or JPEG."
            ).format(path=path, detail=(str(exc) or type(exc).__name__).rstrip(". ")),
            reason="unreadable",
            path=path,
        ) from exc


def payloads_from_image(
    path: Path | str | os.PathLike[str],
    *,
    budget_seconds: float = DEFAULT_BUDGET_SECONDS,
    max_frames: int = DEFAULT_MAX_PAGES,
) -> list[str]:
    """The certificate QR texts (``CTC1:…``) in a photo or scan of the paper, in reading order.

    ``path``: an image file Pillow opens (PNG, JPEG, TIFF — the first ``max_frames`` frames of a
    multi-page TIFF —, WebP, BMP, GIF), in any mode; the EXIF orientation of a phone photo is
    applied (``ImageOps.exif_transpose``) and the picture turned 8-bit grey (transparent pixels
    count as white paper).

    Each frame is searched with zxing-cpp (QR Code only; any angle, inverted, down-scaled
    copies; photos larger than 5000 px on their longer side are first shrunk to 5000 px). When
    nothing starting with ``CTC1:`` is found, prepared variants are tried in turn: the picture
    at 2000 px on its longer side (photos larger than 2600 px; "the page"); the page
    contrast-stretched (1 % cut) and unsharp-masked; the page up-scaled 2x (bicubic) and
    sharpened — or, for a photo larger than 2600 px, the first-look picture sharpened; the page
    up-scaled 3x and sharpened (pages under 1200 px); zxing-cpp's global-histogram binarizer on
    the page; the page at 1000 px (pages over 1400 px); the page turned by 15°, 30° and 45°.
    The search stops at the first variant that yields a certificate text, after 12 pictures,
    or once ``budget_seconds`` (wall clock, default 2 s) have passed — checked before each
    variant, so the first look always runs and one variant may overrun.

    Texts are returned exactly as decoded, deduplicated; a QR code holding anything else is
    ignored, so a picture without a certificate gives ``[]``. Raises
    :class:`CertificateInputError` ``missing`` (no such file) or ``unreadable`` (not an image,
    truncated, corrupt, a folder, more than Pillow's decompression-bomb limit of pixels).
    Sources: ISO/IEC 18004 (QR Code), zxing-cpp, Pillow.
    """
    return list(_image_found(Path(path), budget_seconds, max_frames).payloads)


def _image_found(path: Path, budget_seconds: float, max_frames: int) -> _Found:
    deadline = time.monotonic() + budget_seconds
    frames = _open_image_frames(path, max(1, max_frames))
    found = _Found([], 0)
    for frame in frames:
        _search(frame, found, deadline, thorough=True)
    return found


def _unreadable_pdf(path: Path, exc: BaseException) -> CertificateInputError:
    detail = (str(exc) or type(exc).__name__).rstrip(". ")
    if "password" in detail.lower():
        message = _(
            "The PDF {path} is password-protected. Verify a photo of the printed certificate, "
            "its QR text or its verification code instead."
        ).format(path=path)
    else:
        message = _(
            "The file {path} is not a readable PDF ({detail}). Verify a photo of the printed "
            "certificate, its QR text or its verification code instead."
        ).format(path=path, detail=detail)
    return CertificateInputError(message, reason="unreadable", path=path)


def _render_pages(path: Path, dpi: float, max_pages: int) -> list[Image.Image]:
    import pypdfium2 as pdfium  # only when a PDF is read

    if not path.exists():
        raise _missing(path)
    if path.is_dir():
        raise CertificateInputError(
            _("{path} is a folder, not a file.").format(path=path), reason="unreadable", path=path
        )
    try:
        document = pdfium.PdfDocument(path)
    except (pdfium.PdfiumError, OSError, ValueError) as exc:
        raise _unreadable_pdf(path, exc) from exc
    pages = []
    try:
        for index in range(min(len(document), max(1, max_pages))):
            page = document[index]
            try:
                width, height = page.get_size()  # PDF points, 1/72 inch
                scale = dpi / 72
                if width * height * scale * scale > _MAX_PAGE_PIXELS:
                    scale = (_MAX_PAGE_PIXELS / (width * height)) ** 0.5
                bitmap = page.render(scale=scale, grayscale=True)
                pages.append(grey(bitmap.to_pil()))
            finally:
                page.close()
    except (pdfium.PdfiumError, OSError, ValueError) as exc:
        raise _unreadable_pdf(path, exc) from exc
    finally:
        document.close()
    return pages


def payloads_from_pdf(
    path: Path | str | os.PathLike[str],
    *,
    dpi: float = DEFAULT_DPI,
    max_pages: int = DEFAULT_MAX_PAGES,
    budget_seconds: float = DEFAULT_BUDGET_SECONDS,
) -> list[str]:
    """The certificate QR texts (``CTC1:…``) in a PDF, in page order (top to bottom on a page).

    The first ``max_pages`` pages are rendered with pypdfium2 (PDFium) at ``dpi`` dots per inch
    (default 300; a page that would exceed 40 million pixels is rendered at a lower resolution),
    grey, and each is searched with zxing-cpp (QR Code only, any angle, down-scaled copies).
    Only when no page holds a certificate text are the pages searched again with the picture
    variants of :func:`payloads_from_image` (a PDF made from a phone photo), within
    ``budget_seconds`` (wall clock, default 2 s) in all.

    Texts are returned exactly as decoded, deduplicated; QR codes holding anything else are
    ignored, so a PDF without a certificate QR gives ``[]``. Raises
    :class:`CertificateInputError` ``missing`` (no such file) or ``unreadable`` (not a PDF,
    corrupt, truncated, password-protected, a folder). Sources: ISO 32000 (PDF) through PDFium,
    ISO/IEC 18004 (QR Code), zxing-cpp.
    """
    return list(_pdf_found(Path(path), dpi, max_pages, budget_seconds).payloads)


def _pdf_found(path: Path, dpi: float, max_pages: int, budget_seconds: float) -> _Found:
    deadline = time.monotonic() + budget_seconds
    pages = _render_pages(path, dpi, max_pages)
    found = _Found([], 0)
    for page in pages:
        _search(page, found, deadline, thorough=False)
    if not found.payloads:
        for page in pages:
            if time.monotonic() > deadline:
                break
            _search(page, found, deadline, thorough=True)
    return found


# --- the CLI argument -------------------------------------------------------------------------


def read_input(
    arg: str,
    *,
    dpi: float = DEFAULT_DPI,
    max_pages: int = DEFAULT_MAX_PAGES,
    budget_seconds: float = DEFAULT_BUDGET_SECONDS,
) -> CertificateInput:
    """Read the ``certificate verify`` argument ``arg`` (:func:`classify_input`) into what to
    verify.

    - ``pdf`` / ``image``: the certificate QR texts found (:func:`payloads_from_pdf`,
      :func:`payloads_from_image`; ``dpi``, ``max_pages``, ``budget_seconds`` are passed on),
      at least one;
    - ``payload``: the typed text without the blanks and line ends around it, upper-cased
      (Base45, RFC 9285, has no lower case: a scanner typing with Caps Lock on loses nothing);
    - ``code``: the code in its printed form ``XXXX-XXXX-XXX``.

    Raises :class:`CertificateInputError`: ``missing``, ``unreadable`` (as the readers do),
    ``no_certificate`` (a readable PDF or image without a ``CTC1:`` QR code), ``bad_code`` (a
    verification code with a wrong check symbol), ``unrecognised`` (anything else).
    """
    kind = classify_input(arg)
    if kind is InputKind.PAYLOAD:
        return CertificateInput(kind, payloads=(arg.strip().upper(),))
    if kind is InputKind.CODE:
        try:
            code = normalise_verification_code(arg)
        except InvalidVerificationCode as exc:
            raise CertificateInputError(
                _(
                    "{code} is not a valid verification code: a letter or digit is wrong. "
                    "Check it against the certificate (11 characters, e.g. SVGX-6R0M-542)."
                ).format(code=arg.strip()),
                reason="bad_code",
            ) from exc
        return CertificateInput(kind, code=code)
    if kind is InputKind.UNKNOWN and os.path.isdir(arg):
        raise CertificateInputError(
            _("{path} is a folder; give the certificate's file.").format(path=_shorten(arg)),
            reason="unreadable",
        )
    if kind is InputKind.UNKNOWN and os.sep in arg.strip() and not os.path.exists(arg.strip()):
        raise CertificateInputError(
            _("There is no file {path}.").format(path=_shorten(arg)), reason="missing"
        )
    if kind is InputKind.UNKNOWN:
        raise CertificateInputError(
            _(
                "{arg} is neither a certificate file (PDF, PNG, JPEG), a QR text starting with "
                "CTC1: nor a verification code such as SVGX-6R0M-542."
            ).format(arg=_shorten(arg)),
            reason="unrecognised",
        )
    path = Path(arg if os.path.exists(arg) else arg.strip())
    if kind is InputKind.PDF:
        found = _pdf_found(path, dpi, max_pages, budget_seconds)
    else:
        found = _image_found(path, budget_seconds, max_pages)
    if not found.payloads:
        if found.others:
            message = _(
                "{path} holds a QR code, but not a certificate's. Verify the QR code beside "
                "the verification code on the certificate."
            )
        else:
            message = _(
                "No certificate QR code was found in {path}. Scan or photograph the whole "
                "certificate flat and in focus, or type the verification code printed beside "
                "the QR code."
            )
        raise CertificateInputError(message.format(path=path), reason="no_certificate", path=path)
    return CertificateInput(kind, payloads=tuple(found.payloads), path=path)


def _shorten(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
