"""The counter's sync line: with a central database set, the top bar says whether it is
reachable and how many facts wait; an unreachable central never stops the counter."""

from __future__ import annotations

from pathlib import Path

from counter_tui.screens.counter import CounterScreen
from counter_tui.screens.dossier import DossierScreen
from tests.support.factories import counter_app, tiny_archive
from tests.support.pilot import wait_for

DEAD_CENTRAL = "postgresql+psycopg://office_cy_rc@127.0.0.1:1/central?connect_timeout=2"


async def test_an_unreachable_central_is_shown_and_the_counter_keeps_serving(
    tmp_path: Path,
) -> None:
    archive = tiny_archive(tmp_path)
    archive.settings.central = DEAD_CENTRAL
    archive.settings.institution = "CY-RC"
    app = counter_app(archive)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        await wait_for(lambda: "离线" in app.sync_line, pilot, timeout=20)
        bar = str(app.screen.query_one("#sync").render())
        assert bar.startswith("中心库：离线 · 待同步 ")
        assert "无法连接" in app.sync_line
        # Serving goes on.
        await pilot.press(*"DA00000001", "enter")
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)


async def test_without_a_central_there_is_no_sync_line(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        await pilot.pause(1.5)
        assert app.sync_line == ""
        assert app.screen.query_one("#sync").display is False
