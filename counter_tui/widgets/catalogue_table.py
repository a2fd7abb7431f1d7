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
from dataclasses import dataclass, field

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Offset, Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

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


_SHOWN_AS = {
    **{code: " " for code in (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x85, 0x2028, 0x2029)},
    **{
        code: "\ufffd"
        for code in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]
        if code not in (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x85)
    },
}


def shown(text: str) -> str:
    """``text`` as a catalogue cell shows it: line and tab characters as spaces (a cell is
    broken into lines by :func:`line_spans` alone), every other control character (C0, DEL,
    C1: an escape sequence typed into a title would otherwise reach the terminal and act on
    it) as U+FFFD. Everything else is kept."""
    return text.translate(_SHOWN_AS)


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


@dataclass(eq=False)
class CatalogueColumn:
    """A column of the catalogue: its key, its heading (already translated) and its width in
    display cells, without the cell padding on either side."""

    key: str
    label: str
    width: int


@dataclass(eq=False)
class CatalogueRow:
    """A row of the catalogue: a category heading (key ``cat-N``, ``material`` None) or a
    material (key: its id). ``cells`` holds one text per column, already broken into lines
    (``\\n``) that fit the column; ``height`` is the number of lines of its tallest cell."""

    key: str
    cells: tuple[Text | str, ...]
    height: int
    material: MaterialRow | None = None
    lines: list[list[Segment]] | None = field(default=None, repr=False)
    """The row's lines as segments (cells padded to their columns, no widget style yet),
    built the first time the row is drawn."""


class CatalogueTable(ScrollView, can_focus=True):
    """Rows in catalogue order under a heading row per category (key ``cat-N``); material
    rows are keyed by the material id. A row cursor (↑ ↓, PgUp PgDn, Home End); Space marks
    a material for citing; digits 1–9 and 0 (for 十) jump to a category. Posts
    :class:`MaterialChosen` on Enter over a material (or a click on the row under the
    cursor), :class:`MarksChanged` when the marks change.

    Drawn with Textual's Line API (each screen line is one strip of segments built once per
    row and cached) rather than as a DataTable: at the counter, a DataTable's cell and line
    machinery was ~40 % of the time from a scan to the catalogue on screen (issue 13). It
    looks as a row-cursor DataTable does (same colours, header, cell padding).
    """

    DEFAULT_CSS = """
    CatalogueTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        &:focus {
            background-tint: $foreground 5%;
            & > .catalogue--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .catalogue--header {
                background-tint: $foreground 5%;
            }
        }
        & > .catalogue--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .catalogue--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .catalogue--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    COMPONENT_CLASSES = {"catalogue--header", "catalogue--cursor"}

    BINDINGS = [
        Binding("enter", "choose", show=False, id="catalogue.choose"),
        Binding("up", "cursor_up", show=False, id="catalogue.up"),
        Binding("down", "cursor_down", show=False, id="catalogue.down"),
        Binding("pageup", "page_up", show=False, id="catalogue.page_up"),
        Binding("pagedown", "page_down", show=False, id="catalogue.page_down"),
        Binding("home,ctrl+home", "first", show=False, id="catalogue.first"),
        Binding("end,ctrl+end", "last", show=False, id="catalogue.last"),
        Binding("left", "scroll_left", show=False, id="catalogue.left"),
        Binding("right", "scroll_right", show=False, id="catalogue.right"),
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

    cell_padding = 1
    """Blank cells on each side of every cell (as DataTable's default)."""

    def __init__(self, **kwargs) -> None:  # noqa: ANN003
        super().__init__(**kwargs)
        self.marked: list[uuid.UUID] = []
        self.columns: dict[str, CatalogueColumn] = {
            column.key: column
            for column in (
                CatalogueColumn("mark", " ", 1),
                CatalogueColumn("number", _("No."), 1),
                CatalogueColumn("title", _("Material title"), TITLE_MIN_WIDTH),
                CatalogueColumn("formed_on", _("Formed on"), 1),
                CatalogueColumn("pages", _("Pages"), 1),
                CatalogueColumn("remark", _("Remarks"), 1),
            )
        }
        self.ordered_rows: list[CatalogueRow] = []
        self.rows: dict[str, CatalogueRow] = {}
        self.cursor_row = 0
        self._materials: list[MaterialRow] = []
        self._category_rows: dict[int, int] = {}
        self._row_starts: list[int] = []  # first body line of each row
        self._line_rows: list[int] = []  # the row each body line belongs to
        self._header: list[Segment] = []
        self._strips: dict[tuple, Strip] = {}
        self._frame: tuple[Style, int, Offset, bool] | None = None  # see render_lines

    # -- data ----------------------------------------------------------------------------------

    def load(self, materials: list[MaterialRow], *, width: int | None = None) -> None:
        """Fill the table from catalogue rows (already in catalogue order). ``width``: the
        width in cells the table will have once laid out, for a table not laid out yet (its
        own width still 0, e.g. from its screen's ``on_mount``): the columns are fitted to
        it, so the first layout does not refit them. A wrong guess costs only a refit."""
        self._materials = list(materials)
        self._fit_columns(width if not self.size.width else None)
        self._fill()

    def on_resize(self, event: events.Resize) -> None:
        if self._fit_columns():
            self._fill()

    @property
    def row_count(self) -> int:
        """Rows in the table, category headings included."""
        return len(self.ordered_rows)

    @property
    def table_width(self) -> int:
        """Cells of a whole row, padding included (wider than the widget: it scrolls)."""
        return sum(column.width + 2 * self.cell_padding for column in self.columns.values())

    def get_row_index(self, key: str) -> int:
        """The index of the row keyed ``key``. Raises KeyError if there is none."""
        row = self.rows[key]
        return self.ordered_rows.index(row)

    def get_cell(self, row_key: str, column_key: str) -> Text | str:
        """The cell of row ``row_key`` in column ``column_key`` as shown (lines joined by
        ``\\n``). Raises KeyError for an unknown row or column."""
        index = list(self.columns).index(column_key)
        return self.rows[row_key].cells[index]

    def _fit_columns(self, width: int | None = None) -> bool:
        """Size every column for the current data and the table's width (``width`` instead
        when given: see :meth:`load`); True if the title width changed (the rows must then
        be folded again)."""
        columns = self.columns
        rows = self._materials
        counts = {cat.number: 0 for cat in categories.CATEGORIES}
        for row in rows:
            counts[row.category] = counts.get(row.category, 0) + 1
        headings = [self._heading(cat, counts[cat.number]) for cat in categories.CATEGORIES]

        def fit(key: str, cells: list[str], cap: int | None = None) -> None:
            fitted = max([cell_len(columns[key].label), *map(cell_len, cells)])
            columns[key].width = min(fitted, cap) if cap else fitted

        fit("number", [shown(row.number) for row in rows] + [str(len(headings))])
        fit("formed_on", ["0" * DATE_CELLS] if rows else [])
        fit("pages", [self._pages(row) for row in rows])
        fit("remark", [shown(row.remark) for row in rows], cap=REMARK_MAX_WIDTH)
        padding = 2 * self.cell_padding
        others = sum(column.width + padding for key, column in columns.items() if key != "title")
        # The vertical scrollbar's cells are kept free whether or not it shows: a catalogue
        # longer than the screen would otherwise cut its last column when the bar appears.
        room = (
            (self.size.width if width is None else width)
            - others
            - padding
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
        rows: list[CatalogueRow] = []
        self._category_rows.clear()
        by_category: dict[int, list[MaterialRow]] = {}
        for row in self._materials:
            by_category.setdefault(row.category, []).append(row)
        for cat in categories.CATEGORIES:
            materials = by_category.get(cat.number, [])
            self._category_rows[cat.number] = len(rows)
            heading = self._fold(self._heading(cat, len(materials)), "title")
            cells = ("", Text(str(cat.number), style="bold"), heading, "", "", "")
            rows.append(CatalogueRow(f"cat-{cat.number}", cells, self._height(heading)))
            for row in materials:
                title = self._fold(self._title(row), "title")
                remark = self._fold(shown(row.remark), "remark")
                cells = (
                    MARK if row.id in self.marked else "",
                    shown(row.number),
                    title,
                    row.formed_on.isoformat() if row.formed_on else "",
                    self._pages(row),
                    remark,
                )
                rows.append(CatalogueRow(str(row.id), cells, self._height(title, remark), row))
        self.ordered_rows = rows
        self.rows = {row.key: row for row in rows}
        self._row_starts.clear()
        self._line_rows.clear()
        for index, row in enumerate(rows):
            self._row_starts.append(len(self._line_rows))
            self._line_rows.extend([index] * row.height)
        self._header = self._segments([column.label for column in self.columns.values()], 0)
        self._strips.clear()
        self.cursor_row = self.get_row_index(current) if current in self.rows else 0
        self.virtual_size = Size(self.table_width, 1 + len(self._line_rows))
        self.refresh()
        if self.size.height:  # refolded rows (a resize, an added material) move the cursor's
            self._scroll_cursor_into_view()  # row: keep it on screen, as DataTable did

    # -- drawing -------------------------------------------------------------------------------

    def _segments(
        self, cells: list[Text | str] | tuple[Text | str, ...], line: int
    ) -> list[Segment]:
        """Line ``line`` of a row whose cells are ``cells``: each cell's own text segments
        (its styles, no widget style) padded to its column, runs of unstyled cells joined
        into one segment. Text is never read as markup."""
        console = self.app.console
        pad = " " * self.cell_padding
        segments: list[Segment] = []
        run: list[str] = []  # unstyled text not yet in a segment
        for cell, column in zip(cells, self.columns.values(), strict=True):
            text = cell if isinstance(cell, Text) else None
            plain = cell if text is None else text.plain
            if "\n" in plain:
                if text is None:
                    parts = plain.split("\n")
                    plain = parts[line] if line < len(parts) else ""
                else:
                    parts = text.split("\n", allow_blank=True)
                    text = parts[line] if line < len(parts) else Text()
                    plain = text.plain
            elif line:
                text, plain = None, ""
            cells_used = cell_len(plain)
            if (text is None or not (text.style or text.spans)) and cells_used <= column.width:
                run.append(f"{pad}{plain}{' ' * (column.width - cells_used)}{pad}")
                continue
            styled = text if text is not None else Text(plain)
            content = list(styled.render(console))
            if styled.style:  # Text.render leaves the text's own base style to its caller
                content = list(Segment.apply_style(content, console.get_style(styled.style)))
            run.append(pad)
            segments.append(Segment("".join(run)))
            run = []
            segments.extend(Segment.adjust_line_length(content, column.width))
            run.append(pad)
        if run:
            segments.append(Segment("".join(run)))
        return [segment for segment in segments if segment.text]

    def _row_line(self, index: int, line: int) -> list[Segment]:
        row = self.ordered_rows[index]
        if row.lines is None:
            row.lines = [self._segments(row.cells, n) for n in range(row.height)]
        return row.lines[line]

    def _frame_values(self) -> tuple[Style, int, Offset, bool]:
        """What every line of a frame shares: the widget's style, its width, the scroll
        offset, whether it has focus."""
        return self.rich_style, self.size.width, self.scroll_offset, self.has_focus

    def render_lines(self, crop: Region) -> list[Strip]:
        """The widget's lines for ``crop`` (Textual's Line API entry point): what every line
        of one frame shares — the widget's style and width, the scroll position — is read
        once here instead of once per line."""
        self._frame = self._frame_values()
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def render_line(self, y: int) -> Strip:
        """Screen line ``y`` of the table: the header on line 0, then the rows from the
        scroll position (Textual's Line API)."""
        base, width, (scroll_x, scroll_y), focused = self._frame or self._frame_values()
        if y == 0:
            index, line, cursor = -1, 0, False
        else:
            body = scroll_y + y - 1
            if body >= len(self._line_rows):
                return Strip.blank(width, base)
            index = self._line_rows[body]
            line, cursor = body - self._row_starts[index], index == self.cursor_row
        key = (index, line, cursor, base, width, scroll_x, focused)
        strip = self._strips.get(key)
        if strip is not None:
            return strip
        post = None
        if index < 0:
            style = self.get_component_rich_style("catalogue--header")
            segments = self._header
        else:
            segments, style = self._row_line(index, line), base
            if cursor:
                cursor_style = self.get_component_rich_style("catalogue--cursor")
                style = base + cursor_style
                post = Style.from_color(color=cursor_style.color)
        table = self.table_width
        full = max(width + scroll_x, table)
        line_segments = list(Segment.apply_style(segments, style, post))
        if full > table:  # the row's style (cursor, header) to the widget's right edge
            line_segments.append(Segment(" " * (full - table), style))
        strip = Strip(line_segments, full)
        if scroll_x or full > width:
            strip = strip.crop(scroll_x, scroll_x + width)
        if len(self._strips) > 2000:
            self._strips.clear()
        self._strips[key] = strip
        return strip

    def notify_style_update(self) -> None:
        """The widget's styles changed (theme, focus): drawn lines are drawn again."""
        super().notify_style_update()
        self._strips.clear()

    # -- cursor --------------------------------------------------------------------------------

    def move_cursor(self, *, row: int, animate: bool = False, scroll: bool = True) -> None:
        """Put the cursor on row ``row`` (an index, clamped to the table) and, with
        ``scroll``, scroll it into view. ``animate`` is accepted for DataTable's signature;
        the catalogue never animates."""
        if not self.ordered_rows:
            return
        self.cursor_row = max(0, min(row, len(self.ordered_rows) - 1))
        self.refresh()
        if scroll:
            self._scroll_cursor_into_view()

    def _body_height(self) -> int:
        """Lines of rows visible below the header."""
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_cursor_into_view(self) -> None:
        start = self._row_starts[self.cursor_row]
        end = start + self.ordered_rows[self.cursor_row].height
        top, height = round(self.scroll_y), self._body_height()
        if start < top:
            self.scroll_to(y=start, animate=False, immediate=True)
        elif end > top + height:
            self.scroll_to(y=min(start, end - height), animate=False, immediate=True)

    def action_cursor_up(self) -> None:
        """Move the cursor one row up."""
        self.move_cursor(row=self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        """Move the cursor one row down."""
        self.move_cursor(row=self.cursor_row + 1)

    def _row_at_line(self, body: int) -> int:
        body = max(0, min(body, len(self._line_rows) - 1))
        return self._line_rows[body] if self._line_rows else 0

    def action_page_down(self) -> None:
        """Move the cursor a screenful of lines down."""
        if self._line_rows:
            below = self._row_starts[self.cursor_row] + self._body_height()
            self.move_cursor(row=self._row_at_line(below))

    def action_page_up(self) -> None:
        """Move the cursor a screenful of lines up."""
        if self._line_rows:
            above = self._row_starts[self.cursor_row] - self._body_height()
            self.move_cursor(row=self._row_at_line(above))

    def action_first(self) -> None:
        """Move the cursor to the first row."""
        self.move_cursor(row=0)

    def action_last(self) -> None:
        """Move the cursor to the last row."""
        self.move_cursor(row=len(self.ordered_rows) - 1)

    def action_choose(self) -> None:
        """Enter: post :class:`MaterialChosen` for the material under the cursor."""
        row = self.current_material()
        if row is not None:
            self.post_message(self.MaterialChosen(row.id))

    def on_click(self, event: events.Click) -> None:
        """A click moves the cursor to the row; a click on the row under the cursor chooses
        it (as in a DataTable)."""
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0 or not self._line_rows:
            return
        body = round(self.scroll_y) + offset.y - 1
        if body >= len(self._line_rows):
            return
        event.stop()
        index = self._line_rows[body]
        if index == self.cursor_row:
            self.action_choose()
        else:
            self.move_cursor(row=index)

    def current_key(self) -> str | None:
        """The key of the row under the cursor (None when the table is empty)."""
        if not self.ordered_rows:
            return None
        return self.ordered_rows[min(self.cursor_row, len(self.ordered_rows) - 1)].key

    @staticmethod
    def _title(row: MaterialRow) -> Text:
        title = Text(shown(row.title))
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
        """The material under the cursor, or None on a heading row (or an empty table)."""
        key = self.current_key()
        return self.rows[key].material if key is not None else None

    def action_toggle_mark(self) -> None:
        """Mark or unmark the material under the cursor for citing."""
        row = self.current_material()
        if row is None:
            return
        if row.id in self.marked:
            self.marked.remove(row.id)
        else:
            self.marked.append(row.id)
        shown = self.ordered_rows[self.cursor_row]
        shown.cells = (MARK if row.id in self.marked else "", *shown.cells[1:])
        shown.lines = None
        self._strips.clear()
        self.refresh()
        self.post_message(self.MarksChanged(tuple(self.marked)))

    def action_jump(self, category: int) -> None:
        """Move the cursor to the first material of ``category`` (or its heading if empty),
        the heading at the top of the view."""
        heading = self._category_rows.get(category)
        if heading is None:
            return
        target = heading + 1
        next_heading = self._category_rows.get(category + 1, self.row_count)
        self.move_cursor(row=target if target < next_heading else heading, scroll=False)
        self.scroll_to_row_top(heading)

    def scroll_to_row_top(self, row: int) -> None:
        """Scroll so that ``row`` (an index) is at the top of the view (rows may be several
        lines high)."""
        self.scroll_to(y=self._row_starts[row], animate=False, immediate=True)
