"""Helpers for Pilot tests: wait on the real app, and a real viewer program that records
what it was given."""

from __future__ import annotations

import stat
import time
from pathlib import Path


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
    """Let the app run until ``predicate()`` holds (workers finish, screens change)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.02)
