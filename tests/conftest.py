"""Hermetic test set-up: config and data dirs under tmp_path, Chinese UI, real SQLite files."""

from __future__ import annotations

from pathlib import Path

import pytest

from counter_tui import i18n
from tests.support.pilot import press_as_typed

pytest_plugins = ["tests.support.pg", "tests.support.keyrings"]

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder for the session (the common-character certificate font is built
    once, as on a counter PC, not once per test)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def hermetic(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, cache_dir: Path
) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("COUNTER_TUI_CACHE_DIR", str(cache_dir))
    monkeypatch.setenv("COUNTER_TUI_CONFIG", str(home / "settings.toml"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    for name in (
        "DB",
        "ARCHIVE_ROOT",
        "LANG",
        "INSTITUTION",
        "COUNTER",
        "VIEWER",
        "IDLE_LOCK_MINUTES",
        "DATA_DIR",
        "PRINT_COMMAND",
        "TEMPLATES_DIR",
    ):
        monkeypatch.delenv(f"COUNTER_TUI_{name}", raising=False)
    i18n.set_language("zh_CN")


@pytest.fixture(autouse=True)
def keys_pressed_at_a_persons_pace(monkeypatch: pytest.MonkeyPatch) -> None:
    """pilot.press types like a person (see tests.support.pilot.press_as_typed); scanner
    bursts are sent with tests.support.pilot.burst."""
    from textual.pilot import Pilot

    monkeypatch.setattr(Pilot, "press", press_as_typed)
