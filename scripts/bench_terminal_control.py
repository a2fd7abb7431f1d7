"""Scan → catalogue in tmux, timed from tmux's own output stream (control mode), issue 13.

``scripts/bench_terminal.py`` polls the pane with one ``tmux capture-pane`` process per look
and sends keys with one ``tmux send-keys`` process each; on a 2-core machine those processes
compete with the app and add their own start-up to every figure. Here one tmux control-mode
client (``tmux -C``) stays attached: keys are sent as commands on its standard input and the
pane's output arrives as ``%output`` notifications the moment tmux reads it from the app. A
scan is timed from writing its ``send-keys`` commands (the number, then Enter) to the first
``%output`` holding the dossier's title (``·  NUMBER``, drawn with its catalogue in the same
frame): what the terminal receives, with no polling. The same scans into a bare Textual app
(an Input; on Enter one Static shows ``·  NUMBER``) give the floor: tmux, the pty and
Textual's smallest frame.

Usage:
  python scripts/bench_terminal_control.py [--demo DIR] [-n 30] [--floor 30] [--size 120x40]
(``DIR``: a demo built by ``counter-tui … demo build``, default ``.demo``; it logs in as
``clerk1`` / ``clerk1-demo``.) Prints n, median and p95 in milliseconds. Needs tmux.
"""

from __future__ import annotations

import argparse
import queue
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_cold_start  # noqa: E402 - a sibling script: counter_command
import bench_terminal as bt  # noqa: E402 - a sibling script: BARE_APP, dossier_numbers

ROOT = Path(__file__).resolve().parents[1]
SOCKET = ["-L", "ctui-bench-control"]  # its own tmux server
SESSION = "ctui-bench-control"


class Control:
    """A tmux control-mode client attached to :data:`SESSION`: commands in, output events
    (arrival time, line) out."""

    def __init__(self, size: tuple[str, str]) -> None:
        self.process = subprocess.Popen(
            ["tmux", *SOCKET, "-C", "attach", "-t", SESSION],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
        )
        self.lines: queue.Queue[tuple[float, bytes]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.command(f"refresh-client -C {size[0]}x{size[1]}")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put((time.perf_counter(), line))

    def command(self, text: str) -> None:
        """Send one tmux command."""
        assert self.process.stdin is not None
        self.process.stdin.write(text.encode() + b"\n")

    def keys(self, *keys: str, literal: bool = False) -> None:
        """``send-keys`` to the pane."""
        flag = " -l" if literal else ""
        self.command(f"send-keys -t {SESSION}{flag} " + " ".join(shlex.quote(k) for k in keys))

    def drain(self) -> None:
        """Forget the output so far."""
        while not self.lines.empty():
            self.lines.get_nowait()

    def output_with(self, token: bytes, timeout: float = 10.0) -> float | None:
        """When the pane's output first held ``token`` (perf_counter seconds), or None."""
        seen = b""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            try:
                at, line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if line.startswith(b"%output"):
                seen = seen[-200:] + line
                if token in seen:
                    return at
        return None

    def close(self) -> None:
        """Detach."""
        self.process.kill()


def typed(control: Control, text: str) -> None:
    """Type like a person (120 ms a key)."""
    for ch in text:
        control.keys(ch, literal=True)
        time.sleep(0.12)


def scans(command: list[str], numbers: list[str], size: tuple[str, str], log_in: bool) -> list:
    """Start ``command`` in a new tmux session, log in (``log_in``), scan each number and
    Esc back; the seconds from each scan to its title in the output (None: not shown)."""
    subprocess.run(["tmux", *SOCKET, "kill-session", "-t", SESSION], capture_output=True)
    subprocess.run(
        ["tmux", *SOCKET, "new-session", "-d", "-s", SESSION, "-x", size[0], "-y", size[1]]
        + [shlex.join(command)],
        check=True,
    )
    control = Control(size)
    try:
        time.sleep(3.0)
        if log_in:
            typed(control, "clerk1")
            control.keys("Enter")
            time.sleep(0.3)
            typed(control, "clerk1-demo")
            control.keys("Enter")
            time.sleep(3.0)
        times = []
        for number in numbers:
            control.drain()
            start = time.perf_counter()
            control.keys(number, literal=True)
            control.keys("Enter")
            shown = control.output_with(f"·  {number}".encode())
            times.append(None if shown is None else shown - start)
            time.sleep(0.4)
            control.keys("Escape")
            time.sleep(0.4)
        return times
    finally:
        control.close()
        subprocess.run(["tmux", *SOCKET, "kill-session", "-t", SESSION], capture_output=True)


def main() -> int:
    """Run the bench; prints the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", default=str(ROOT / ".demo"))
    parser.add_argument("-n", type=int, default=30, help="scans into the counter")
    parser.add_argument("--floor", type=int, default=30, help="scans into the bare app")
    parser.add_argument("--size", default="120x40")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    demo = Path(args.demo).resolve()
    size = tuple(args.size.lower().split("x"))
    numbers = bt.dossier_numbers(demo / "archive.db", "CY", 3 * args.n, args.seed)
    counter = shlex.split(bench_cold_start.counter_command(demo))
    # Dossiers held elsewhere show no title: the first n shown count.
    results = [t for t in scans(counter, numbers, size, True) if t is not None][: args.n]
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare_scan.py"
        bare.write_text(bt.BARE_APP, encoding="utf-8")
        python = str(ROOT / ".venv" / "bin" / "python")
        floor = [t for t in scans([python, str(bare)], numbers[: args.floor], size, False) if t]
    print(f"terminal {args.size}, tmux control mode (no polling), demo {demo}")
    print(f"scan → catalogue in the output  {bt.summary(results)}")
    if floor:
        print(f"floor: bare Textual app         {bt.summary(floor)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
