"""Domain rules: catalogue numbering and order, service-time levels, the visible timer."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import pytest

from counter_tui.domain import categories, service_time


@dataclass
class M:
    category: int
    subcategory: int | None
    formed_on: dt.date | None
    title: str = ""


def test_catalogue_order_and_numbers_follow_formation_dates() -> None:
    materials = [
        M(9, 2, dt.date(1990, 1, 1), "录用审批表"),
        M(4, 1, dt.date(1985, 7, 1), "毕业生登记表"),
        M(1, None, dt.date(2001, 3, 1), "干部履历表"),
        M(4, 1, dt.date(1983, 9, 1), "学籍登记表"),
        M(1, None, None, "简历（日期不详）"),
        M(4, 2, dt.date(1995, 1, 1), "职称评审表"),
    ]
    numbered = [
        (categories.catalogue_number(m.category, m.subcategory, n), m.title)
        for m, n in categories.number_items(materials)
    ]
    assert numbered == [
        ("1-1", "干部履历表"),
        ("1-2", "简历（日期不详）"),
        ("4-1-1", "学籍登记表"),
        ("4-1-2", "毕业生登记表"),
        ("4-2-1", "职称评审表"),
        ("9-2-1", "录用审批表"),
    ]


def test_ten_categories_and_eight_subcategories() -> None:
    assert [c.numeral for c in categories.CATEGORIES] == list("一二三四五六七八九十")
    assert [s.code for s in categories.SUBCATEGORIES] == [
        "4-1",
        "4-2",
        "4-3",
        "4-4",
        "9-1",
        "9-2",
        "9-3",
        "9-4",
    ]
    assert categories.category(4).name_zh.startswith("学历学位")
    categories.validate_placement(9, 4)
    for bad in ((4, None), (3, 1), (11, None), (9, 5)):
        with pytest.raises(ValueError):
            categories.validate_placement(*bad)


@pytest.mark.parametrize(
    ("seconds", "shown", "level"),
    [
        (0, "00:00", "ok"),
        (119.9, "01:59", "ok"),
        (120, "02:00", "warning"),
        (179, "02:59", "warning"),
        (180, "03:00", "alert"),
        (3725, "62:05", "alert"),
        (-5, "00:00", "ok"),
    ],
)
def test_service_time_levels(seconds: float, shown: str, level: str) -> None:
    assert service_time.format_elapsed(seconds) == shown
    assert service_time.level(seconds) == level


async def test_the_timer_turns_warning_then_alert(tmp_path) -> None:  # noqa: ANN001
    from counter_tui.screens.counter import CounterScreen
    from counter_tui.widgets.service_timer import ServiceTimer
    from tests.support.factories import counter_app, tiny_archive
    from tests.support.pilot import wait_for

    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        timer = app.screen.query_one(ServiceTimer)
        timer.started = time.monotonic() - 125
        timer.refresh_time()
        assert timer.has_class("-warning") and not timer.has_class("-alert")
        assert "02:0" in str(timer.render())
        timer.started = time.monotonic() - 181
        timer.refresh_time()
        assert timer.has_class("-alert") and not timer.has_class("-warning")
        timer.started = None
        timer.refresh_time()
        assert not timer.has_class("-alert") and "00:00" in str(timer.render())
