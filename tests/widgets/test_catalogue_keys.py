"""The catalogue's row cursor, driven by real key presses and clicks: it moves over headings
and materials, keeps the row under it on screen, and Enter or a click on that row chooses the
material (never a heading)."""

from __future__ import annotations

import uuid

from textual.app import App

from counter_tui.widgets.catalogue_table import MARK, CatalogueTable
from tests.widgets.test_catalogue_layout import CatalogueApp as LayoutApp
from tests.widgets.test_catalogue_layout import material

# 60 materials over categories 1, 4 and 9: taller than a 24-line terminal.
ROWS = (
    [material(f"1-{n}", 1, f"履历材料第{n}份") for n in range(1, 31)]
    + [material(f"4-{n}", 4, f"学历材料第{n}份") for n in range(1, 21)]
    + [material(f"9-{n}", 9, f"录用材料第{n}份") for n in range(1, 11)]
)


class CatalogueApp(LayoutApp):
    """:data:`ROWS` in a catalogue; what it posted is recorded."""

    def __init__(self, rows: list | None = None) -> None:
        super().__init__(ROWS if rows is None else rows)
        self.chosen: list[uuid.UUID] = []
        self.marks: list[tuple[uuid.UUID, ...]] = []

    def on_catalogue_table_material_chosen(self, event: CatalogueTable.MaterialChosen) -> None:
        self.chosen.append(event.material_id)

    def on_catalogue_table_marks_changed(self, event: CatalogueTable.MarksChanged) -> None:
        self.marks.append(event.marked)


def screen_text(app: App) -> str:
    """What the terminal shows, as text (the app's last frame)."""
    return "\n".join(
        "".join(segment.text for segment in strip)
        for strip in app.screen._compositor.render_strips()
    )


def visible_rows(table: CatalogueTable) -> range:
    """Indexes of the rows wholly on screen below the header."""
    top = round(table.scroll_y)
    bottom = top + table.scrollable_content_region.height - 1
    starts = [sum(row.height for row in table.ordered_rows[:i]) for i in range(table.row_count)]
    return range(
        next(i for i, s in enumerate(starts) if s >= top),
        max(i for i, s in enumerate(starts) if s + table.ordered_rows[i].height <= bottom) + 1,
    )


async def test_arrows_page_keys_home_and_end_keep_the_cursor_on_screen() -> None:
    app = CatalogueApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(CatalogueTable)
        assert table.cursor_row == 0 and table.current_material() is None  # 一's heading
        await pilot.press("down")
        assert table.current_material() == ROWS[0]
        for _ in range(25):
            await pilot.press("down")
        await pilot.pause()
        assert table.current_material() == ROWS[25]
        assert table.cursor_row in visible_rows(table)
        assert "履历材料第26份" in screen_text(app)
        await pilot.press("pagedown")
        await pilot.pause()
        assert table.cursor_row > 26 and table.cursor_row in visible_rows(table)
        await pilot.press("end")
        await pilot.pause()
        assert table.current_key() == "cat-10"
        assert table.scroll_y == table.max_scroll_y > 0
        await pilot.press("home")
        await pilot.pause()
        assert table.cursor_row == 0 and table.scroll_y == 0
        await pilot.press("up")  # already at the top: stays
        assert table.cursor_row == 0


async def test_enter_chooses_a_material_but_not_a_heading() -> None:
    app = CatalogueApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")  # on 一's heading
        await pilot.pause()
        assert app.chosen == []
        await pilot.press("4", "enter")
        await pilot.pause()
        assert app.chosen == [ROWS[30].id]


async def test_a_click_moves_the_cursor_and_a_second_click_chooses() -> None:
    app = CatalogueApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(CatalogueTable)
        # Screen line 0 is the header, line 1 一's heading, line 3 the third row (1-2).
        await pilot.click(CatalogueTable, offset=(10, 3))
        await pilot.pause()
        assert table.current_material() == ROWS[1] and app.chosen == []
        await pilot.click(CatalogueTable, offset=(10, 3))
        await pilot.pause()
        assert app.chosen == [ROWS[1].id]
        await pilot.click(CatalogueTable, offset=(10, 0))  # the header: nothing
        await pilot.pause()
        assert table.current_material() == ROWS[1] and app.chosen == [ROWS[1].id]


async def test_space_marks_and_unmarks_on_screen() -> None:
    app = CatalogueApp()
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(CatalogueTable)
        await pilot.press("down", "space")
        await pilot.pause()
        assert table.marked == [ROWS[0].id] and app.marks == [(ROWS[0].id,)]
        line = next(text for text in screen_text(app).splitlines() if "履历材料第1份" in text)
        assert line.lstrip().startswith(MARK)
        await pilot.press("space")
        await pilot.pause()
        assert table.marked == [] and app.marks[-1] == ()
        line = next(text for text in screen_text(app).splitlines() if "履历材料第1份" in text)
        assert MARK not in line
        await pilot.press("up", "space")  # a heading cannot be marked
        assert table.marked == [] and len(app.marks) == 2


async def test_the_cursor_stays_on_screen_when_a_narrower_terminal_refolds_the_rows() -> None:
    app = CatalogueApp()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(CatalogueTable)
        await pilot.press("end")
        await pilot.pause()
        assert table.current_key() == "cat-10" and table.cursor_row in visible_rows(table)
        await pilot.resize_terminal(40, 20)  # headings now wrap: every row below moves down
        await pilot.pause()
        assert table.current_key() == "cat-10" and table.cursor_row in visible_rows(table)


async def test_control_characters_in_catalogue_text_never_reach_the_terminal() -> None:
    """An escape sequence typed into a title, remark or number is shown as U+FFFD, a line
    break or tab as a space: the row stays one line and the terminal gets no control code."""
    rows = [
        material("1-1\x1b", 1, "\x1b[2J清屏\x07", remark="复\t印\n件"),
        material("1-2", 1, "干部\u0085履历表\x9b31m"),
    ]

    app = CatalogueApp(rows)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        table = app.query_one(CatalogueTable)
        title = table.get_cell(str(rows[0].id), "title")
        assert str(title) == "\ufffd[2J清屏\ufffd"
        assert table.get_cell(str(rows[0].id), "remark") == "复 印 件"
        assert table.get_cell(str(rows[0].id), "number") == "1-1\ufffd"
        assert str(table.get_cell(str(rows[1].id), "title")) == "干部 履历表\ufffd31m"
        assert [table.rows[str(row.id)].height for row in rows] == [1, 1]
        drawn = screen_text(app)
        assert not any(ch < " " or "\x7f" <= ch < "\xa0" for ch in drawn.replace("\n", ""))
        assert "\ufffd[2J清屏" in drawn
