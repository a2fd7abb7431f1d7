"""Intake of scanned dossiers: from a scan batch folder to page files and Page rows (挂接).

A scan batch is one folder per dossier, as a scanning station leaves it: page images sorted by
file name, the first being the dossier cover with a Code 128 label of the dossier number (档号).
Intake reads the number from the cover (never from the operator), finds the dossier and hands
the remaining images, in order, to the dossier's materials in catalogue order, each taking as
many images as its catalogue page count says (DA/T 31-2017 §11 数据挂接: counts and order of
catalogue and images agree). Files are stored as ``<archive_root>/<档号>/<档号>-<NNNN>.<ext>``
with NNNN the image serial over the dossier, the cover being 0000 (DA/T 31-2017 §9.6: 档号 +
图像流水号).

Everything lands in one transaction; page files written for a transaction that fails are removed.
Batches of many dossiers (sub-folders or a flat run split at covers, a catalogue spreadsheet,
quarantine, reports) are :mod:`counter_tui.services.intake_batch`, which checks each dossier and
then stores it through :func:`attach_scans`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from PIL import Image
from sqlmodel import Session, col, or_, select

from counter_tui.db.engine import PRIVATE_FILE_MODE, Database, make_private_dir
from counter_tui.db.models import Clerk, Dossier, Institution, Material, Page
from counter_tui.domain import categories
from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.read_models import ClerkRef, Workplace
from counter_tui.services import access_log, authorization, fixity
from counter_tui.services.barcodes import BarcodeImageError, decode_barcodes
from counter_tui.services.images import IMAGE_ERRORS
from counter_tui.services.workplace import institution_ref

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".png", ".tif", ".tiff", ".jpg", ".jpeg", ".jp2", ".webp", ".bmp"})
"""File name endings taken as page images in a batch folder (case-insensitive); others are
ignored (scanner logs, Thumbs.db …)."""

DEFAULT_DPI = 150
"""Resolution recorded for an image whose file does not state one."""

REASONS = (
    "no_barcode",
    "unknown_dossier",
    "page_count_mismatch",
    "already_digitised",
    "bad_image",
    "catalogue_differs",
)

# Dossier numbers become folder and file names: refuse anything that could leave the folder.
_SAFE_DOSSIER_NO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_DIGITS = re.compile(r"(\d+)")


class IntakeError(CounterError, ValueError):
    """A scan batch that cannot be attached to a dossier.

    ``reason`` is one of :data:`REASONS`: ``no_barcode`` (no images, or no barcode on the cover),
    ``unknown_dossier`` (the cover's number names no dossier, or several), ``page_count_mismatch``
    (images and catalogue page counts differ), ``already_digitised`` (the dossier has pages),
    ``bad_image`` (a file that is not a readable image), ``catalogue_differs`` (a catalogue
    spreadsheet that disagrees with the catalogue held). ``str(error)`` is a message for the
    archivist in the UI language.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, reason=reason)
        self.reason = reason


class IntakeRefused(authorization.Forbidden, IntakeError):
    """An intake the authorization rules refuse (services.authorization, rule ``intake``;
    logged): both a Forbidden (``why``: ``no_account``, ``inactive``, ``role``, ``not_held``,
    ``own_dossier``) and an IntakeError."""


@dataclass(frozen=True)
class IntakeResult:
    """What one batch added: the dossier, the number of Page rows and of materials given pages."""

    dossier_no: str
    dossier_id: uuid.UUID
    pages: int
    materials: int


@dataclass(frozen=True)
class _Target:
    id: uuid.UUID
    dossier_no: str


@dataclass(frozen=True)
class PageScan:
    """A page image read for intake: ``source`` path, the file's bytes ``data`` and their
    SHA-256 (hex), dpi, width and height in pixels and :func:`difference_hash`."""

    source: Path
    data: bytes
    sha256: str
    dpi: int
    width: int
    height: int
    phash: str


def ingest_scan_batch(
    db: Database,
    *,
    batch_dir: Path,
    archive_root: Path,
    clerk_id: uuid.UUID | None = None,
) -> IntakeResult:
    """Attach the page images in ``batch_dir`` to their dossier and store them under ``archive_root``.

    ``batch_dir`` holds the images of one dossier (see :data:`IMAGE_SUFFIXES`), in natural file
    name order ("p2" before "p10"): the cover first, whose barcode (Code 128 preferred, any
    symbology of :func:`barcodes.decode_barcodes`) carries the dossier number, matched against
    ``Dossier.dossier_no`` and ``Dossier.barcode``. The other images go, in order, to the
    dossier's materials in catalogue order (category, sub-category, item number), each taking
    ``page_count`` images numbered from page 1.

    Each image is copied byte for byte to ``archive_root/<档号>/<档号>-<NNNN><ext>`` (NNNN from
    0000 for the cover, ext in lower case) and, except the cover, recorded as a Page row:
    ``rel_path`` relative to ``archive_root`` with "/" separators, SHA-256 of the file bytes,
    dpi from the file (:data:`DEFAULT_DPI` if absent), width and height in pixels, and
    :func:`difference_hash`. ``clerk_id`` is logged as the archivist who ran the intake; it
    must be an active archivist of the institution holding the dossier, and not its owner
    (rule ``intake``, services.authorization; a refusal is logged and raised as
    IntakeRefused). None only for an operator's import without an account (the demo build,
    tests); ``counter-tui intake`` always names the archivist.

    One ``db.write()`` transaction; files written before a failed commit are removed again.
    Returns an :class:`IntakeResult`. Raises :class:`IntakeError` (reasons in :data:`REASONS`)
    and ``StorageBusyError`` when the database stays locked. Follows DA/T 31-2017 §9.6 (naming)
    and §11 (挂接: counts and order agree, every image opens).
    """
    images = _batch_images(batch_dir)
    cover, pages = images[0], images[1:]
    numbers = _cover_numbers(cover)
    archivist = _archivist_workplace(db, clerk_id)
    with authorization.refusals_logged(db, archivist), db.read() as session:
        dossier = _find_dossier(session, numbers)
        if clerk_id is not None:
            authorization.require(
                session, archivist, "intake", dossier_id=dossier.id, error=IntakeRefused
            )
        _plan(session, dossier, len(pages))  # fail fast, before reading every image
    scans = [_analyse(path) for path in pages]
    cover_scan = _read(cover)
    return attach_scans(
        db,
        dossier_id=dossier.id,
        dossier_no=dossier.dossier_no,
        cover=ScanFile(cover, cover_scan),
        pages=scans,
        archive_root=archive_root,
        clerk_id=clerk_id,
    )


@dataclass(frozen=True)
class ScanFile:
    """A cover image to store as it is: its ``source`` path and its bytes ``data``."""

    source: Path
    data: bytes


@dataclass(frozen=True)
class NewMaterial:
    """A catalogue entry to add with the pages (a dossier whose catalogue arrives with the
    scans): 类/号, title, 材料形成时间 (None when not dated), page count and 备注."""

    category: int
    subcategory: int | None
    item_no: int
    title: str
    formed_on: dt.date | None
    page_count: int
    remark: str = ""


def attach_scans(
    db: Database,
    *,
    dossier_id: uuid.UUID,
    dossier_no: str,
    cover: ScanFile,
    pages: Sequence[PageScan],
    archive_root: Path,
    clerk_id: uuid.UUID | None = None,
    catalogue: Sequence[NewMaterial] | None = None,
) -> IntakeResult:
    """Store ``cover`` and ``pages`` of dossier ``dossier_id`` and record the pages, in one
    ``db.write()`` transaction (the caller has identified the dossier and checked the
    archivist's right to take it in).

    ``catalogue``: when given and the dossier has no materials yet, these are added first
    (sealed with ``fixity.register_material``); when the dossier has materials, they must be
    the same entries (类/号 and page count, in catalogue order) or :class:`IntakeError`
    ``catalogue_differs`` is raised. The pages then go to the materials in catalogue order,
    ``page_count`` each (DA/T 31-2017 §11); file naming and clean-up as
    :func:`ingest_scan_batch`. Raises :class:`IntakeError` (``already_digitised``,
    ``page_count_mismatch``, ``catalogue_differs``) and ``StorageBusyError``.
    """
    dossier = _Target(id=dossier_id, dossier_no=dossier_no)
    if not _SAFE_DOSSIER_NO.match(dossier.dossier_no):
        raise ValueError(f"dossier number {dossier.dossier_no!r} cannot be used as a file name")
    target_dir = Path(archive_root) / dossier.dossier_no
    written: list[Path] = []
    created_dir = False
    try:
        with db.write() as session:
            chain = access_log.Chain(session)
            clerk = session.get(Clerk, clerk_id) if clerk_id else None
            if clerk_id and clerk is None:
                raise ValueError(f"no account with id {clerk_id}")
            institution_id = clerk.institution_id if clerk else None
            if catalogue is not None:
                _add_catalogue(session, chain, dossier, catalogue, clerk_id, institution_id)
            # Checked again under the write lock: another station may have won the race.
            plan = _plan(session, dossier, len(pages))
            if not target_dir.exists():
                make_private_dir(target_dir)  # 0700 (and the archive root, if new)
                created_dir = True
            written.append(_store(target_dir, dossier.dossier_no, 0, cover.source, cover.data))
            # Every page is sealed in the access chain as it is added (fixity.verify).
            serial = 0
            for material in plan:
                for page_no in range(1, material.page_count + 1):
                    serial += 1
                    scan = pages[serial - 1]
                    stored = _store(target_dir, dossier.dossier_no, serial, scan.source, scan.data)
                    written.append(stored)
                    page = Page(
                        material_id=material.id,
                        page_no=page_no,
                        rel_path=stored.relative_to(archive_root).as_posix(),
                        sha256=scan.sha256,
                        dpi=scan.dpi,
                        width=scan.width,
                        height=scan.height,
                        phash=scan.phash,
                    )
                    session.add(page)
                    fixity.register_page(
                        chain,
                        page,
                        dossier_id=dossier.id,
                        clerk_id=clerk_id,
                        institution_id=institution_id,
                    )
            materials = sum(1 for m in plan if m.page_count > 0)
            _fsync_dir(target_dir)
            if created_dir:
                _fsync_dir(target_dir.parent)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        if created_dir:
            try:
                target_dir.rmdir()
            except OSError:
                pass
        raise
    log.info(
        "intake %s: %d pages, %d materials, clerk %s",
        dossier.dossier_no,
        len(pages),
        materials,
        clerk_id,
    )
    return IntakeResult(
        dossier_no=dossier.dossier_no, dossier_id=dossier.id, pages=len(pages), materials=materials
    )


def _add_catalogue(
    session: Session,
    chain: access_log.Chain,
    dossier: _Target,
    catalogue: Sequence[NewMaterial],
    clerk_id: uuid.UUID | None,
    institution_id: uuid.UUID | None,
) -> None:
    held = sorted(
        session.exec(select(Material).where(Material.dossier_id == dossier.id)).all(),
        key=_catalogue_order,
    )
    wanted = sorted(catalogue, key=lambda m: (m.category, m.subcategory or 0, m.item_no))
    if held:
        ours = [(m.category, m.subcategory, m.item_no, m.page_count) for m in held]
        theirs = [(m.category, m.subcategory, m.item_no, m.page_count) for m in wanted]
        if ours != theirs:
            raise IntakeError(
                "catalogue_differs",
                _(
                    "The catalogue spreadsheet differs from the catalogue held for dossier "
                    "{number} (entries or page counts); check which one is right."
                ).format(number=dossier.dossier_no),
            )
        return
    for entry in wanted:
        categories.validate_placement(entry.category, entry.subcategory)
        material = Material(
            dossier_id=dossier.id,
            category=entry.category,
            subcategory=entry.subcategory,
            item_no=entry.item_no,
            title=entry.title,
            formed_on=entry.formed_on,
            page_count=entry.page_count,
            remark=entry.remark,
            created_by=clerk_id,
        )
        session.add(material)
        session.flush()
        fixity.register_material(chain, material, clerk_id=clerk_id, institution_id=institution_id)


def _archivist_workplace(db: Database, clerk_id: uuid.UUID | None) -> Workplace | None:
    """The workplace of the account ``clerk_id`` (its institution), None without one. An id
    naming no account gives a workplace the rules refuse (``no_account``)."""
    if clerk_id is None:
        return None
    with db.read() as session:
        clerk = session.get(Clerk, clerk_id)
        inst = session.get(Institution, clerk.institution_id) if clerk else None
        if clerk is None or inst is None:
            return None
        return Workplace(
            institution_ref(inst),
            ClerkRef(clerk.id, clerk.username, clerk.name, clerk.role),
            "intake",
        )


def difference_hash(image: Image.Image) -> str:
    """64-bit difference hash (dHash) of ``image`` (any mode) as 16 lower-case hex digits.

    The image is reduced to 9×8 grey pixels (Lanczos); each bit says whether a pixel's right-hand
    neighbour is brighter, read row by row, first bit most significant — the layout of
    ``imagehash.dhash`` (N. Krawetz, "Kind of Like That", 2013). Near-identical scans differ in
    few bits (Hamming distance).
    """
    grey = image.convert("L")
    # Halving steps before Lanczos keep this fast on 150–600 dpi pages without changing the
    # 9×8 result in any way that matters for near-duplicate detection.
    small = grey.resize((9, 8), Image.Resampling.LANCZOS, reducing_gap=3.0)
    pixels = small.tobytes()  # one byte per grey pixel, row by row
    value = 0
    for row in range(8):
        for column in range(8):
            left = pixels[row * 9 + column]
            right = pixels[row * 9 + column + 1]
            value = (value << 1) | (1 if right > left else 0)
    return f"{value:016x}"


def _natural_key(path: Path) -> tuple:
    parts = _DIGITS.split(path.name.lower())
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p)


def _batch_images(batch_dir: Path) -> list[Path]:
    batch_dir = Path(batch_dir)
    if not batch_dir.is_dir():
        raise IntakeError(
            "no_barcode", _("The scan batch folder {path} does not exist.").format(path=batch_dir)
        )
    images = sorted(
        (
            p
            for p in batch_dir.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
        ),
        key=_natural_key,
    )
    if not images:
        raise IntakeError(
            "no_barcode",
            _("The scan batch folder {path} holds no page images.").format(path=batch_dir),
        )
    return images


def _cover_numbers(cover: Path) -> list[str]:
    try:
        texts = decode_barcodes(cover)
    except BarcodeImageError as exc:
        raise IntakeError("bad_image", str(exc)) from exc
    numbers = [t.strip() for t in texts if t.strip()]
    if not numbers:
        raise IntakeError(
            "no_barcode",
            _(
                "No barcode could be read on the cover {file}; rescan the cover with the label "
                "flat and uncovered."
            ).format(file=cover.name),
        )
    return numbers


def _find_dossier(session: Session, numbers: list[str]) -> _Target:
    found = session.exec(
        select(Dossier).where(
            or_(col(Dossier.dossier_no).in_(numbers), col(Dossier.barcode).in_(numbers))
        )
    ).all()
    distinct = {d.id: d for d in found}
    if not distinct:
        raise IntakeError(
            "unknown_dossier",
            _("No dossier has the number {number} read from the cover.").format(
                number=", ".join(numbers)
            ),
        )
    if len(distinct) > 1:
        raise IntakeError(
            "unknown_dossier",
            _(
                "The cover carries the numbers of several dossiers ({numbers}); rescan a cover "
                "with one label."
            ).format(numbers=", ".join(sorted(d.dossier_no for d in found))),
        )
    dossier = next(iter(distinct.values()))
    if not _SAFE_DOSSIER_NO.match(dossier.dossier_no):
        raise ValueError(f"dossier number {dossier.dossier_no!r} cannot be used as a file name")
    return _Target(id=dossier.id, dossier_no=dossier.dossier_no)


def _plan(session: Session, dossier: _Target, image_count: int) -> list[Material]:
    """The dossier's materials in catalogue order, after checking it has no pages yet and that
    the catalogue's page counts add up to ``image_count``."""
    materials = session.exec(select(Material).where(Material.dossier_id == dossier.id)).all()
    if materials:
        has_pages = session.exec(
            select(Page.id).where(col(Page.material_id).in_([m.id for m in materials])).limit(1)
        ).first()
        if has_pages is not None:
            raise IntakeError(
                "already_digitised",
                _(
                    "Dossier {number} already has page images; a batch is attached only once."
                ).format(number=dossier.dossier_no),
            )
    ordered = sorted(materials, key=_catalogue_order)
    expected = sum(m.page_count for m in ordered)
    if expected != image_count:
        raise IntakeError(
            "page_count_mismatch",
            _(
                "The catalogue of dossier {number} counts {expected} pages but the batch holds "
                "{found} page images after the cover."
            ).format(number=dossier.dossier_no, expected=expected, found=image_count),
        )
    return ordered


def _catalogue_order(material: Material) -> tuple:
    # Item numbers were given in catalogue order (categories.number_items); the date and the
    # insertion time only break ties between rows numbered alike.
    category, subcategory, formed_on = categories.catalogue_sort_key(material)
    return (category, subcategory, material.item_no, formed_on, material.created_at, material.id)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise IntakeError(
            "bad_image",
            _("The page image {file} cannot be read ({detail}).").format(
                file=path.name, detail=exc.strerror or type(exc).__name__
            ),
        ) from exc


def _analyse(path: Path) -> PageScan:
    data = _read(path)
    try:
        with Image.open(BytesIO(data)) as image:
            image.load()
            dpi = _dpi(image.info.get("dpi"))
            width, height = image.size
            phash = difference_hash(image)
    except IMAGE_ERRORS as exc:
        raise IntakeError(
            "bad_image",
            _("The page image {file} is damaged or not an image ({detail}).").format(
                file=path.name, detail=str(exc) or type(exc).__name__
            ),
        ) from exc
    return PageScan(
        source=path,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        dpi=dpi,
        width=width,
        height=height,
        phash=phash,
    )


def _dpi(value: object) -> int:
    try:
        x = float(value[0])  # type: ignore[index]
    except (TypeError, ValueError, IndexError):
        return DEFAULT_DPI
    # JFIF files without units report 1 (an aspect ratio), not a resolution.
    return round(x) if x > 1 else DEFAULT_DPI


def _store(target_dir: Path, dossier_no: str, serial: int, source: Path, data: bytes) -> Path:
    target = target_dir / f"{dossier_no}-{serial:04d}{source.suffix.lower()}"
    try:
        # Exclusive create: a file left by an earlier, interrupted intake is never overwritten
        # (and so never removed by this intake's clean-up either).
        # 0600 whatever the umask: page images are personal records.
        handle = os.fdopen(
            os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE), "wb"
        )
    except FileExistsError as exc:
        raise IntakeError(
            "already_digitised",
            _(
                "The page file {path} already exists; move it away after checking it, then "
                "repeat the intake."
            ).format(path=target),
        ) from exc
    try:
        with handle:
            handle.write(data)
            handle.flush()
            # The commit will promise these bytes exist: make sure they do, even after a crash.
            os.fsync(handle.fileno())
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


def _fsync_dir(directory: Path) -> None:
    # New directory entries are durable only once the directory itself is synced (POSIX).
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
