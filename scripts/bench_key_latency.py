"""What a clerk waits for after a key, measured in a real terminal (tmux), issue 8.

Starts the app on a demo archive in a detached tmux session (80×24), logs in as clerk1, and
measures, N times each, from ``tmux send-keys`` to the screen showing the effect:

* ``type``: a character typed into the counter's input (passes the scan gate at once);
* ``scan``: a dossier barcode sent in one read with Enter → the catalogue drawn;
* ``dialog key``: ``1`` in the certificate dialog → kind 1 marked (the gate holds printable
  keys outside the counter's input for SCAN_GAP_S = 65 ms to tell typing from a scanner).

Usage: python scripts/bench_key_latency.py [--demo DIR] [-n 20]
(``DIR`` holds a demo built by ``counter-tui … demo build``; default ``.demo`` as ``make run``
builds it). Needs tmux. Prints median / p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

SESSION = "ctui-bench-keys"
ROOT = Path(__file__).resolve().parents[1]


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def screen() -> str:
    return tmux("capture-pane", "-t", SESSION, "-p")


def wait_until(predicate, timeout: float = 10.0) -> float:  # noqa: ANN001
    """Poll the screen every 2 ms until ``predicate(text)``; return seconds waited."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if predicate(screen()):
            return time.perf_counter() - start
        time.sleep(0.002)
    raise TimeoutError("the screen never showed the expected change")


def send(*keys: str, literal: bool = False) -> None:
    tmux("send-keys", "-t", SESSION, *(["-l"] if literal else []), *keys)


def typed(text: str) -> None:
    for ch in text:
        send(ch, literal=True)
        time.sleep(0.15)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", default=str(ROOT / ".demo"))
    parser.add_argument("-n", type=int, default=20)
    args = parser.parse_args()
    demo = Path(args.demo)
    exe = ROOT / ".venv" / "bin" / "counter-tui"
    command = " ".join(
        shlex.quote(a)
        for a in (
            str(exe),
            "--db",
            f"sqlite:///{demo / 'archive.db'}",
            "--archive-root",
            str(demo / "archive"),
            "--data-dir",
            str(demo / "data"),
        )
    )
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    tmux("new-session", "-d", "-s", SESSION, "-x", "80", "-y", "24", command)
    try:
        wait_until(lambda s: "登录" in s or "log in" in s.lower(), 30)
        typed("clerk1")
        send("Enter")
        typed("clerk1-demo")
        send("Enter")
        wait_until(lambda s: "/姓名" in s or "/name" in s, 30)
        results: dict[str, list[float]] = {"type": [], "scan": [], "dialog key": []}
        for i in range(args.n):
            results["type"].append(wait_or(lambda: send("Z", literal=True), "Z"))
            send("Escape")
            time.sleep(0.2)
            number = f"CY{86001 + i % 50:08d}"
            start = time.perf_counter()
            send(number, "Enter")
            wait_until(lambda s, n=number: f"·  {n}" in s)
            results["scan"].append(time.perf_counter() - start)
            time.sleep(0.3)
            send("c")
            wait_until(lambda s: "证明类型" in s or "Kind (press" in s)
            time.sleep(0.3)
            results["dialog key"].append(wait_or(lambda: send("1"), "▶ 1"))
            send("Escape")
            time.sleep(0.3)
            send("Escape")
            wait_until(lambda s: "/姓名" in s or "/name" in s)
            time.sleep(0.3)
        for name, values in results.items():
            ms = sorted(v * 1000 for v in values)
            p95 = ms[max(0, round(0.95 * len(ms)) - 1)]
            print(
                f"{name:11s} n={len(ms):3d}  median {statistics.median(ms):6.1f} ms  p95 {p95:6.1f} ms"
            )
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    return 0


def wait_or(action, marker: str) -> float:  # noqa: ANN001
    """Run ``action`` and wait for ``marker`` on screen; seconds."""
    start = time.perf_counter()
    action()
    wait_until(lambda s: marker in s)
    return time.perf_counter() - start


if __name__ == "__main__":
    sys.exit(main())
