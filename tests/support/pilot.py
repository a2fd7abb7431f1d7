"""Helpers for Pilot tests: wait on the real app, and a real viewer program that records
what it was given."""

from __future__ import annotations

import stat
import time
from pathlib import Path

from textual import events
from textual.keys import _character_to_key
from textual.pilot import Pilot


def recording_viewer(tmp_path: Path) -> tuple[list[str], Path]:
    """A real viewer script that writes the name and SHA-256 of each file it receives."""
    log = tmp_path / "viewer.log"
    script = tmp_path / "viewer.sh"
    script.write_text(
        "#!/bin/sh\n"
        f'for f in "$@"; do printf "%s %s\\n" "$(basename "$f")" '
        f'"$(sha256sum "$f" | cut -d" " -f1)" >> "{log}.part"; done\n'
        f'mv "{log}.part" "{log}"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return [str(script)], log


async def wait_for(predicate, pilot, timeout: float = 10.0) -> None:  # noqa: ANN001
    """Let the app run until ``predicate()`` holds (workers finish, screens change). A
    predicate querying a widget not mounted yet (NoMatches) does not hold yet."""
    from textual.css.query import NoMatches

    def holds() -> bool:
        try:
            return bool(predicate())
        except NoMatches:
            return False

    deadline = time.monotonic() + timeout
    while not holds():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.02)


def key_event(name: str) -> events.Key:
    """The Key event a terminal read of ``name`` (a character or a key name) produces."""
    if len(name) == 1:
        return events.Key(_character_to_key(name) if not name.isalnum() else name, name)
    return events.Key(name, {"enter": "\r", "ctrl+j": "\n", "tab": "\t"}.get(name))


async def burst(pilot, text: str, gap_ms: float, *, end: str | None = "enter") -> None:  # noqa: ANN001
    """Send ``text`` (then ``end``) as a keyboard-wedge scanner or ID-card reader does, keys
    ``gap_ms`` apart (0: all in one terminal read), then let the app settle.

    Each key carries the time the device sent it (start + n × gap), as the terminal driver
    stamps what it reads in its own thread; the keys are queued at once, so a busy test
    machine cannot stretch the device's spacing (the gate's real-time path is covered by
    tests/domain/test_scanning.py and by typing tests at a person's pace)."""
    driver = pilot.app._driver
    keys = [*text, *([end] if end else [])]
    start = time.monotonic()
    for n, name in enumerate(keys):
        event = key_event(name)
        event.time = start + n * gap_ms / 1000
        driver.send_message(event)
    await pilot.pause(0.2 + len(keys) * gap_ms / 1000)


async def type_slowly(pilot, text: str, gap_s: float = 0.12) -> None:  # noqa: ANN001
    """Type ``text`` (characters or key names in a list) at a person's pace, ``gap_s`` a key;
    each key reaches its widget before the next is pressed."""
    for name in text:
        await pilot.press(name)
        await pilot.pause(gap_s)


async def press_as_typed(pilot, *keys: str) -> None:  # noqa: ANN001
    """Pilot.press with the timing of the device the keys stand for. Installed as
    ``Pilot.press`` for every test by tests/conftest.py.

    * Keys pressed into the counter's scan field (several, up to an Enter) arrive as a
      scanner sends them, in one terminal read — Pilot's own pace there (some keys a few ms
      apart, some 100) is neither a person's nor a device's.
    * Elsewhere each key is typed as a person types it: pressed, then delivered once the
      app's scan gate has settled it (printable keys are held ~65 ms; domain.scanning).

    :func:`burst` sends scanner bursts anywhere, :func:`type_slowly` types anywhere."""
    keys = list(keys)
    if not keys:
        return
    app = pilot.app
    end = next((i for i, k in enumerate(keys) if k in ("enter", "ctrl+j")), len(keys) - 1)
    code = keys[:end] if keys[end] in ("enter", "ctrl+j") else keys[: end + 1]
    if (
        len(keys) > 1
        and all(len(k) == 1 for k in code)
        and getattr(app.focused, "ACCEPTS_SCANS", False)
    ):
        read_at = time.monotonic()
        for name in keys[: end + 1]:
            event = key_event(name)
            event.time = read_at
            app._driver.send_message(event)
        await pilot.pause()
        keys = keys[end + 1 :]
    for key in keys:
        await _ORIGINAL_PRESS(pilot, key)
        gate = getattr(app, "scan_gate", None)
        deadline = time.monotonic() + 2.0
        while gate is not None and gate.settling and time.monotonic() < deadline:
            await pilot.pause(0.01)


_ORIGINAL_PRESS = Pilot.press
