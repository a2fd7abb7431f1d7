"""The 扫描接收 screen through real keys: the archivist types the batch folder, F5 takes it in
in a worker (progress, one row per dossier, the report paths); a scanner burst starts nothing;
Esc goes back. Real app, real SQLite file, real images."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import func, select
from textual.widgets import DataTable, Input, ProgressBar, Static

from counter_tui.app import CounterApp
from counter_tui.config import Settings
from counter_tui.context import build_context
from counter_tui.db import migrate
from counter_tui.db.engine import Database
from counter_tui.db.models import Page
from counter_tui.demo.intake_batch import DemoBatch, build_intake_demo
from counter_tui.screens.intake import IntakeScreen, duration
from counter_tui.services import auth
from tests.support.pilot import burst, type_slowly, wait_for


@pytest.fixture
def demo(tmp_path: Path) -> tuple[Settings, DemoBatch]:
    settings = Settings(
        db=f"sqlite:///{tmp_path / 'archive.db'}",
        data_dir=tmp_path / "data",
        archive_root=tmp_path / "archive",
        viewer=["true"],
    )
    db = Database(settings.db_url)
    migrate.upgrade(db)
    batch = build_intake_demo(
        db, tmp_path / "batch", archive_root=settings.archive_dir, cases=("plain", "truncated")
    )
    db.dispose()
    return settings, batch


def _app(settings: Settings) -> CounterApp:
    ctx = build_context(settings)
    ctx.workplace = auth.authenticate(ctx.db, "arch1", "arch1-demo")
    return CounterApp(ctx)


def _pages(app: CounterApp) -> int:
    with app.ctx.db.read() as s:
        return s.exec(select(func.count()).select_from(Page)).one()


async def test_batch_taken_in_from_the_screen(demo: tuple[Settings, DemoBatch]) -> None:
    settings, batch = demo
    app = _app(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.push_screen(IntakeScreen(app.ctx))
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        await type_slowly(pilot, str(batch.batch_dir), gap_s=0.0)
        assert screen.query_one("#batch", Input).value == str(batch.batch_dir)
        await pilot.press("enter")  # moves to the catalogue field, starts nothing
        assert not screen.running and _pages(app) == 0

        await pilot.press("f5")
        await wait_for(lambda: screen.result is not None, pilot, timeout=60)
        await pilot.pause()

        table = screen.query_one("#results", DataTable)
        rows = [table.get_row_at(n) for n in range(table.row_count)]
        assert [r[0] for r in rows] == [e.dossier_no for e in batch.expected]
        assert [r[1] for r in rows] == ["已接收", "已停止"]
        assert rows[0][2] == str(batch.expected[0].pages)
        assert _pages(app) == batch.expected[0].pages
        bar = screen.query_one("#progress", ProgressBar)
        assert bar.progress == bar.total
        report = str(screen.query_one("#report", Static).render())
        assert str(screen.result.json_path) in report and screen.result.json_path.is_file()


async def test_scanner_burst_starts_nothing(demo: tuple[Settings, DemoBatch]) -> None:
    settings, batch = demo
    app = _app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(IntakeScreen(app.ctx, batch=str(batch.batch_dir)))
        await pilot.pause()
        screen = app.screen
        await burst(pilot, "CY00086001", 5)
        await pilot.pause(0.3)
        assert not screen.running and screen.result is None
        assert _pages(app) == 0
        assert "忽略" in str(screen.query_one("#message").render())
        assert screen.query_one("#batch", Input).value == str(batch.batch_dir)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is not screen  # back to the archivist's own intake screen


async def test_missing_folder_is_said_plainly(demo: tuple[Settings, DemoBatch]) -> None:
    settings, batch = demo
    app = _app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(IntakeScreen(app.ctx, batch=str(batch.batch_dir / "nowhere")))
        await pilot.pause()
        await pilot.press("f5")
        await pilot.pause()
        screen = app.screen
        assert not screen.running
        assert "nowhere" in str(screen.query_one("#message").render())


def test_duration() -> None:
    assert duration(None) == "—"
    assert duration(65.4) == "1:05"
    assert duration(3 * 3600 + 61) == "3:01:01"


async def test_an_archivist_starts_at_intake_and_f9_goes_round_their_places(
    demo: tuple[Settings, DemoBatch],
) -> None:
    from counter_tui.screens.counter import CounterScreen
    from counter_tui.screens.receive import ReceiveScreen

    settings, _batch = demo
    app = _app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(lambda: isinstance(app.screen, IntakeScreen), pilot)
        await pilot.press("f9")
        await wait_for(lambda: isinstance(app.screen, ReceiveScreen), pilot)
        await pilot.press("f9")
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        await pilot.press("f9")
        await wait_for(lambda: isinstance(app.screen, IntakeScreen), pilot)
