"""The catalogue's title column uses the width the terminal gives it: category names whole
while the row has room, continued on a second line (nothing cut) when it has not."""

from __future__ import annotations

import datetime as dt
import uuid

from rich.cells import cell_len
from rich.text import Text
from textual.app import App, ComposeResult

from counter_tui.domain import categories
from counter_tui.read_models import MaterialRow
from counter_tui.widgets.catalogue_table import CatalogueTable

HEADING_4 = "四 (1) " + categories.category(4).label()


def material(number: str, category: int, title: str, remark: str = "") -> MaterialRow:
    return MaterialRow(
        id=uuid.uuid4(),
        number=number,
        category=category,
        subcategory=None,
        title=title,
        formed_on=dt.date(1972, 3, 1),
        page_count=2,
        remark=remark,
        scanned_pages=2,
        corrects=None,
        corrected=False,
    )


ROWS = [
    material("1-1", 1, "干部履历表"),
    material("4-1-1", 4, "高等学校毕业生登记表", "复印件"),
    material("9-1", 9, "录用审批表"),
]


class CatalogueApp(App):
    """A catalogue of ``rows`` (default :data:`ROWS`), focused."""

    def __init__(self, rows: list[MaterialRow] | None = None) -> None:
        super().__init__()
        self.catalogue_rows = ROWS if rows is None else rows

    def compose(self) -> ComposeResult:
        yield CatalogueTable()

    def on_mount(self) -> None:
        table = self.query_one(CatalogueTable)
        table.load(self.catalogue_rows)
        table.focus()


def cell_lines(table: CatalogueTable, row_key: str) -> list[str]:
    cell = table.get_cell(row_key, "title")
    return (cell.plain if isinstance(cell, Text) else cell).split("\n")


async def test_long_category_names_are_whole_on_a_wide_terminal() -> None:
    app = CatalogueApp()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        table = app.query_one(CatalogueTable)
        assert cell_lines(table, "cat-4") == [HEADING_4]
        assert table.rows["cat-4"].height == 1
        # Only as wide as the longest title: the other columns stay next to it.
        assert table.columns["title"].width == cell_len(HEADING_4)


async def test_narrow_terminal_continues_the_name_on_a_second_line() -> None:
    app = CatalogueApp()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        table = app.query_one(CatalogueTable)
        table.move_cursor(row=table.get_row_index(str(ROWS[2].id)))
        await pilot.press("space")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        lines = cell_lines(table, "cat-4")
        assert len(lines) == 2 and "".join(lines) == HEADING_4
        assert table.rows["cat-4"].height == 2
        assert table.columns["title"].width < 40
        # The rows were rebuilt at the new width: the cursor and the mark stayed.
        assert table.current_material() == ROWS[2]
        assert table.marked == [ROWS[2].id]
        # Jumping to a category still puts its heading at the top (rows are not one line
        # each any more).
        await pilot.press("9")
        await pilot.pause()
        heading_y = sum(row.height for row in table.ordered_rows[: table.get_row_index("cat-9")])
        assert table.scroll_y == min(heading_y, table.max_scroll_y)


def test_category_headings_carry_the_chinese_numeral_only_in_the_chinese_ui() -> None:
    from counter_tui import i18n
    from counter_tui.domain import categories
    from counter_tui.widgets.catalogue_table import CatalogueTable

    first = categories.CATEGORIES[0]
    assert CatalogueTable._heading(first, 2).plain.startswith("一 (2) ")
    i18n.set_language("en")
    try:
        heading = CatalogueTable._heading(first, 2).plain
    finally:
        i18n.set_language("zh_CN")
    assert heading.startswith("(2) ") and not any("\u4e00" <= ch <= "\u9fff" for ch in heading)
