"""The material catalogue (材料目录) as a table grouped by the ten categories.

The title column takes the width the other columns leave (up to its longest entry), so a long
category name such as 四 学历学位、专业技术职务（职称）、学术评鉴和教育培训类材料 is shown whole
on a wide terminal; what is still wider than the column continues on a second (or third) line
of its row instead of being cut. Lines are broken by display cells, not at spaces (a word-wrap
would leave "四 (1)" alone on the first line of a heading), and never before a closing bracket
or a comma.
"""

from __future__ import annotations

import uuid

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from counter_tui.domain import categories
from counter_tui.i18n import _, current_language
from counter_tui.read_models import MaterialRow

MARK = "✓"
TITLE_MIN_WIDTH = 24
"""Cells the title column keeps however narrow the terminal (below, the table scrolls
sideways)."""
REMARK_MAX_WIDTH = 16
"""A longer remark wraps instead of taking the title's room."""
MAX_ROW_LINES = 3
"""A row grows to at most this many lines; text beyond is cut."""
DATE_CELLS = 10  # "1972-03-01"
NO_LINE_START = "）》」』】〕、。，；：！？)]}.,;:!?"
"""Closing brackets and punctuation never begin a continued line (the character before them
moves down with them), as in Chinese typesetting."""


def line_spans(text: str, width: int) -> list[tuple[int, int]]:
    """Where to break ``text`` into lines of at most ``width`` display cells (CJK characters
    count two): the (start, end) index of each line in ``text``.

    Chinese breaks between any two characters, except before :data:`NO_LINE_START`
    punctuation (the character before it moves down with it); a Latin word (a gloss in the
    English UI) moves to the next line whole, and the space it was broken at is dropped.
    See :func:`break_lines` for examples.
    """
    spans: list[tuple[int, int]] = []
    start, cells = 0, 0
    for index, char in enumerate(text):
        char_cells = cell_len(char)
        if cells + char_cells > width and index > start:
            line = text[start:index]
            keep = len(line)
            space = line.rfind(" ")
            if char.isascii() and char.isalnum() and space > 0 and line[space + 1 :].isascii():
                keep = space + 1  # the word goes down whole
            elif char in NO_LINE_START:
                keep -= 1
                while keep > 0 and line[keep] in NO_LINE_START:
                    keep -= 1
            if keep <= 0:
                keep = len(line)  # nothing else to carry down: break here
            spans.append((start, start + len(line[:keep].rstrip(" "))))
            start += keep
            cells = cell_len(text[start:index])
        if index == start and char == " " and spans:
            start += 1  # no line begins with the space it was broken at
            continue
        cells += char_cells
    spans.append((start, len(text)))
    return spans


def break_lines(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` display cells, broken as :func:`line_spans`
    says. Examples: ``break_lines("学历学位、专业", 8)`` gives ``["学历学", "位、专业"]``;
    ``break_lines("四 (1) Education and training", 20)`` gives
    ``["四 (1) Education and", "training"]``.
    """
    return [text[a:b] for a, b in line_spans(text, width)]


class CatalogueTable(DataTable):
    """Rows in catalogue order under a heading row per category (key ``cat-N``); material
    rows are keyed by the material id. Space marks a material for citing; digits 1–9 and 0
    (for 十) jump to a category. Posts :class:`MaterialChosen` on Enter over a material."""

    BINDINGS = [
        Binding("space", "toggle_mark", _("Mark"), id="catalogue.mark"),
        *[
            Binding(str(d), f"jump({d or 10})", show=False, id=f"catalogue.jump_{d}")
            for d in range(10)
        ],
    ]

    class MaterialChosen(Message):
        """Enter was pressed on a material row."""

        def __init__(self, material_id: uuid.UUID) -> None:
            super().__init__()
            self.material_id = material_id

    class MarksChanged(Message):
        """The set of marked materials changed."""

        def __init__(self, marked: tuple[uuid.UUID, ...]) -> None:
            super().__init__()
            self.marked = marked

    def __init__(self, **kwargs) -> None:  # noqa: ANN003
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self.marked: list[uuid.UUID] = []
        self._rows: dict[str, MaterialRow] = {}
        self._category_rows: dict[int, int] = {}
        self._materials: list[MaterialRow] = []

    def on_mount(self) -> None:
        # Every width is set by _fit_columns from the labels and the data, so that the title
        # column can be given exactly what is left of the table's width.
        self.add_column(" ", key="mark", width=1)
        self.add_column(_("No."), key="number", width=1)
        self.add_column(_("Material title"), key="title", width=TITLE_MIN_WIDTH)
        self.add_column(_("Formed on"), key="formed_on", width=1)
        self.add_column(_("Pages"), key="pages", width=1)
        self.add_column(_("Remarks"), key="remark", width=1)

    def load(self, materials: list[MaterialRow], *, width: int | None = None) -> None:
        """Fill the table from catalogue rows (already in catalogue order). ``width``: the
        width in cells the table will have once laid out, for a table not laid out yet (its
        own width still 0, e.g. from its screen's ``on_mount``): the columns are fitted to
        it, so the first layout does not refit them and build every row a second time. A
        wrong guess costs only that second build."""
        self._materials = list(materials)
        self._fit_columns(width if not self.size.width else None)
        self._fill()

    def on_resize(self, event: events.Resize) -> None:
        if self._fit_columns():
            self._fill()

    def _fit_columns(self, width: int | None = None) -> bool:
        """Size every column for the current data and the table's width (``width`` instead
        when given: see :meth:`load`); True if the title width changed (the rows must then
        be measured again)."""
        columns = self.columns
        rows = self._materials
        counts = {cat.number: 0 for cat in categories.CATEGORIES}
        for row in rows:
            counts[row.category] = counts.get(row.category, 0) + 1
        headings = [self._heading(cat, counts[cat.number]) for cat in categories.CATEGORIES]

        def fit(key: str, cells: list[str], cap: int | None = None) -> int:
            width = max([cell_len(columns[key].label.plain), *map(cell_len, cells)])
            columns[key].width = min(width, cap) if cap else width
            return columns[key].width

        fit("number", [row.number for row in rows] + [str(len(headings))])
        fit("formed_on", ["0" * DATE_CELLS] if rows else [])
        fit("pages", [self._pages(row) for row in rows])
        fit("remark", [row.remark for row in rows], cap=REMARK_MAX_WIDTH)
        others = sum(
            column.get_render_width(self) for key, column in columns.items() if key != "title"
        )
        # The vertical scrollbar's cells are kept free whether or not it shows: a catalogue
        # longer than the screen would otherwise cut its last column when the bar appears.
        room = (
            (self.size.width if width is None else width)
            - others
            - 2 * self.cell_padding
            - self.styles.scrollbar_size_vertical
        )
        longest = max(
            cell_len(text.plain) for text in [*headings, *(self._title(row) for row in rows)]
        )
        title = max(TITLE_MIN_WIDTH, min(room, longest))
        changed = title != columns["title"].width
        columns["title"].width = title
        return changed

    def _fold(self, text: Text | str, key: str) -> Text | str:
        """``text`` broken into lines of at most the width of column ``key`` (by display
        cells; CJK counts two), at most :data:`MAX_ROW_LINES` of them."""
        width = self.columns[key].width
        plain = text.plain if isinstance(text, Text) else text
        if cell_len(plain) <= width:
            return text
        styled = text if isinstance(text, Text) else Text(text)
        parts = [styled[a:b] for a, b in line_spans(plain, width)[:MAX_ROW_LINES]]
        return Text("\n").join(parts)

    @staticmethod
    def _height(*cells: Text | str) -> int:
        """Lines of the tallest of a row's (folded) cells."""
        return max(
            1, *((cell.plain if isinstance(cell, Text) else cell).count("\n") + 1 for cell in cells)
        )

    @staticmethod
    def _heading(cat: categories.Category, count: int) -> Text:
        # The count first: a long category name wraps, the count stays on the first line.
        # The Chinese numeral (一 … 十) only in the Chinese UI; the No. column has the digit.
        numeral = f"{cat.numeral} " if current_language() == "zh_CN" else ""
        return Text(f"{numeral}({count}) {cat.label()}", style="bold")

    def _fill(self) -> None:
        """Build the rows at the current column widths, the cursor staying on its row."""
        current = self.current_key()
        self.clear()
        self._rows.clear()
        self._category_rows.clear()
        by_category: dict[int, list[MaterialRow]] = {}
        for row in self._materials:
            by_category.setdefault(row.category, []).append(row)
        for cat in categories.CATEGORIES:
            rows = by_category.get(cat.number, [])
            self._category_rows[cat.number] = self.row_count
            heading = self._fold(self._heading(cat, len(rows)), "title")
            self.add_row(
                "",
                Text(str(cat.number), style="bold"),
                heading,
                "",
                "",
                "",
                key=f"cat-{cat.number}",
                height=self._height(heading),
            )
            for row in rows:
                self._rows[str(row.id)] = row
                title = self._fold(self._title(row), "title")
                remark = self._fold(row.remark, "remark")
                self.add_row(
                    MARK if row.id in self.marked else "",
                    row.number,
                    title,
                    row.formed_on.isoformat() if row.formed_on else "",
                    self._pages(row),
                    remark,
                    key=str(row.id),
                    height=self._height(title, remark),
                )
        if current is not None and current in self.rows:
            self.move_cursor(row=self.get_row_index(current), animate=False)

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        """One cell as lines of segments, as DataTable draws it, without Rich's layout pass.

        DataTable renders every cell through Rich (markup parsing, Padding, Styled, line
        wrapping): at the counter that was half the time from a scan to the catalogue drawn
        (issue 13). This table's cells are already broken into lines that fit their column
        (:meth:`_fold`), so each line is the cell's own text segments, padded to the column,
        with the same styles DataTable applies (its base and cursor/hover component styles
        under the text's own, the CSS-priority colours over it, the row/column mouse meta)
        and the same cache. Text is never read as markup. The header row and row labels go
        through DataTable's own path. Overrides DataTable._render_cell (Textual 8.2.x).
        """
        row_key = self._row_locations.get_key(row_index) if row_index >= 0 else None
        row = self.rows.get(row_key) if row_key is not None else None
        if row is None or column_index < 0 or not row.height or self.fixed_columns:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        column_key = self._column_locations.get_key(column_index)
        cache_key = (
            row_key,
            column_key,
            base_style,
            cursor,
            hover,
            self._show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
        )
        cached = self._cell_render_cache.get(cache_key)
        if cached is not None:
            return cached
        component_style, post_style = self._get_styles_to_render_cell(
            False,
            False,
            row_index < self.fixed_rows,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        style = base_style + Style.from_meta({"row": row_index, "column": column_index})
        style += component_style
        value = self._data[row_key].get(column_key)
        text = value if isinstance(value, Text) else Text("" if value is None else str(value))
        parts = text.split("\n", allow_blank=True) if "\n" in text.plain else [text]
        padding = self.cell_padding
        inside = max(0, width - 2 * padding)
        console = self.app.console
        plain = Style()
        lines = []
        for index in range(row.height):
            content: list[Segment] = []
            if index < len(parts):
                part = parts[index]
                content = list(part.render(console))
                if part.style:  # Text.render leaves the text's own base style to its caller
                    content = list(Segment.apply_style(content, console.get_style(part.style)))
            line = Segment.adjust_line_length(content, inside, style=plain)
            if padding:
                line = [Segment(" " * padding, plain), *line, Segment(" " * padding, plain)]
            lines.append(list(Segment.apply_style(line, style, post_style or None)))
        self._cell_render_cache[cache_key] = lines
        return lines

    def current_key(self) -> str | None:
        """The key of the row under the cursor (None when the table is empty)."""
        if self.row_count == 0:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    @staticmethod
    def _title(row: MaterialRow) -> Text:
        title = Text(row.title)
        if row.corrected:
            title.stylize("strike")
            title.append("  " + _("(corrected)"), style="italic")
        if row.corrects:
            title.append("  " + _("(correction)"), style="italic")
        return title

    @staticmethod
    def _pages(row: MaterialRow) -> str:
        if row.scanned_pages:
            return str(row.page_count)
        return f"{row.page_count} " + _("paper")

    def current_material(self) -> MaterialRow | None:
        """The material under the cursor, or None on a heading row."""
        if self.row_count == 0:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self._rows.get(key or "")

    def action_toggle_mark(self) -> None:
        """Mark or unmark the material under the cursor for citing."""
        row = self.current_material()
        if row is None:
            return
        if row.id in self.marked:
            self.marked.remove(row.id)
        else:
            self.marked.append(row.id)
        self.update_cell(str(row.id), "mark", MARK if row.id in self.marked else "")
        self.post_message(self.MarksChanged(tuple(self.marked)))

    def action_jump(self, category: int) -> None:
        """Move the cursor to the first material of ``category`` (or its heading if empty)."""
        heading = self._category_rows.get(category)
        if heading is None:
            return
        target = heading + 1
        next_heading = self._category_rows.get(category + 1, self.row_count)
        self.move_cursor(row=target if target < next_heading else heading, scroll=True)
        self.scroll_to_row_top(heading)

    def scroll_to_row_top(self, row: int) -> None:
        """Scroll so that ``row`` (an index) is at the top of the view (rows may be several
        lines high)."""
        y = sum(ordered.height for ordered in self.ordered_rows[:row])
        self.scroll_to(y=y, animate=False)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        row = self._rows.get(event.row_key.value or "")
        if row is not None:
            self.post_message(self.MaterialChosen(row.id))
