"""Receipt comparison (接收比对): a dossier arriving on paper from another institution, its fresh
scan and its catalogue, against the electronic copy held here (or centrally), before it is
accepted (2018 条例 第二十三条: the digital dossier must be consistent with the paper one;
第二十五条: the receiver audits and files it within two months of receipt).

:func:`compare` finds

* in the catalogue: materials added, missing, renumbered, or with a changed title, formation
  date or page count (:func:`read_catalogue` reads the arriving catalogue; without one the
  arriving pages are expected in the held catalogue's order and counts);
* in the pages: each arriving page matched to a held page by perceptual hash after alignment,
  then compared region by region (services.receipt_images), so that a changed date or an added
  line is found and located; pages that match no held page, held pages that did not arrive;

and writes a report folder: ``receipt.json`` (the record; its SHA-256 is the report's hash),
``receipt.txt`` (the same, readable and printable, ending with that hash) and one
``page-<material>-<page>.png`` per flagged page, held page and arriving page side by side with
the changed regions framed. Each material's result is 一致 (consistent) or 不一致 with reasons.

:func:`decide` records the archivist's accept or refuse as a custody event (``receipt_accepted``
/ ``receipt_refused``) whose remark carries the report's SHA-256, sealed in the access chain
like every custody event. :func:`pending` lists the receipts still awaiting that decision with
their due date (received + two calendar months) for supervisors.

Catalogue spreadsheets (CSV, UTF-8 or GB 18030, or XLSX): one header row, found in the first
ten rows, naming the columns (spaces ignored; the 2012 template's names and the older ones):

=============================  ===========================================================
序号 / 类号 / 顺序号 / 编号     catalogue number: "9-1-3", "4-1-2", "1-2" (required)
类别 / 类 (optional)            category "9-1", "九" …; then 序号 may be the item number only
材料名称 (required)             title
材料形成时间 / 材料制成时间 /   date: 1985-06-01, 1985.6.1, 1985年6月1日, 19850601, 1985.06
形成时间, or 年 + 月 + 日
页数 (required)                 page count
备注 (optional)                 remark; 份数 and other columns are ignored
=============================  ===========================================================

Rows without a title are skipped; a row without a number whose title names a category
("一、履历类材料", "第九类 …") sets the category of the item numbers below it.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import logging
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, col, select

from counter_tui.db.engine import Database
from counter_tui.db.models import Clerk, CustodyEvent, Dossier, Institution, Material, Page
from counter_tui.domain import categories, clock
from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.read_models import Workplace
from counter_tui.services import access_log, authorization, custody
from counter_tui.services import receipt_images as images

log = logging.getLogger(__name__)

REPORT_FORMAT = "counter-tui receipt report 1"
"""The ``format`` member of every ``receipt.json``."""
CONSISTENT = "一致"
INCONSISTENT = "不一致"
"""A material's and a report's result as written in ``receipt.json`` (data, never translated;
shown through :func:`status_label`)."""
ACCEPTED = "receipt_accepted"
REFUSED = "receipt_refused"
"""Custody event kinds of the decision (their remark: :func:`decision_remark`)."""
AUDIT_MONTHS = 2
"""2018 条例 第二十五条: the receiver audits and files a transferred dossier within two months."""
MAX_REASON_CHARS = 150
IMAGE_SUFFIXES = frozenset({".png", ".tif", ".tiff", ".jpg", ".jpeg", ".jp2", ".webp", ".bmp"})
"""File name endings taken as page images in a scan folder (case-insensitive)."""

REASONS = (
    "unknown_dossier",
    "no_scans",
    "bad_catalogue",
    "bad_report",
    "already_decided",
    "not_received",
    "reason_needed",
    "bad_date",
)
"""Reason codes of :class:`ReceiptError`."""

_DIGITS = re.compile(r"(\d+)")
_NUMBER = re.compile(r"^(\d{1,2})(?:-(\d{1,2}))?(?:-(\d{1,3}))?$")
_HEADING = re.compile(r"^(?:第)?([一二三四五六七八九十]|10|[1-9])(?:类|[、.．\s])")
_YEAR_MONTH = re.compile(r"^(\d{4})[-./年](\d{1,2})月?$")
_COLUMNS: dict[str, tuple[str, ...]] = {
    "number": ("序号", "类号", "顺序号", "编号", "材料序号"),
    "category": ("类别", "类", "类目", "分类"),
    "title": ("材料名称", "名称", "材料题名"),
    "date": ("材料形成时间", "材料制成时间", "形成时间", "制成时间", "日期"),
    "year": ("年",),
    "month": ("月",),
    "day": ("日",),
    "pages": ("页数",),
    "remark": ("备注",),
}


class ReceiptError(CounterError, ValueError):
    """A comparison or decision that cannot be made. ``reason`` is one of :data:`REASONS`;
    ``str(error)`` is the archivist's message in the UI language."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, reason=reason, field="dossier" if "dossier" in reason else "")


class ReceiptRefused(authorization.Forbidden, ReceiptError):
    """A comparison, decision or deadline list the authorization rules refuse (rules
    ``receive`` and ``receipt_deadlines``; logged)."""


def status_label(consistent: bool) -> str:
    """一致 / 不一致 in the UI language ("consistent" / "inconsistent" in English)."""
    return _("consistent") if consistent else _("inconsistent")


# -- the arriving catalogue --------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogueRow:
    """One material of a catalogue: ``category`` 1–10, ``subcategory`` (4 and 9) or None,
    ``item_no``; ``title``; ``formed_on`` as (year, month, day) with day (and month) None when
    the catalogue gives less; ``page_count``; ``remark``; ``line``: its row in the file
    (1-based; 0 for the held catalogue)."""

    category: int
    subcategory: int | None
    item_no: int
    title: str
    formed_on: tuple[int, int | None, int | None] | None
    page_count: int
    remark: str = ""
    line: int = 0

    @property
    def number(self) -> str:
        """The 顺序号, "9-1-3" or "1-2"."""
        return categories.catalogue_number(self.category, self.subcategory, self.item_no)

    @property
    def date_text(self) -> str:
        """The formation date as written in reports ("1985-06-01", "1985-06", "")."""
        if self.formed_on is None:
            return ""
        year, month, day = self.formed_on
        if month is None:
            return f"{year}"
        return f"{year}-{month:02d}" + (f"-{day:02d}" if day else "")

    def as_json(self) -> dict[str, object]:
        """number, title, formed_on (text), page_count, remark."""
        return {
            "number": self.number,
            "title": self.title,
            "formed_on": self.date_text,
            "page_count": self.page_count,
            "remark": self.remark,
        }


def read_catalogue(path: Path) -> list[CatalogueRow]:
    """Read an arriving catalogue (CSV or XLSX; columns in the module docstring) in file order.

    Raises :class:`ReceiptError` ``bad_catalogue`` naming the file, row and column for a missing
    or unreadable file, a missing column, a bad number, date or page count, or no material.
    Follows the 2012 catalogue (组通字〔2012〕28号: 序号 | 材料名称 | 材料形成时间 | 页数 | 备注)
    and the older one (类号 … 材料制成时间 | 份数 | 页数 | 备注).
    """
    path = Path(path)
    rows = _sheet_rows(path)
    header_at, columns = _find_header(path, rows)
    found: list[CatalogueRow] = []
    current: tuple[int, int | None] | None = None
    for index, cells in enumerate(rows[header_at + 1 :], start=header_at + 2):

        def cell(name: str, cells: list[str] = cells) -> str:
            where = columns.get(name)
            return cells[where].strip() if where is not None and where < len(cells) else ""

        title = _clean(cell("title"))
        number = _fold(cell("number"))
        heading = _HEADING.match(number) if number and not number[0].isdigit() else None
        if heading is None and number and not title:
            heading = _HEADING.match(number)
        if heading is not None:
            # A class heading in the first column ("一、履历类材料", "第九类 …").
            current = (_numeral(heading.group(1)), None)
            continue
        if not title:
            continue
        if cell("category"):
            current = _placement(path, index, cell("category"))
        if not number:
            heading = _HEADING.match(_fold(title))
            if heading:
                current = (_numeral(heading.group(1)), None)
                continue
            raise _bad(path, index, _("the row has no catalogue number (序号)"))
        category, subcategory, item_no = _parse_number(path, index, number, current)
        found.append(
            CatalogueRow(
                category=category,
                subcategory=subcategory,
                item_no=item_no,
                title=title,
                formed_on=_parse_formed(
                    path, index, cell("date"), cell("year"), cell("month"), cell("day")
                ),
                page_count=_parse_pages(path, index, cell("pages")),
                remark=_clean(cell("remark")),
                line=index,
            )
        )
    if not found:
        raise ReceiptError(
            "bad_catalogue",
            _("The catalogue {file} lists no material.").format(file=path.name),
        )
    return found


def _bad(path: Path, line: int, detail: str) -> ReceiptError:
    return ReceiptError(
        "bad_catalogue",
        _("The catalogue {file}, row {line}: {detail}.").format(
            file=path.name, line=line, detail=detail
        ),
    )


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().replace(" ", "").replace("－", "-")


def _clean(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _sheet_rows(path: Path) -> list[list[str]]:
    if not path.is_file():
        raise ReceiptError(
            "bad_catalogue", _("The catalogue file {path} does not exist.").format(path=path)
        )
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _xlsx_rows(path)
    if path.suffix.lower() not in (".csv", ".txt"):
        raise ReceiptError(
            "bad_catalogue",
            _("The catalogue {file} is neither a CSV nor an XLSX file.").format(file=path.name),
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReceiptError(
            "bad_catalogue",
            _("The catalogue {file} cannot be read ({detail}).").format(
                file=path.name, detail=exc.strerror or type(exc).__name__
            ),
        ) from exc
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise ReceiptError("bad_catalogue", path.name)
    if "\x00" in text:
        raise ReceiptError(
            "bad_catalogue",
            _("The catalogue {file} is not a text (CSV) file.").format(file=path.name),
        )
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [row for row in csv.reader(text.splitlines(), dialect)]


def _xlsx_rows(path: Path) -> list[list[str]]:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ReceiptError(
            "bad_catalogue",
            _("The catalogue {file} is not a readable XLSX workbook ({detail}).").format(
                file=path.name, detail=type(exc).__name__
            ),
        ) from exc
    try:
        sheet = book.worksheets[0]
        rows = []
        for values in sheet.iter_rows(values_only=True):
            rows.append([_cell_text(v) for v in values])
        return rows
    finally:
        book.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _find_header(path: Path, rows: list[list[str]]) -> tuple[int, dict[str, int]]:
    for at, cells in enumerate(rows[:10]):
        names = [_fold(c) for c in cells]
        columns: dict[str, int] = {}
        for key, accepted in _COLUMNS.items():
            for k, name in enumerate(names):
                if name in accepted and key not in columns:
                    columns[key] = k
        if "title" in columns:
            missing = [
                label
                for key, label in (("number", "序号"), ("pages", "页数"))
                if key not in columns
            ]
            if "date" not in columns and "year" not in columns:
                missing.append("材料形成时间")
            if missing:
                raise ReceiptError(
                    "bad_catalogue",
                    _("The catalogue {file} has no column {columns}.").format(
                        file=path.name, columns="、".join(missing)
                    ),
                )
            return at, columns
    raise ReceiptError(
        "bad_catalogue",
        _(
            "The catalogue {file} has no header row naming its columns (序号, 材料名称, "
            "材料形成时间, 页数, 备注) in its first ten rows."
        ).format(file=path.name),
    )


def _numeral(text: str) -> int:
    if text.isdigit():
        return int(text)
    return categories.CHINESE_NUMERALS.index(text) + 1


def _placement(path: Path, line: int, text: str) -> tuple[int, int | None]:
    try:
        category, sub = categories.parse_placement(_fold(text).lstrip("第").split("类")[0] or text)
    except ValueError:
        raise _bad(
            path, line, _("the category {text} is not one of 1–10").format(text=text)
        ) from None
    return category, sub


def _parse_number(
    path: Path, line: int, text: str, current: tuple[int, int | None] | None
) -> tuple[int, int, int] | tuple[int, int | None, int]:
    folded = text.replace(".", "-").replace("．", "-").replace("—", "-")
    m = _NUMBER.match(folded)
    if m is None:
        raise _bad(
            path, line, _("the catalogue number {text} is not like 9-1-3 or 1-2").format(text=text)
        )
    parts = [int(p) for p in m.groups() if p is not None]
    if len(parts) == 1:
        if current is None:
            raise _bad(
                path, line, _("the item number {text} has no category before it").format(text=text)
            )
        category, subcategory, item = current[0], current[1], parts[0]
    elif len(parts) == 2:
        category, subcategory, item = parts[0], None, parts[1]
        if (
            category in categories.SPLIT_CATEGORIES
            and current
            and current[0] == category
            and current[1]
        ):
            subcategory = current[1]
    else:
        category, subcategory, item = parts
    try:
        categories.validate_placement(category, subcategory)
    except ValueError:
        raise _bad(
            path,
            line,
            _("the catalogue number {text} names no category of the scheme").format(text=text),
        ) from None
    if item < 1:
        raise _bad(path, line, _("the catalogue number {text} has item number 0").format(text=text))
    return category, subcategory, item


def _parse_formed(
    path: Path, line: int, text: str, year: str, month: str, day: str
) -> tuple[int, int | None, int | None] | None:
    if not text and year:
        text = "-".join(p for p in (year, month, day) if p)
    folded = _fold(text).rstrip("日")
    if not folded:
        return None
    from counter_tui.domain.dates import parse_date

    try:
        date = parse_date(folded)
        return (date.year, date.month, date.day)
    except ValueError:
        pass
    m = _YEAR_MONTH.match(folded) or re.match(r"^(\d{4})(\d{2})$", folded)
    if m and 1 <= int(m.group(2)) <= 12:
        return (int(m.group(1)), int(m.group(2)), None)
    if re.match(r"^\d{4}年?$", folded):
        return (int(folded[:4]), None, None)
    raise _bad(path, line, _("the date {text} is not a date").format(text=text))


def _parse_pages(path: Path, line: int, text: str) -> int:
    folded = _fold(text)
    if not folded.isdigit() or not 0 <= int(folded) <= 9999:
        raise _bad(
            path, line, _("the page count {text} is not a whole number").format(text=text or "—")
        )
    return int(folded)


def held_rows(materials: Iterable[Material]) -> list[CatalogueRow]:
    """The held catalogue as :class:`CatalogueRow` values in catalogue order."""
    rows = [
        CatalogueRow(
            category=m.category,
            subcategory=m.subcategory,
            item_no=m.item_no,
            title=m.title,
            formed_on=(m.formed_on.year, m.formed_on.month, m.formed_on.day)
            if m.formed_on
            else None,
            page_count=m.page_count,
            remark=m.remark,
        )
        for m in materials
    ]
    return sorted(rows, key=lambda r: (r.category, r.subcategory or 0, r.item_no))


# -- findings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageFinding:
    """One arriving page (or a held page that did not arrive).

    ``file``: the arriving image's name ("" for a held page missing from the paper);
    ``page_no``: its page within the arriving material (0 when not placed); ``held_page_no``
    and ``held_material``: the held page it shows ("" and 0 when none); ``hash_distance``:
    perceptual-hash distance after alignment (bits, -1 when not compared); ``regions``: changed
    regions in the arriving page's pixels; ``image``: the side-by-side PNG's file name in the
    report folder ("" when none); ``problem``: "" or a sentence (UI language)."""

    file: str
    page_no: int
    held_material: str = ""
    held_page_no: int = 0
    hash_distance: int = -1
    regions: tuple[images.Region, ...] = ()
    image: str = ""
    problem: str = ""

    @property
    def flagged(self) -> bool:
        """Whether this page makes its material 不一致."""
        return bool(self.problem or self.regions)

    def as_json(self) -> dict[str, object]:
        """The finding as a JSON object (RFC 8259)."""
        return {
            "file": self.file,
            "page_no": self.page_no,
            "held_material": self.held_material,
            "held_page_no": self.held_page_no,
            "hash_distance": self.hash_distance,
            "regions": [r.as_json() for r in self.regions],
            "image": self.image,
            "problem": self.problem,
        }


@dataclass
class MaterialFinding:
    """One material of either catalogue: ``number`` (顺序号) and ``title`` (the arriving one's,
    or the held one's when it did not arrive); ``held`` / ``arriving`` catalogue rows (None when
    absent on that side); ``reasons``: why it is 不一致 (sentences, UI language; none: 一致);
    ``notes``: remarks that do not make it 不一致; ``pages``: per page."""

    number: str
    title: str
    held: CatalogueRow | None
    arriving: CatalogueRow | None
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    pages: list[PageFinding] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        """一致: both catalogues agree and every page matched unaltered."""
        return not self.reasons

    @property
    def status(self) -> str:
        """一致 or 不一致 in the UI language."""
        return status_label(self.consistent)

    def as_json(self) -> dict[str, object]:
        """The finding as a JSON object (RFC 8259); ``status`` is "一致" or "不一致"."""
        return {
            "number": self.number,
            "title": self.title,
            "status": CONSISTENT if self.consistent else INCONSISTENT,
            "held": self.held.as_json() if self.held else None,
            "arriving": self.arriving.as_json() if self.arriving else None,
            "reasons": list(self.reasons),
            "notes": list(self.notes),
            "pages": [p.as_json() for p in self.pages],
        }


@dataclass(frozen=True)
class ReceiptReport:
    """What :func:`compare` found and wrote.

    ``folder``: the report folder; ``json_path`` / ``text_path``: ``receipt.json`` and
    ``receipt.txt`` in it; ``sha256``: SHA-256 (hex) of ``receipt.json``'s bytes, the hash a
    decision cites; ``received_at``: aware UTC time of the receipt (None if not recorded, e.g.
    a dossier held here long before); ``due_on``: the Beijing date the audit is due
    (:func:`due_date`), None without a receipt; ``pages_compared``, ``seconds``: work done."""

    dossier_id: uuid.UUID
    dossier_no: str
    person_name: str
    materials: tuple[MaterialFinding, ...]
    unplaced: tuple[PageFinding, ...]
    cover: str
    folder: Path
    json_path: Path
    text_path: Path
    sha256: str
    received_at: dt.datetime | None
    due_on: dt.date | None
    pages_compared: int
    seconds: float

    @property
    def consistent(self) -> bool:
        """Every material 一致 and no page left unplaced."""
        return all(m.consistent for m in self.materials) and not any(
            p.flagged for p in self.unplaced
        )

    @property
    def flagged_pages(self) -> list[PageFinding]:
        """Every flagged page, material by material, then the unplaced ones."""
        return [p for m in self.materials for p in m.pages if p.flagged] + [
            p for p in self.unplaced if p.flagged
        ]


Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each arriving page (pages compared so far)."""


# -- compare ----------------------------------------------------------------------------------


def compare(
    db: Database,
    workplace: Workplace | None,
    *,
    dossier_no: str,
    scan_dir: Path,
    archive_root: Path,
    report_dir: Path,
    catalogue: Path | None = None,
    received_on: dt.date | None = None,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
) -> ReceiptReport:
    """Compare the paper copy of ``dossier_no`` (its scan in ``scan_dir``, its catalogue
    ``catalogue``) with the copy held in ``db`` and under ``archive_root``; write the report
    into a new folder ``report_dir/<档号>-<YYYYMMDD-HHMMSS>`` (Beijing time).

    ``scan_dir``: page images (:data:`IMAGE_SUFFIXES`) in natural file-name order ("p2" before
    "p10"), catalogue order; a first image beyond the catalogue's page total is taken as the
    cover and not compared. ``catalogue``: CSV/XLSX (:func:`read_catalogue`); None expects the
    held catalogue. ``workplace``: an active archivist of the institution the dossier is in
    transit to or held by (rule ``receive``; refusals logged, raised as
    :class:`ReceiptRefused`). When the dossier is in transit to the workplace's institution its
    receipt is recorded first (custody event ``received`` at ``received_on`` 09:00 Beijing
    time, default now; sealed): the two-month clock starts there. The comparison is logged in
    the access chain (kind ``dossier``, reason naming the report's hash).

    Raises :class:`ReceiptError` (``unknown_dossier``, ``no_scans``, ``bad_catalogue``,
    ``bad_date``); unreadable page images are findings, not errors. OSError when the report
    folder cannot be written.
    """
    import time

    started = time.perf_counter()
    now = now or clock.utcnow()
    rows = read_catalogue(catalogue) if catalogue is not None else None
    with authorization.refusals_logged(db, workplace):
        with db.read() as session:
            dossier = _find_dossier(session, dossier_no)
            authorization.require(
                session, workplace, "receive", dossier_id=dossier.id, error=ReceiptRefused
            )
        scans = _scan_images(scan_dir)
        received_at = _record_receipt(db, workplace, dossier.id, received_on, now)
        with db.read() as session:
            held = _held_copy(session, dossier.id)
            state = custody.states(session, [dossier.id])[dossier.id]
            receipt_at = _pending_receipt_time(session, dossier.id) or received_at
    expected = held_rows(m for m, _pages in held) if rows is None else rows
    folder = _report_folder(report_dir, dossier.dossier_no, now)
    comparer = _Comparer(held, Path(archive_root), folder, progress)
    materials, unplaced, cover = comparer.run(expected, scans, from_catalogue=rows is not None)
    due_on = due_date(receipt_at) if receipt_at else None
    clerk = workplace.clerk if workplace else None
    content = {
        "format": REPORT_FORMAT,
        "dossier_no": dossier.dossier_no,
        "person_name": dossier.person_name,
        "institution": workplace.institution.name if workplace else "",
        "archivist": f"{clerk.name} ({clerk.username})" if clerk else "",
        "compared_at": clock.storage_text(now),
        "received_at": clock.storage_text(receipt_at) if receipt_at else None,
        "due_on": due_on.isoformat() if due_on else None,
        "holder_now": "in_transit" if state.in_transit else "held",
        "scan_dir": str(Path(scan_dir).resolve()),
        "catalogue": str(Path(catalogue).resolve()) if catalogue else None,
        "cover": cover,
        "result": CONSISTENT
        if all(m.consistent for m in materials) and not any(p.flagged for p in unplaced)
        else INCONSISTENT,
        "materials": [m.as_json() for m in materials],
        "unplaced_pages": [p.as_json() for p in unplaced],
    }
    data = json.dumps(content, ensure_ascii=False, indent=2).encode("utf-8")
    json_path = folder / "receipt.json"
    json_path.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    report = ReceiptReport(
        dossier_id=dossier.id,
        dossier_no=dossier.dossier_no,
        person_name=dossier.person_name,
        materials=tuple(materials),
        unplaced=tuple(unplaced),
        cover=cover,
        folder=folder,
        json_path=json_path,
        text_path=folder / "receipt.txt",
        sha256=sha,
        received_at=receipt_at,
        due_on=due_on,
        pages_compared=comparer.compared,
        seconds=time.perf_counter() - started,
    )
    report.text_path.write_text(report_text(report, content), encoding="utf-8")
    with db.write() as session:
        access_log.append(
            session,
            kind="dossier",
            clerk_id=clerk.id if clerk else None,
            institution_id=workplace.institution.id if workplace else None,
            dossier_id=dossier.id,
            target_id=dossier.id,
            reason=f"receipt comparison {sha}",
        )
    log.info(
        "receipt comparison %s: %s, %d pages in %.1f s, report %s",
        dossier.dossier_no,
        content["result"],
        comparer.compared,
        report.seconds,
        sha,
    )
    return report


@dataclass(frozen=True)
class _Dossier:
    id: uuid.UUID
    dossier_no: str
    person_name: str


def _find_dossier(session: Session, number: str) -> _Dossier:
    folded = _fold(number)
    found = session.exec(
        select(Dossier).where((Dossier.dossier_no == folded) | (Dossier.barcode == folded))
    ).first()
    if found is None:
        raise ReceiptError(
            "unknown_dossier", _("No dossier has the number {number}.").format(number=number)
        )
    return _Dossier(found.id, found.dossier_no, found.person_name)


def _natural_key(path: Path) -> tuple:
    parts = _DIGITS.split(path.name.lower())
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p)


def _scan_images(scan_dir: Path) -> list[Path]:
    folder = Path(scan_dir)
    if not folder.is_dir():
        raise ReceiptError(
            "no_scans", _("The scan folder {path} does not exist.").format(path=folder)
        )
    try:
        found = [
            p
            for p in folder.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
        ]
    except OSError as exc:
        raise ReceiptError(
            "no_scans",
            _("The scan folder {path} cannot be read ({detail}).").format(
                path=folder, detail=exc.strerror or type(exc).__name__
            ),
        ) from exc
    if not found:
        raise ReceiptError(
            "no_scans", _("The scan folder {path} holds no page images.").format(path=folder)
        )
    return sorted(found, key=_natural_key)


def _held_copy(session: Session, dossier_id: uuid.UUID) -> list[tuple[Material, list[Page]]]:
    materials = session.exec(select(Material).where(Material.dossier_id == dossier_id)).all()
    ids = [m.id for m in materials]
    pages = session.exec(select(Page).where(col(Page.material_id).in_(ids))).all() if ids else []
    by_material: dict[uuid.UUID, list[Page]] = {m: [] for m in ids}
    for page in pages:
        by_material[page.material_id].append(page)
    ordered = sorted(materials, key=categories.display_key)
    for material in ordered:
        session.expunge(material)
    for page in pages:
        session.expunge(page)
    return [(m, sorted(by_material[m.id], key=lambda p: p.page_no)) for m in ordered]


def _report_folder(report_dir: Path, dossier_no: str, now: dt.datetime) -> Path:
    stamp = clock.beijing(now).strftime("%Y%m%d-%H%M%S")
    base = Path(report_dir) / f"{dossier_no}-{stamp}"
    folder, n = base, 1
    while folder.exists():
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    folder.mkdir(parents=True)
    return folder


class _Comparer:
    """Matches arriving pages to held pages and compares them (one comparison run)."""

    def __init__(
        self,
        held: list[tuple[Material, list[Page]]],
        archive_root: Path,
        folder: Path,
        progress: Progress | None,
    ) -> None:
        self.held = held
        self.root = archive_root
        self.folder = folder
        self.progress = progress
        self.compared = 0
        self._prepared: dict[uuid.UUID, images.PreparedPage | str] = {}
        self._arriving: dict[tuple[Path, int], images.PreparedPage] = {}
        self.used: set[uuid.UUID] = set()
        self.page_owner: dict[uuid.UUID, Material] = {p.id: m for m, pages in held for p in pages}

    # the held side

    def held_page(self, page: Page) -> images.PreparedPage | str:
        """The held page prepared, or the problem reading it (a sentence)."""
        if page.id not in self._prepared:
            try:
                self._prepared[page.id] = images.read_page(self.root / page.rel_path, dpi=page.dpi)
            except images.PageImageError as exc:
                log.warning("held page %s unreadable: %s", page.rel_path, exc)
                self._prepared[page.id] = str(exc)
        return self._prepared[page.id]

    def arriving_page(self, path: Path, width: int) -> images.PreparedPage:
        key = (path, width)
        if key not in self._arriving:
            self._arriving[key] = images.read_page(path, working_width=width)
        return self._arriving[key]

    # matching

    def run(
        self, expected: list[CatalogueRow], scans: list[Path], *, from_catalogue: bool
    ) -> tuple[list[MaterialFinding], list[PageFinding], str]:
        findings, pairs = _catalogue_findings(self.held, expected, from_catalogue)
        total = sum(r.page_count for r in expected)
        cover = ""
        if len(scans) == total + 1:
            cover, scans = scans[0].name, scans[1:]
        placed: list[tuple[MaterialFinding, int, Path]] = []
        unplaced_paths: list[Path] = []
        if len(scans) == total:
            at = 0
            for row in expected:
                finding = next(f for f in findings if f.arriving is row)
                for page_no in range(1, row.page_count + 1):
                    placed.append((finding, page_no, scans[at]))
                    at += 1
        else:
            note = _(
                "The catalogue counts {expected} pages but the scan holds {found} images; "
                "pages were matched by their images only."
            ).format(expected=total, found=len(scans))
            for finding in findings:
                if finding.arriving is not None:
                    finding.reasons.append(note)
            unplaced_paths = list(scans)
        total_work = len(placed) + len(unplaced_paths)
        for finding, page_no, path in placed:
            held_material = pairs.get(id(finding))
            finding.pages.append(self.page(path, page_no, held_material, finding.number))
            self._tick(total_work)
        unplaced = []
        for path in unplaced_paths:
            unplaced.append(self.page(path, 0, None, "x"))
            self._tick(total_work)
        self._conclude(findings, pairs, unplaced)
        return findings, unplaced, cover

    def _tick(self, total: int) -> None:
        self.compared += 1
        if self.progress is not None:
            self.progress(self.compared, total)

    def page(self, path: Path, page_no: int, expected: Material | None, number: str) -> PageFinding:
        """Compare one arriving page: first with the held page expected at its place, then,
        failing that, with the held pages nearest by perceptual hash."""
        candidates: list[Page] = []
        if expected is not None:
            pages = dict((p.page_no, p) for m, ps in self.held if m.id == expected.id for p in ps)
            if page_no in pages and pages[page_no].id not in self.used:
                candidates.append(pages[page_no])
        best: tuple[Page, images.PageComparison, images.PreparedPage] | None = None
        try:
            for page in candidates:
                result = self._try(path, page)
                if result and result[0].same_sheet:
                    best = (page, result[0], result[1])
                    break
            if best is None:
                best = self._search(path, exclude={p.id for p in candidates})
        except images.PageImageError as exc:
            return PageFinding(file=path.name, page_no=page_no, problem=str(exc))
        if best is None:
            return PageFinding(
                file=path.name,
                page_no=page_no,
                problem=_("no held page shows this sheet (a page not in the held copy)"),
            )
        held_page, comparison, _prepared = best
        self.used.add(held_page.id)
        owner = self.page_owner[held_page.id]
        owner_number = categories.catalogue_number(owner.category, owner.subcategory, owner.item_no)
        problem = ""
        if expected is None or owner.id != expected.id or held_page.page_no != page_no:
            problem = _("shows held page {page} of material {number}").format(
                page=held_page.page_no, number=owner_number
            )
        image = ""
        if comparison.regions:
            image = f"page-{number}-{page_no or path.stem}.png"
            try:
                images.side_by_side(
                    self.root / held_page.rel_path,
                    path,
                    comparison.regions,
                    self.folder / image,
                    transform=comparison.transform,
                )
            except (images.PageImageError, OSError):
                log.warning("side-by-side image %s not written", image, exc_info=True)
                image = ""
        return PageFinding(
            file=path.name,
            page_no=page_no,
            held_material=owner_number,
            held_page_no=held_page.page_no,
            hash_distance=comparison.hash_distance,
            regions=comparison.regions,
            image=image,
            problem=problem,
        )

    def _try(
        self, path: Path, page: Page
    ) -> tuple[images.PageComparison, images.PreparedPage] | None:
        held = self.held_page(page)
        if isinstance(held, str):
            return None
        arriving = self.arriving_page(path, held.grey.shape[1])
        return images.compare_pages(held, arriving), arriving

    def _search(
        self, path: Path, *, exclude: set[uuid.UUID]
    ) -> tuple[Page, images.PageComparison, images.PreparedPage] | None:
        pool = [
            p
            for _m, pages in self.held
            for p in pages
            if p.id not in self.used and p.id not in exclude
        ]
        ranked: list[tuple[int, Page]] = []
        for page in pool:
            held = self.held_page(page)
            if isinstance(held, str):
                continue
            arriving = self.arriving_page(path, held.grey.shape[1])
            ranked.append((held.phash - arriving.phash, page))
        ranked.sort(key=lambda item: item[0])
        best = None
        for _distance, page in ranked[:3]:
            result = self._try(path, page)
            if result is None or not result[0].same_sheet:
                continue
            if best is None or result[0].changed_share < best[1].changed_share:
                best = (page, result[0], result[1])
        return best

    def _conclude(
        self,
        findings: list[MaterialFinding],
        pairs: dict[int, Material],
        unplaced: list[PageFinding],
    ) -> None:
        for finding in findings:
            held_material = pairs.get(id(finding))
            for page in finding.pages:
                if page.regions:
                    finding.reasons.append(
                        _("page {page} altered: {n} changed region(s)").format(
                            page=page.page_no, n=len(page.regions)
                        )
                    )
                if page.problem:
                    finding.reasons.append(
                        _("page {page}: {problem}").format(page=page.page_no, problem=page.problem)
                    )
            if held_material is None:
                continue
            held_pages = next(ps for m, ps in self.held if m.id == held_material.id)
            if not held_pages:
                finding.notes.append(
                    _(
                        "the held copy has no page images of this material: compared by catalogue only"
                    )
                )
                continue
            for page in held_pages:
                if page.id in self.used:
                    continue
                problem = self.held_page(page)
                if isinstance(problem, str):
                    finding.reasons.append(
                        _("held page {page} cannot be read: {problem}").format(
                            page=page.page_no, problem=problem
                        )
                    )
                    continue
                finding.reasons.append(
                    _("held page {page} is not in the paper copy").format(page=page.page_no)
                )
        for page in unplaced:
            if not page.problem and page.held_material:
                # Matched by image only: the material it belongs to says whether it changed.
                owner = next(
                    (f for f in findings if f.held and f.held.number == page.held_material), None
                )
                if owner is not None:
                    owner.pages.append(page)
                    if page.regions:
                        owner.reasons.append(
                            _("page {page} altered: {n} changed region(s)").format(
                                page=page.held_page_no, n=len(page.regions)
                            )
                        )
        unplaced[:] = [p for p in unplaced if p.problem or not p.held_material]


def _same_date(
    held: tuple[int, int | None, int | None] | None,
    arriving: tuple[int, int | None, int | None] | None,
) -> bool:
    if held is None or arriving is None:
        return held == arriving
    # The arriving catalogue may give only year and month: compare what it gives.
    return all(a is None or h == a for h, a in zip(held, arriving, strict=True))


def _title_key(title: str) -> str:
    return re.sub(r"[\s（）()]", "", unicodedata.normalize("NFKC", title))


def _catalogue_findings(
    held: list[tuple[Material, list[Page]]],
    arriving: list[CatalogueRow],
    from_catalogue: bool,
) -> tuple[list[MaterialFinding], dict[int, Material]]:
    """Pair arriving catalogue rows with held materials: same number and title first, then same
    title and date under another number (renumbered), then same number (changed); the rest are
    added or missing. Returns the findings in arriving order (missing ones after, in held order)
    and, by ``id(finding)``, the held material paired with each."""
    held_rows_by_id = {m.id: held_rows([m])[0] for m, _pages in held}
    free = {m.id: m for m, _pages in held}
    pairs: dict[int, Material] = {}
    findings = [MaterialFinding(r.number, r.title, None, r) for r in arriving]

    def pair(finding: MaterialFinding, material: Material) -> None:
        pairs[id(finding)] = material
        finding.held = held_rows_by_id[material.id]
        del free[material.id]

    for finding in findings:
        row = finding.arriving
        assert row is not None
        for material in list(free.values()):
            h = held_rows_by_id[material.id]
            if h.number == row.number and _title_key(h.title) == _title_key(row.title):
                pair(finding, material)
                break
    for finding in findings:
        if id(finding) in pairs:
            continue
        row = finding.arriving
        assert row is not None
        for material in list(free.values()):
            h = held_rows_by_id[material.id]
            if (
                _title_key(h.title) == _title_key(row.title)
                and _same_date(h.formed_on, row.formed_on)
                and h.category == row.category
            ):
                pair(finding, material)
                break
    for finding in findings:
        if id(finding) in pairs:
            continue
        row = finding.arriving
        assert row is not None
        for material in list(free.values()):
            if held_rows_by_id[material.id].number == row.number:
                pair(finding, material)
                break
    for finding in findings:
        row = finding.arriving
        assert row is not None
        h = finding.held
        if h is None:
            finding.reasons.append(_("not in the held catalogue (a material added)"))
            continue
        if h.number != row.number:
            finding.reasons.append(
                _("numbered {arriving} here, {held} in the held catalogue").format(
                    arriving=row.number, held=h.number
                )
            )
        if _title_key(h.title) != _title_key(row.title):
            finding.reasons.append(
                _("title changed: held “{held}”, arriving “{arriving}”").format(
                    held=h.title, arriving=row.title
                )
            )
        if not _same_date(h.formed_on, row.formed_on):
            finding.reasons.append(
                _("formation date changed: held {held}, arriving {arriving}").format(
                    held=h.date_text or "—", arriving=row.date_text or "—"
                )
            )
        if h.page_count != row.page_count:
            finding.reasons.append(
                _("page count changed: held {held}, arriving {arriving}").format(
                    held=h.page_count, arriving=row.page_count
                )
            )
    for material, _pages in held:
        if material.id in free:
            h = held_rows_by_id[material.id]
            missing = MaterialFinding(h.number, h.title, h, None)
            missing.reasons.append(_("in the held catalogue but not in the paper copy (missing)"))
            findings.append(missing)
    if not from_catalogue:
        for finding in findings:
            finding.notes.append(_("no arriving catalogue: the held catalogue was expected"))
            break
    return findings, pairs


# -- the readable report ----------------------------------------------------------------------


def report_text(report: ReceiptReport, content: dict[str, object]) -> str:
    """``receipt.txt``: the report as plain text for printing (UI language, UTF-8), ending
    with the SHA-256 of ``receipt.json``."""
    lines = [
        _("Receipt comparison report"),
        "",
        _("Dossier: {no} {name}").format(no=report.dossier_no, name=report.person_name),
        _("Institution: {name}").format(name=content.get("institution") or "—"),
        _("Archivist: {name}").format(name=content.get("archivist") or "—"),
        _("Compared at: {time}").format(time=clock.local_time(_parse_time(content["compared_at"]))),
        _(
            "Received: {date}; audit due by {due} (2018 Regulations on cadre personnel dossiers, art. 25)"
        ).format(
            date=clock.local_date(report.received_at) if report.received_at else "—",
            due=report.due_on.isoformat() if report.due_on else "—",
        ),
        _("Scan folder: {path}").format(path=content.get("scan_dir")),
        _("Catalogue: {path}").format(path=content.get("catalogue") or _("held catalogue")),
    ]
    if report.cover:
        lines.append(_("Cover image (not compared): {file}").format(file=report.cover))
    lines += [
        "",
        _("Result: {result}").format(result=status_label(report.consistent)),
        "",
    ]
    for m in report.materials:
        lines.append(f"{m.number:<8} {m.title}  [{m.status}]")
        for reason in m.reasons:
            lines.append(f"    - {reason}")
        for note in m.notes:
            lines.append(f"    · {note}")
        for page in m.pages:
            for region in page.regions:
                lines.append(
                    "      "
                    + _("page {page} ({file}): changed region x={x} y={y} {w}×{h} px").format(
                        page=page.page_no,
                        file=page.file,
                        x=region.x,
                        y=region.y,
                        w=region.width,
                        h=region.height,
                    )
                )
            if page.image:
                lines.append("      " + _("side by side: {file}").format(file=page.image))
    if report.unplaced:
        lines += ["", _("Pages not placed in any material:")]
        for page in report.unplaced:
            lines.append(f"    - {page.file}: {page.problem}")
    lines += [
        "",
        _("Report SHA-256 (receipt.json): {sha}").format(sha=report.sha256),
        "",
        _("Archivist's signature: ____________    Date: ____________"),
        "",
    ]
    return "\n".join(lines)


def _parse_time(text: object) -> dt.datetime:
    return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))


# -- receipt, decision, clock -------------------------------------------------------------------


def due_date(received_at: dt.datetime) -> dt.date:
    """The Beijing date by which a dossier received at ``received_at`` (aware) must be audited
    and filed: the same day :data:`AUDIT_MONTHS` calendar months later, or the last day of that
    month when it is shorter (31 Dec → 28/29 Feb). 2018 条例 第二十五条."""
    day = clock.beijing(received_at).date()
    month = day.month - 1 + AUDIT_MONTHS
    year, month = day.year + month // 12, month % 12 + 1
    import calendar

    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _record_receipt(
    db: Database,
    workplace: Workplace | None,
    dossier_id: uuid.UUID,
    received_on: dt.date | None,
    now: dt.datetime,
) -> dt.datetime | None:
    """Record the receipt when the dossier is in transit to the workplace's institution;
    returns its time (None when nothing was recorded)."""
    if workplace is None:
        return None
    with db.write() as session:
        events = session.exec(
            select(CustodyEvent).where(CustodyEvent.dossier_id == dossier_id)
        ).all()
        state = custody.state_from_events(events)
        if not (state.in_transit and state.destination_id == workplace.institution.id):
            return None
        at = clock.at(received_on, 9) if received_on else now
        sent = state.since
        if received_on and (received_on > clock.today(now) or (sent and at < sent)):
            raise ReceiptError(
                "bad_date",
                _(
                    "The receipt date {date} is before the dossier was sent ({sent}) or in the future."
                ).format(date=received_on.isoformat(), sent=clock.local_date(sent)),
            )
        clerk_id = workplace.clerk.id if workplace.clerk else None
        event = CustodyEvent(
            dossier_id=dossier_id,
            kind="received",
            holder_institution_id=workplace.institution.id,
            at=at,
            clerk_id=clerk_id,
            remark="接收比对",
        )
        session.add(event)
        session.flush()
        custody.register_event(access_log.Chain(session), event, clerk_id=clerk_id)
        return at


def _pending_receipt_time(session: Session, dossier_id: uuid.UUID) -> dt.datetime | None:
    """The time of the dossier's receipt still awaiting its audit decision, or None."""
    events = session.exec(select(CustodyEvent).where(CustodyEvent.dossier_id == dossier_id)).all()
    return _open_receipt(events)


def _open_receipt(events: Iterable[CustodyEvent]) -> dt.datetime | None:
    """A receipt after a transfer (``transferred_out`` then ``received``) with no decision
    after it: its time; else None."""
    received: dt.datetime | None = None
    transferred = False
    for event in sorted(events, key=lambda e: (e.at, e.id)):
        if event.kind == "transferred_out":
            transferred, received = True, None
        elif event.kind == "received" and transferred and received is None:
            received = event.at
        elif event.kind in (ACCEPTED, REFUSED):
            transferred, received = False, None
    return received


def decision_remark(sha256: str, reason: str) -> str:
    """The custody event's remark: ``report sha256=<64 hex>`` then ``; <reason>`` if any
    (at most 255 characters)."""
    remark = f"report sha256={sha256}"
    if reason:
        remark += f"; {reason}"
    return remark[:255]


@dataclass(frozen=True)
class Decision:
    """A recorded decision: ``kind`` (:data:`ACCEPTED` or :data:`REFUSED`), the custody event's
    id, time (aware UTC), the report's SHA-256 and the reason given."""

    kind: str
    event_id: uuid.UUID
    at: dt.datetime
    sha256: str
    reason: str
    dossier_no: str


def decide(
    db: Database,
    workplace: Workplace | None,
    *,
    report_path: Path,
    accept: bool,
    reason: str = "",
    now: dt.datetime | None = None,
) -> Decision:
    """Record the archivist's decision on the comparison whose ``receipt.json`` is
    ``report_path`` (or its folder): accept (接收) or refuse (退回), as a custody event
    ``receipt_accepted`` / ``receipt_refused`` of the workplace's institution whose remark is
    :func:`decision_remark` (the SHA-256 of the report file as it is now), sealed in the access
    chain. A refusal needs a ``reason`` (≤ :data:`MAX_REASON_CHARS` characters), and so does
    accepting a report that found inconsistencies. Rule ``receive``; the dossier must be held
    here (its receipt recorded) with no decision since.

    Raises :class:`ReceiptError` (``bad_report``, ``unknown_dossier``, ``reason_needed``,
    ``not_received``, ``already_decided``) or :class:`ReceiptRefused`.
    """
    now = now or clock.utcnow()
    path = Path(report_path)
    if path.is_dir():
        path = path / "receipt.json"
    try:
        data = path.read_bytes()
        content = json.loads(data.decode("utf-8"))
        if not isinstance(content, dict) or content.get("format") != REPORT_FORMAT:
            raise ValueError("format")
        dossier_no = str(content["dossier_no"])
        result = content["result"]
    except (OSError, ValueError, KeyError, UnicodeDecodeError) as exc:
        raise ReceiptError(
            "bad_report",
            _("{path} is not a receipt comparison report (receipt.json).").format(path=path),
        ) from exc
    reason = " ".join(reason.split())
    if len(reason) > MAX_REASON_CHARS:
        raise ReceiptError(
            "reason_needed",
            _("The reason is longer than {n} characters.").format(n=MAX_REASON_CHARS),
        )
    if not reason and (not accept or result != CONSISTENT):
        raise ReceiptError(
            "reason_needed",
            _("Give the reason for refusing the dossier.")
            if not accept
            else _("The comparison found inconsistencies: give the reason for accepting anyway."),
        )
    sha = hashlib.sha256(data).hexdigest()
    with authorization.refusals_logged(db, workplace), db.write() as session:
        dossier = _find_dossier(session, dossier_no)
        authorization.require(
            session, workplace, "receive", dossier_id=dossier.id, error=ReceiptRefused
        )
        assert workplace is not None
        events = session.exec(
            select(CustodyEvent).where(CustodyEvent.dossier_id == dossier.id)
        ).all()
        state = custody.state_from_events(events)
        if not state.held_by(workplace.institution.id):
            raise ReceiptError(
                "not_received",
                _(
                    "Dossier {no} is still in transit: compare it first, which records its receipt."
                ).format(no=dossier.dossier_no),
            )
        last = max(events, key=lambda e: (e.at, e.id))
        if last.kind in (ACCEPTED, REFUSED):
            raise ReceiptError(
                "already_decided",
                _("Dossier {no} was already {what} on {date}.").format(
                    no=dossier.dossier_no,
                    what=_("accepted") if last.kind == ACCEPTED else _("refused"),
                    date=clock.local_date(last.at),
                ),
            )
        at = max(now, last.at + dt.timedelta(microseconds=1))
        clerk_id = workplace.clerk.id if workplace.clerk else None
        event = CustodyEvent(
            dossier_id=dossier.id,
            kind=ACCEPTED if accept else REFUSED,
            holder_institution_id=workplace.institution.id,
            at=at,
            clerk_id=clerk_id,
            remark=decision_remark(sha, reason),
        )
        session.add(event)
        session.flush()
        custody.register_event(access_log.Chain(session), event, clerk_id=clerk_id)
        decision = Decision(event.kind, event.id, at, sha, reason, dossier.dossier_no)
    log.info("receipt of %s %s (report %s)", dossier_no, decision.kind, sha)
    return decision


@dataclass(frozen=True)
class PendingReceipt:
    """A transferred dossier received and not yet accepted or refused: ``received_at`` (aware
    UTC), ``due_on`` (Beijing date, :func:`due_date`), ``days_left`` (negative when overdue)."""

    dossier_id: uuid.UUID
    dossier_no: str
    person_name: str
    received_at: dt.datetime
    due_on: dt.date
    days_left: int

    @property
    def overdue(self) -> bool:
        """Past its due date."""
        return self.days_left < 0


def pending(
    db: Database,
    workplace: Workplace | None,
    *,
    today: dt.date | None = None,
    overdue_only: bool = False,
) -> list[PendingReceipt]:
    """The workplace institution's receipts awaiting the audit decision, most urgent first
    (``overdue_only``: those past their due date on ``today``, a Beijing date, default today).

    A receipt counts when the dossier came by transfer (a ``transferred_out`` followed by this
    institution's ``received``) and no ``receipt_accepted`` / ``receipt_refused`` followed;
    dossiers received before any transfer was recorded (first registration) are not audited
    this way. Rule ``receipt_deadlines`` (supervisors, archivists); raises
    :class:`ReceiptRefused`. 2018 条例 第二十五条.
    """
    today = today or clock.today()
    with authorization.refusals_logged(db, workplace), db.read() as session:
        authorization.require(session, workplace, "receipt_deadlines", error=ReceiptRefused)
        assert workplace is not None
        here = workplace.institution.id
        candidates = session.exec(
            select(CustodyEvent.dossier_id)
            .where(CustodyEvent.kind == "received", CustodyEvent.holder_institution_id == here)
            .distinct()
        ).all()
        if not candidates:
            return []
        events = session.exec(
            select(CustodyEvent).where(col(CustodyEvent.dossier_id).in_(candidates))
        ).all()
        by_dossier: dict[uuid.UUID, list[CustodyEvent]] = {}
        for event in events:
            by_dossier.setdefault(event.dossier_id, []).append(event)
        open_ones: dict[uuid.UUID, dt.datetime] = {}
        for dossier_id, evts in by_dossier.items():
            if not custody.state_from_events(evts).held_by(here):
                continue
            received = _open_receipt(evts)
            if received is not None:
                open_ones[dossier_id] = received
        dossiers = (
            {
                d.id: d
                for d in session.exec(select(Dossier).where(col(Dossier.id).in_(list(open_ones))))
            }
            if open_ones
            else {}
        )
    found = []
    for dossier_id, received in open_ones.items():
        due = due_date(received)
        days = (due - today).days
        if overdue_only and days >= 0:
            continue
        d = dossiers[dossier_id]
        found.append(PendingReceipt(d.id, d.dossier_no, d.person_name, received, due, days))
    found.sort(key=lambda p: (p.due_on, p.dossier_no))
    return found


def archivist_workplace(db: Database, username: str, roles: frozenset[str]) -> Workplace:
    """The workplace of the active account ``username`` whose role is one of ``roles`` (its
    institution, counter ``receive``), for the command line. Raises services.auth.AuthError
    (``unknown``: no such active account, ``forbidden``: another role)."""
    from counter_tui.services import auth
    from counter_tui.services.workplace import institution_ref

    ref = auth.active_account(db, username, roles)
    with db.read() as session:
        clerk = session.get(Clerk, ref.id)
        inst = session.get(Institution, clerk.institution_id) if clerk else None
        assert inst is not None
        return Workplace(institution_ref(inst), ref, "receive")
