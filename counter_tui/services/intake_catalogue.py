"""Catalogue spreadsheets (材料目录) for batch intake: CSV or XLSX, one row per material.

The first row names the columns; headers are matched after NFKC folding and removing blanks,
in any order, extra columns ignored. The standard catalogue columns since 组通字〔2012〕28号
(shared/reference/domain.md §1.2), plus the dossier number because one sheet covers a batch:

=============  =======================================  ==========================================
column         also accepted                            content
=============  =======================================  ==========================================
档号           档案编号, dossier_no                      the dossier the row belongs to
序号           类号, 顺序号, number                       "1-1", "4-1-2", "一-1", "四-1-2", "9.2.5"
材料名称       title                                    the material's title
材料形成时间   材料制成时间, 形成时间, formed_on           Y-M-D ("1972-02-01", "1972年2月1日", a date cell); may be empty
页数           pages                                    pages counted (a whole number ≥ 0)
备注           remark                                   optional
=============  =======================================  ==========================================

The pre-2012 份数 column is ignored. CSV files are read as UTF-8 (with or without BOM) or, failing
that, GB 18030 (what Excel writes on a Chinese system). XLSX: the first worksheet (openpyxl,
read-only). Rows whose cells are all empty are skipped.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from counter_tui.domain import categories, dates
from counter_tui.domain.queries import normalise_dossier_no
from counter_tui.errors import CounterError
from counter_tui.i18n import _

COLUMNS: dict[str, tuple[str, ...]] = {
    "dossier_no": ("档号", "档案编号", "dossier_no"),
    "number": ("序号", "类号", "顺序号", "number"),
    "title": ("材料名称", "title"),
    "formed_on": ("材料形成时间", "材料制成时间", "形成时间", "formed_on"),
    "pages": ("页数", "pages"),
    "remark": ("备注", "remark"),
}
"""Accepted header names per field (see the module docstring); all but 备注 are required."""

MAX_ROWS = 200_000
"""Rows read at most from one spreadsheet (a bigger file is refused, not read into memory)."""


class CatalogueError(CounterError, ValueError):
    """A catalogue spreadsheet that cannot be used: missing, unreadable, not CSV/XLSX, a
    required column missing, or a row that does not parse (``str(error)`` names the row and
    column, in the UI language; ``reason``: ``catalogue``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, reason="catalogue")


@dataclass(frozen=True)
class CatalogueRow:
    """One material of the spreadsheet: ``dossier_no`` (normalised: NFKC, upper case, no
    blanks), category 1–10, sub-category (4 and 9 only) and item number, ``title``,
    ``formed_on`` (None when empty), ``page_count`` and ``remark``; ``row`` is the
    spreadsheet's row number (1 = the header)."""

    dossier_no: str
    category: int
    subcategory: int | None
    item_no: int
    title: str
    formed_on: dt.date | None
    page_count: int
    remark: str
    row: int

    @property
    def catalogue_number(self) -> str:
        """The 顺序号, e.g. "4-1-2"."""
        return categories.catalogue_number(self.category, self.subcategory, self.item_no)


def read_catalogue(path: Path) -> dict[str, list[CatalogueRow]]:
    """Read a catalogue spreadsheet (``.csv`` or ``.xlsx``) into rows per dossier number, each
    list in catalogue order (category, sub-category, item number).

    Raises :class:`CatalogueError` for a missing or unreadable file, another format, a missing
    required column, a row that does not parse (bad 序号, page count or date) or the same
    序号 twice for one dossier. Columns: see :data:`COLUMNS`; 序号 follows
    shared/reference/domain.md §1.3 (class-item, or class-subclass-item for 四 and 九).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise CatalogueError(
            _("The catalogue {file} is neither a CSV nor an XLSX spreadsheet.").format(
                file=path.name
            )
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CatalogueError(
            _("The catalogue {file} cannot be read ({detail}).").format(
                file=path, detail=exc.strerror or type(exc).__name__
            )
        ) from exc
    rows = _csv_rows(data) if suffix == ".csv" else _xlsx_rows(data, path)
    header = next(rows, None)
    if header is None:
        raise CatalogueError(_("The catalogue {file} is empty.").format(file=path.name))
    columns = _columns(header, path)
    found: dict[str, list[CatalogueRow]] = {}
    seen: set[tuple[str, str]] = set()
    for number, cells in enumerate(rows, start=2):
        if number > MAX_ROWS:
            raise CatalogueError(
                _("The catalogue {file} has more than {n} rows.").format(file=path.name, n=MAX_ROWS)
            )
        if all(_cell_text(c) == "" for c in cells):
            continue
        row = _row(cells, columns, number, path)
        key = (row.dossier_no, row.catalogue_number)
        if key in seen:
            raise CatalogueError(
                _("Row {row} of {file}: dossier {dossier} lists {number} twice.").format(
                    row=number, file=path.name, dossier=row.dossier_no, number=row.catalogue_number
                )
            )
        seen.add(key)
        found.setdefault(row.dossier_no, []).append(row)
    for rows_of in found.values():
        rows_of.sort(key=lambda r: (r.category, r.subcategory or 0, r.item_no))
    return found


def _csv_rows(data: bytes) -> Iterator[list[object]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        text = data.decode("latin-1")
    yield from csv.reader(io.StringIO(text, newline=""))


def _xlsx_rows(data: bytes, path: Path) -> Iterator[list[object]]:
    import openpyxl  # only for XLSX catalogues

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - zipfile, XML and openpyxl errors alike
        raise CatalogueError(
            _("The catalogue {file} is not a readable XLSX workbook.").format(file=path.name)
        ) from exc
    try:
        sheet = book.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield list(values)
    finally:
        book.close()


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).lower()


def _columns(header: list[object], path: Path) -> dict[str, int]:
    names = [_key(_cell_text(c)) for c in header]
    columns: dict[str, int] = {}
    for field, aliases in COLUMNS.items():
        for alias in aliases:
            if _key(alias) in names:
                columns[field] = names.index(_key(alias))
                break
    missing = [COLUMNS[f][0] for f in COLUMNS if f not in columns and f != "remark"]
    if missing:
        raise CatalogueError(
            _("The catalogue {file} has no column {columns}.").format(
                file=path.name, columns="、".join(missing)
            )
        )
    return columns


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return unicodedata.normalize("NFKC", str(value)).strip()


def _cell(cells: list[object], columns: dict[str, int], field: str) -> object:
    index = columns.get(field)
    if index is None or index >= len(cells):
        return None
    return cells[index]


def _row(cells: list[object], columns: dict[str, int], number: int, path: Path) -> CatalogueRow:
    def bad(column: str, value: object) -> CatalogueError:
        return CatalogueError(
            _("Row {row} of {file}: {column} “{value}” cannot be read.").format(
                row=number, file=path.name, column=column, value=_cell_text(value)
            )
        )

    dossier_no = normalise_dossier_no(_cell_text(_cell(cells, columns, "dossier_no")))
    if not dossier_no:
        raise bad("档号", "")
    raw_number = _cell(cells, columns, "number")
    try:
        category, subcategory, item_no = parse_catalogue_number(_cell_text(raw_number))
    except ValueError:
        raise bad("序号", raw_number) from None
    title = _cell_text(_cell(cells, columns, "title"))
    if not title or len(title) > 200:
        raise bad("材料名称", title)
    raw_date = _cell(cells, columns, "formed_on")
    formed_on: dt.date | None
    if isinstance(raw_date, dt.datetime):
        formed_on = raw_date.date()
    elif isinstance(raw_date, dt.date):
        formed_on = raw_date
    elif _cell_text(raw_date) == "":
        formed_on = None
    else:
        try:
            formed_on = dates.parse_date(_cell_text(raw_date))
        except ValueError:
            raise bad("材料形成时间", raw_date) from None
    raw_pages = _cell_text(_cell(cells, columns, "pages"))
    if not raw_pages.isdigit() or int(raw_pages) > 9999:
        raise bad("页数", raw_pages)
    remark = _cell_text(_cell(cells, columns, "remark"))[:200]
    return CatalogueRow(
        dossier_no=dossier_no,
        category=category,
        subcategory=subcategory,
        item_no=item_no,
        title=title,
        formed_on=formed_on,
        page_count=int(raw_pages),
        remark=remark,
        row=number,
    )


def parse_catalogue_number(text: str) -> tuple[int, int | None, int]:
    """Parse a 序号: "1-3" → (1, None, 3), "4-1-2" → (4, 1, 2); the category may be a Chinese
    numeral (一…十) and the separators "-", ".", "．", "－" or "—". Checks the scheme
    (categories 4 and 9 need a sub-category 1–4, the others take none; items from 1).
    Raises ValueError otherwise. Source: shared/reference/domain.md §1.3."""
    folded = unicodedata.normalize("NFKC", text).strip()
    for mark in (".", "．", "－", "—", "–", "_"):
        folded = folded.replace(mark, "-")
    for n, numeral in enumerate(categories.CHINESE_NUMERALS, start=1):
        if folded.startswith(numeral):
            folded = str(n) + folded[len(numeral) :]
            break
    parts = [p.strip() for p in folded.split("-")]
    if not 2 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise ValueError(text)
    numbers = [int(p) for p in parts]
    category = numbers[0]
    subcategory = numbers[1] if len(numbers) == 3 else None
    item_no = numbers[-1]
    categories.validate_placement(category, subcategory)
    if item_no < 1:
        raise ValueError(text)
    return category, subcategory, item_no
