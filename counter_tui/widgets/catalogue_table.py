"""The material catalogue (材料目录) as a table grouped by the ten categories."""

from __future__ import annotations

import time
import uuid

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from counter_tui.domain import categories
from counter_tui.i18n import _
from counter_tui.read_models import MaterialRow

MARK = "✓"
# Keyboard-wedge scanners type faster than people: < 50 ms between keys (domain.md §5, D4c).
SCAN_GAP_S = 0.05
SCAN_MIN_CHARS = 6
TITLE_WIDTH = 36


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

    class ScanReceived(Message):
        """A scanner burst (printable keys < 50 ms apart, then Enter) arrived at the catalogue:
        another applicant's barcode, not a key for this dossier."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

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
        self._burst = ""
        self._burst_at = 0.0

    def on_mount(self) -> None:
        self.add_column(" ", key="mark", width=1)
        self.add_column(_("No."), key="number")
        # Fixed width: the longest category heading would otherwise push the date and page
        # columns off an 80-column terminal.
        self.add_column(_("Material title"), key="title", width=TITLE_WIDTH)
        self.add_column(_("Formed on"), key="formed_on")
        self.add_column(_("Pages"), key="pages")
        self.add_column(_("Remarks"), key="remark")

    def load(self, materials: list[MaterialRow]) -> None:
        """Fill the table from catalogue rows (already in catalogue order)."""
        self.clear()
        self._rows.clear()
        self._category_rows.clear()
        by_category: dict[int, list[MaterialRow]] = {}
        for row in materials:
            by_category.setdefault(row.category, []).append(row)
        for cat in categories.CATEGORIES:
            rows = by_category.get(cat.number, [])
            self._category_rows[cat.number] = self.row_count
            # The count first: a long category name is cut by the column width.
            heading = Text(f"{cat.numeral} ({len(rows)}) {cat.label()}", style="bold")
            self.add_row(
                "",
                Text(str(cat.number), style="bold"),
                heading,
                "",
                "",
                "",
                key=f"cat-{cat.number}",
            )
            for row in rows:
                self._rows[str(row.id)] = row
                self.add_row(
                    MARK if row.id in self.marked else "",
                    row.number,
                    self._title(row),
                    row.formed_on.isoformat() if row.formed_on else "",
                    self._pages(row),
                    row.remark,
                    key=str(row.id),
                )

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
        """Scroll so that ``row`` is at the top of the view."""
        self.scroll_to(y=row, animate=False)

    def on_key(self, event: events.Key) -> None:
        """Tell a scanner burst from keys: its Enter must not open pages of this dossier."""
        now = time.monotonic()
        fast = now - self._burst_at <= SCAN_GAP_S
        if event.is_printable and event.character and event.key != "space":
            self._burst = (self._burst if fast else "") + event.character
            self._burst_at = now
            return
        if event.key == "enter" and fast and len(self._burst) >= SCAN_MIN_CHARS:
            event.prevent_default()
            event.stop()
            self.post_message(self.ScanReceived(self._burst))
        self._burst = ""

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        row = self._rows.get(event.row_key.value or "")
        if row is not None:
            self.post_message(self.MaterialChosen(row.id))
