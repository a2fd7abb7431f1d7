"""The external viewer: one call per file for single-file openers, nothing logged without one."""

from __future__ import annotations

import stat
import time
from pathlib import Path

from sqlmodel import select

from counter_tui.db.models import AccessEvent
from counter_tui.services import viewing


def fake_opener(folder: Path, name: str) -> Path:
    """A real script called ``name`` that appends its arguments, one call per line."""
    log = folder / f"{name}.log"
    script = folder / name
    script.write_text(f'#!/bin/sh\necho "$#:$*" >> "{log}"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def wait_lines(path: Path, n: int) -> list[str]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text().splitlines()) >= n:
            return path.read_text().splitlines()
        time.sleep(0.02)
    raise AssertionError(f"{path} did not get {n} lines")


def test_xdg_open_gets_one_file_per_call(tmp_path: Path) -> None:
    script = fake_opener(tmp_path, "xdg-open")
    files = [tmp_path / "a.png", tmp_path / "b.png"]
    viewing.launch_viewer([str(script)], files)
    lines = sorted(wait_lines(tmp_path / "xdg-open.log", 2))
    assert lines == [f"1:{files[0]}", f"1:{files[1]}"]


def test_other_viewers_get_all_files_at_once(tmp_path: Path) -> None:
    script = fake_opener(tmp_path, "feh")
    files = [tmp_path / "a.png", tmp_path / "b.png"]
    viewing.launch_viewer([str(script), "--scale-down"], files)
    assert wait_lines(tmp_path / "feh.log", 1) == [f"3:--scale-down {files[0]} {files[1]}"]


async def test_a_missing_viewer_is_reported_before_anything_is_logged(tmp_path: Path) -> None:
    from textual.widgets import Static

    from counter_tui.screens.counter import CounterScreen
    from counter_tui.screens.dossier import DossierScreen
    from tests.support.factories import counter_app, tiny_archive
    from tests.support.pilot import wait_for

    archive = tiny_archive(tmp_path, viewer=["no-such-viewer-here"])
    app = counter_app(archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        await pilot.press(*"DA00000001", "enter")
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
        await pilot.press("enter")
        message = app.screen.query_one("#message", Static)
        await wait_for(lambda: "no-such-viewer-here" in str(message.render()), pilot)
    with archive.db.read() as s:
        kinds = [e.kind for e in s.exec(select(AccessEvent))]
    assert "dossier" in kinds and "material" not in kinds and "page" not in kinds
