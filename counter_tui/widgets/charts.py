"""Text charts drawn with block characters: labelled horizontal bars and vertical columns.

Block elements (U+2581–U+258F; eighth blocks for the fractional end of a bar) are in the
GBK/GB 18030 repertoire and so in the fonts of Chinese-language consoles, unlike braille
(which plotting libraries prefer). Colours are Textual styles (``$success``, ``$accent`` …),
so the charts follow the app's theme. Each chart fits the width its container's CSS gives
it and redraws when that width changes (e.g. when a scrollbar appears): bars get shorter,
labels of a bar chart move to a line of their own, columns get narrower — lines never wrap.

The widgets take plain data — :class:`Bar` and :class:`Column` are named tuples, so plain
``(label, value)`` tuples do too — and know nothing of where the figures come from.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, NamedTuple

from rich.cells import cell_len, set_cell_size
from textual import events
from textual.content import Content
from textual.widgets import Static

EIGHTHS_H = " ▏▎▍▌▋▊▉█"
"""Left-aligned horizontal eighth blocks, 0/8 to 8/8 of a cell."""
EIGHTHS_V = " ▁▂▃▄▅▆▇█"
"""Bottom-aligned vertical eighth blocks, 0/8 to 8/8 of a cell."""
FALLBACK_WIDTH = 40
"""Cells assumed before the widget has been laid out (it redraws once it knows its width)."""


def hbar(value: float, maximum: float, width: int = 24) -> str:
    """A horizontal bar of ``value`` against ``maximum`` in ``width`` cells.

    Drawn with eighth-block characters so small differences show (8 steps per cell); a
    non-zero value gets at least one eighth. Values above ``maximum`` are drawn full. Returns
    "" when ``value`` or ``maximum`` is ≤ 0. Example: ``hbar(3, 8, 24)`` is nine full blocks.
    """
    if maximum <= 0 or value <= 0:
        return ""
    eighths = max(1, round(min(value, maximum) / maximum * width * 8))
    full, rest = divmod(eighths, 8)
    return "█" * full + (EIGHTHS_H[rest] if rest else "")


def column_chart(values: list[float], height: int = 5, column: int = 2, gap: int = 1) -> list[str]:
    """Vertical bars, one per value, scaled so the largest fills ``height`` lines.

    Returns ``height`` lines from the top one down, trailing spaces stripped; each bar is
    ``column`` cells wide with ``gap`` cells between bars, its top drawn with an eighth
    block (8 steps per line); a non-zero value gets at least one eighth.
    """
    top = max(values, default=0)
    lines = []
    for level in range(height, 0, -1):
        cells = []
        for value in values:
            eighths = round(value / top * height * 8) if top > 0 else 0
            if value > 0 and not eighths:
                eighths = 1
            filled = eighths - (level - 1) * 8
            char = "█" if filled >= 8 else (EIGHTHS_V[filled] if filled > 0 else " ")
            cells.append(char * column)
        lines.append((" " * gap).join(cells).rstrip())
    return lines


def number(value: float) -> str:
    """A chart value as text: integers as they are, other numbers with one decimal."""
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.1f}"


class Bar(NamedTuple):
    """One bar of a :class:`BarChart`: its ``label``, ``value`` (≥ 0) and ``style`` (a
    Textual style such as ``"$warning"``; "" for the chart's own)."""

    label: str
    value: float
    style: str = ""


class Column(NamedTuple):
    """One column of a :class:`ColumnChart`: the ``label`` under it (e.g. "09") and its
    ``value`` (≥ 0)."""

    label: str
    value: float


class Chart(Static):
    """Base of the charts: a bold title (and a plain ``note`` after it) over lines drawn from
    the data kept, redrawn to fit the content width."""

    DEFAULT_CSS = """
    Chart {
        height: auto;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(
        self,
        title: str = "",
        *,
        bar_style: str,
        name: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's own parameter name
        classes: str | None = None,
    ) -> None:
        super().__init__("", name=name, id=id, classes=classes)
        self.title = title
        self.note = ""
        self.bar_style = bar_style
        self._drawn_width = 0

    @property
    def chart_width(self) -> int:
        """Cells available for a line (the content width once laid out)."""
        return self.content_size.width or FALLBACK_WIDTH

    def on_mount(self) -> None:
        self.redraw()

    def on_resize(self, event: events.Resize) -> None:
        if self.chart_width != self._drawn_width:
            self.redraw()

    def _set_heading(self, title: str | None, note: str | None) -> None:
        if title is not None:
            self.title = title
        if note is not None:
            self.note = note

    def _heading(self) -> list[str | tuple[str, str]]:
        parts: list[str | tuple[str, str]] = []
        if self.title:
            parts.append((self.title, "bold"))
        if self.note:
            parts += ["  " if self.title else "", self.note]
        return parts

    def redraw(self) -> None:
        """Draw the data again at the current width."""
        width = self.chart_width
        self._drawn_width = width
        lines = self._lines(width)
        heading = self._heading()
        if heading:
            lines.insert(0, heading)
        parts: list[str | tuple[str, str]] = []
        for n, line in enumerate(lines):
            if n:
                parts.append("\n")
            parts += line
        self.update(Content.assemble(*parts))

    def _lines(self, width: int) -> list[list[str | tuple[str, str]]]:
        raise NotImplementedError


class BarChart(Chart):
    """Labelled horizontal bars with the value after each bar, under a bold title.

    ``chart.show([Bar("1–2 min", 3, "$success"), …])`` (or plain ``(label, value)`` tuples)
    draws one line per bar: the label (aligned ``left`` or ``right`` in a column as wide as
    the longest), the bar scaled to the largest value, then the value. ``max_bar`` caps the
    bar length in cells (None: fill the width); ``value_width`` cells are kept for the value
    column so that bars keep their length while counts grow. When fewer than ``min_bar``
    cells would be left for the bars, each label gets a line of its own and its bar goes
    below, indented by two cells. ``bar_style`` colours the bars that name no style.
    """

    def __init__(
        self,
        title: str = "",
        *,
        align_labels: Literal["left", "right"] = "left",
        max_bar: int | None = None,
        min_bar: int = 12,
        value_width: int = 3,
        bar_style: str = "$primary",
        name: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's own parameter name
        classes: str | None = None,
    ) -> None:
        super().__init__(title, bar_style=bar_style, name=name, id=id, classes=classes)
        self.align_labels = align_labels
        self.max_bar = max_bar
        self.min_bar = min_bar
        self.value_width = value_width
        self.bars: tuple[Bar, ...] = ()

    def show(
        self,
        bars: Iterable[Bar | tuple[str, float] | tuple[str, float, str]],
        *,
        title: str | None = None,
        note: str | None = None,
    ) -> None:
        """Draw ``bars`` (in the order given); ``title`` / ``note`` (plain text after the
        title) replace the current ones when given."""
        self.bars = tuple(Bar(*bar) for bar in bars)
        self._set_heading(title, note)
        self.redraw()

    def _lines(self, width: int) -> list[list[str | tuple[str, str]]]:
        if not self.bars:
            return []
        top = max(bar.value for bar in self.bars)
        values = [number(bar.value) for bar in self.bars]
        value_cells = max(self.value_width, *(cell_len(v) for v in values))
        pad = max(cell_len(bar.label) for bar in self.bars)
        room = width - pad - 1 - 1 - value_cells  # label, space, bar, space, value
        one_line = room >= self.min_bar
        if not one_line:
            room = width - 2 - 1 - value_cells
        bar_cells = max(1, min(room, self.max_bar or room))
        lines: list[list[str | tuple[str, str]]] = []
        for bar, value in zip(self.bars, values, strict=True):
            drawn = (hbar(bar.value, top, bar_cells).ljust(bar_cells), bar.style or self.bar_style)
            if one_line:
                space = " " * (pad - cell_len(bar.label))
                label = space + bar.label if self.align_labels == "right" else bar.label + space
                lines.append([label + " ", drawn, " " + value])
            else:
                lines.append([bar.label])
                lines.append(["  ", drawn, " " + value])
        return lines


class ColumnChart(Chart):
    """Vertical columns over an axis of labels (such as hours), under a bold title.

    ``chart.show([Column("08", 2), Column("09", 5), …])`` (or plain tuples) draws ``lines``
    text lines of columns, the largest value reaching the top, then the labels. Columns are
    as wide as the widest label with one cell between them; when that does not fit the
    width, they shrink to one cell each without gaps and every (label width + 1)-th label is
    shown. ``bar_style`` colours the columns.
    """

    def __init__(
        self,
        title: str = "",
        *,
        lines: int = 5,
        bar_style: str = "$accent",
        name: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's own parameter name
        classes: str | None = None,
    ) -> None:
        super().__init__(title, bar_style=bar_style, name=name, id=id, classes=classes)
        self.lines = lines
        self.columns: tuple[Column, ...] = ()

    def show(
        self,
        columns: Iterable[Column | tuple[str, float]],
        *,
        title: str | None = None,
        note: str | None = None,
    ) -> None:
        """Draw ``columns`` left to right; ``title`` / ``note`` (plain text after the title)
        replace the current ones when given."""
        self.columns = tuple(Column(*column) for column in columns)
        self._set_heading(title, note)
        self.redraw()

    def _lines(self, width: int) -> list[list[str | tuple[str, str]]]:
        if not self.columns:
            return []
        labels = [column.label for column in self.columns]
        label_cells = max(1, *(cell_len(label) for label in labels))
        values = [column.value for column in self.columns]
        wide = len(values) * (label_cells + 1) - 1 <= width
        if wide:
            bars = column_chart(values, self.lines, column=label_cells, gap=1)
            axis = " ".join(set_cell_size(label, label_cells) for label in labels)
        else:
            every = label_cells + 1
            bars = column_chart(values, self.lines, column=1, gap=0)
            axis = "".join(
                set_cell_size(label, every) for n, label in enumerate(labels) if n % every == 0
            )
        return [[(line, self.bar_style)] for line in bars] + [[axis.rstrip()]]
