"""Cold start (issue 13): the log-in screen is drawn before the database layer is imported or
the database opened; a log-in waits for the open, and a database that cannot be used still
ends the program with the same sentence as before."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from textual.app import App

from counter_tui import cli
from counter_tui.app import CounterApp
from counter_tui.context import build_context, start_context
from counter_tui.db import engine
from counter_tui.db.engine import DatabaseUnavailable, StorageBusyError
from counter_tui.screens.counter import CounterScreen
from counter_tui.screens.login import LoginScreen
from tests.support.factories import PASSWORD, tiny_archive
from tests.support.pilot import wait_for

NOT_AT_START = (
    "sqlmodel",
    "alembic",
    "argon2",
    "fpdf",
    "numpy",
    "cv2",
    "zxingcpp",
    "PIL",
    "cryptography",
    "keyring",
    "counter_tui.db.models",
    "counter_tui.db.migrate",
    "counter_tui.services.auth",
    "counter_tui.services.issuance",
    "counter_tui.screens.counter",
)


def test_the_log_in_screen_needs_no_database_or_document_library() -> None:
    code = (
        "import sys, counter_tui.cli, counter_tui.app\n"
        f"print(' '.join(m for m in {NOT_AT_START!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == []


async def test_a_log_in_waits_until_the_database_is_open(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    archive.db.dispose()
    ctx = start_context(archive.settings)
    release = threading.Event()
    opener = ctx._opener

    def slow_open():  # noqa: ANN202
        release.wait(10)
        return opener()

    ctx._opener = slow_open
    app = CounterApp(ctx)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, LoginScreen), pilot)
        assert not ctx.opened
        await pilot.press(*"clerk1", "enter", *PASSWORD, "enter")
        await pilot.pause(0.3)
        assert isinstance(app.screen, LoginScreen)  # still checking: nothing read yet
        release.set()
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        assert ctx.opened


async def _start_error(settings) -> BaseException | None:  # noqa: ANN001
    app = CounterApp(start_context(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(lambda: app.start_error is not None, pilot)
    return app.start_error


async def test_a_file_that_is_not_an_archive_ends_the_app_with_the_same_sentence(
    tmp_path: Path,
) -> None:
    archive = tiny_archive(tmp_path)
    archive.db.dispose()
    file = tmp_path / "notes.db"
    file.write_text("not a database, just notes\n" * 100)
    archive.settings.db = f"sqlite:///{file}"
    with pytest.raises(DatabaseUnavailable) as before:
        build_context(archive.settings)
    error = await _start_error(archive.settings)
    assert isinstance(error, DatabaseUnavailable)
    assert error.reason == before.value.reason == "not_an_archive"
    assert str(error) == str(before.value)


async def test_a_locked_database_ends_the_app_saying_it_is_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tiny_archive(tmp_path)
    archive.db.dispose()
    monkeypatch.setattr(engine, "BUSY_TIMEOUT_MS", 200)
    holder = sqlite3.connect(tmp_path / "archive.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        error = await _start_error(archive.settings)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert isinstance(error, StorageBusyError)


def test_the_command_line_reports_a_failed_open_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "notes.db"
    file.write_text("not a database, just notes\n" * 100)
    # No terminal here: the app runs headless, the rest is the real command line.
    monkeypatch.setattr(CounterApp, "run", lambda self: App.run(self, headless=True))
    argv = ["--db", f"sqlite:///{file}", "--data-dir", str(tmp_path / "data")]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("counter-tui: ")
    assert str(file) in err and "Counter TUI" in err


def test_an_archive_without_accounts_still_asks_for_the_first_administrator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from counter_tui.context import open_database

    file = tmp_path / "archive.db"
    archive_settings = tiny_archive(tmp_path / "a").settings
    archive_settings.db = f"sqlite:///{file}"
    open_database(archive_settings).dispose()  # migrated, no account
    monkeypatch.setattr(CounterApp, "run", lambda self: App.run(self, headless=True))
    assert cli.main(["--db", f"sqlite:///{file}", "--data-dir", str(tmp_path / "data")]) == 1
    assert "counter-tui user add" in capsys.readouterr().err  # stdin is no terminal here
