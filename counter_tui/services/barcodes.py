"""Reading barcodes from page images: dossier covers, box labels, certificates, slips.

A read is trusted only when it can be: two decoders (zxing-cpp and ZBar through pyzbar) are
asked about every page, and a code is **accepted** when

* both decoders read the same text there, or
* one decoder reads it, the other finds nothing there, and the text passes the caller's
  validity check (``validate``; the default refuses control characters and empty text).

Two decoders reading different text at the same place is a **disagreement**: nothing is
accepted there, the file gets a review reason. So is a single read failing ``validate``.

How texts are made comparable (the rules, deliberately):

* Code 39 full ASCII (ISO/IEC 16388 Annex; ``+A+B`` is ``ab``): zxing-cpp 3 resolves it itself
  (format Code39Ext) whenever every ``$ % / +`` pair is a valid full-ASCII pair; ZBar returns the
  raw characters, which are resolved by the same rule here.
* Code 128 extended characters (FNC4, ISO/IEC 15417 §4.3.4.2, Latin-1 128–255): zxing-cpp
  decodes them; ZBar drops FNC4 and returns the character minus 128. A ZBar text equal to the
  zxing-cpp text with every character reduced modulo 128 counts as agreement (the bars are the
  same) and the zxing-cpp text is kept; a ZBar-only Code 128 read is taken as it is.
* QR Code / Data Matrix / PDF417 text: zxing-cpp gives the bytes and whether an ECI was
  present. With an ECI the ECI's character set is used. Without one, bytes that are valid UTF-8
  are UTF-8 (ASCII included). Otherwise zxing-cpp guesses between ISO-8859-1 and Shift_JIS
  only; GB 18030 text — what Chinese software writes without an ECI — then comes out as
  half-width katakana or C1 controls, so when the guess contains those and the bytes are valid
  GB 18030, GB 18030 is used. ZBar guesses too (UTF-8, Shift_JIS, Big5, ISO-8859-1 …) and
  gives only its converted text: it agrees when its text, encoded back in one of those
  character sets, gives the same bytes. A ZBar-only 2-D read with non-ASCII text goes to review
  (its character set is a guess nobody can check).

Passes over each page (8-bit grey; transparency onto white, 16-bit scaled, CMYK and palette
converted): both decoders on the page (zxing-cpp also tries 90° rotations, inversion and
down-scaling itself); if neither finds anything, ZBar on the inverted page, a 2x up-scaled copy
of a small page, then the page rotated by 15°, 30°, 45°, 60° and 75° (with the decoders' own
90° search this covers every angle in 15° steps); a code read by one decoder only is then shown
to the other decoder cropped, up-scaled and inverted. Positions are always given in the
original page's pixels.

Every frame of a multi-page TIFF and every page of a PDF (rendered with pypdfium2 at 300 dpi)
is searched within a time budget and a pixel budget per page. :func:`read_files` runs each file
in a worker process (:mod:`counter_tui.services.barcode_worker`) that is killed when it
overruns, so a decompression bomb or a hanging decoder costs one file, never the batch.

Only the symbologies met at a personnel-archive counter are enabled by default (Code 128 —
GB/T 18347 — Code 39, Code 93, EAN-13/EAN-8, QR Code, Data Matrix, PDF417). Leaving out ITF,
Codabar, UPC-E, DataBar and Micro QR keeps pictures of printed text and textures from
"decoding" into short false numbers.
"""

from __future__ import annotations

import logging
import math
import os
import time
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import zxingcpp
from PIL import Image, ImageOps, ImageSequence
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
"""Symbologies searched unless told otherwise (lower-case names of :data:`SYMBOLOGIES`)."""

DEFAULT_TIME_BUDGET_S = 30.0
"""Seconds one file may take (all its pages and passes) before the search stops."""
DEFAULT_MAX_PIXELS = 80_000_000
"""Pixels one page may have (width × height); an A3 page at 600 dpi has 70 million."""
DEFAULT_PDF_DPI = 300
"""Resolution PDF pages are rendered at, dots per inch (DA/T 31-2017 asks ≥ 200 dpi)."""

# Canonical format names (what CodeRead.format carries), per symbology option name.
FORMAT_NAMES: dict[str, str] = {
    "code128": "Code128",
    "code39": "Code39",
    "code93": "Code93",
    "ean13": "EAN13",
    "ean8": "EAN8",
    "qrcode": "QRCode",
    "datamatrix": "DataMatrix",
    "pdf417": "PDF417",
}
SYMBOLOGIES: frozenset[str] = frozenset(FORMAT_NAMES)
"""Every symbology name the reader accepts."""

_TWO_D = frozenset({"QRCode", "DataMatrix", "PDF417"})

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
_ZBAR_FORMATS = {
    "CODE128": "Code128",
    "CODE39": "Code39",
    "CODE93": "Code93",
    "EAN13": "EAN13",
    "EAN8": "EAN8",
    "QRCODE": "QRCode",
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

# Below this size (longer side, pixels) a 2x up-scaled copy is tried when nothing was found:
# narrow bars one pixel wide defeat ZBar's edge detector (a 100 dpi A4 page is 1169 px high).
_UPSCALE_BELOW = 2400
# Rotation passes (degrees, counter-clockwise); the decoders search 90° steps themselves.
_ROTATIONS = (15, 30, 45, 60, 75)
# Characters ZBar may have converted a 2-D code's bytes from (its own guess).
_ZBAR_CHARSETS = ("utf-8", "shift_jis", "big5", "iso-8859-1", "gb18030", "euc-kr")

ERROR_CODES = (
    "missing",
    "folder",
    "unreadable",
    "empty",
    "truncated",
    "damaged",
    "not_image",
    "unsupported",
    "too_many_pixels",
    "timeout",
    "decoder_crashed",
    "out_of_memory",
)
"""Stable codes of :attr:`FileRead.error_code`."""


class BarcodeImageError(CounterError, ValueError):
    """The image file is missing, unreadable, truncated or not an image at all.

    ``path`` is the file as given; ``str(error)`` is a message for the user in the UI language;
    ``reason`` is one of :data:`ERROR_CODES`.
    """

    def __init__(self, path: Path | None, message: str, reason: str = "damaged") -> None:
        super().__init__(message, reason=reason)
        self.path = path


@dataclass(frozen=True)
class CodeRead:
    """One accepted code.

    ``text``: decoded text (Code 39 full ASCII and Code 128 extended characters resolved, 2-D
    text in the character set chosen by the rules in the module docstring); ``format``: a
    :data:`FORMAT_NAMES` value such as ``"Code128"``; ``page``: 1-based PDF page or TIFF frame
    (1 for single images); ``position``: ``(x, y, width, height)`` in pixels of that page as
    stored (PDF pages: as rendered), whatever rotation or scaling found it; ``decoders``: which
    decoders read exactly this text (``"zxing"``, ``"zbar"``).
    """

    text: str
    format: str
    page: int
    position: tuple[int, int, int, int]
    decoders: tuple[str, ...]


@dataclass(frozen=True)
class FileRead:
    """What :func:`read_file` found in one file.

    ``codes``: accepted reads in reading order (page, top, left); ``review``: reasons, in the UI
    language, for reads not accepted (disagreement, a single read failing the check, an
    unsure character set, pages not searched for lack of time); ``error`` / ``error_code``: why
    the file could not be read at all (``error_code`` one of :data:`ERROR_CODES`), else None;
    ``pages``: pages or frames searched; ``seconds``: time spent.
    """

    path: Path
    codes: tuple[CodeRead, ...] = ()
    review: tuple[str, ...] = ()
    error: str | None = None
    error_code: str | None = None
    pages: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the file could be read (with or without codes)."""
        return self.error_code is None


@dataclass(frozen=True)
class CoverNumber:
    """The dossier number on a cover, or why there is none.

    ``number``: the dossier number, or None; ``reason_code``: ``ok``, ``no_code``,
    ``several_numbers``, ``disagreement``, ``not_a_dossier_no``, ``unreadable``;
    ``message``: a sentence for the archivist (UI language), "" when ``ok``.
    """

    number: str | None
    reason_code: str
    message: str


@dataclass(frozen=True)
class RawRead:
    """What one decoder reports in one image (used by the chain and injectable decoders).

    ``text``: normalised text; ``format``: a :data:`FORMAT_NAMES` value; ``raw``: the bytes as
    encoded when the decoder knows them (else the text in UTF-8); ``polygon``: corner points in
    that image's pixels; ``note``: a review reason when the text is not to be trusted alone;
    ``eci``: the symbol named its character set (an ECI), so the text is certain.
    """

    text: str
    format: str
    raw: bytes
    polygon: tuple[tuple[float, float], ...]
    note: str = ""
    eci: bool = False


Decoder = Callable[[Image.Image, frozenset[str]], list[RawRead]]
"""A decoder: (8-bit grey image, wanted symbology names) → its reads in that image."""


# --- the decoders ---------------------------------------------------------------------------


def zxing_decode(image: Image.Image, symbologies: frozenset[str]) -> list[RawRead]:
    """zxing-cpp 3 (``zxingcpp.read_barcodes``) on an 8-bit grey image: rotations by 90°,
    inversion and down-scaling searched; text as plain Unicode, 2-D character sets chosen by
    the module's rules."""
    formats = [_ZXING_FORMATS[s] for s in sorted(symbologies) if s in _ZXING_FORMATS]
    if not formats or image.width < 2 or image.height < 2:
        return []
    results = zxingcpp.read_barcodes(image, formats=formats, text_mode=zxingcpp.TextMode.Plain)
    reads = []
    eci_flags: list[bool] | None = None
    for index, result in enumerate(results):
        name = _zxing_format_name(result.format)
        if name is None:
            continue
        raw = bytes(result.bytes)
        text = result.text
        note = ""
        if name in _TWO_D and not _is_utf8(raw):
            if eci_flags is None:
                eci_flags = _zxing_eci_flags(image, formats, len(results))
            has_eci = eci_flags[index] if index < len(eci_flags) else False
            if not has_eci:
                text = _guess_2d_text(raw, text)
            else:
                reads.append(RawRead(text, name, raw, _corners(result.position), note, eci=True))
                continue
        elif name in _TWO_D:
            text = raw.decode("utf-8")
        reads.append(RawRead(text, name, raw, _corners(result.position), note))
    return reads


def _corners(p: zxingcpp.Position) -> tuple[tuple[float, float], ...]:
    return tuple(
        (float(pt.x), float(pt.y))
        for pt in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)
    )


def zbar_decode(image: Image.Image, symbologies: frozenset[str]) -> list[RawRead]:
    """ZBar through pyzbar on an 8-bit grey image (no inversion, no rotation beyond its
    horizontal and vertical scan lines). Code 39 full ASCII is resolved here; ZBar converts
    2-D bytes to UTF-8 by its own guess, so ``raw`` is that UTF-8."""
    symbols = [_ZBAR_SYMBOLS[s] for s in sorted(symbologies) if s in _ZBAR_SYMBOLS]
    if not symbols or image.width < 2 or image.height < 2:
        return []
    reads = []
    for result in pyzbar.decode(image, symbols=symbols):
        name = _ZBAR_FORMATS.get(result.type)
        if name is None:
            continue
        data = bytes(result.data)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        note = ""
        if name == "Code39":
            text = code39_full_ascii(text) or text
        if name in _TWO_D and not text.isascii():
            note = _("ZBar alone read a QR code whose character set it had to guess")
        polygon = tuple((float(pt.x), float(pt.y)) for pt in result.polygon) or (
            (float(result.rect.left), float(result.rect.top)),
            (
                float(result.rect.left + result.rect.width),
                float(result.rect.top + result.rect.height),
            ),
        )
        reads.append(RawRead(text, name, data, polygon, note))
    return reads


DEFAULT_DECODERS: Mapping[str, Decoder] = {"zxing": zxing_decode, "zbar": zbar_decode}
"""The decoder chain: names are those :attr:`CodeRead.decoders` carries."""


def _zxing_format_name(fmt: zxingcpp.BarcodeFormat) -> str | None:
    name = getattr(fmt, "name", str(fmt)).rsplit(".", 1)[-1]
    if name.startswith("Code39"):
        return "Code39"
    if name == "Code32":  # Italian pharmacode: Code 39 bars, base-32 digits
        return "Code32"
    if name.startswith("QRCode"):
        return "QRCode"
    return name if name in FORMAT_NAMES.values() else None


def _zxing_eci_flags(image: Image.Image, formats: list, count: int) -> list[bool]:
    # The symbology identifier modifier ]Q2 / ]d2 / ]L1 says an ECI was present; zxing-cpp only
    # shows it in the HexECI text mode. Results come back in the same order.
    again = zxingcpp.read_barcodes(image, formats=formats, text_mode=zxingcpp.TextMode.HexECI)
    flags = []
    for result in again[:count]:
        head = bytes.fromhex(result.text[:9].replace(" ", "")) if result.text else b""
        flags.append(head in (b"]Q2", b"]Q4", b"]Q6", b"]d4", b"]d5", b"]d6", b"]L1"))
    return flags


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_VOICED = "ｳｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾊﾋﾌﾍﾎ"
_SEMI_VOICED = "ﾊﾋﾌﾍﾎ"


def _guess_2d_text(raw: bytes, zxing_text: str) -> str:
    """2-D bytes without ECI that are not UTF-8 (module docstring, rule 3).

    zxing-cpp guesses ISO-8859-1 or Shift_JIS. When its guess is only ASCII, Latin-1 and
    half-width katakana, and the bytes read as GB 2312 level-1 hanzi (the 3,755 common ones) and
    Chinese punctuation only, GB 18030 is taken — unless the katakana carry a voiced sound mark
    where Japanese puts one (``ﾃﾞ``, ``ﾊﾟ``), the sign of real half-width Japanese."""
    if not all(
        c.isascii() or "\x80" <= c <= "\xff" or "\uff61" <= c <= "\uff9f" for c in zxing_text
    ):
        return zxing_text
    try:
        chinese = raw.decode("gb18030")
    except UnicodeDecodeError:
        return zxing_text
    for char in chinese:
        if char.isascii():
            continue
        try:
            lead, trail = char.encode("gb2312")
        except (UnicodeEncodeError, ValueError):
            return zxing_text
        if not (0xB0 <= lead <= 0xD7 or 0xA1 <= lead <= 0xA3) or trail < 0xA1:
            return zxing_text
    for before, mark in zip(zxing_text, zxing_text[1:], strict=False):
        if (mark == "ﾞ" and before in _VOICED) or (mark == "ﾟ" and before in _SEMI_VOICED):
            return zxing_text
    return chinese


_CODE39_PERCENT = {
    **{chr(ord("A") + i): chr(0x1B + i) for i in range(5)},  # %A–%E → ESC FS GS RS US
    **{chr(ord("F") + i): ";<=>?"[i] for i in range(5)},
    **{chr(ord("K") + i): "[\\]^_"[i] for i in range(5)},
    **{chr(ord("P") + i): "{|}~\x7f"[i] for i in range(5)},
    "U": "\x00",
    "V": "@",
    "W": "`",
    "X": "\x7f",
    "Y": "\x7f",
    "Z": "\x7f",
}


def code39_full_ascii(text: str) -> str | None:
    """``text`` read as Code 39 full ASCII (ISO/IEC 16388:2007 Annex F: ``+A`` → ``a``, ``$A`` →
    SOH, ``%U`` → NUL, ``/A`` → ``!`` …), or None when it holds no shift pair or an invalid one
    (then it is plain Code 39). The rule zxing-cpp 3 applies for its Code39Ext format."""
    if not any(c in "$%/+" for c in text):
        return None
    out = []
    chars = iter(text)
    for c in chars:
        if c not in "$%/+":
            out.append(c)
            continue
        nxt = next(chars, "")
        if not ("A" <= nxt <= "Z"):
            return None
        if c == "+":
            out.append(nxt.lower())
        elif c == "$":
            out.append(chr(ord(nxt) - 64))
        elif c == "%":
            out.append(_CODE39_PERCENT[nxt])
        elif "A" <= nxt <= "O":
            out.append(chr(ord(nxt) - 32))
        elif nxt == "Z":
            out.append(":")
        else:
            return None
    return "".join(out)


def code32_text(code39: str) -> str | None:
    """The Code 32 (Italian pharmacode) reading of a raw Code 39 text — six base-32 characters
    giving nine digits, shown after an ``A`` as zxing-cpp does — or None when it is not one."""
    alphabet = "0123456789BCDFGHJKLMNPQRSTUVWXYZ"
    if len(code39) != 6 or any(c not in alphabet for c in code39):
        return None
    value = 0
    for c in code39:
        value = value * 32 + alphabet.index(c)
    return f"A{value:09d}" if value < 10**9 else None


def _family(fmt: str) -> str:
    return "Code39" if fmt == "Code32" else fmt


def _same_code(zxing: RawRead, zbar: RawRead) -> bool:
    """Whether a zxing-cpp read and a ZBar read of the same symbology say the same thing."""
    if _family(zxing.format) != _family(zbar.format):
        return False
    if zxing.text == zbar.text:
        return True
    if zxing.format == "Code32":
        return code32_text(zbar.text) == zxing.text
    if zxing.format == "Code128" and any(ord(c) > 127 for c in zxing.text):
        return "".join(chr(ord(c) & 0x7F) for c in zxing.text) == zbar.text
    if zxing.format in _TWO_D:
        for charset in _ZBAR_CHARSETS:
            try:
                if zbar.text.encode(charset) == zxing.raw:
                    return True
            except UnicodeEncodeError:
                continue
    return False


def default_validate(text: str) -> bool:
    """The check a single decoder's read must pass when the caller gives none: non-empty, no
    control characters other than tab, CR and LF, no replacement character U+FFFD."""
    if not text or "\ufffd" in text:
        return False
    return all(c in "\t\r\n" or unicodedata.category(c) != "Cc" for c in text)


# --- images and pages -----------------------------------------------------------------------


class _Stop(Exception):
    """The file cannot be read: carries (error_code, message, detail for the log)."""

    def __init__(self, code: str, message: str, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.detail = detail


def _error_message(code: str, path: Path, detail: str = "") -> str:
    # A name that is not valid UTF-8 (surrogate escapes) is shown with \xNN escapes.
    name = os.fsencode(path.name or str(path)).decode("utf-8", "backslashreplace")
    messages = {
        "missing": _("The file {file} does not exist."),
        "folder": _("{file} is a folder, not an image file."),
        "unreadable": _("The file {file} cannot be opened (no permission or a disk error)."),
        "empty": _("The file {file} is empty (0 bytes)."),
        "truncated": _("The file {file} is cut short (truncated); scan or copy it again."),
        "damaged": _("The file {file} is damaged and cannot be decoded."),
        "not_image": _("The file {file} is not an image file."),
        "unsupported": _(
            "The file {file} uses an image format or compression this reader does not support."
        ),
        "too_many_pixels": _(
            "The file {file} has too many pixels ({detail}); it exceeds the pixel budget."
        ),
        "timeout": _("Reading {file} took longer than the time budget ({detail})."),
        "decoder_crashed": _("The barcode decoder crashed on {file}."),
        "out_of_memory": _("Reading {file} needed more memory than allowed."),
    }
    return messages.get(code, messages["damaged"]).format(file=name, detail=detail)


def _classify(exc: BaseException) -> str:
    """An error code for what Pillow or pypdfium2 raised while opening or loading."""
    text = str(exc).lower()
    if isinstance(exc, Image.DecompressionBombError):
        return "too_many_pixels"
    if isinstance(exc, MemoryError):
        return "out_of_memory"
    if isinstance(exc, EOFError) or "truncated" in text or "premature end" in text:
        return "truncated"
    if "cannot identify image file" in text:
        return "not_image"
    if "not available" in text or "unsupported" in text or "unknown" in text:
        return "unsupported"
    return "damaged"


@dataclass
class _Budget:
    deadline: float
    max_pixels: int
    seconds: float

    def left(self) -> float:
        return self.deadline - time.monotonic()


def _pages(path: Path, budget: _Budget, pdf_dpi: int) -> Iterator[Image.Image]:
    """The pages of ``path`` as 8-bit grey images, one at a time (memory stays one page)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise _Stop("missing", _error_message("missing", path), str(exc)) from exc
    except OSError as exc:
        raise _Stop("unreadable", _error_message("unreadable", path), str(exc)) from exc
    if path.is_dir():
        raise _Stop("folder", _error_message("folder", path))
    if size == 0:
        raise _Stop("empty", _error_message("empty", path))
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise _Stop("unreadable", _error_message("unreadable", path), str(exc)) from exc
    if head.startswith(b"%PDF"):
        yield from _pdf_pages(path, budget, pdf_dpi)
        return
    try:
        with warnings.catch_warnings():
            # Too many pixels is decided below against the caller's budget, not Pillow's.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise _Stop(
            "too_many_pixels", _error_message("too_many_pixels", path, str(exc)), str(exc)
        ) from exc
    except IMAGE_ERRORS as exc:
        code = _classify(exc)
        raise _Stop(code, _error_message(code, path), f"{type(exc).__name__}: {exc}") from exc
    with opened:
        for index, frame in enumerate(ImageSequence.Iterator(opened)):
            if index and budget.left() <= 0:
                return
            pixels = frame.width * frame.height
            if pixels > budget.max_pixels:
                detail = f"{frame.width}×{frame.height}"
                raise _Stop(
                    "too_many_pixels", _error_message("too_many_pixels", path, detail), detail
                )
            try:
                frame.load()
                page = grey(frame.copy())
            except IMAGE_ERRORS + (MemoryError,) as exc:
                code = _classify(exc)
                detail = f"frame {index + 1}: {type(exc).__name__}: {exc}"
                if index == 0:
                    raise _Stop(code, _error_message(code, path), detail) from exc
                # A later frame that cannot be decoded: what came before still counts.
                raise _Stop(code, _error_message(code, path), detail) from exc
            yield page


def _pdf_pages(path: Path, budget: _Budget, dpi: int) -> Iterator[Image.Image]:
    import pypdfium2

    try:
        pdf = pypdfium2.PdfDocument(path)
    except Exception as exc:  # pypdfium2 raises PdfiumError (a RuntimeError) and others
        text = str(exc).lower()
        code = "truncated" if "format" in text or "data" in text else "damaged"
        raise _Stop(code, _error_message(code, path), f"{type(exc).__name__}: {exc}") from exc
    try:
        for index in range(len(pdf)):
            if index and budget.left() <= 0:
                return
            page = pdf[index]
            try:
                width_pt, height_pt = page.get_size()
                scale = dpi / 72
                pixels = width_pt * scale * height_pt * scale
                if pixels > budget.max_pixels:
                    # Render smaller rather than refuse: a poster-sized page still has a label.
                    scale *= math.sqrt(budget.max_pixels / pixels)
                bitmap = page.render(scale=scale, grayscale=True)
                image = grey(bitmap.to_pil())
            except Exception as exc:
                raise _Stop(
                    "damaged", _error_message("damaged", path), f"page {index + 1}: {exc}"
                ) from exc
            finally:
                page.close()
            yield image
    finally:
        pdf.close()


# --- passes and the chain -------------------------------------------------------------------


@dataclass
class _Seen:
    """A read by one decoder, mapped to the original page's pixels."""

    decoder: str
    read: RawRead
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in page pixels
    pass_image: Image.Image = field(repr=False)
    pass_polygon: tuple[tuple[float, float], ...] = ()
    mapper: Callable[[float, float], tuple[float, float]] | None = field(default=None, repr=False)


def _identity(x: float, y: float) -> tuple[float, float]:
    return x, y


def _scaled(image: Image.Image, factor: float) -> tuple[Image.Image, Callable]:
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.BICUBIC), lambda x, y: (x / factor, y / factor)


def _rotated(image: Image.Image, degrees: float) -> tuple[Image.Image, Callable]:
    """``image`` rotated counter-clockwise by ``degrees`` (canvas grown, white fill) and the map
    from the rotated image's pixels back to ``image``'s (the affine matrix PIL's rotate uses)."""
    w, h = image.size
    angle = -math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    a, b, d, e = cos, sin, -sin, cos
    cx, cy = w / 2, h / 2
    corners = [(0, 0), (w, 0), (w, h), (0, h)]
    # forward map (original → rotated, before translation) is the inverse of [[a, b], [d, e]]
    xs = [a * (x - cx) + d * (y - cy) for x, y in corners]
    ys = [b * (x - cx) + e * (y - cy) for x, y in corners]
    nw = math.ceil(max(xs)) - math.floor(min(xs))
    nh = math.ceil(max(ys)) - math.floor(min(ys))

    def back(x: float, y: float) -> tuple[float, float]:
        dx, dy = x - nw / 2, y - nh / 2
        return a * dx + b * dy + cx, d * dx + e * dy + cy

    c0, f0 = back(0, 0)
    matrix = (a, b, c0, d, e, f0)
    rotated = image.transform(
        (nw, nh), Image.Transform.AFFINE, matrix, Image.Resampling.BILINEAR, fillcolor=255
    )
    return rotated, back


def _box(points: Iterable[tuple[float, float]]) -> tuple[float, float, float, float]:
    pts = list(points)
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    return min(xs), min(ys), max(xs), max(ys)


def _near(one: tuple, other: tuple, *, tight: bool = False) -> bool:
    """Whether two boxes are about the same place (boxes grown: 1-D reads are thin lines;
    ``tight``: by a few pixels only)."""

    def grow(b: tuple) -> tuple:
        x0, y0, x1, y1 = b
        m = 4.0 if tight else max(12.0, 0.2 * max(x1 - x0, y1 - y0))
        return x0 - m, y0 - m, x1 + m, y1 + m

    a, b = grow(one), grow(other)
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


class _OutOfTime(Exception):
    pass


def _run_pass(
    image: Image.Image,
    mapper: Callable,
    decoders: Mapping[str, Decoder],
    names: Sequence[str],
    wanted: frozenset[str],
    budget: _Budget,
) -> list[_Seen]:
    seen = []
    for name in names:
        if budget.left() <= 0:
            raise _OutOfTime
        for read in decoders[name](image, wanted):
            box = _box(mapper(x, y) for x, y in read.polygon)
            seen.append(_Seen(name, read, box, image, read.polygon, mapper))
    return seen


def _search_page(
    page: Image.Image,
    decoders: Mapping[str, Decoder],
    wanted: frozenset[str],
    budget: _Budget,
    effort: str,
) -> tuple[list[_Seen], bool]:
    """Every read on one page by every decoder, over the passes; and whether the search ran
    out of time."""
    names = list(decoders)
    seen: list[_Seen] = []
    try:
        seen = _run_pass(page, _identity, decoders, names, wanted, budget)
        if not seen and effort == "full" and _has_ink(page):
            for image, mapper, only in _extra_passes(page):
                seen = _run_pass(image, mapper, decoders, only or names, wanted, budget)
                if seen:
                    break
        if effort == "full":
            _confirm(seen, decoders, wanted, budget)
    except _OutOfTime:
        return seen, True
    return seen, False


def _has_ink(page: Image.Image) -> bool:
    """Whether a page has enough dark (or, inverted, light) pixels to hold a code: a blank
    frame of a multi-page scan is not worth the rotation passes."""
    histogram = page.histogram()
    dark, light = sum(histogram[:128]), sum(histogram[128:])
    return min(dark, light) >= 400


def _extra_passes(page: Image.Image) -> Iterator[tuple[Image.Image, Callable, tuple[str, ...]]]:
    # ZBar cannot read light bars on a dark ground; zxing-cpp already tried the inversion.
    yield ImageOps.invert(page), _identity, ("zbar",)
    if max(page.size) < _UPSCALE_BELOW:
        yield (*_scaled(page, 2.0), ())
    if max(page.size) < _UPSCALE_BELOW * 0.6:  # 100 dpi and below: bars of one pixel or less
        yield (*_scaled(page, 3.0), ())
    # Rotations on a page no larger than ~2500 px: a 300 dpi A4 page is searched at 150 dpi here,
    # still 6 px per module for a label printed with 0.5 mm modules.
    work, to_page = page, _identity
    if max(page.size) > 2600:
        factor = 2600 / max(page.size)
        work, to_page = _scaled(page, factor)
    for degrees in _ROTATIONS:
        rotated, back = _rotated(work, degrees)
        yield rotated, (lambda x, y, back=back: to_page(*back(x, y))), ()
    if max(page.size) > 2600:  # small codes lost in the reduced copy
        for degrees in _ROTATIONS:
            rotated, back = _rotated(page, degrees)
            yield rotated, back, ()


def _confirm(
    seen: list[_Seen], decoders: Mapping[str, Decoder], wanted: frozenset[str], budget: _Budget
) -> None:
    """Show each code only one decoder read to the other ones, cropped where it was read (a
    tight crop first, so that neighbouring labels stay out, then a wider one), as it is,
    inverted, up-scaled and levelled. Adds what they read to ``seen``: the first agreeing read,
    else the first other read found (a disagreement then goes to review)."""
    names = list(decoders)
    for one in list(seen):
        others = [n for n in names if n != one.decoder]
        if not others or any(
            s.decoder != one.decoder and _near(s.box, one.box) and _agree(s, one) for s in seen
        ):
            continue
        first_found: list[_Seen] = []
        for variant, mapper in _crops(one):
            found = _run_pass(variant, mapper, decoders, others, wanted, budget)
            if any(_agree(f, one) for f in found):
                seen.extend(f for f in found if _agree(f, one))
                break
            if found and not first_found:
                first_found = found
        else:
            seen.extend(first_found)


def _crops(one: _Seen) -> Iterator[tuple[Image.Image, Callable]]:
    x0, y0, x1, y1 = _box(one.pass_polygon)
    img = one.pass_image
    to_page = one.mapper or _identity
    angle = _angle(one.pass_polygon)
    for margin in (12.0, max(24.0, 0.35 * max(x1 - x0, y1 - y0))):
        crop_box = (
            max(0, int(x0 - margin)),
            max(0, int(y0 - margin)),
            min(img.width, int(math.ceil(x1 + margin))),
            min(img.height, int(math.ceil(y1 + margin))),
        )
        crop = img.crop(crop_box)
        ox, oy = crop_box[0], crop_box[1]

        def shift(x: float, y: float, ox: int = ox, oy: int = oy) -> tuple[float, float]:
            return to_page(x + ox, y + oy)

        yield crop, shift
        yield ImageOps.invert(crop), shift
        for factor in (2.0, 3.0):
            big, back = _scaled(crop, factor)

            def from_big(
                x: float, y: float, back: Callable = back, shift: Callable = shift
            ) -> tuple[float, float]:
                return shift(*back(x, y))

            yield big, from_big
            yield ImageOps.invert(big), from_big
        if abs(angle) > 3:
            straight, back = _rotated(crop, angle)

            def from_straight(
                x: float, y: float, back: Callable = back, shift: Callable = shift
            ) -> tuple[float, float]:
                return shift(*back(x, y))

            yield straight, from_straight


def _agree(one: _Seen, other: _Seen) -> bool:
    if one.decoder == "zbar":
        one, other = other, one
    return one.read.text == other.read.text or _same_code(one.read, other.read)


def _angle(polygon: tuple[tuple[float, float], ...]) -> float:
    """Counter-clockwise angle (degrees) of a read's top edge; rotating by it levels the code."""
    if len(polygon) < 2:
        return 0.0
    (x0, y0), (x1, y1) = polygon[0], polygon[1]
    if x0 == x1 and y0 == y1:
        return 0.0
    return math.degrees(math.atan2(-(y1 - y0), x1 - x0)) * -1


def _settle(
    seen: list[_Seen], page_no: int, validate: Callable[[str], bool]
) -> tuple[list[CodeRead], list[str]]:
    """Accepted codes and review reasons from every read on one page (module docstring)."""
    by_decoder: dict[str, list[_Seen]] = {}
    for s in seen:
        group = by_decoder.setdefault(s.decoder, [])
        if not any(g.read.text == s.read.text and _near(g.box, s.box) for g in group):
            group.append(s)
    zx = by_decoder.get("zxing", [])
    # ZBar ignores ECIs and guesses a character set: where zxing-cpp read a symbol that names
    # its character set, ZBar's differing text is its guess, not a second opinion.
    certain = [z for z in zx if z.read.eci]
    zb = [
        b
        for b in by_decoder.get("zbar", [])
        if not any(
            _near(b.box, z.box)
            and _family(z.read.format) == _family(b.read.format)
            and not _same_code(z.read, b.read)
            for z in certain
        )
    ]
    others = [s for name, g in by_decoder.items() if name not in ("zxing", "zbar") for s in g]
    accepted: list[CodeRead] = []
    review: list[str] = []
    matched_zb: set[int] = set()
    lonely_zx: list[_Seen] = []
    for z in zx:
        partner = next(
            (i for i, b in enumerate(zb) if _same_code(z.read, b.read)),
            None,
        )
        if partner is None:
            lonely_zx.append(z)
            continue
        b = zb[partner]
        matched_zb.add(partner)
        for i, other in enumerate(zb):  # the same text read twice by ZBar counts once
            if _same_code(z.read, other.read):
                matched_zb.add(i)
        accepted.append(_code(z, page_no, ("zxing", "zbar"), extra=b.box))
    lonely_zb = [b for i, b in enumerate(zb) if i not in matched_zb]
    lonely = lonely_zx + lonely_zb + others
    disputed: set[int] = set()
    for i, one in enumerate(lonely):
        for j, other in enumerate(lonely):
            if j > i and one.decoder != other.decoder and _near(one.box, other.box):
                disputed.update((i, j))
                review.append(
                    _(
                        "Page {page}: the decoders disagree at one place ({first}: “{a}”, "
                        "{second}: “{b}”); nothing was accepted there, check the code by eye."
                    ).format(
                        page=page_no,
                        first=one.decoder,
                        a=_shown(one.read.text),
                        second=other.decoder,
                        b=_shown(other.read.text),
                    )
                )
    for i, one in enumerate(lonely):
        if i in disputed:
            continue
        # A single read inside the place of an accepted code (a second look at it) adds nothing.
        if any(_inside(one.box, code.position) for code in accepted) and any(
            one.read.text == code.text for code in accepted
        ):
            continue
        clash = next(
            (c for c in accepted if c.text != one.read.text and _inside(one.box, c.position)),
            None,
        )
        if clash is not None:
            review.append(
                _(
                    "Page {page}: {decoder} also read “{text}” where “{other}” was read; "
                    "not accepted."
                ).format(
                    page=page_no,
                    decoder=one.decoder,
                    text=_shown(one.read.text),
                    other=_shown(clash.text),
                )
            )
        elif one.read.note:
            review.append(
                _("Page {page}: {note} (“{text}”).").format(
                    page=page_no, note=one.read.note, text=_shown(one.read.text)
                )
            )
        elif validate(one.read.text):
            accepted.append(_code(one, page_no, (one.decoder,)))
        else:
            review.append(
                _(
                    "Page {page}: only {decoder} read “{text}” ({format}) and it is not a valid "
                    "value here; not accepted."
                ).format(
                    page=page_no,
                    decoder=one.decoder,
                    text=_shown(one.read.text),
                    format=one.read.format,
                )
            )
    # One code per text and place: merge repeated reads of the same code.
    merged: list[CodeRead] = []
    for code in accepted:
        twin = next(
            (
                m
                for m in merged
                if m.text == code.text and _near(_xyxy(m.position), _xyxy(code.position))
            ),
            None,
        )
        if twin is None:
            merged.append(code)
        elif len(code.decoders) > len(twin.decoders):
            merged[merged.index(twin)] = code
    return merged, review


def _xyxy(position: tuple[int, int, int, int]) -> tuple[float, float, float, float]:
    x, y, w, h = position
    return x, y, x + w, y + h


def _inside(box: tuple, position: tuple[int, int, int, int]) -> bool:
    return _near(box, _xyxy(position), tight=True)


def _code(
    seen: _Seen, page_no: int, decoders: tuple[str, ...], extra: tuple | None = None
) -> CodeRead:
    x0, y0, x1, y1 = seen.box
    if extra is not None:
        x0, y0 = min(x0, extra[0]), min(y0, extra[1])
        x1, y1 = max(x1, extra[2]), max(y1, extra[3])
    x0, y0 = max(0, math.floor(x0)), max(0, math.floor(y0))
    x, y = int(x0), int(y0)
    return CodeRead(
        text=seen.read.text,
        format=seen.read.format,
        page=page_no,
        position=(x, y, max(1, math.ceil(x1) - x), max(1, math.ceil(y1) - y)),
        decoders=decoders,
    )


def _shown(text: str) -> str:
    """A read's text for a message: control characters made visible, long texts shortened."""
    visible = "".join(
        c if c == " " or unicodedata.category(c)[0] not in "CZ" else f"\\x{ord(c):02x}"
        for c in text
    )
    return visible if len(visible) <= 60 else visible[:57] + "…"


# --- the public API -------------------------------------------------------------------------


def _wanted(symbologies: Iterable[str]) -> frozenset[str]:
    wanted = frozenset(s.lower() for s in symbologies)
    unknown = sorted(wanted - SYMBOLOGIES)
    if unknown:
        raise ValueError(f"unknown symbologies {unknown}; choose from {sorted(SYMBOLOGIES)}")
    return wanted


def read_file(
    path: Path | str | os.PathLike[str],
    *,
    symbologies: Iterable[str] = DEFAULT_SYMBOLOGIES,
    validate: Callable[[str], bool] | None = None,
    time_budget_s: float = DEFAULT_TIME_BUDGET_S,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    pdf_dpi: int = DEFAULT_PDF_DPI,
    effort: str = "full",
    isolate: bool = False,
    decoders: Mapping[str, Decoder] | None = None,
) -> FileRead:
    """Every trusted code in the image or PDF file ``path``; never raises for a bad file.

    ``symbologies``: a subset of :data:`SYMBOLOGIES`; ``validate``: the check a code read by one
    decoder alone must pass to be accepted (default :func:`default_validate`; the intake passes
    the dossier-number rule); ``time_budget_s``: seconds for the whole file (pages not reached
    are named in ``review``; nothing searched at all gives error ``timeout``); ``max_pixels``:
    pixels per page (a larger image gives ``too_many_pixels``, a larger PDF page is rendered
    smaller); ``pdf_dpi``: PDF rendering resolution; ``effort``: ``"full"`` (all passes) or
    ``"quick"`` (both decoders on each page as it is: upright or 90°-rotated codes, for
    sorting page streams fast); ``isolate``: run in a worker process killed after the time
    budget (for files from outside; costs about a process start, see BENCHMARKS.md);
    ``decoders``: name → :data:`Decoder` (default :data:`DEFAULT_DECODERS`; tests inject slow or
    failing ones; with ``isolate`` they must be picklable module-level functions).

    Raises ValueError only for an unknown symbology name or ``effort``. Formats: anything
    Pillow opens (PNG, TIFF with every frame, JPEG, WebP, BMP …) and PDF (pypdfium2).
    """
    wanted = _wanted(symbologies)
    if effort not in ("full", "quick"):
        raise ValueError(f"effort must be 'full' or 'quick', not {effort!r}")
    options = dict(
        symbologies=tuple(sorted(wanted)),
        validate=validate,
        time_budget_s=time_budget_s,
        max_pixels=max_pixels,
        pdf_dpi=pdf_dpi,
        effort=effort,
        decoders=decoders,
    )
    if isolate:
        return next(read_files([path], workers=1, **options))
    result, details = read_in_process(Path(os.fspath(path)), **options)
    for line in details:
        log.info("%s", line)
    return result


def read_in_process(
    path: Path,
    *,
    symbologies: Sequence[str] = DEFAULT_SYMBOLOGIES,
    validate: Callable[[str], bool] | None = None,
    time_budget_s: float = DEFAULT_TIME_BUDGET_S,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    pdf_dpi: int = DEFAULT_PDF_DPI,
    effort: str = "full",
    decoders: Mapping[str, Decoder] | None = None,
) -> tuple[FileRead, list[str]]:
    """:func:`read_file` in this process, with the budget kept cooperatively (between passes);
    returns the result and detail lines for the log (what Pillow or a decoder said)."""
    started = time.monotonic()
    budget = _Budget(started + time_budget_s, max_pixels, time_budget_s)
    wanted = _wanted(symbologies)
    check = validate or default_validate
    chain = dict(decoders or DEFAULT_DECODERS)
    codes: list[CodeRead] = []
    review: list[str] = []
    details: list[str] = []
    pages = 0
    out_of_time = False
    error: _Stop | None = None
    try:
        for page in _pages(path, budget, pdf_dpi):
            pages += 1
            seen, out_of_time = _search_page(page, chain, wanted, budget, effort)
            found, why = _settle(seen, pages, check)
            codes += found
            review += why
            if out_of_time:
                break
        else:
            out_of_time = False
        if not out_of_time and budget.left() <= 0 and _more_pages(path, pages):
            out_of_time = True
    except _Stop as stop:
        error = stop
        if stop.detail:
            details.append(f"{path}: {stop.code}: {stop.detail}")
    except MemoryError:
        error = _Stop("out_of_memory", _error_message("out_of_memory", path))
    except Exception as exc:  # a decoder failing must not stop a batch; logged with detail
        log.exception("barcode decoder failed on %s", path)
        error = _Stop("decoder_crashed", _error_message("decoder_crashed", path), repr(exc))
    seconds = time.monotonic() - started
    if error is not None and (pages == 0 or error.code != "truncated"):
        if pages == 0 or error.code in ("too_many_pixels", "decoder_crashed", "out_of_memory"):
            return FileRead(
                Path(path), (), tuple(review), error.message, error.code, pages, seconds
            ), details
    if error is not None:  # a later frame or page is damaged: what came before is kept
        review.append(
            _("Page {page} and later could not be read: {reason}").format(
                page=pages + 1, reason=error.message
            )
        )
    if out_of_time:
        if pages == 0 or (pages == 1 and not codes):
            detail = f"{time_budget_s:g} s"
            return FileRead(
                Path(path),
                (),
                tuple(review),
                _error_message("timeout", path, detail),
                "timeout",
                pages,
                seconds,
            ), details
        review.append(
            _("The time budget ran out on page {page}; later pages were not searched.").format(
                page=pages
            )
        )
    codes.sort(key=lambda c: (c.page, c.position[1], c.position[0]))
    return FileRead(Path(path), tuple(codes), tuple(review), None, None, pages, seconds), details


def _more_pages(path: Path, searched: int) -> bool:
    try:
        with Image.open(path) as image:
            return getattr(image, "n_frames", 1) > searched
    except Exception:  # a PDF or an unreadable file: not worth a second look here
        return False


def read_files(
    paths: Iterable[Path | str | os.PathLike[str]],
    *,
    workers: int = 2,
    **options: object,
) -> Iterator[FileRead]:
    """:func:`read_file` for each of ``paths``, each in a worker process, results in input
    order. ``workers``: processes (default 2, this box's cores); a worker that overruns the time
    budget (plus a grace second) is killed and its file reported as ``timeout``; one that dies
    (a decoder crash, the memory limit) as ``decoder_crashed`` — the other files go on.
    ``options``: the keyword arguments of :func:`read_file` (not ``isolate``)."""
    import importlib

    # Imported by name: the worker module imports nothing of this one (no import cycle).
    worker = importlib.import_module("counter_tui.services.barcode_worker")
    symbologies = options.pop("symbologies", DEFAULT_SYMBOLOGIES)
    options["symbologies"] = tuple(sorted(_wanted(symbologies)))  # type: ignore[arg-type]
    options.pop("isolate", None)
    budget = options.pop("time_budget_s", DEFAULT_TIME_BUDGET_S)
    yield from worker.read_isolated(
        [Path(os.fspath(p)) for p in paths],
        reader=read_in_process,
        failure=failed_read,
        time_budget_s=budget,
        workers=workers,
        **options,
    )


def failed_read(path: Path, code: str, detail: str, seconds: float) -> FileRead:
    """The FileRead of a file whose worker was killed or died (``code`` of
    :data:`ERROR_CODES`; ``detail`` shown for ``timeout`` only)."""
    return FileRead(
        Path(path),
        error=_error_message(code, Path(path), detail if code == "timeout" else ""),
        error_code=code,
        seconds=seconds,
    )


def cover_number(read: FileRead, *, is_dossier_no: Callable[[str], bool]) -> CoverNumber:
    """The dossier number on the cover ``read``: exactly one accepted code passing
    ``is_dossier_no`` (the same text read several times counts once). None, with the reason, when
    the file could not be read (``unreadable``), has no such code (``no_code``), carries two
    different numbers (``several_numbers``), the decoders disagreed (``disagreement``, also when a
    number was read elsewhere on the cover: a misread label must not pass) or the only code fails
    the pattern (``not_a_dossier_no``)."""
    if read.error_code is not None:
        return CoverNumber(None, "unreadable", read.error or "")
    numbers = list(dict.fromkeys(c.text for c in read.codes if is_dossier_no(c.text)))
    disputes = [r for r in read.review if r]
    if disputes:
        return CoverNumber(
            None,
            "disagreement",
            _("The cover's barcode was not read with certainty: {reasons}").format(
                reasons=" ".join(disputes)
            ),
        )
    if len(numbers) > 1:
        return CoverNumber(
            None,
            "several_numbers",
            _(
                "The cover carries several dossier numbers ({numbers}); rescan a cover with one."
            ).format(numbers=", ".join(numbers)),
        )
    if numbers:
        return CoverNumber(numbers[0], "ok", "")
    if read.codes:
        return CoverNumber(
            None,
            "not_a_dossier_no",
            _("The cover's barcode reads “{text}”, which is not a dossier number.").format(
                text=", ".join(_shown(c.text) for c in read.codes)
            ),
        )
    return CoverNumber(
        None,
        "no_code",
        _(
            "No barcode could be read on the cover {file}; rescan the cover with the label flat "
            "and uncovered."
        ).format(file=read.path.name),
    )


def decode_barcodes(
    image: Path | str | os.PathLike[str] | Image.Image,
    *,
    symbologies: Iterable[str] = DEFAULT_SYMBOLOGIES,
) -> list[str]:
    """The accepted texts in ``image``, deduplicated, in reading order (page, top, left).

    ``image`` is a file path (see :func:`read_file`) or an already opened ``PIL.Image`` in any
    mode (transparent pixels count as white paper), read in this process. Reads the decoders
    disagree on are left out (see :func:`read_file` for the reasons). An image without a barcode
    gives ``[]``.

    Raises :class:`BarcodeImageError` for a file that cannot be read (``reason`` one of
    :data:`ERROR_CODES`), ValueError for an unknown symbology name and TypeError for an
    ``image`` of another type.
    """
    wanted = _wanted(symbologies)
    if isinstance(image, Image.Image):
        page = grey(image)
        budget = _Budget(time.monotonic() + DEFAULT_TIME_BUDGET_S, DEFAULT_MAX_PIXELS, 0)
        seen, _late = _search_page(page, DEFAULT_DECODERS, wanted, budget, "full")
        codes, _why = _settle(seen, 1, default_validate)
        codes.sort(key=lambda c: (c.position[1], c.position[0]))
        return list(dict.fromkeys(c.text for c in codes))
    if not isinstance(image, (str, os.PathLike)):
        raise TypeError(f"image must be a path or a PIL.Image, not {type(image).__name__}")
    path = Path(image)
    result = read_file(path, symbologies=wanted)
    if result.error_code is not None:
        raise BarcodeImageError(path, result.error or "", result.error_code)
    return list(dict.fromkeys(c.text for c in result.codes))


__all__ = [
    "DEFAULT_DECODERS",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_SYMBOLOGIES",
    "DEFAULT_TIME_BUDGET_S",
    "ERROR_CODES",
    "SYMBOLOGIES",
    "BarcodeImageError",
    "CodeRead",
    "CoverNumber",
    "FileRead",
    "RawRead",
    "code39_full_ascii",
    "cover_number",
    "decode_barcodes",
    "default_validate",
    "read_file",
    "read_files",
]
