"""``counter-tui barcode read``: JSON shape, the table, exit statuses, folders, patterns and
undecodable file names — on the real program in a subprocess, Chinese by default."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from counter_tui.demo import hard_covers
from tests.conftest import REPO


def _run(*args: str | bytes, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUNTER_TUI_")}
    env["COUNTER_TUI_CONFIG"] = os.environ["COUNTER_TUI_CONFIG"]  # hermetic: no settings file
    return subprocess.run(
        [sys.executable, "-m", "counter_tui", "barcode", "read", *args],
        capture_output=True,
        cwd=cwd or REPO,
        env=env,
        timeout=120,
    )


def test_json_lists_codes_and_unreadable_files(tmp_path: Path) -> None:
    cover = tmp_path / "cover.png"
    hard_covers.cover("CY00086001", dpi=100, module_mm=0.5).save(cover)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    done = _run("--json", str(cover), str(empty), str(tmp_path / "missing.tif"))
    assert done.returncode == 1, done.stderr
    rows = json.loads(done.stdout.decode("utf-8"))
    assert rows[0]["file"] == str(cover)
    assert rows[0]["text"] == "CY00086001" and rows[0]["format"] == "Code128"
    assert rows[0]["page"] == 1
    assert set(rows[0]["position"]) == {"x", "y", "width", "height"}
    assert [r["file"] for r in rows[1:]] == [str(empty), str(tmp_path / "missing.tif")]
    assert "空" in rows[1]["error"] and rows[1]["error_code"] == "empty"  # Chinese by default
    assert rows[2]["error_code"] == "missing"
    assert b"Traceback" not in done.stderr


def test_folder_pattern_and_table(tmp_path: Path) -> None:
    for number in ("CY00000001", "CY00000002"):
        hard_covers.cover(number, dpi=100, module_mm=0.5).save(tmp_path / f"{number}.png")
    (tmp_path / "notes.txt").write_text("not read")
    ok = _run("--json", str(tmp_path))
    assert ok.returncode == 0
    assert [r["text"] for r in json.loads(ok.stdout)] == ["CY00000001", "CY00000002"]
    pattern = _run(str(tmp_path / "*.png"))
    assert pattern.returncode == 0
    table = pattern.stdout.decode("utf-8")
    assert "CY00000001" in table and "CY00000002" in table and "Code128" in table
    nothing = _run("--json", str(tmp_path / "*.jpg"))
    assert nothing.returncode == 1 and json.loads(nothing.stdout)[0]["error"]


def test_no_code_is_exit_0_and_usage_error_is_2(tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    Image.new("L", (200, 100), 255).save(blank)
    done = _run("--json", str(blank))
    assert (done.returncode, json.loads(done.stdout)) == (0, [])
    assert _run().returncode == 2
    assert _run("--workers", "0", str(blank)).returncode == 2


def test_non_utf8_file_name(tmp_path: Path) -> None:
    name = os.fsencode(tmp_path) + b"/\xff\xfe.png"
    with open(name, "wb") as fh:
        fh.write(b"not an image")
    done = _run("--json", name)
    assert done.returncode == 1 and b"Traceback" not in done.stderr
    (row,) = json.loads(done.stdout)
    assert row["file"].endswith("\\xff\\xfe.png") and row["error_code"] == "not_image"
