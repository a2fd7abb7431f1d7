"""Batch intake: many dossiers' scans at the scanner's pace (DA/T 31-2017 §9–§11).

**Layouts.** ``BATCH`` holds one sub-folder per dossier (its first image, in natural file name
order, is the cover), or page images directly, as high-speed scanners write them: a cover
page starts each dossier and every page up to the next cover is that dossier's. Both may be
mixed (the top level is then read as one flat run). A folder of one dossier — the cover then
its pages — is the simplest flat batch. Sub-folders deeper than one level and the working
folder ``_intake`` (reports, quarantine) are not read.

**Covers.** A cover is a page whose barcode (Code 128, Code 39, Code 93, QR, Data Matrix,
PDF417; EAN is left out so that book numbers on pages never count) carries a dossier number,
read by the decoding chain of :mod:`counter_tui.services.barcodes`. Only an accepted read is
used: a read the decoders disagree on, two different dossier numbers on one cover, or no
number at all stop that dossier; nothing is guessed. In a flat batch every page is screened
for a code (zxing-cpp on a copy reduced to about 150 dpi); pages with one are read in full.
When a flat dossier's page count then disagrees with its catalogue, every page of it is read
in full, so that a cover the screen missed (rotated, inverted, tiny) still separates dossiers.

**Dossier-number rule.** The text read is folded by Unicode NFKC (full-width letters, digits
and hyphen become ASCII: ``ＣＹ００８６００１`` → ``CY0086001``), upper-cased and stripped of blanks
(:func:`counter_tui.domain.queries.normalise_dossier_no`). It must then match
``[A-Z0-9][A-Z0-9-]{2,31}`` (:data:`DOSSIER_NO_RULE`, the counter's rule). Any other
character — a middle dot ``·`` (U+00B7), ``・``, a slash, a CJK character — is **refused**
with a message naming it; it is never dropped or replaced, because ``CY00086·001`` might be
``CY00086001`` or something else. A code that passes the rule but for up to three separator
look-alikes (:data:`SEPARATOR_LOOKALIKES`: middle dots, dots, dashes, slashes) is still taken
for a cover — refused — so that it separates dossiers in a flat batch; other codes on a page
(a certificate's QR text, a URL) leave it a page.

**Checks, per dossier.** The dossier named by the cover must exist (``dossier_no`` or
``barcode``), be held by the archivist's institution and have no pages yet. Pages go to the
materials in catalogue order, ``page_count`` each: the catalogue comes from ``--catalogue``
(a spreadsheet, :mod:`counter_tui.services.intake_catalogue`; new materials are added and
sealed) or, without one, is the catalogue already held. Any of these stops the dossier —
nothing of it is written — with a report entry: a page count that differs from the
catalogue's, a page that cannot be used, a resolution under :data:`MIN_DPI` (200 dpi,
DA/T 31-2017 §9.4) or not recorded in the file, more than one file format among the pages
(§9.5: one batch, one format), a duplicated page (SHA-256 equal, or perceptual hashes —
``imagehash.phash`` 16×16, 256 bits — within :data:`DUPLICATE_BITS` bits). The cover is
exempt from the resolution and format rules: it identifies the dossier and is stored as
scanned.

**Files that cannot be used** (zero bytes, truncated or damaged, not an image, a format
other than :data:`PAGE_FORMATS`, old-style JPEG in TIFF, more than ``max_pixels`` pixels, a
page with several frames) are moved — bytes unchanged, same file name, sub-folder kept — to
the quarantine folder, each with ``<name>.reason.txt`` saying why. All other files stay where
they are. Files that are not scans at all (scanner logs, ``Thumbs.db``) are listed and left.

**Speed.** Files are opened, hashed and screened in worker processes (one per core by
default), in batch order, while the main thread writes finished dossiers: one
``db.write()`` transaction per dossier (services.intake.attach_scans).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import io
import logging
import multiprocessing
import os
import re
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageOps, TiffImagePlugin
from sqlmodel import col, or_, select

from counter_tui import i18n
from counter_tui.db.engine import Database
from counter_tui.db.models import Dossier, Material, Page
from counter_tui.domain.queries import normalise_dossier_no
from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.services import authorization, barcodes, intake, intake_report
from counter_tui.services.images import IMAGE_ERRORS, grey
from counter_tui.services.intake_catalogue import CatalogueRow, read_catalogue
from counter_tui.services.intake_report import (
    BatchReport,
    DossierOutcome,
    FileEntry,
    Problem,
)

log = logging.getLogger(__name__)

MIN_DPI = 200
"""Lowest resolution accepted for a page, dots per inch (DA/T 31-2017 §9.4: ≥ 200 dpi)."""
MAX_PIXELS = 100_000_000
"""Largest image accepted, in pixels (width × height): A3 at 600 dpi is 70 million."""
DUPLICATE_BITS = 12
"""Two pages of one dossier whose 256-bit perceptual hashes differ in at most this many bits
are the same sheet scanned twice. Measured on the demo's painted pages: distinct pages of two
dossiers (122 pages, many of one printed form) differ in 16 bits or more; the same sheet
re-scanned with ±1° skew, a few pixels' shift and noise differs in 6–24 bits. So a double
feed or a sheet scanned twice in one pass is caught; a re-scan with a different skew may not
be (DA/T 31-2017 §10.5 still asks the archivist's image check)."""
PAGE_FORMATS = frozenset({"PNG", "TIFF", "JPEG", "JPEG2000", "WEBP", "BMP"})
"""Pillow format names accepted for pages and covers."""
SCAN_SUFFIXES = intake.IMAGE_SUFFIXES | frozenset(
    {".pdf", ".gif", ".heic", ".heif", ".avif", ".jxl", ".ofd", ".j2k", ".jpx", ".jpf"}
)
"""File name endings taken as scans (case-insensitive). Those Pillow cannot use as a page are
set aside as an unsupported format; files with other endings are not scans and left alone."""
COVER_SYMBOLOGIES = ("code128", "code39", "code93", "qrcode", "datamatrix", "pdf417")
"""Symbologies searched on covers (no EAN/UPC: book numbers printed on pages)."""
DOSSIER_NO_RULE = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,31}$")
"""A dossier number after NFKC folding, upper-casing and removing blanks (module doc)."""
WORK_FOLDER = "_intake"
"""Folder inside the batch for reports and, by default, the quarantine; never read as scans."""
SCREEN_DPI = 150
"""Resolution the flat-batch cover screen reduces pages to (a 1-D code's narrowest bar is
still 2–3 pixels there)."""

_LAYOUT_FOLDERS, _LAYOUT_FLAT = "folders", "flat"
_DIGITS = re.compile(r"(\d+)")
_ALNUM = re.compile(r"[A-Z0-9]")


class BatchError(CounterError, ValueError):
    """A batch that cannot be started at all: no such folder, a catalogue that cannot be
    read, a quarantine or report folder that cannot be written. ``str(error)`` is for the
    archivist (UI language); ``reason``: ``batch``, ``catalogue`` or ``storage``."""


# -- the dossier-number rule -------------------------------------------------------------------


def map_dossier_no(text: str) -> tuple[str, str]:
    """Apply the dossier-number rule (module docstring) to ``text`` read off a cover.

    Returns ``(number, refused)``: ``number`` is the folded text, ``refused`` the characters
    outside the rule, in order of appearance without repeats ("" when the number is good).
    Never raises."""
    number = normalise_dossier_no(text)
    refused = "".join(dict.fromkeys(ch for ch in number if not re.match(r"[A-Z0-9-]", ch)))
    if not refused and not DOSSIER_NO_RULE.match(number):
        refused = "" if number else " "
    return number, refused


def is_dossier_no(text: str) -> bool:
    """Whether ``text`` is a dossier number under the rule (after NFKC, upper case, blanks
    removed). Used as the barcode chain's validity check."""
    number, refused = map_dossier_no(text)
    return not refused and bool(DOSSIER_NO_RULE.match(number))


SEPARATOR_LOOKALIKES = frozenset("·・•‧∙⋅.．_/／\\—–‐‑‒―−﹣")
"""Characters a label printer or a typist may put inside a dossier number as a separator
(middle dots, dots, dashes other than the hyphen, slashes, the underscore). A number with
up to three of them is still recognised as a cover — and refused, never mapped."""


def _looks_like_dossier_no(text: str) -> bool:
    """A number that passes the rule, or would but for at most three separator look-alikes
    (:data:`SEPARATOR_LOOKALIKES`) — a cover whose number must be refused, not a page."""
    number, refused = map_dossier_no(text)
    if not refused:
        return bool(DOSSIER_NO_RULE.match(number))
    if any(ch not in SEPARATOR_LOOKALIKES for ch in refused):
        return False
    kept = "".join(ch for ch in number if ch not in SEPARATOR_LOOKALIKES)
    return (
        len(number) - len(kept) <= 3
        and bool(DOSSIER_NO_RULE.match(kept))
        and len(_ALNUM.findall(kept)) >= 4
    )


# -- reading files (worker processes) ---------------------------------------------------------


@dataclass(frozen=True)
class CoverRead:
    """What the barcode chain read on a possible cover: accepted ``texts`` (reading order),
    ``review`` reasons (reads not accepted, UI language) and ``error``/``error_code`` when
    the file could not be read."""

    texts: tuple[str, ...] = ()
    review: tuple[str, ...] = ()
    error: str | None = None
    error_code: str | None = None


@dataclass(frozen=True)
class FileFacts:
    """One scan file as the workers found it (plain data, passed between processes).

    ``path`` absolute; ``size`` bytes; ``sha256`` hex of the bytes; ``error_code`` (see
    :data:`FILE_ERRORS`) with ``detail`` for the log when the file cannot be used; else
    ``format`` (Pillow's name), ``frames``, ``dpi`` (None when the file states none),
    ``width``/``height`` pixels, ``dhash`` (16 hex digits, :func:`intake.difference_hash`),
    ``phash`` (64 hex digits, 256-bit ``imagehash.phash``); ``screened``: codes found by the
    flat-batch screen; ``cover``: the full chain's read, when one was made."""

    path: str
    size: int = 0
    sha256: str = ""
    error_code: str | None = None
    detail: str = ""
    format: str = ""
    frames: int = 1
    dpi: int | None = None
    width: int = 0
    height: int = 0
    dhash: str = ""
    phash: str = ""
    screened: tuple[str, ...] = ()
    cover: CoverRead | None = None


FILE_ERRORS = (
    "missing",
    "unreadable",
    "empty",
    "not_image",
    "unsupported",
    "truncated",
    "old_jpeg",
    "too_many_pixels",
    "extra_frames",
    "crashed",
)
"""Why a file cannot be used (``FileFacts.error_code``); ``extra_frames`` applies to pages
only (a cover may be a multi-page file, its code on any frame)."""


def _file_error_message(
    code: str, facts: FileFacts | None = None, max_pixels: int = MAX_PIXELS
) -> str:
    messages = {
        "missing": _("the file disappeared while the batch was read"),
        "unreadable": _("the file cannot be read (no permission or a disk error)"),
        "empty": _("the file is empty (0 bytes)"),
        "not_image": _("the file is not an image"),
        "unsupported": _(
            "the file format is not accepted for page images (use TIFF, JPEG, PNG or JPEG 2000)"
        ),
        "truncated": _("the image is truncated or damaged (an interrupted scan or copy)"),
        "old_jpeg": _(
            "the TIFF uses old-style JPEG compression, which cannot be read reliably; "
            "rescan or convert it"
        ),
        "too_many_pixels": _(
            "the image has more pixels than the {limit} million allowed; scan at a lower resolution"
        ),
        "extra_frames": _("the file holds {frames} images; a page must be a single image"),
        "crashed": _("reading the image stopped the reader; the file is probably damaged"),
    }
    message = messages.get(code, _("the file cannot be used"))
    if facts is not None:
        message = message.format(limit=max_pixels // 1_000_000, frames=facts.frames)
    return message


def _worker_init(language: str) -> None:
    i18n.set_language(language)


def analyse_file(
    path: str,
    *,
    cover: bool = False,
    screen: bool = False,
    max_pixels: int = MAX_PIXELS,
) -> FileFacts:
    """Open and measure one scan file (runs in a worker process; never raises for a bad
    file — the fault is in ``error_code``).

    ``cover``: read it with the barcode chain (a sub-folder's first file); ``screen``: look
    for a code on a copy reduced to :data:`SCREEN_DPI`, and read it in full when one is seen
    (flat batches). Pixel budget ``max_pixels`` (checked before decoding)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return FileFacts(path, error_code="missing")
    except OSError as exc:
        return FileFacts(path, error_code="unreadable", detail=exc.strerror or type(exc).__name__)
    facts = FileFacts(path, size=len(data), sha256=hashlib.sha256(data).hexdigest())
    if not data:
        return _with(facts, error_code="empty")
    try:
        image_facts, page = _open(data, max_pixels, screen)
    except _Unusable as exc:
        facts = _with(facts, error_code=exc.code, detail=exc.detail, **exc.known)
        if cover and exc.code not in ("empty", "not_image", "unsupported", "too_many_pixels"):
            facts = _with(facts, cover=_read_cover(Path(path), max_pixels))
        return facts
    facts = _with(facts, **image_facts)
    if screen:
        facts = _with(facts, screened=_screen(page, facts.dpi, facts.width))
    if cover or (screen and (facts.screened or facts.frames > 1)):
        facts = _with(facts, cover=_read_cover(Path(path), max_pixels))
    return facts


def _with(facts: FileFacts, **changes: object) -> FileFacts:
    return FileFacts(**{**facts.__dict__, **changes})


class _Unusable(Exception):
    def __init__(self, code: str, detail: str = "", **known: object) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail
        self.known = known


def _open(data: bytes, max_pixels: int, screen: bool) -> tuple[dict[str, object], Image.Image]:
    """Measure an image; returns its facts and the grey first frame — for a JPEG, decoded
    at a reduced scale: about :data:`SCREEN_DPI` when it is to be ``screen``-ed for a code,
    else just large enough for the hashes."""
    import imagehash  # heavy (scipy): imported in the workers only when needed

    try:
        with Image.open(BytesIO(data)) as image:
            known: dict[str, object] = {
                "format": image.format or "",
                "width": image.width,
                "height": image.height,
                "frames": getattr(image, "n_frames", 1),
                "dpi": _dpi(image.info.get("dpi")),
            }
            dpi = known["dpi"] or SCREEN_DPI
            reduce = (
                max(1, int(dpi) // SCREEN_DPI)
                if screen
                else max(1, min(image.width, image.height) // 300)
            )
            if image.format not in PAGE_FORMATS:
                raise _Unusable("unsupported", image.format or "", **known)
            if image.width * image.height > max_pixels:
                raise _Unusable("too_many_pixels", "", **known)
            if image.format == "TIFF" and image.tag_v2.get(TiffImagePlugin.COMPRESSION) == 6:
                raise _Unusable("old_jpeg", "", **known)
            if image.format == "JPEG" and reduce > 1:
                # JPEG decodes straight to 1/2, 1/4 or 1/8 scale (DCT scaling): several
                # times faster, and every byte is still read, so damage is still found.
                image.draft("L", (image.width // reduce, image.height // reduce))
            try:
                image.load()
            except IMAGE_ERRORS as exc:
                raise _Unusable("truncated", str(exc), **known) from exc
            page = grey(ImageOps.exif_transpose(image) if image.format == "JPEG" else image)
    except _Unusable:
        raise
    except Image.DecompressionBombError as exc:
        raise _Unusable("too_many_pixels", str(exc)) from exc
    except IMAGE_ERRORS as exc:
        raise _Unusable("not_image", str(exc)) from exc
    # Hashes on a reduced copy: a 300 dpi page is 8.7 million pixels, the hashes need 64×64.
    factor = max(1, min(page.width, page.height) // 256)
    small = page.reduce(factor) if factor > 1 else page
    known["dhash"] = intake.difference_hash(small)
    known["phash"] = str(imagehash.phash(small, hash_size=16))
    return known, page


def _dpi(value: object) -> int | None:
    try:
        x = float(value[0])  # type: ignore[index]
    except (TypeError, ValueError, IndexError):
        return None
    # JFIF files without units report 1 (an aspect ratio), not a resolution.
    return round(x) if x > 1 else None


def _screen(page: Image.Image, dpi: int | None, width: int) -> tuple[str, ...]:
    """Codes zxing-cpp sees on ``page`` reduced to about :data:`SCREEN_DPI` (fast: ~20 ms for
    a 300 dpi A4 page). Only says "look closer"; never decides a dossier number."""
    import zxingcpp

    # A JPEG page arrives decoded near SCREEN_DPI already; other formats are reduced here.
    factor = max(1, int((dpi or SCREEN_DPI) * page.width / max(1, width) / SCREEN_DPI))
    small = page.reduce(factor) if factor > 1 else page
    try:
        # No down-scaled passes (the page is at screening resolution already): 40 % faster.
        found = zxingcpp.read_barcodes(
            small, formats=_screen_formats(), try_downscale=False, try_invert=False
        )
        if not found:
            # Light bars on a dark label: zxing-cpp's own inversion misses them on a page
            # that is mostly white paper; the negative of the whole page does not. Upright
            # only (a third of the time); a turned, inverted cover is left to the recheck.
            found = zxingcpp.read_barcodes(
                ImageOps.invert(small),
                formats=_screen_formats(),
                try_downscale=False,
                try_invert=False,
                try_rotate=False,
            )
    except Exception:  # noqa: BLE001 - a screen that fails means "read in full"
        log.exception("cover screen failed")
        return ("?",)
    return tuple(r.text for r in found)


_FORMATS_CACHE: list[object] = []


def _screen_formats() -> object:
    import zxingcpp

    if not _FORMATS_CACHE:
        names = ("Code128", "Code39", "Code93", "QRCode", "DataMatrix", "PDF417")
        formats = [getattr(zxingcpp.BarcodeFormat, n) for n in names]
        try:
            zxingcpp.read_barcodes(Image.new("L", (8, 8), 255), formats=formats)
            _FORMATS_CACHE.append(formats)
        except TypeError:  # zxing-cpp 2 wants them or-ed together
            combined = formats[0]
            for f in formats[1:]:
                combined = combined | f
            _FORMATS_CACHE.append(combined)
    return _FORMATS_CACHE[0]


def _read_cover(path: Path, max_pixels: int) -> CoverRead:
    """The barcode chain's read of a cover (services.barcodes.read_file when present)."""
    read_file = getattr(barcodes, "read_file", None)
    if read_file is not None:
        try:
            read = read_file(
                path,
                symbologies=COVER_SYMBOLOGIES,
                validate=is_dossier_no,
                max_pixels=max_pixels,
            )
        except TypeError:  # an older signature
            read = read_file(path, symbologies=COVER_SYMBOLOGIES, validate=is_dossier_no)
        return CoverRead(
            texts=tuple(code.text for code in read.codes),
            review=tuple(read.review),
            error=read.error,
            error_code=read.error_code,
        )
    try:  # the first-generation reader (one decoder answers first)
        return CoverRead(texts=tuple(barcodes.decode_barcodes(path, symbologies=COVER_SYMBOLOGIES)))
    except barcodes.BarcodeImageError as exc:
        return CoverRead(error=str(exc), error_code="not_image")


# -- planning -----------------------------------------------------------------------------------


def _natural_key(name: str) -> tuple:
    parts = _DIGITS.split(name.lower())
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p)


@dataclass
class _Segment:
    folder: Path
    flat: bool
    scans: list[Path] = field(default_factory=list)


@dataclass
class _Listing:
    segments: list[_Segment]
    ignored: list[tuple[Path, str]]
    order: list[Path]


def _list_batch(batch_dir: Path, skip: set[Path]) -> _Listing:
    segments: list[_Segment] = []
    ignored: list[tuple[Path, str]] = []
    order: list[Path] = []

    def entries(folder: Path) -> list[Path]:
        try:
            return sorted(folder.iterdir(), key=lambda p: _natural_key(p.name))
        except OSError as exc:
            raise BatchError(
                _("The folder {path} cannot be read ({detail}).").format(
                    path=folder, detail=exc.strerror or type(exc).__name__
                ),
                reason="batch",
            ) from exc

    def sort_files(folder: Path, segment: _Segment, depth: int) -> list[Path]:
        subfolders = []
        for entry in entries(folder):
            if entry.resolve() in skip or entry.name == WORK_FOLDER:
                continue
            if entry.is_dir():
                subfolders.append(entry)
                continue
            if not entry.is_file():
                continue
            order.append(entry)
            if entry.name.startswith("."):
                ignored.append((entry, _("a hidden file")))
            elif entry.suffix.lower() not in SCAN_SUFFIXES:
                ignored.append((entry, _("not a page image")))
            else:
                segment.scans.append(entry)
        return subfolders

    top = _Segment(batch_dir, flat=True)
    for sub in sort_files(batch_dir, top, 0):
        if sub.name.startswith("."):
            continue
        segment = _Segment(sub, flat=False)
        for deeper in sort_files(sub, segment, 1):
            for below in sorted(deeper.rglob("*"), key=lambda p: _natural_key(p.as_posix())):
                if below.is_file() and below.resolve() not in skip:
                    order.append(below)
                    ignored.append((below, _("in a folder below a dossier's folder; not read")))
        if segment.scans:
            segments.append(segment)
    if top.scans:
        segments.insert(0, top)
    return _Listing(segments, ignored, order)


# -- the use case -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """Where a running batch is: files read of ``files_total``, pages attached, seconds
    since the start, pages attached per second, the estimated seconds left (None before the
    first dossier) and the dossier that just finished (None for a progress tick)."""

    files_done: int
    files_total: int
    pages_attached: int
    elapsed: float
    pages_per_second: float
    eta_seconds: float | None
    dossier: DossierOutcome | None = None


@dataclass(frozen=True)
class BatchResult:
    """A finished batch: the report and where its JSON and readable copies were written."""

    report: BatchReport
    json_path: Path
    text_path: Path


@dataclass
class _Group:
    cover: FileFacts | None
    pages: list[FileFacts]
    flat: bool
    lead_problem: Problem | None = None  # files before the first cover of a flat run


def take_in_batch(
    db: Database,
    *,
    batch_dir: Path,
    archive_root: Path,
    clerk_id: uuid.UUID | None,
    archivist: str = "",
    catalogue: Path | None = None,
    quarantine_dir: Path | None = None,
    report_path: Path | None = None,
    workers: int | None = None,
    min_dpi: int = MIN_DPI,
    max_pixels: int = MAX_PIXELS,
    on_progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
) -> BatchResult:
    """Take in every dossier of the scan batch ``batch_dir`` (layouts, rules and checks in the
    module docstring) and write the report.

    ``archive_root``: where page files go (``<档号>/<档号>-<NNNN>.<ext>``, DA/T 31-2017 §9.6);
    ``clerk_id``: the archivist (rule ``intake`` of services.authorization, checked per
    dossier; None only for an operator's import); ``archivist``: the name shown in the
    report; ``catalogue``: a CSV/XLSX catalogue spreadsheet (else the held catalogues);
    ``quarantine_dir``: where unusable files go (default ``batch_dir/_intake/quarantine-<time>``);
    ``report_path``: the JSON report (default ``batch_dir/_intake/report-<time>.json``; the
    readable one beside it with ``.txt``); ``workers``: processes reading files (default:
    one per core; 0 reads in this process); ``min_dpi``, ``max_pixels``: the page rules;
    ``on_progress``: called in this thread after each dossier (and once at the start);
    ``cancel``: when set, the dossiers not yet written are left as they are ("not taken in").

    One dossier's failure never stops the others. Raises :class:`BatchError` when the batch
    cannot start (folder missing, catalogue unreadable, report folder not writable),
    ``StorageBusyError`` when the database stays locked. Each dossier is one transaction.
    """
    started_at = time.perf_counter()
    batch_dir = Path(batch_dir)
    if not batch_dir.is_dir():
        raise BatchError(
            _("The scan batch folder {path} does not exist.").format(path=batch_dir),
            reason="batch",
        )
    rows: dict[str, list[CatalogueRow]] = {}
    if catalogue is not None:
        rows = read_catalogue(Path(catalogue))  # CatalogueError is a BatchError's sibling
    started = intake_report.now()
    stamp = started.strftime("%Y%m%d-%H%M%S")
    work = batch_dir / WORK_FOLDER
    quarantine_dir = Path(quarantine_dir) if quarantine_dir else work / f"quarantine-{stamp}"
    report_path = Path(report_path) if report_path else work / f"report-{stamp}.json"
    skip = {p.resolve() for p in (quarantine_dir, report_path, report_path.with_suffix(".txt"))}
    if catalogue is not None:
        skip.add(Path(catalogue).resolve())
    listing = _list_batch(batch_dir, skip)
    if not any(segment.scans for segment in listing.segments):
        raise BatchError(
            _("The scan batch folder {path} holds no page images.").format(path=batch_dir),
            reason="batch",
        )
    report = BatchReport(
        batch=str(batch_dir),
        layout=_LAYOUT_FOLDERS if any(not s.flat for s in listing.segments) else _LAYOUT_FLAT,
        archivist=archivist,
        started=started,
    )
    run = _Run(
        db=db,
        batch_dir=batch_dir,
        archive_root=Path(archive_root),
        clerk_id=clerk_id,
        rows=rows,
        quarantine_dir=quarantine_dir,
        min_dpi=min_dpi,
        report=report,
        entries={},
        started_at=started_at,
        files_total=sum(len(s.scans) for s in listing.segments),
        on_progress=on_progress,
        max_pixels=max_pixels,
    )
    for path, why in listing.ignored:
        run.entries[path] = FileEntry(
            run.rel(path), "ignored", reason_code="not_a_scan", reason=why
        )
    run.tick(None)
    with _Reader(workers, max_pixels) as reader:
        run.reader = reader
        for segment, facts in _read_segments(reader, listing.segments):
            for group in _groups(run, segment, facts):
                if cancel is not None and cancel.is_set():
                    run.leave(group, _("the intake was cancelled before this dossier"))
                    continue
                outcome = run.take_in(group)
                report.dossiers.append(outcome)
                run.tick(outcome)
    report.finished = intake_report.now()
    report.seconds = time.perf_counter() - started_at
    report.files = [run.entries[p] for p in listing.order if p in run.entries]
    try:
        json_path, text_path = intake_report.write_report(report, report_path)
    except OSError as exc:
        raise BatchError(
            _("The intake report cannot be written to {path} ({detail}).").format(
                path=report_path, detail=exc.strerror or type(exc).__name__
            ),
            reason="storage",
        ) from exc
    log.info("batch intake %s: %s in %.1f s", batch_dir, report.totals(), report.seconds)
    return BatchResult(report, json_path, text_path)


class _Reader:
    """Reads files in worker processes (or in this one with ``workers=0``), in order."""

    def __init__(self, workers: int | None, max_pixels: int) -> None:
        self.workers = (os.cpu_count() or 1) if workers is None else max(0, workers)
        self.max_pixels = max_pixels
        self.pool: concurrent.futures.ProcessPoolExecutor | None = None

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def _new_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        if sys.platform.startswith("linux"):
            # Workers fork from a server that has imported the readers once: a replacement
            # starts in milliseconds, and nothing of this (perhaps threaded) process is copied.
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["counter_tui.services.intake_batch"])
        else:
            context = multiprocessing.get_context("spawn")
        with _real_stderr():
            # The helper processes multiprocessing starts once (resource tracker, fork
            # server) inherit standard error; under a full-screen UI that is a stand-in
            # without a file descriptor, which they cannot be given.
            from multiprocessing import forkserver, resource_tracker

            resource_tracker.ensure_running()
            if context.get_start_method() == "forkserver":
                forkserver.ensure_running()
        return concurrent.futures.ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            initializer=_worker_init,
            initargs=(i18n.current_language(),),
        )

    def read(self, jobs: list[tuple[str, bool, bool]]) -> Iterator[FileFacts]:
        """Facts for each (path, cover, screen) job, in order."""
        if self.workers == 0:
            for path, cover, screen in jobs:
                yield analyse_file(path, cover=cover, screen=screen, max_pixels=self.max_pixels)
            return
        if self.pool is None:
            self.pool = self._new_pool()
        futures = [self._submit(job) for job in jobs]
        for job, future in zip(jobs, futures):
            yield self._result(job, future)

    def _submit(self, job: tuple[str, bool, bool]) -> concurrent.futures.Future:
        assert self.pool is not None
        path, cover, screen = job
        return self.pool.submit(
            analyse_file, path, cover=cover, screen=screen, max_pixels=self.max_pixels
        )

    def _result(self, job: tuple[str, bool, bool], future: concurrent.futures.Future) -> FileFacts:
        try:
            return future.result()
        except concurrent.futures.process.BrokenProcessPool:
            # A file crashed a worker (a decoder fault): the pool is gone. Read this file once
            # more in a fresh pool of its own; if that crashes too, the file is the cause.
            log.warning("intake: a reader process died; reading %s again", job[0])
            self.pool = self._new_pool()
            retry = self._submit(job)
            try:
                return retry.result()
            except concurrent.futures.process.BrokenProcessPool:
                self.pool = self._new_pool()
                return FileFacts(job[0], error_code="crashed")
        except Exception:  # noqa: BLE001 - one file's failure is reported, never raised
            log.exception("intake: reading %s failed", job[0])
            return FileFacts(job[0], error_code="crashed")


@contextlib.contextmanager
def _real_stderr() -> Iterator[None]:
    """Standard error as a real file while helper processes start (see ``_new_pool``)."""
    saved = sys.stderr
    try:
        usable = saved is not None and saved.fileno() >= 0
        if usable:
            os.fstat(saved.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        usable = False
    if not usable and sys.__stderr__ is not None:
        sys.stderr = sys.__stderr__
    try:
        yield
    finally:
        sys.stderr = saved


def _read_segments(
    reader: _Reader, segments: list[_Segment]
) -> Iterator[tuple[_Segment, list[FileFacts]]]:
    """Each segment with its files' facts; every job is queued at once so the workers stay
    busy while dossiers are written."""
    jobs: list[tuple[str, bool, bool]] = []
    for segment in segments:
        for n, path in enumerate(segment.scans):
            jobs.append((str(path), n == 0, segment.flat))
    results = reader.read(jobs)
    for segment in segments:
        yield segment, [next(results) for _ in segment.scans]


# -- covers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Verdict:
    kind: str  # "number", "refused", "none"
    number: str | None = None
    read_as: str = ""
    code: str = ""
    message: str = ""


def _verdict(facts: FileFacts, *, by_position: bool = False) -> _Verdict:
    """Whether ``facts`` is a cover, and which dossier it names. ``by_position``: the file
    is a cover because of where it lies (a sub-folder's first file), whatever it carries.
    Otherwise a read that went to review makes a cover only when the screen saw a dossier
    number on it: a page carrying another code (a certificate's QR, a Data Matrix only one
    decoder reads) stays a page."""
    read = facts.cover
    if read is None:
        return _Verdict("none")
    dossierish = [t for t in read.texts if _looks_like_dossier_no(t)]
    read_as = "、".join(dossierish)
    if not dossierish:
        if read.review and (by_position or any(_looks_like_dossier_no(t) for t in facts.screened)):
            return _Verdict(
                "refused",
                code="cover_review",
                message=_(
                    "the code on the cover {file} could not be read with certainty ({why}); "
                    "rescan the cover"
                ).format(file=Path(facts.path).name, why="；".join(read.review)),
            )
        return _Verdict("none")
    numbers = []
    for text in dossierish:
        number, refused = map_dossier_no(text)
        if refused:
            return _Verdict(
                "refused",
                read_as=read_as,
                code="naming_rule",
                message=_(
                    "the cover reads “{text}”, which has characters outside the dossier-number "
                    "rule ({chars}); correct the label and rescan the cover"
                ).format(text=text, chars=" ".join(f"“{c}” U+{ord(c):04X}" for c in refused)),
            )
        numbers.append(number)
    distinct = list(dict.fromkeys(numbers))
    if len(distinct) > 1:
        return _Verdict(
            "refused",
            read_as=read_as,
            code="two_numbers",
            message=_(
                "the cover carries several dossier numbers ({numbers}); rescan a cover with one "
                "label"
            ).format(numbers="、".join(distinct)),
        )
    if read.review:
        return _Verdict(
            "refused",
            read_as=read_as,
            code="cover_review",
            message=_(
                "the cover's codes could not all be read with certainty ({why}); check the "
                "cover and rescan it"
            ).format(why="；".join(read.review)),
        )
    return _Verdict("number", number=distinct[0], read_as=read_as)


def _groups(run: _Run, segment: _Segment, facts: list[FileFacts]) -> Iterator[_Group]:
    """Split a segment's files into dossiers (a sub-folder is one; a flat run splits at
    covers)."""
    if not segment.flat:
        yield _Group(facts[0], facts[1:], flat=False)
        return
    current: _Group | None = None
    lead: list[FileFacts] = []
    for item in facts:
        if _is_cover(item):
            if current is not None:
                yield from run.recheck(current)
            current = _Group(item, [], flat=True)
        elif current is None:
            lead.append(item)
        else:
            current.pages.append(item)
        if lead and current is not None:
            yield from run.recheck(
                _Group(
                    None,
                    lead,
                    flat=True,
                    lead_problem=Problem(
                        "no_cover",
                        _(
                            "these files come before the first cover of the batch; no dossier "
                            "is known"
                        ),
                    ),
                )
            )
            lead = []
    if lead:
        yield from run.recheck(
            _Group(
                None,
                lead,
                flat=True,
                lead_problem=Problem("no_cover", _("no cover was found among these files")),
            )
        )
    if current is not None:
        yield from run.recheck(current)


def _is_cover(facts: FileFacts) -> bool:
    return _verdict(facts).kind != "none"


# -- one dossier -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    id: uuid.UUID
    dossier_no: str
    has_pages: bool
    materials: tuple[tuple[int, int | None, int, int, str], ...]  # cat, sub, item, pages, title


@dataclass
class _Run:
    db: Database
    batch_dir: Path
    archive_root: Path
    clerk_id: uuid.UUID | None
    rows: dict[str, list[CatalogueRow]]
    quarantine_dir: Path
    min_dpi: int
    report: BatchReport
    entries: dict[Path, FileEntry]
    started_at: float
    files_total: int
    on_progress: Callable[[Progress], None] | None
    max_pixels: int
    reader: _Reader | None = None
    files_done: int = 0

    def rel(self, path: Path | str) -> str:
        try:
            return Path(path).relative_to(self.batch_dir).as_posix()
        except ValueError:
            return str(path)

    def tick(self, outcome: DossierOutcome | None) -> None:
        if self.on_progress is None:
            return
        elapsed = time.perf_counter() - self.started_at
        pages = self.report.pages
        rate = pages / elapsed if elapsed > 0 else 0.0
        eta = None
        if self.files_done and elapsed > 0:
            eta = (self.files_total - self.files_done) * elapsed / self.files_done
        try:
            self.on_progress(
                Progress(self.files_done, self.files_total, pages, elapsed, rate, eta, outcome)
            )
        except Exception:  # noqa: BLE001 - a failing progress display must not stop intake
            log.exception("intake progress callback failed")

    # -- flat batches: a dossier whose count is wrong may hide a cover the screen missed ----

    def recheck(self, group: _Group) -> Iterator[_Group]:
        """A flat dossier whose pages do not add up to its catalogue — or whose cover names
        no catalogue (refused, unknown) — may hide a cover the screen missed: its pages are
        read in full and the group split again at every cover found."""
        expected = self._expected_pages(group)
        unread = [p for p in group.pages if p.cover is None and p.error_code is None]
        if expected == len(group.pages) or not unread or self.reader is None:
            yield group
            return
        jobs = [(p.path, True, True) for p in unread]
        full = {f.path: f for f in self.reader.read(jobs)}
        pages = [full.get(p.path, p) for p in group.pages]
        if not any(_is_cover(p) for p in pages):
            yield _Group(group.cover, pages, flat=True, lead_problem=group.lead_problem)
            return
        log.info(
            "intake: a cover was found among the pages after %s",
            group.cover.path if group.cover else "the start",
        )
        current = _Group(group.cover, [], flat=True, lead_problem=group.lead_problem)
        for page in pages:
            if _is_cover(page):
                yield current
                current = _Group(page, [], flat=True)
            else:
                current.pages.append(page)
        yield current

    def _expected_pages(self, group: _Group) -> int | None:
        if group.cover is None:
            return None
        verdict = _verdict(group.cover)
        if verdict.kind != "number" or verdict.number is None:
            return None
        found = self._find(verdict.number)
        if not isinstance(found, _Found):
            return None
        rows = self._rows_for(found, verdict.number)
        if rows is not None:
            return sum(r.page_count for r in rows)
        return sum(m[3] for m in found.materials) if found.materials else None

    # -- taking one dossier in -----------------------------------------------------------------

    def take_in(self, group: _Group) -> DossierOutcome:
        self.files_done += len(group.pages) + (1 if group.cover else 0)
        try:
            return self._take_in(group)
        except Exception:  # noqa: BLE001 - one dossier's fault never stops the batch
            log.exception("intake: unexpected failure on a dossier of %s", self.batch_dir)
            outcome = DossierOutcome(
                None,
                "",
                "stopped",
                self.rel(group.cover.path) if group.cover else "",
                problems=[
                    Problem(
                        "failed",
                        _(
                            "an unexpected error stopped this dossier (details in the program "
                            "log); nothing of it was written"
                        ),
                    )
                ],
            )
            self._mark_stopped(group, outcome)
            return outcome

    def _take_in(self, group: _Group) -> DossierOutcome:
        """Check one dossier (every problem is collected, not just the first) and, when
        nothing is wrong, attach it in one transaction."""
        outcome = DossierOutcome(
            None, "", "stopped", self.rel(group.cover.path) if group.cover else ""
        )
        if group.cover is None:
            outcome.problems.append(group.lead_problem or Problem("no_cover", ""))
            self._mark_stopped(group, outcome)
            return outcome
        verdict = _verdict(group.cover, by_position=not group.flat)
        outcome.read_as = verdict.read_as
        problems = outcome.problems
        problems.extend(self._cover_problems(group.cover, verdict))
        found: _Found | None = None
        rows: list[CatalogueRow] | None = None
        if verdict.number is not None:
            looked_up = self._find(verdict.number)
            if isinstance(looked_up, Problem):
                problems.append(looked_up)
            else:
                found = looked_up
                outcome.dossier_no = found.dossier_no
                rows = self._rows_for(found, verdict.number)
                problems.extend(self._dossier_problems(found, rows, len(group.pages)))
        # Files that cannot be used are set aside whatever else is wrong.
        unusable = [p for p in group.pages if self._page_error(p)]
        if unusable:
            problems.append(
                Problem(
                    "unusable_page",
                    _("{n} file(s) cannot be used and were set aside: {files}").format(
                        n=len(unusable),
                        files=_listed(
                            f"{Path(p.path).name}（{self._error_text(p)}）" for p in unusable
                        ),
                    ),
                )
            )
        problems.extend(self._page_checks([p for p in group.pages if not self._page_error(p)]))
        if problems or found is None:
            self._mark_stopped(group, outcome)
            return outcome
        return self._attach(group, found, rows, outcome)

    def _cover_problems(self, cover: FileFacts, verdict: _Verdict) -> list[Problem]:
        name = Path(cover.path).name
        if cover.error_code:
            return [
                Problem(
                    "cover_unusable",
                    _("the cover {file} cannot be used: {why}").format(
                        file=name, why=self._error_text(cover)
                    ),
                ),
                *([Problem(verdict.code, verdict.message)] if verdict.kind == "refused" else []),
            ]
        if verdict.kind == "refused":
            return [Problem(verdict.code, verdict.message)]
        if verdict.kind == "number":
            return []
        if cover.cover is not None and cover.cover.error:
            return [
                Problem(
                    "cover_unusable",
                    _("the cover {file} cannot be read: {why}").format(
                        file=name, why=cover.cover.error
                    ),
                )
            ]
        return [
            Problem(
                "no_barcode",
                _(
                    "no dossier number could be read on the cover {file}; rescan the cover with "
                    "the label flat and uncovered"
                ).format(file=name),
            )
        ]

    def _dossier_problems(
        self, found: _Found, rows: list[CatalogueRow] | None, page_files: int
    ) -> list[Problem]:
        """The dossier's state, the archivist's right, the catalogue and the page count."""
        problems = []
        number = found.dossier_no
        if found.has_pages:
            problems.append(
                Problem(
                    "already_digitised",
                    _(
                        "dossier {number} already has page images; a batch is attached only once"
                    ).format(number=number),
                )
            )
        refusal = self._refusal(found)
        if refusal:
            problems.append(refusal)
        if rows is None and not found.materials:
            problems.append(
                Problem(
                    "no_catalogue",
                    _(
                        "dossier {number} has no catalogue yet; give the catalogue spreadsheet "
                        "with the batch"
                    ).format(number=number),
                )
            )
            return problems
        if rows is not None and found.materials:
            held = [m[:4] for m in found.materials]
            given = [(r.category, r.subcategory, r.item_no, r.page_count) for r in rows]
            if held != given:
                problems.append(
                    Problem(
                        "catalogue_differs",
                        _(
                            "the catalogue spreadsheet differs from the catalogue held for "
                            "dossier {number} (entries or page counts)"
                        ).format(number=number),
                    )
                )
        expected = (
            sum(r.page_count for r in rows)
            if rows is not None
            else sum(m[3] for m in found.materials)
        )
        if expected != page_files:
            problems.append(
                Problem(
                    "page_count_mismatch",
                    _(
                        "the catalogue of dossier {number} counts {expected} pages but the batch "
                        "holds {found} page images after the cover"
                    ).format(number=number, expected=expected, found=page_files),
                )
            )
        return problems

    def _page_error(self, facts: FileFacts) -> bool:
        return facts.error_code is not None or facts.frames > 1

    def _error_text(self, facts: FileFacts) -> str:
        code = facts.error_code or ("extra_frames" if facts.frames > 1 else "")
        return _file_error_message(code, facts, self.max_pixels)

    def _page_checks(self, pages: list[FileFacts]) -> list[Problem]:
        problems = []
        no_dpi = [p for p in pages if p.dpi is None]
        low = [p for p in pages if p.dpi is not None and p.dpi < self.min_dpi]
        if low:
            problems.append(
                Problem(
                    "low_resolution",
                    _(
                        "{n} page(s) are scanned under {min} dpi (DA/T 31-2017 asks at least "
                        "{min}): {files}"
                    ).format(
                        n=len(low),
                        min=self.min_dpi,
                        files=_listed(f"{Path(p.path).name} ({p.dpi} dpi)" for p in low),
                    ),
                )
            )
        if no_dpi:
            problems.append(
                Problem(
                    "no_resolution",
                    _(
                        "{n} page(s) do not record their resolution, so 200 dpi cannot be "
                        "checked: {files}"
                    ).format(n=len(no_dpi), files=_listed(Path(p.path).name for p in no_dpi)),
                )
            )
        formats: dict[str, list[str]] = {}
        for p in pages:
            formats.setdefault(p.format, []).append(Path(p.path).name)
        if len(formats) > 1:
            problems.append(
                Problem(
                    "mixed_formats",
                    _(
                        "the pages are in several file formats ({formats}); one batch is "
                        "scanned in one format (DA/T 31-2017)"
                    ).format(
                        formats="、".join(f"{k} ×{len(v)}" for k, v in sorted(formats.items()))
                    ),
                )
            )
        duplicates = _duplicates(pages)
        if duplicates:
            problems.append(
                Problem(
                    "duplicate_page",
                    _("the same page was scanned twice: {pairs}").format(
                        pairs=_listed(
                            f"{Path(a.path).name} = {Path(b.path).name}" for a, b in duplicates
                        )
                    ),
                )
            )
        return problems

    def _find(self, number: str) -> _Found | Problem:
        with self.db.read() as session:
            found = session.exec(
                select(Dossier).where(
                    or_(col(Dossier.dossier_no) == number, col(Dossier.barcode) == number)
                )
            ).all()
            distinct = {d.id: d for d in found}
            if not distinct:
                return Problem(
                    "unknown_dossier",
                    _("no dossier has the number {number} read from the cover").format(
                        number=number
                    ),
                )
            if len(distinct) > 1:
                return Problem(
                    "unknown_dossier",
                    _("the number {number} names several dossiers ({numbers})").format(
                        number=number,
                        numbers="、".join(sorted(d.dossier_no for d in distinct.values())),
                    ),
                )
            dossier = next(iter(distinct.values()))
            materials = sorted(
                session.exec(select(Material).where(Material.dossier_id == dossier.id)).all(),
                key=intake._catalogue_order,
            )
            has_pages = bool(materials) and (
                session.exec(
                    select(Page.id)
                    .where(col(Page.material_id).in_([m.id for m in materials]))
                    .limit(1)
                ).first()
                is not None
            )
            return _Found(
                dossier.id,
                dossier.dossier_no,
                has_pages,
                tuple(
                    (m.category, m.subcategory, m.item_no, m.page_count, m.title) for m in materials
                ),
            )

    def _rows_for(self, found: _Found, number: str) -> list[CatalogueRow] | None:
        return self.rows.get(found.dossier_no) or self.rows.get(number)

    def _refusal(self, found: _Found) -> Problem | None:
        if self.clerk_id is None:
            return None
        archivist = intake._archivist_workplace(self.db, self.clerk_id)
        try:
            with authorization.refusals_logged(self.db, archivist), self.db.read() as session:
                authorization.require(
                    session,
                    archivist,
                    "intake",
                    dossier_id=found.id,
                    error=intake.IntakeRefused,
                )
        except intake.IntakeRefused as exc:
            return Problem("refused", str(exc))
        return None

    def _attach(
        self,
        group: _Group,
        found: _Found,
        rows: list[CatalogueRow] | None,
        outcome: DossierOutcome,
    ) -> DossierOutcome:
        assert group.cover is not None
        scans: list[intake.PageScan] = []
        changed = []
        for facts in group.pages:
            data = _read_again(facts.path)
            if data is None or hashlib.sha256(data).hexdigest() != facts.sha256:
                changed.append(Path(facts.path).name)
                continue
            scans.append(
                intake.PageScan(
                    source=Path(facts.path),
                    data=data,
                    sha256=facts.sha256,
                    dpi=facts.dpi or 0,
                    width=facts.width,
                    height=facts.height,
                    phash=facts.dhash,
                )
            )
        cover_data = _read_again(group.cover.path)
        if cover_data is None or hashlib.sha256(cover_data).hexdigest() != group.cover.sha256:
            changed.append(Path(group.cover.path).name)
        if changed:
            outcome.problems.append(
                Problem(
                    "changed",
                    _(
                        "files changed while the batch was read: {files}; run the batch again"
                    ).format(files="、".join(changed)),
                )
            )
            self._mark_stopped(group, outcome)
            return outcome
        catalogue = None
        if rows is not None and not found.materials:
            catalogue = [
                intake.NewMaterial(
                    r.category,
                    r.subcategory,
                    r.item_no,
                    r.title,
                    r.formed_on,
                    r.page_count,
                    r.remark,
                )
                for r in rows
            ]
        try:
            result = intake.attach_scans(
                self.db,
                dossier_id=found.id,
                dossier_no=found.dossier_no,
                cover=intake.ScanFile(Path(group.cover.path), cover_data),
                pages=scans,
                archive_root=self.archive_root,
                clerk_id=self.clerk_id,
                catalogue=catalogue,
            )
        except intake.IntakeError as exc:
            outcome.problems.append(Problem(exc.reason, str(exc)))
            self._mark_stopped(group, outcome)
            return outcome
        outcome.status = "taken_in"
        outcome.pages = result.pages
        outcome.materials = result.materials
        self._mark_taken(group, found, rows)
        return outcome

    def _mark_taken(self, group: _Group, found: _Found, rows: list[CatalogueRow] | None) -> None:
        assert group.cover is not None
        cover_path = Path(group.cover.path)
        number = found.dossier_no
        self.entries[cover_path] = FileEntry(
            self.rel(cover_path),
            "cover",
            dossier_no=number,
            stored=f"{number}/{number}-0000{cover_path.suffix.lower()}",
        )
        plan = (
            [(r.category, r.subcategory, r.item_no, r.page_count, r.title) for r in rows]
            if rows is not None and not found.materials
            else list(found.materials)
        )
        pages = iter(group.pages)
        serial = 0
        for category, subcategory, item, count, title in plan:
            for page_no in range(1, count + 1):
                serial += 1
                path = Path(next(pages).path)
                self.entries[path] = FileEntry(
                    self.rel(path),
                    "page",
                    dossier_no=number,
                    material=_catalogue_number(category, subcategory, item),
                    title=title,
                    page_no=page_no,
                    stored=f"{number}/{number}-{serial:04d}{path.suffix.lower()}",
                )

    def _mark_stopped(self, group: _Group, outcome: DossierOutcome) -> None:
        name = outcome.dossier_no or outcome.read_as or _("(no number)")
        why = _("dossier {dossier} was stopped: {reason}").format(
            dossier=name, reason=outcome.reason
        )
        files = ([group.cover] if group.cover else []) + group.pages
        for facts in files:
            path = Path(facts.path)
            is_cover = facts is group.cover
            if facts.error_code is not None or (not is_cover and facts.frames > 1):
                self.entries[path] = self._set_aside(facts)
            else:
                self.entries[path] = FileEntry(
                    self.rel(path),
                    "not_taken",
                    dossier_no=outcome.dossier_no,
                    reason_code=outcome.reason_code,
                    reason=why,
                )

    def leave(self, group: _Group, why: str) -> None:
        """Leave a group untouched (cancelled)."""
        for facts in ([group.cover] if group.cover else []) + group.pages:
            path = Path(facts.path)
            self.entries[path] = FileEntry(
                self.rel(path), "not_taken", reason_code="cancelled", reason=why
            )

    def _set_aside(self, facts: FileFacts) -> FileEntry:
        code = facts.error_code or "extra_frames"
        reason = self._error_text(facts)
        path = Path(facts.path)
        entry = FileEntry(self.rel(path), "set_aside", reason_code=code, reason=reason)
        if code == "missing":
            return entry
        try:
            entry.quarantined = str(self._quarantine(path, code, reason, facts))
        except OSError as exc:
            log.warning("intake: cannot move %s to quarantine: %s", path, exc)
            entry.reason += " " + _("(it could not be moved to quarantine: {detail})").format(
                detail=exc.strerror or type(exc).__name__
            )
        return entry

    def _quarantine(self, path: Path, code: str, reason: str, facts: FileFacts) -> Path:
        relative = Path(self.rel(path))
        target = self.quarantine_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        n = 1
        while target.exists() or target.with_name(target.name + ".reason.txt").exists():
            target = target.with_name(f"{relative.stem}-{n}{relative.suffix}")
            n += 1
        note = target.with_name(target.name + ".reason.txt")
        note.write_text(
            "\n".join(
                [
                    _("File: {file}").format(file=path),
                    _("Reason: {reason}").format(reason=reason),
                    f"code: {code}",
                    f"sha256: {facts.sha256}",
                    f"bytes: {facts.size}",
                    _("Set aside: {time}").format(
                        time=intake_report.now().strftime("%Y-%m-%d %H:%M:%S")
                    ),
                ]
            )
            + "\n",
            encoding="utf-8",
        )
        # A rename keeps the bytes as they are; across file systems shutil copies, then removes.
        shutil.move(str(path), str(target))
        return target


def _catalogue_number(category: int, subcategory: int | None, item: int) -> str:
    from counter_tui.domain.categories import catalogue_number

    return catalogue_number(category, subcategory, item)


def _listed(names: Iterable[str], limit: int = 6) -> str:
    """Names joined for a message; past ``limit`` the rest is counted, not listed."""
    names = list(names)
    shown = "、".join(names[:limit])
    if len(names) > limit:
        shown += " " + _("and {n} more").format(n=len(names) - limit)
    return shown


def _read_again(path: str) -> bytes | None:
    try:
        return Path(path).read_bytes()
    except OSError:
        return None


def _duplicates(pages: Iterable[FileFacts]) -> list[tuple[FileFacts, FileFacts]]:
    """Pairs of pages that are the same sheet: equal bytes, or phashes within
    :data:`DUPLICATE_BITS` bits (each later page paired with its first match)."""
    seen: list[tuple[FileFacts, int]] = []
    by_sha: dict[str, FileFacts] = {}
    pairs = []
    for page in pages:
        if not page.phash:
            continue
        first = by_sha.get(page.sha256)
        value = int(page.phash, 16)
        if first is None:
            for earlier, earlier_value in seen:
                if (value ^ earlier_value).bit_count() <= DUPLICATE_BITS:
                    first = earlier
                    break
        if first is not None:
            pairs.append((first, page))
        else:
            by_sha[page.sha256] = page
            seen.append((page, value))
    return pairs
