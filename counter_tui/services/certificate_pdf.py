"""The certificate as paper: an A4 PDF with an embedded Chinese font, a seal area and the QR.

:func:`render_pdf` lays out one :class:`CertificateDocument` on A4 portrait pages (ISO 216,
210 × 297 mm; every length here is in millimetres, font sizes in points):

- the institution header (name, 统一社会信用代码, address) and a rule under it;
- the title, centred; the serial on the right, with a red boxed 补打 mark on a reprint;
- the certified text, each paragraph indented by two characters as Chinese official documents
  are (GB/T 9704-2012 §7.3.3 gives the indent; the font and sizes here are not the 公文 ones);
- the sources table (catalogue number, material title, date), long titles wrapped, the table
  continued on the next page with its header repeated; nothing is clipped or shrunk;
- the purpose, then at the bottom of the last page: the QR with the 查验码 beside it and the
  电子证照-shaped identifier in small type (left); the clerk, a dashed 42 mm circle labelled
  （盖章） where the institution's seal is stamped, the institution's name and the date (right);
- every page carries the serial and "第 n 页 共 N 页" at the foot, so pages of one certificate
  cannot be mixed with another's; a voided certificate carries a diagonal 作废 over every page.

Chinese has no spaces between words, so text is broken between any two Chinese characters, but
never inside a run of Latin letters or digits (a serial or a date stays whole) and never before
closing punctuation or after opening punctuation (the basic 禁则 of the W3C note "Requirements
for Chinese Text Layout" §3.1.7). All text is real text in an embedded, subsetted font, so it
can be searched and extracted; the 查验码 is set in Courier (a PDF standard-14 font, ISO
32000-1 §9.6.2.2) when it is plain ASCII, so that 0/O and 1/I read apart.

The output is deterministic: the same document gives the same bytes (the PDF creation date is
the issue date at 00:00 Beijing time, and fpdf2 derives the file identifier from the content).

The wording printed around the fields (编号, 用途, 经办人 …) is the certificate's own, in
Chinese whatever the UI language; the certified text itself comes from the kind's template.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import functools
import gc
import importlib.abc
import os
import re
import sys
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from counter_tui.domain import clock
from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.services import fonts

_NOT_FOR_CERTIFICATES = (
    "numpy",
    "cryptography.hazmat.primitives.serialization.pkcs12",
    "endesive",
)
"""Modules fpdf2 imports if it can, for what a certificate never uses: numpy to decode PNG/LZW
images and test alpha channels (~12 MB resident, ~110 ms); cryptography's PKCS#12 loader
(with its X.509 modules, ~1 MB) and endesive, to sign PDFs (fpdf2 signs only with both).
fpdf2 imports each in a ``try`` and works on without it, silently (not so without defusedxml,
for SVG images: fpdf2 warns, so it is left alone)."""


class _WithoutUnused(importlib.abc.MetaPathFinder):
    """While fpdf2 is imported, its optional imports of :data:`_NOT_FOR_CERTIFICATES` (and
    their submodules) fail in the importing thread, so that they are not loaded for
    certificates. Other threads import them as usual; once one is loaded (by another part of
    the program), it and its submodules are not refused."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if threading.get_ident() == self.thread and any(
            (name == refused or name.startswith(f"{refused}.")) and refused not in sys.modules
            for refused in _NOT_FOR_CERTIFICATES
        ):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


if "fpdf" in sys.modules:
    from fpdf import FPDF
else:
    # The list is replaced, never changed in place: another thread may be going through it.
    _finder = _WithoutUnused()
    sys.meta_path = [_finder, *sys.meta_path]
    try:
        from fpdf import FPDF
    finally:
        sys.meta_path = [finder for finder in sys.meta_path if finder is not _finder]
        del _finder


PAGE_WIDTH = 210.0
PAGE_HEIGHT = 297.0
MARGIN_X = 20.0
MARGIN_TOP = 18.0
FOOTER_HEIGHT = 14.0
"""Space kept at the bottom of every page for the footer line (mm)."""
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN_X
BODY_BOTTOM = PAGE_HEIGHT - FOOTER_HEIGHT - 4.0
"""Lowest y (mm) body text may reach."""

QR_SIZE = 34.0
"""Width of the QR symbol without its quiet zone (mm). At version 15 (77 modules) a module is
0.44 mm: 2.6 pixels at 150 dpi, enough for a phone or a desk scanner."""
QR_QUIET = 4
"""Quiet zone around the QR in modules (ISO/IEC 18004:2015 §9.1); kept free of ink."""
SEAL_DIAMETER = 42.0
"""A round institutional seal is 42 mm across for most 事业单位 (GA 241-2000 gives 38–45 mm)."""

CREATOR = "counter-tui"
FONT_FAMILY = "cjk"
INK = (0, 0, 0)
GREY = (120, 120, 120)
RED = (200, 0, 0)

LABEL_USCC = "统一社会信用代码："
LABEL_ADDRESS = "地址："
LABEL_SERIAL = "编号："
LABEL_REPRINT = "补打"
LABEL_SOURCES = "材料来源"
LABEL_SOURCE_COLUMNS = ("目录号", "材料名称", "日期")
LABEL_PURPOSE = "用途："
LABEL_CLERK = "经办人："
LABEL_SEAL = "（盖章）"
LABEL_CODE = "查验码"
LABEL_VERIFY_HINT = "扫描二维码或凭查验码核验真伪；涂改无效。"
LABEL_IDENTIFIER = "证照标识："
LABEL_CONTINUED = "（续）"
LABEL_VOID = "作废"


class FontMissing(CounterError):
    """No font with Chinese glyphs to print a certificate with, or the one found lacks some of
    the document's characters. ``reason`` is ``font_missing`` or ``glyph_missing``; the message
    names the packages to install (fonts-noto-cjk, fonts-wqy-microhei) and the
    ``COUNTER_TUI_CJK_FONT`` variable."""


class CertificateSource(NamedTuple):
    """One cited material: its catalogue number (e.g. "4-2"), title as catalogued, and date —
    a :class:`datetime.date` (printed YYYY年M月D日) or text as recorded (e.g. "1998.07")."""

    number: str
    title: str
    date: dt.date | str


@dataclass(frozen=True)
class CertificateDocument:
    """Everything one certificate page shows, already worded (no lookups happen in rendering).

    ``certified_text``: paragraphs (a str is split at line breaks); ``sources``: cited
    materials as :class:`CertificateSource` or plain ``(number, title, date)`` tuples, any
    number; ``uscc``: 统一社会信用代码 (GB 32100-2015, 18 characters) or "" (the line is
    left out); ``identifier``: the 电子证照-shaped identifier or ""; ``qr_payload``: the QR
    text, "" for no QR; ``verification_code``: the typable 查验码, printed as given;
    ``reprint``/``reprint_count``: a 补打 copy and which one (1 = first reprint, 0 = not
    numbered); ``voided``: overprint 作废 on every page.
    """

    institution_name: str
    title: str
    serial: str
    certified_text: tuple[str, ...]
    purpose: str
    issue_date: dt.date
    clerk: str
    verification_code: str
    uscc: str = ""
    address: str = ""
    sources: tuple[CertificateSource, ...] = field(default_factory=tuple)
    identifier: str = ""
    qr_payload: str = ""
    reprint: bool = False
    reprint_count: int = 0
    voided: bool = False

    def __post_init__(self) -> None:
        text = self.certified_text
        paragraphs = text.splitlines() if isinstance(text, str) else list(text)
        object.__setattr__(self, "certified_text", tuple(p.strip() for p in paragraphs))
        object.__setattr__(
            self, "sources", tuple(CertificateSource(*source) for source in self.sources)
        )


def chinese_date(day: dt.date) -> str:
    """``day`` as written on Chinese documents: "2026年11月3日" (no leading zeros)."""
    return f"{day.year}年{day.month}月{day.day}日"


def render_pdf(doc: CertificateDocument, *, font: tuple[str, int] | None = None) -> bytes:
    """The certificate ``doc`` as PDF bytes (PDF 1.4+, A4 portrait, one or more pages).

    ``font``: (path, face index) of a TrueType/OpenType font or collection with Chinese glyphs;
    default :func:`counter_tui.services.fonts.find_cjk_font` (``COUNTER_TUI_CJK_FONT``, then
    the usual system places), or its common-character copy (``fonts.common_subset``, once
    :func:`warm_up` has built it) when every character of ``doc`` is in GB 2312. The face index selects the face in a .ttc/.otc collection
    (fpdf2 ``collection_font_number``). The font is embedded as a subset of the glyphs used.

    The QR (ISO/IEC 18004, error correction at least Q, zxing-cpp) is drawn as vector modules,
    :data:`QR_SIZE` mm wide. Raises :class:`FontMissing` (reason ``font_missing``) when no font
    is found or the given one cannot be read, and (reason ``glyph_missing``) when it lacks a
    character the document needs — a rare character of a name is never dropped silently.
    """
    path, index = _resolve_font(font) if font is not None else _font_for(doc)
    pdf = _take_prepared((path, index)) or _prepared((path, index))
    pdf.describe(doc)
    try:
        _check_glyphs(pdf, path, doc)
    except FontMissing:
        _discard(pdf)
        raise
    pdf.set_font(FONT_FAMILY, size=11)
    pdf.add_page()
    _draw_header(pdf, doc)
    _draw_certified_text(pdf, doc)
    if doc.sources:
        _draw_sources(pdf, doc)
    _draw_purpose(pdf, doc)
    _draw_signature_block(pdf, doc)
    return bytes(pdf.output())


# --- fonts -------------------------------------------------------------------------------

_TABLES_READ_LATER = (
    "hmtx",
    "loca",
    "cmap",
    "hhea",
    "maxp",
    "OS/2",
    "name",
    "post",
    "vhea",
    "vmtx",
)
"""Font tables fontTools reads lazily while the PDF is written (subsetting); a prepared
document has them read already."""
_spare_lock = threading.Lock()
_spare: dict[tuple[str, int], _CertificatePDF] = {}


def _prepared(font: tuple[str, int]) -> _CertificatePDF:
    """A new, empty certificate PDF with ``font`` loaded (the slow part: fontTools parses
    the font's tables, about 200 ms for a CJK font). Raises FontMissing."""
    pdf = _CertificatePDF()
    try:
        pdf.add_font(FONT_FAMILY, "", font[0], collection_font_number=font[1])
        ttfont = pdf.fonts[FONT_FAMILY].ttfont
        # Glyphs keep the bounding boxes the font file gives them: recomputing them made
        # fontTools decode and re-encode every glyph of the subset (~20 ms of each issue).
        ttfont.recalcBBoxes = False
        for tag in _TABLES_READ_LATER:
            if tag in ttfont:
                ttfont[tag]  # noqa: B018 - decompiled now, not while the clerk waits
    except Exception as exc:  # fontTools raises many kinds for a bad file
        raise _font_error(font[0], exc) from exc
    return pdf


def _discard(pdf: _CertificatePDF) -> None:
    """Let an unused document go. fpdf2 memoizes ``SubsetMap.pick``/``get_glyph`` in caches
    shared by all documents (``functools.cache`` on the methods), which hold the document's
    font, tables and all, until the next document is written (fpdf2 empties them then):
    emptied here too, or a document dropped unwritten would keep its parsed font (10–40 MB).
    The caches only spare recomputing a glyph's lookup; other documents refill them."""
    subset = pdf.fonts[FONT_FAMILY].subset if FONT_FAMILY in pdf.fonts else None
    if subset is not None:
        type(subset).pick.cache_clear()
        type(subset).get_glyph.cache_clear()


def _take_prepared(font: tuple[str, int]) -> _CertificatePDF | None:
    with _spare_lock:
        return _spare.pop(font, None)


def _document_text(doc: CertificateDocument) -> list[str]:
    texts = [
        doc.institution_name,
        doc.uscc,
        doc.address,
        doc.title,
        doc.serial,
        *doc.certified_text,
        *(part for source in doc.sources for part in _source_cells(source)),
        doc.purpose,
        doc.clerk,
        doc.identifier,
        _LAYOUT_TEXT,
    ]
    if not _is_courier(doc.verification_code):
        texts.append(doc.verification_code)
    return texts


def _font_for(doc: CertificateDocument) -> tuple[str, int]:
    """The default font, or its common-character copy when that exists and ``doc`` is
    written in GB 2312 characters only (a rare character of a name needs the full font)."""
    full = _resolve_font(None)
    common = fonts.common_subset(full, build=False)
    if common is None:
        return full
    wanted = fonts.gb2312_characters()
    for text in _document_text(doc):
        if any(not ch.isspace() and ord(ch) not in wanted for ch in text):
            return full
    return common


def warm_up(font: tuple[str, int] | None = None) -> None:
    """Load the certificate font ahead of time, so that the next :func:`render_pdf` with it
    skips that step (about two thirds of its time): call it in a worker thread when a
    certificate is about to be issued (the certificate dialog opens) and after each one.
    The default font's common-character copy is built first if missing (about 2 s, once per
    machine: ``fonts.common_subset``). One document is kept ready per font; each is used by
    one render only (fpdf2 subsets the font in place when writing). The last certificate's
    leftovers are collected before the font is parsed again, and free memory is handed back
    to the system afterwards (:func:`release_free_memory`): a counter issues certificates all
    day in one process. Thread-safe; does nothing when one is ready. Raises FontMissing like
    :func:`render_pdf`."""
    key = _resolve_font(font)
    if font is None:
        key = fonts.common_subset(key) or key
    with _spare_lock:
        if key in _spare:
            return
    # The last certificate's document (its font objects hold reference cycles) is freed
    # first, so that parsing the font again reuses that memory instead of adding to it.
    gc.collect()
    pdf = _prepared(key)
    with _spare_lock:
        kept = _spare.setdefault(key, pdf) is pdf
    if not kept:  # another thread was quicker
        _discard(pdf)
    # Parsing a font leaves many objects behind: collect them now, in the worker, rather than
    # in a full collection while the clerk waits for a certificate. Then the heap's free
    # pages go back to the system: the counter runs all day (issue 13: RSS < 150 MB).
    gc.collect()
    release_free_memory()


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return getattr(ctypes.CDLL(None), "malloc_trim", None)
    except OSError:
        return None


def release_free_memory() -> None:
    """Give the C heap's free memory back to the operating system (glibc's
    ``malloc_trim(0)``: every arena, free pages released with ``madvise``), so that memory
    freed after a certificate stops counting in the process's RSS. About 0.2 ms after a
    certificate (measured on Linux, glibc 2.36); does nothing where the C library has no
    ``malloc_trim`` (macOS, Windows, musl). Never raises."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _install_hint() -> str:
    return _(
        "Install a Chinese font: fonts-noto-cjk or fonts-wqy-microhei (Debian/Ubuntu: "
        "sudo apt-get install fonts-noto-cjk), or set COUNTER_TUI_CJK_FONT to the path of a "
        "TrueType/OpenType font with Chinese characters."
    )


def _resolve_font(font: tuple[str, int] | None) -> tuple[str, int]:
    if font is None:
        font = fonts.find_cjk_font()
        if font is None:
            message = _("No font with Chinese characters was found to print certificates.")
            raise FontMissing(f"{message} {_install_hint()}", reason="font_missing")
    path, index = font
    if not os.path.isfile(path):
        raise _font_error(path, FileNotFoundError(path))
    return path, index


def _font_error(path: str, exc: BaseException) -> FontMissing:
    message = _("The font {path} cannot be used to print certificates ({error}).").format(
        path=path, error=type(exc).__name__
    )
    return FontMissing(f"{message} {_install_hint()}", reason="font_missing")


def _check_glyphs(pdf: FPDF, path: str, doc: CertificateDocument) -> None:
    cmap = pdf.fonts[FONT_FAMILY].cmap
    texts = _document_text(doc)
    missing = sorted(
        {ch for text in texts for ch in text if not ch.isspace() and ord(ch) not in cmap}
    )
    if missing:
        message = _("The font {path} has no glyph for {chars}.").format(
            path=path, chars=" ".join(missing[:10])
        )
        raise FontMissing(f"{message} {_install_hint()}", reason="glyph_missing")


# --- layout ------------------------------------------------------------------------------


class _CertificatePDF(FPDF):
    """FPDF with the certificate's running footer, continuation header and void overprint."""

    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.set_margins(MARGIN_X, MARGIN_TOP, MARGIN_X)
        self.set_auto_page_break(False)

    def describe(self, doc: CertificateDocument) -> None:
        """Take ``doc`` as the document to lay out: its metadata (creation date: the issue
        date at 00:00 Beijing time, title, author, subject)."""
        self.doc = doc
        self.set_creation_date(dt.datetime.combine(doc.issue_date, dt.time(0), clock.BEIJING))
        self.set_title(f"{doc.title} {doc.serial}".strip())
        self.set_author(doc.institution_name)
        self.set_subject(doc.identifier or doc.serial)
        self.set_creator(CREATOR)
        self.set_lang("zh-CN")

    def header(self) -> None:
        if self.page_no() > 1:
            self.set_font(FONT_FAMILY, size=8)
            self.set_text_color(*GREY)
            self.set_xy(MARGIN_X, 10)
            self.cell(CONTENT_WIDTH, 4, f"{LABEL_SERIAL}{self.doc.serial}{LABEL_CONTINUED}")
            self.set_text_color(*INK)
            self.set_y(MARGIN_TOP)

    def footer(self) -> None:
        self.set_font(FONT_FAMILY, size=8)
        self.set_text_color(*GREY)
        self.set_xy(MARGIN_X, PAGE_HEIGHT - FOOTER_HEIGHT)
        line = f"{LABEL_SERIAL}{self.doc.serial}  第 {self.page_no()} 页 共 {{nb}} 页"
        self.cell(CONTENT_WIDTH, 4, line, align="C")
        self.set_text_color(*INK)
        if self.doc.voided:
            self._void_overprint()

    def _void_overprint(self) -> None:
        size = 150
        self.set_font(FONT_FAMILY, size=size)
        width = self.get_string_width(LABEL_VOID)
        cx, cy = PAGE_WIDTH / 2, PAGE_HEIGHT / 2
        with self.local_context(fill_opacity=0.25, text_color=RED), self.rotation(35, cx, cy):
            self.text(cx - width / 2, cy + size * 0.3528 / 3, LABEL_VOID)


def _draw_header(pdf: _CertificatePDF, doc: CertificateDocument) -> None:
    pdf.set_y(MARGIN_TOP)
    _lines(pdf, doc.institution_name, size=15, line_height=7.5, align="C")
    if doc.uscc:
        _lines(pdf, LABEL_USCC + doc.uscc, size=9, line_height=4.6, align="C")
    if doc.address:
        _lines(pdf, LABEL_ADDRESS + doc.address, size=9, line_height=4.6, align="C")
    pdf.ln(1.5)
    pdf.set_line_width(0.5)
    pdf.set_draw_color(*INK)
    pdf.line(MARGIN_X, pdf.get_y(), PAGE_WIDTH - MARGIN_X, pdf.get_y())
    pdf.ln(7)
    _lines(pdf, doc.title, size=22, line_height=10, align="C")
    pdf.ln(2)

    pdf.set_font(FONT_FAMILY, size=10.5)
    y = pdf.get_y()
    if doc.reprint:
        mark = LABEL_REPRINT + (f"（第{doc.reprint_count}次）" if doc.reprint_count > 0 else "")
        width = pdf.get_string_width(mark) + 4
        with pdf.local_context(text_color=RED, draw_color=RED, line_width=0.4):
            pdf.set_xy(MARGIN_X, y)
            pdf.cell(width, 6.5, mark, border=1, align="C")
    serial = f"{LABEL_SERIAL}{doc.serial}"
    serial_lines = _wrap(pdf, serial, CONTENT_WIDTH * 0.6)
    for line in serial_lines:
        pdf.set_xy(MARGIN_X, y)
        pdf.cell(CONTENT_WIDTH, 6.5, line, align="R")
        y += 6.5
    pdf.set_y(max(y, pdf.get_y()) + 5)


def _draw_certified_text(pdf: _CertificatePDF, doc: CertificateDocument) -> None:
    size, line_height = 12, 8.0
    pdf.set_font(FONT_FAMILY, size=size)
    indent = pdf.get_string_width("中中")
    for paragraph in doc.certified_text:
        if not paragraph:
            pdf.ln(line_height / 2)
            continue
        for number, line in enumerate(_wrap(pdf, paragraph, CONTENT_WIDTH, first_indent=indent)):
            _need(pdf, line_height)
            pdf.set_x(MARGIN_X + (indent if number == 0 else 0))
            pdf.cell(CONTENT_WIDTH, line_height, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def _source_cells(source: CertificateSource) -> tuple[str, str, str]:
    date = chinese_date(source.date) if isinstance(source.date, dt.date) else str(source.date)
    return str(source.number), str(source.title), date


_COLUMN_WIDTHS = (24.0, CONTENT_WIDTH - 24.0 - 36.0, 36.0)
_CELL_PAD = 1.6
_TABLE_LINE = 5.2


def _table_row(
    pdf: _CertificatePDF, cells: Sequence[list[str]], y: float, height: float, fill: bool
) -> None:
    x = MARGIN_X
    pdf.set_line_width(0.2)
    pdf.set_draw_color(*INK)
    for width, lines in zip(_COLUMN_WIDTHS, cells, strict=True):
        pdf.rect(x, y, width, height, style="DF" if fill else "D")
        for number, line in enumerate(lines):
            pdf.set_xy(x + _CELL_PAD, y + _CELL_PAD / 2 + number * _TABLE_LINE)
            pdf.cell(width - 2 * _CELL_PAD, _TABLE_LINE, line)
        x += width


def _draw_sources(pdf: _CertificatePDF, doc: CertificateDocument) -> None:
    pdf.set_font(FONT_FAMILY, size=12)
    _need(pdf, 8 + 3 * _TABLE_LINE + _CELL_PAD)
    pdf.cell(CONTENT_WIDTH, 8, LABEL_SOURCES, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT_FAMILY, size=10)
    inner = [width - 2 * _CELL_PAD for width in _COLUMN_WIDTHS]
    heading = [[label] for label in LABEL_SOURCE_COLUMNS]
    heading_height = _TABLE_LINE + _CELL_PAD

    def draw_heading() -> None:
        pdf.set_fill_color(232, 232, 232)
        _table_row(pdf, heading, pdf.get_y(), heading_height, fill=True)
        pdf.set_y(pdf.get_y() + heading_height)

    draw_heading()
    for source in doc.sources:
        cells = [_wrap(pdf, text, w) or [""] for text, w in zip(_source_cells(source), inner)]
        rows = max(len(lines) for lines in cells)
        # A row taller than what is left goes whole to the next page; only a row taller than
        # a whole page is split, line by line, with the heading repeated.
        if pdf.get_y() + rows * _TABLE_LINE + _CELL_PAD > BODY_BOTTOM:
            if rows * _TABLE_LINE + _CELL_PAD + heading_height <= BODY_BOTTOM - MARGIN_TOP:
                pdf.add_page()
                draw_heading()
        start = 0
        while start < rows:
            room = int((BODY_BOTTOM - pdf.get_y() - _CELL_PAD) // _TABLE_LINE)
            if room < 1:
                pdf.add_page()
                draw_heading()
                continue
            end = min(rows, start + room)
            chunk = [lines[start:end] for lines in cells]
            height = (end - start) * _TABLE_LINE + _CELL_PAD
            _table_row(pdf, chunk, pdf.get_y(), height, fill=False)
            pdf.set_y(pdf.get_y() + height)
            start = end
    pdf.ln(4)


def _draw_purpose(pdf: _CertificatePDF, doc: CertificateDocument) -> None:
    if not doc.purpose:
        return
    pdf.set_font(FONT_FAMILY, size=12)
    label = pdf.get_string_width(LABEL_PURPOSE)
    text = LABEL_PURPOSE + doc.purpose
    for number, line in enumerate(_wrap(pdf, text, CONTENT_WIDTH, rest_indent=label)):
        _need(pdf, 8)
        pdf.set_x(MARGIN_X + (label if number else 0))
        pdf.cell(CONTENT_WIDTH, 8, line, new_x="LMARGIN", new_y="NEXT")


def _draw_signature_block(pdf: _CertificatePDF, doc: CertificateDocument) -> None:
    left_width = 96.0
    right_x = MARGIN_X + left_width + 6
    right_width = PAGE_WIDTH - MARGIN_X - right_x

    # Measure both columns first, then pin the block to the bottom of the (last) page.
    pdf.set_font(FONT_FAMILY, size=12)
    name_lines = _wrap(pdf, doc.institution_name, right_width)
    clerk_lines = _wrap(pdf, LABEL_CLERK + doc.clerk, right_width)
    name_height = (len(name_lines) + 1) * 7
    seal_top = len(clerk_lines) * 7 + 4
    right_height = seal_top + max(SEAL_DIAMETER, 12 + name_height)

    code_font, code_size = _code_font(pdf, doc.verification_code)
    matrix = _qr_matrix(doc.qr_payload) if doc.qr_payload else None
    has_qr = matrix is not None
    # Keep the quiet zone free: a small QR (few modules) has wide modules and needs more.
    quiet = QR_QUIET * QR_SIZE / len(matrix) if matrix else 0.0
    text_x = MARGIN_X + (QR_SIZE + max(5.0, quiet) if has_qr else 0)
    text_width = MARGIN_X + left_width - text_x
    pdf.set_font(code_font, size=code_size)
    code_lines = _wrap(pdf, doc.verification_code, text_width)
    pdf.set_font(FONT_FAMILY, size=8)
    hint_lines = _wrap(pdf, LABEL_VERIFY_HINT, text_width)
    pdf.set_font(FONT_FAMILY, size=7)
    id_text = f"{LABEL_IDENTIFIER}{doc.identifier}" if doc.identifier else ""
    id_lines = _wrap(pdf, id_text, left_width) if id_text else []
    beside = 5 + len(code_lines) * code_size * 0.45 + 2 + len(hint_lines) * 4
    below_qr = max(3.0, quiet) if has_qr else 3.0
    left_height = max(QR_SIZE if has_qr else 0, beside) + below_qr + len(id_lines) * 3.4

    height = max(left_height, right_height)
    if pdf.get_y() + max(6.0, quiet) > BODY_BOTTOM - height:
        pdf.add_page()
    top = BODY_BOTTOM - height

    # Left: QR, 查验码, hint, identifier.
    if matrix:
        _draw_qr(pdf, matrix, MARGIN_X, top, QR_SIZE)
    pdf.set_font(FONT_FAMILY, size=9)
    pdf.set_xy(text_x, top)
    pdf.cell(text_width, 5, LABEL_CODE)
    y = top + 5
    pdf.set_font(code_font, size=code_size)
    for line in code_lines:
        pdf.set_xy(text_x, y)
        pdf.cell(text_width, code_size * 0.45, line)
        y += code_size * 0.45
    y += 2
    pdf.set_font(FONT_FAMILY, size=8)
    with pdf.local_context(text_color=GREY):
        for line in hint_lines:
            pdf.set_xy(text_x, y)
            pdf.cell(text_width, 4, line)
            y += 4
        y = top + max(QR_SIZE if has_qr else 0, y - top) + below_qr
        pdf.set_font(FONT_FAMILY, size=7)
        for line in id_lines:
            pdf.set_xy(MARGIN_X, y)
            pdf.cell(left_width, 3.4, line)
            y += 3.4

    # Right: clerk, seal circle, institution and date under it (the seal is stamped over them).
    pdf.set_font(FONT_FAMILY, size=12)
    y = top
    for line in clerk_lines:
        pdf.set_xy(right_x, y)
        pdf.cell(right_width, 7, line)
        y += 7
    centre_x = right_x + right_width / 2
    centre_y = top + seal_top + SEAL_DIAMETER / 2
    with pdf.local_context(draw_color=GREY, line_width=0.3, text_color=GREY):
        pdf.set_dash_pattern(dash=1.2, gap=1.2)
        pdf.circle(centre_x, centre_y, SEAL_DIAMETER / 2, style="D")
        pdf.set_dash_pattern()
        pdf.set_font(FONT_FAMILY, size=10)
        pdf.set_xy(right_x, centre_y - SEAL_DIAMETER / 2 + 6)
        pdf.cell(right_width, 5, LABEL_SEAL, align="C")
    pdf.set_font(FONT_FAMILY, size=12)
    y = max(centre_y - name_height / 2 + 4, top + seal_top + 12)
    for line in [*name_lines, chinese_date(doc.issue_date)]:
        pdf.set_xy(right_x, y)
        pdf.cell(right_width, 7, line, align="C")
        y += 7


def _qr_matrix(payload: str) -> Sequence[Sequence[int]]:
    """The QR symbol's modules (rows of 0/1, 1 dark, no quiet zone): ISO/IEC 18004 as
    zxing-cpp encodes it (mode, version and mask chosen by it: a Base45 text goes in
    alphanumeric mode), error correction Q, or H when that needs no larger symbol.

    zxing-cpp's C++ encoder takes ~1 ms; segno's pure-Python mask evaluation took ~13 ms of
    the clerk's wait after confirming (issue 13). Raises ValueError for a text no QR symbol
    holds at Q (:func:`render_pdf`'s payloads are far shorter)."""
    import zxingcpp

    chosen: list[list[int]] = []
    for level in ("Q", "H"):
        try:
            symbol = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode, ec_level=level)
        except ValueError:  # too long for H (Q did fit: the symbol at Q is kept)
            if not chosen:
                raise
            break
        image = symbol.to_image(scale=1, add_quiet_zones=False)
        size, pixels = image.shape[0], bytes(memoryview(image))
        matrix = [
            [1 if pixel == 0 else 0 for pixel in pixels[row * size : (row + 1) * size]]
            for row in range(size)
        ]
        if not chosen or len(matrix) == len(chosen):
            chosen = matrix
    return chosen


def _draw_qr(pdf: FPDF, matrix: Sequence[Sequence[int]], x: float, y: float, size: float) -> None:
    """Dark modules as filled rectangles, one per horizontal run (fewer operators, no seams
    inside a run)."""
    module = size / len(matrix)
    pdf.set_fill_color(*INK)
    for row, cells in enumerate(matrix):
        col = 0
        while col < len(cells):
            if not cells[col]:
                col += 1
                continue
            start = col
            while col < len(cells) and cells[col]:
                col += 1
            pdf.rect(x + start * module, y + row * module, (col - start) * module, module, "F")


def _is_courier(code: str) -> bool:
    return code.isascii() and code.isprintable()


def _code_font(pdf: FPDF, code: str) -> tuple[str, float]:
    return ("Courier", 13.0) if _is_courier(code) else (FONT_FAMILY, 12.0)


def _lines(pdf: FPDF, text: str, *, size: float, line_height: float, align: str) -> None:
    pdf.set_font(FONT_FAMILY, size=size)
    for line in _wrap(pdf, text, CONTENT_WIDTH):
        _need(pdf, line_height)
        pdf.cell(CONTENT_WIDTH, line_height, line, align=align, new_x="LMARGIN", new_y="NEXT")


def _need(pdf: FPDF, height: float) -> None:
    """Start a new page unless ``height`` mm fit above the footer."""
    if pdf.get_y() + height > BODY_BOTTOM:
        pdf.add_page()


# --- line breaking -----------------------------------------------------------------------

_NO_LINE_START = set("，。、；：？！）》」』】〕〉”’…—%‰·,.;:?!)]}>%")
_NO_LINE_END = set("（《「『【〔〈“‘([{<")
_WORD = re.compile(r"[0-9A-Za-z\u00c0-\u024f_@#&+\-./:]+|\s+|.", re.DOTALL)

_LAYOUT_TEXT = "".join(
    [
        LABEL_USCC,
        LABEL_ADDRESS,
        LABEL_SERIAL,
        LABEL_REPRINT,
        "（第0123456789次）",
        LABEL_SOURCES,
        *LABEL_SOURCE_COLUMNS,
        LABEL_PURPOSE,
        LABEL_CLERK,
        LABEL_SEAL,
        LABEL_CODE,
        LABEL_VERIFY_HINT,
        LABEL_IDENTIFIER,
        LABEL_CONTINUED,
        LABEL_VOID,
        "第页共年月日",
    ]
)
"""Every character the layout itself prints with the embedded font (for the glyph check)."""


def _tokens(text: str) -> list[str]:
    """Unbreakable pieces of ``text``: a run of Latin letters/digits, a run of blanks, or one
    other character; closing punctuation is glued to the piece before it and opening
    punctuation to the piece after it."""
    tokens: list[str] = []
    glue_next = ""
    for piece in _WORD.findall(unicodedata.normalize("NFC", text)):
        if piece.isspace():
            piece = " "  # a tab or an odd blank has no glyph in most fonts
        if piece[0] in _NO_LINE_START and tokens and not tokens[-1].isspace():
            tokens[-1] += piece
        elif piece in _NO_LINE_END:
            glue_next += piece
        else:
            tokens.append(glue_next + piece)
            glue_next = ""
    if glue_next:
        tokens.append(glue_next)
    return tokens


def _wrap(
    pdf: FPDF, text: str, width: float, *, first_indent: float = 0.0, rest_indent: float = 0.0
) -> list[str]:
    """``text`` broken into lines no wider than ``width`` mm in the current font; the first
    line is ``first_indent`` mm narrower, the others ``rest_indent`` mm. Line breaks in
    ``text`` are kept; a piece wider than a whole line is cut between characters."""
    lines: list[str] = []
    for number, paragraph in enumerate(text.splitlines() or [""]):
        indent = first_indent if number == 0 else rest_indent
        lines.extend(_wrap_paragraph(pdf, paragraph, width, indent, rest_indent))
    return lines


def _wrap_paragraph(
    pdf: FPDF, text: str, width: float, first_indent: float, rest_indent: float
) -> list[str]:
    lines: list[str] = []

    def room() -> float:
        return width - (rest_indent if lines else first_indent) + 1e-6

    line, used = "", 0.0
    for token in _tokens(text):
        token_width = pdf.get_string_width(token)
        if used + token_width <= room():
            line, used = line + token, used + token_width
            continue
        if token.isspace():  # a break at a blank: the blank itself is not carried over
            lines.append(line.rstrip())
            line, used = "", 0.0
            continue
        if token_width <= width - rest_indent + 1e-6:  # fits on the next line: break before it
            if line.strip():
                lines.append(line.rstrip())
            line, used = token, token_width
            continue
        for ch in token:  # wider than any line: cut anywhere, starting on this line
            ch_width = pdf.get_string_width(ch)
            if used + ch_width > room() and line:
                lines.append(line)
                line, used = "", 0.0
            line, used = line + ch, used + ch_width
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines
