"""The counter in a real terminal (tmux), issue 13: scan → catalogue, a 存档证明, memory.

Starts ``counter-tui`` in a detached tmux session, logs in typing at a person's pace, then:

* ``scan → catalogue``: ``-n`` dossier numbers (distinct, random), each sent as a scanner
  does — the number and Enter in one terminal read — into the counter's input; timed from
  ``tmux send-keys`` to a catalogue row of that dossier on screen (``tmux capture-pane``
  polled every ``--poll`` ms); Esc back to the counter between scans;
* ``存档证明``: ``--certificates`` times, a standard certificate from the scan to the closed
  service: scan, ``c`` ``1`` ``1`` Enter (kind, purpose, issue), F4 ``1`` (served). For each
  key the time until the screen settles (the last change before ``--quiet`` ms without any;
  the running service clock is ignored), and their sum: the software's own share of the
  clerk's time;
* ``RSS``: resident memory of the app's process after log-in and the first catalogue, and
  its peak (VmHWM) at the end;
* ``floor``: the same scans, keys and polling against a bare Textual app (an Input that, on
  Enter, shows the number and a catalogue-like row in a Static; Esc clears it), so that what
  tmux, the polling and Textual's own frame cost can be told apart from the counter's share.

Usage:
  python scripts/bench_terminal.py [--demo DIR] [-n 30] [--certificates 5] [--size 120x40]
  python scripts/bench_terminal.py --db sqlite:////work/scale/city.db \\
      --archive-root /work/scale/archive --data-dir /work/scale/data \\
      --keyring /work/scale/keyring.json --password clerk1-scale --counter 1 --prefix CY
(``DIR``: a demo built by ``counter-tui … demo build``, default ``.demo``; dossier numbers are
drawn from the database, those held by the clerk's institution with ``--prefix``.)
Prints median / p95 in milliseconds. Needs tmux and sqlite3 (Python's). With ``PYTHONPATH``
set, the app is started with it (to compare another checkout's ``counter_tui`` in the same
venv).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shlex
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

SESSION = "ctui-bench-terminal"
ROOT = Path(__file__).resolve().parents[1]
COUNTER = ("/姓名", "/name")
CLOCK = re.compile(r"\d\d:\d\d")
NOT_FOUND = "未找到"  # a burst the terminal delivered in two reads: two lookups, neither found
SKIPPED: list[str] = []  # scans that opened nothing (held elsewhere, or split)
ROW = r"^\s+\d+(?:-\d+)+\s+\S"  # a material row of the catalogue: "  3-14   2002年度…"


BARE_APP = """\
from textual.app import App
from textual.widgets import Input, Static


class Bare(App):
    def compose(self):
        yield Input(placeholder="/name")
        yield Static(id="shown")

    def on_input_submitted(self, event):
        self.query_one("#shown", Static).update(f"x  \u00b7  {event.value}\\n  1-1   row")
        event.input.value = ""

    def key_escape(self):
        self.query_one("#shown", Static).update("")


Bare().run()
"""
"""The floor: a bare Textual app reacting to the same scan with one Static update."""


def tmux(*args: str) -> str:
    """Run a tmux command; its standard output."""
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def screen() -> str:
    """The pane's text as drawn now."""
    return tmux("capture-pane", "-t", SESSION, "-p")


def send(*keys: str, literal: bool = False) -> None:
    """Keys to the app, in one terminal write (one read for the app)."""
    tmux("send-keys", "-t", SESSION, *(["-l"] if literal else []), *keys)


def wait_until(predicate, poll_s: float, timeout: float = 30.0) -> float:  # noqa: ANN001
    """Poll the screen until ``predicate(text)``; the seconds waited."""
    start = time.perf_counter()
    while True:
        text = screen()
        if predicate(text):
            return time.perf_counter() - start
        if time.perf_counter() - start > timeout:
            raise TimeoutError("the screen never showed the expected change:\n" + text)
        time.sleep(poll_s)


def press_and_settle(
    keys: tuple[str, ...],
    shown,
    poll_s: float,
    quiet_s: float,
    timeout: float = 30.0,  # noqa: ANN001
) -> tuple[float, float]:
    """Send ``keys`` and poll until ``shown(text)`` held and the screen then stayed the same
    for ``quiet_s`` (the service clock masked); seconds from sending until ``shown`` first
    held, and until the screen's last change."""
    last = CLOCK.sub("", screen())
    start = time.perf_counter()
    send(*keys)
    changed, seen = start, None
    while True:
        raw = screen()
        now = time.perf_counter()
        text = CLOCK.sub("", raw)
        if text != last:
            last, changed = text, now
        if seen is None and shown(raw):
            seen = changed  # the frame that showed it arrived at its change
        if seen is not None and now - changed >= quiet_s:
            return seen - start, changed - start
        if now - start > timeout:
            raise TimeoutError("the screen never settled:\n" + raw)
        time.sleep(poll_s)


def typed(text: str) -> None:
    """Type like a person (120 ms a key): the scan gate lets it through as typing."""
    for ch in text:
        send(ch, literal=True)
        time.sleep(0.12)


def app_pid() -> int:
    """The app's Python process: the biggest descendant of the pane's process."""
    pane = int(tmux("display-message", "-t", SESSION, "-p", "#{pane_pid}").strip())
    family, queue = [pane], [pane]
    while queue:
        parent = queue.pop()
        for child in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
            family.append(int(child))
            queue.append(int(child))
    return max(family, key=lambda pid: memory(pid)["VmRSS"])


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid`` in kB."""
    values = {"VmRSS": 0, "VmHWM": 0}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in values:
            values[name] = int(rest.split()[0])
    return values


def dossier_numbers(db_file: Path, prefix: str, count: int, seed: int) -> list[str]:
    """``count`` distinct dossier numbers starting with ``prefix``, drawn at random from
    ``db_file`` (read-only), held by the institution whose numbers carry the prefix."""
    connection = sqlite3.connect(f"{db_file.absolute().as_uri()}?mode=ro", uri=True)
    try:
        low, high = connection.execute("SELECT min(rowid), max(rowid) FROM dossier").fetchone()
        rng = random.Random(seed)
        found: list[str] = []
        while len(found) < count:
            rowid = rng.randint(low, high)
            row = connection.execute(
                "SELECT dossier_no FROM dossier WHERE rowid >= ? AND dossier_no LIKE ? "
                "ORDER BY rowid LIMIT 1",
                (rowid, prefix + "%"),
            ).fetchone()
            if row and row[0] not in found:
                found.append(row[0])
        return found
    finally:
        connection.close()


def summary(values: list[float]) -> str:
    """``n``, median and p95 (nearest rank) of ``values`` (seconds) in milliseconds."""
    ms = sorted(v * 1000 for v in values)
    p95 = ms[max(0, round(0.95 * len(ms)) - 1)]
    return f"n={len(ms):3d}  median {statistics.median(ms):7.1f} ms  p95 {p95:7.1f} ms"


def scan_to_catalogue(number: str, poll_s: float, *, bare: bool = False) -> float | None:
    """Send ``number`` + Enter in one read; seconds until a catalogue row shows with the
    dossier's number in the header, or None when the counter refused it (a dossier held
    elsewhere: the number comes back into the input) or the burst reached the app in two
    reads and was looked up as two texts (recorded in SKIPPED)."""
    start = time.perf_counter()
    send(number, "Enter")
    text = ""

    def shown(s: str) -> bool:
        nonlocal text
        text = s
        opened = f"·  {number}" in s and re.search(ROW, s, re.MULTILINE) is not None
        if bare:  # the bare app's Input shows the number until Enter is handled
            return opened
        return opened or f"▊  {number}" in s or NOT_FOUND in s

    wait_until(shown, poll_s / 4)
    elapsed = time.perf_counter() - start
    if f"▊  {number}" in text or NOT_FOUND in text:
        SKIPPED.append(number)
        return None
    return elapsed


def back_to_counter(poll_s: float) -> None:
    """Esc until the counter's input is on screen."""
    send("Escape")
    wait_until(lambda s: any(m in s for m in COUNTER), poll_s)
    time.sleep(0.3)


def certificate(number: str, poll_s: float, quiet_s: float) -> list[tuple[str, float, float]]:
    """One standard 存档证明 from the scan to the closed service; for each key (its name,
    seconds until its result was shown, seconds until the screen settled)."""
    steps = [
        ("scan", (number, "Enter"), lambda s: re.search(ROW, s, re.MULTILINE) is not None),
        ("c", ("c",), lambda s: "证明类型" in s or "Kind (press" in s),
        ("1 (kind)", ("1",), lambda s: "▶ 1" in s),
        ("1 (purpose)", ("1",), lambda s: "按上面的数字选择" not in s),
        ("Enter (issue)", ("Enter",), lambda s: "已出具" in s or "issued" in s),
        ("F4", ("F4",), lambda s: "中止" in s or "abandoned" in s.lower()),
        ("1 (served)", ("1",), lambda s: "服务已结束" in s or "ended" in s.lower()),
    ]
    times = []
    for name, keys, shown in steps:
        times.append((name, *press_and_settle(keys, shown, poll_s, quiet_s)))
    return times


def bare_floor(numbers: list[str], width: str, height: str, poll_s: float) -> list[float]:
    """Scan ``numbers`` into :data:`BARE_APP` in the same terminal size, as
    :func:`scan_to_catalogue` scans into the counter; seconds each."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "bare_scan.py"
        script.write_text(BARE_APP, encoding="utf-8")
        python = ROOT / ".venv" / "bin" / "python"
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
        tmux(
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-x",
            width,
            "-y",
            height,
            shlex.join([str(python), str(script)]),
        )
        try:
            wait_until(lambda s: "/name" in s, poll_s)
            time.sleep(1.0)
            times = []
            for number in numbers:
                times.append(scan_to_catalogue(number, poll_s, bare=True))
                time.sleep(0.3)
                back_to_counter(poll_s)
        finally:
            subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    return times


def main() -> int:
    """Run the bench; prints the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", default=str(ROOT / ".demo"))
    parser.add_argument("--db", help="sqlite:///FILE (default: the demo's)")
    parser.add_argument("--archive-root")
    parser.add_argument("--data-dir")
    parser.add_argument("--keyring", help="demo keyring file (default: the demo's)")
    parser.add_argument("--user", default="clerk1")
    parser.add_argument("--password", default="clerk1-demo")
    parser.add_argument("--counter", default="")
    parser.add_argument("--prefix", default="CY", help="dossier numbers held by the clerk")
    parser.add_argument("-n", type=int, default=30, help="scans")
    parser.add_argument("--certificates", type=int, default=5)
    parser.add_argument("--size", default="120x40")
    parser.add_argument("--poll", type=float, default=5.0, help="ms between screen polls")
    parser.add_argument("--quiet", type=float, default=250.0, help="ms without change = settled")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--floor", type=int, default=30, help="scans into the bare app (0: none)")
    args = parser.parse_args()
    demo = Path(args.demo).resolve()
    db_url = args.db or f"sqlite:///{demo / 'archive.db'}"
    db_file = Path(db_url.removeprefix("sqlite:///"))
    keyring = args.keyring or str(demo / "demo-keyring.json")
    command = [
        "env",
        "PYTHON_KEYRING_BACKEND=counter_tui.demo.keyring_file.DemoFileKeyring",
        f"COUNTER_TUI_DEMO_KEYRING={keyring}",
        # PYTHONPATH passed on (tmux's server may not have it): A/B runs of another tree
        *([f"PYTHONPATH={os.environ['PYTHONPATH']}"] if os.environ.get("PYTHONPATH") else []),
        str(ROOT / ".venv" / "bin" / "counter-tui"),
        "--db",
        db_url,
        "--archive-root",
        args.archive_root or str(demo / "archive"),
        "--data-dir",
        args.data_dir or str(demo / "data"),
        *(["--counter", args.counter] if args.counter else []),
    ]
    poll_s, quiet_s = args.poll / 1000, args.quiet / 1000
    numbers = dossier_numbers(db_file, args.prefix, 3 * (args.n + args.certificates + 1), args.seed)
    width, height = args.size.lower().split("x")
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    tmux("new-session", "-d", "-s", SESSION, "-x", width, "-y", height, shlex.join(command))
    try:
        wait_until(lambda s: "用户名" in s or "Username" in s, poll_s)
        time.sleep(0.5)
        typed(args.user)
        send("Enter")
        time.sleep(0.3)
        typed(args.password)
        send("Enter")
        wait_until(lambda s: any(m in s for m in COUNTER), poll_s, timeout=120)
        time.sleep(1.0)
        pid = app_pid()
        logged_in = memory(pid)
        pool = iter(numbers)
        scans: list[float] = []
        served: list[str] = []  # numbers that opened (held here)
        first = None
        while len(scans) < args.n + args.certificates + 1:
            number = next(pool)
            elapsed = scan_to_catalogue(number, poll_s)
            if elapsed is not None:
                if first is None:
                    first = elapsed
                    time.sleep(0.5)
                    after_catalogue = memory(pid)
                scans.append(elapsed)
                served.append(number)
            time.sleep(0.3)
            back_to_counter(poll_s)
        scans = scans[1 : args.n + 1]
        chosen = served[len(served) - args.certificates :] if args.certificates else []
        runs = [certificate(number, poll_s, quiet_s) for number in chosen]
        end = memory(pid)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    floor = bare_floor(numbers[: args.floor], width, height, poll_s) if args.floor else []
    print(f"terminal {args.size}, database {db_url}")
    print(f"first scan → catalogue (after log-in): {first * 1000:.1f} ms")
    print(f"scan → catalogue drawn       {summary(scans)}")
    print(f"scans that opened nothing (held elsewhere, or split by the terminal): {len(SKIPPED)}")
    if floor:
        print(f"floor: bare Textual app  {summary(floor)}  (tmux, polling, one Textual frame)")
        print(
            "counter-tui minus floor (medians): "
            f"{(statistics.median(scans) - statistics.median(floor)) * 1000:.1f} ms"
        )
    if runs:
        print(f"存档证明, keys after the scan: {len(runs[0]) - 1} (+ the scan)")
        for i, (name, _, _) in enumerate(runs[0]):
            print(f"  {name:14s} shown     {summary([run[i][1] for run in runs])}")
            print(f"  {'':14s} settled   {summary([run[i][2] for run in runs])}")
        own = [sum(settled for _, _, settled in run) for run in runs]
        print(f"  software's own time, scan → closed service (settled)  {summary(own)}")
    print(
        f"RSS: after log-in {logged_in['VmRSS'] / 1024:.0f} MB, after the first catalogue "
        f"{after_catalogue['VmRSS'] / 1024:.0f} MB, at the end {end['VmRSS'] / 1024:.0f} MB "
        f"(peak {end['VmHWM'] / 1024:.0f} MB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
