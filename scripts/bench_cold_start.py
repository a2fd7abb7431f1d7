"""Cold start to the log-in screen in a real terminal (tmux), beside a bare Textual app (issue 13).

Starts, in a detached tmux session, alternately

* ``bare``: a Textual app with one Input and nothing else (a script this bench writes), and
* ``counter-tui``: the real command on a demo archive,

each ``-n`` times at every terminal size asked for, and measures from ``tmux respawn-pane``
(the command starting, as when a clerk presses Enter in a shell) to the first screen's text in
``tmux capture-pane`` (polled every ``--poll`` ms): the Input's placeholder for the bare app,
the log-in form's username field for counter-tui. Each app is then quit with ctrl+q and the
next run waits for the pane's process to end. One warm-up run of each is not counted (the OS
page cache then holds both programs' files, as on a counter PC that ran the app yesterday).

Usage: python scripts/bench_cold_start.py [--demo DIR] [-n 15] [--sizes 120x40,80x24]
(``DIR`` holds a demo built by ``counter-tui … demo build``; default ``.demo`` as ``make run``
builds it). Needs tmux. Prints median / p95 in milliseconds and the ratio of the medians;
target: counter-tui ≤ 2 × bare Textual.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SESSION = "ctui-bench-cold"
ROOT = Path(__file__).resolve().parents[1]

BARE_APP = """\
from textual.app import App
from textual.widgets import Input


class Bare(App):
    BINDINGS = [("ctrl+q", "quit", "Quit")]

    def compose(self):
        yield Input(placeholder="BARE-READY")


if __name__ == "__main__":
    Bare().run()
"""


def tmux(*args: str) -> str:
    """Run a tmux command; its standard output."""
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def screen() -> str:
    """The pane's text as drawn now."""
    return tmux("capture-pane", "-t", SESSION, "-p")


def pane_dead() -> bool:
    """Whether the pane's program has ended (the session keeps dead panes)."""
    return tmux("display-message", "-t", SESSION, "-p", "#{pane_dead}").strip() == "1"


def demo_env(demo: Path) -> dict[str, str]:
    """The demo's keyring settings (as the Makefile's APP variable sets them)."""
    return {
        "PYTHON_KEYRING_BACKEND": "counter_tui.demo.keyring_file.DemoFileKeyring",
        "COUNTER_TUI_DEMO_KEYRING": str(demo / "demo-keyring.json"),
    }


def counter_command(demo: Path) -> str:
    """The shell command ``make run`` would run, on the demo in ``demo``."""
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in demo_env(demo).items())
    args = (
        str(ROOT / ".venv" / "bin" / "counter-tui"),
        "--db",
        f"sqlite:///{demo / 'archive.db'}",
        "--archive-root",
        str(demo / "archive"),
        "--data-dir",
        str(demo / "data"),
    )
    return f"env {env} " + " ".join(shlex.quote(a) for a in args)


def start_once(command: str, marker: str, poll_s: float, timeout: float = 30.0) -> float:
    """Start ``command`` in the pane and return the seconds until ``marker`` is on screen; then
    quit it with ctrl+q and wait until its process has ended."""
    start = time.perf_counter()
    tmux("respawn-pane", "-k", "-t", SESSION, command)
    try:
        while True:
            if marker in screen():
                elapsed = time.perf_counter() - start
                break
            if time.perf_counter() - start > timeout:
                raise TimeoutError(f"{marker!r} never appeared:\n{screen()}")
            time.sleep(poll_s)
    finally:
        tmux("send-keys", "-t", SESSION, "C-q")
        deadline = time.perf_counter() + 10
        while not pane_dead() and time.perf_counter() < deadline:
            time.sleep(0.02)
    return elapsed


def summary(values: list[float]) -> tuple[float, float]:
    """Median and p95 (nearest rank) of ``values`` in milliseconds."""
    ms = sorted(v * 1000 for v in values)
    return statistics.median(ms), ms[max(0, round(0.95 * len(ms)) - 1)]


def main() -> int:
    """Run the bench; 0 when counter-tui's median is within 2 × the bare app's, else 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", default=str(ROOT / ".demo"))
    parser.add_argument("-n", type=int, default=15)
    parser.add_argument("--sizes", default="120x40,80x24")
    parser.add_argument("--poll", type=float, default=5.0, help="ms between screen polls")
    args = parser.parse_args()
    demo = Path(args.demo).resolve()
    if not (demo / "archive.db").exists():
        print(f"no demo archive in {demo}; build one with counter-tui … demo build")
        return 2
    poll_s = args.poll / 1000
    python = ROOT / ".venv" / "bin" / "python"
    within = True
    with tempfile.TemporaryDirectory() as tmp:
        bare_script = Path(tmp) / "bare_textual.py"
        bare_script.write_text(BARE_APP, encoding="utf-8")
        programs = {
            "bare Textual": (
                f"{shlex.quote(str(python))} {shlex.quote(str(bare_script))}",
                "BARE-READY",
            ),
            # The log-in form's username field (zh_CN 用户名, en Username).
            "counter-tui": (counter_command(demo), "用户名"),
        }
        for size in args.sizes.split(","):
            width, height = size.lower().split("x")
            subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
            tmux("new-session", "-d", "-s", SESSION, "-x", width, "-y", height, "sleep 3600")
            tmux("set-option", "-t", SESSION, "remain-on-exit", "on")
            try:
                results: dict[str, list[float]] = {name: [] for name in programs}
                for run in range(args.n + 1):
                    for name, (command, marker) in programs.items():
                        elapsed = start_once(command, marker, poll_s)
                        if run:  # the first of each is the warm-up
                            results[name].append(elapsed)
            finally:
                subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
            medians = {}
            for name, values in results.items():
                median, p95 = summary(values)
                medians[name] = median
                print(
                    f"{size:7s} {name:13s} n={len(values):3d}  median {median:7.1f} ms  "
                    f"p95 {p95:7.1f} ms"
                )
            ratio = medians["counter-tui"] / medians["bare Textual"]
            within = within and ratio <= 2.0
            print(f"{size:7s} ratio counter-tui / bare Textual (medians): {ratio:.2f}")
    print(f"machine: {os.cpu_count()} cores; target ratio ≤ 2: {'met' if within else 'missed'}")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
