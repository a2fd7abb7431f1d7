"""widgets/charts.py: the bar and column drawing, and the chart widgets mounted in a small app
(what they render, how they fit their width, and that they redraw when it changes)."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.widget import Widget

from counter_tui.widgets.charts import (
    Bar,
    BarChart,
    Column,
    ColumnChart,
    column_chart,
    hbar,
    number,
)


class ChartApp(App):
    """One chart, ``width`` cells wide."""

    def __init__(self, chart: Widget, width: int) -> None:
        super().__init__()
        self.chart = chart
        self.chart.styles.width = width

    def compose(self) -> ComposeResult:
        yield self.chart


def drawn(chart: Widget) -> list[str]:
    """The lines the chart put on the screen, trailing spaces dropped."""
    return [chart.render_line(y).text.rstrip() for y in range(chart.size.height)]


@pytest.mark.parametrize(
    "value,maximum,width,expected",
    [
        (3, 8, 24, "█" * 9),  # 3/8 of 24 cells
        (8, 8, 24, "█" * 24),
        (12, 8, 24, "█" * 24),  # above the maximum: drawn full
        (1, 3, 1, "▍"),  # 1/3 of a cell ≈ 3 eighths
        (1, 3, 2, "▋"),  # 2/3 of a cell ≈ 5 eighths
        (1, 1000, 24, "▏"),  # never nothing for a non-zero value
        (0, 8, 24, ""),
        (3, 0, 24, ""),
    ],
)
def test_hbar(value: float, maximum: float, width: int, expected: str) -> None:
    assert hbar(value, maximum, width) == expected


def test_column_chart_scales_to_the_largest_value() -> None:
    # 1 of 4 over 2 lines = 4 eighths of the lower line; 2 of 4 fills the lower line.
    assert column_chart([1, 4, 0, 2], height=2, column=2, gap=1) == [
        "   ██",
        "▄▄ ██    ██",
    ]
    assert column_chart([0, 0], height=2) == ["", ""]
    assert column_chart([], height=1) == [""]


def test_number() -> None:
    assert [number(3), number(4.0), number(2.5), number(0)] == ["3", "4", "2.5", "0"]


async def test_bar_chart_draws_labels_bars_and_values() -> None:
    chart = BarChart("Service time", align_labels="right", max_bar=24)
    app = ChartApp(chart, width=40)
    async with app.run_test(size=(60, 12)) as pilot:
        chart.show([("0–1 min", 2), Bar("1–2 min", 8, "$success"), Bar("10+ min", 3, "$error")])
        await pilot.pause()
        assert drawn(chart) == [
            "Service time",
            "0–1 min " + "█" * 6 + " " * 18 + " 2",  # 2/8 of 24 cells
            "1–2 min " + "█" * 24 + " 8",
            "10+ min " + "█" * 9 + " " * 15 + " 3",
        ]
        content = chart.content
        styled = {content.plain[s.start : s.end]: str(s.style) for s in content.spans}
        assert styled["Service time"] == "bold"
        assert styled["█" * 24] == "$success"
        assert styled["█" * 6 + " " * 18] == "$primary"  # no style of its own: the chart's
        assert styled["█" * 9 + " " * 15] == "$error"


async def test_bar_chart_moves_long_labels_to_their_own_line_when_narrow() -> None:
    chart = BarChart("Kinds")
    app = ChartApp(chart, width=24)
    async with app.run_test(size=(40, 12)) as pilot:
        chart.show([("Custody certificate", 2), ("存档证明", 1)])
        await pilot.pause()
        # 24 cells − 2 indent − space − 3 for the value = 18 for the bars.
        assert drawn(chart) == [
            "Kinds",
            "Custody certificate",
            "  " + "█" * 18 + " 2",
            "存档证明",
            "  " + "█" * 9 + " " * 9 + " 1",
        ]


async def test_bar_chart_redraws_when_its_width_changes() -> None:
    chart = BarChart()
    app = ChartApp(chart, width=30)
    async with app.run_test(size=(50, 8)) as pilot:
        chart.show([("ab", 4), ("c", 2)])
        await pilot.pause()
        # 30 − label 2 − two spaces − value 3 = 23 cells.
        assert drawn(chart) == ["ab " + "█" * 23 + " 4", "c  " + "█" * 11 + "▌" + " " * 11 + " 2"]
        chart.styles.width = 20
        await pilot.pause()
        await pilot.pause()
        assert drawn(chart) == ["ab " + "█" * 13 + " 4", "c  " + "█" * 6 + "▌" + " " * 6 + " 2"]


async def test_column_chart_renders_its_lines_under_the_title() -> None:
    chart = ColumnChart("Arrivals per hour", lines=2)
    app = ChartApp(chart, width=32)
    async with app.run_test(size=(40, 8)) as pilot:
        chart.show(
            [Column("08", 1), Column("09", 4), Column("10", 0), Column("11", 2)],
            note="(busiest: 4)",
        )
        await pilot.pause()
        assert drawn(chart) == [
            "Arrivals per hour  (busiest: 4)",
            "   ██",
            "▄▄ ██    ██",
            "08 09 10 11",
        ]
        assert chart.size.height == 4
        chart.styles.width = 24  # too narrow for the heading: it is cut, never wrapped
        await pilot.pause()
        await pilot.pause()
        assert drawn(chart)[0] == "Arrivals per hour  (bus…"
        assert chart.size.height == 4


async def test_column_chart_narrows_its_columns_to_fit() -> None:
    chart = ColumnChart("Hours", lines=1)
    app = ChartApp(chart, width=20)
    async with app.run_test(size=(40, 8)) as pilot:
        # 12 two-cell columns and gaps need 35 cells: one cell each, every third label.
        chart.show((f"{h:02d}", 8) for h in range(8, 20))
        await pilot.pause()
        assert drawn(chart) == ["Hours", "█" * 12, "08 11 14 17"]


async def test_an_empty_chart_shows_its_title_only() -> None:
    chart = BarChart("Nothing yet")
    app = ChartApp(chart, width=30)
    async with app.run_test(size=(40, 6)) as pilot:
        await pilot.pause()
        assert drawn(chart) == ["Nothing yet"]
        chart.show([("a", 0), ("b", 0)])
        await pilot.pause()
        assert drawn(chart) == ["Nothing yet", "a" + " " * 26 + "0", "b" + " " * 26 + "0"]
