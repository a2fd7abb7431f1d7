"""Memory of the counter in a real terminal (issue 13): RSS after log-in, a catalogue and
certificates.

Starts ``counter-tui`` in a detached tmux session (as ``scripts/bench_terminal.py`` does, whose
helpers it uses), logs in typing at a person's pace and reads the app process's resident
memory (``/proc/PID/status``: VmRSS, and its anonymous part RssAnon) at each step:

* after log-in (the counter's input on screen, then ``--settle`` s);
* after the first catalogue (a dossier held by the clerk scanned, then ``--settle`` s);
* after 1, 5, 10, 20 … certificates (``--certificates``, the largest count issued): each a
  standard 存档证明 as a clerk issues it — scan, ``c`` ``1`` ``1`` Enter (kind, purpose,
  issue), F4 ``1`` (served) — on distinct dossiers; memory read ``--settle`` s after the
  counter is back (the certificate font is loaded again for the next one meanwhile);
* the peak (VmHWM) at the end.

Usage:
  python scripts/bench_memory.py [--demo DIR] [--certificates 1,5,10,20] [--settle 2]
  python scripts/bench_memory.py --db sqlite:////work/scale/city.db \\
      --archive-root /work/scale/archive --data-dir /work/scale/data \\
      --keyring /work/scale/keyring.json --password clerk1-scale --counter 1
(``DIR``: a demo built by ``counter-tui … demo build``, default ``.demo``; the demo's database
gets the certificates: use a copy.) Prints a Markdown table in MB (2**20 bytes). Needs tmux.
Never imported by the app.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_terminal as bt  # noqa: E402 - a sibling script, not a package

ROOT = Path(__file__).resolve().parents[1]
bt.SESSION = "ctui-bench-memory"  # its own tmux session: bench_terminal may run meanwhile


def status(pid: int) -> dict[str, int]:
    """VmRSS, RssAnon, RssFile and VmHWM of ``pid`` in kB."""
    values = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0, "VmHWM": 0}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in values:
            values[name] = int(rest.split()[0])
    return values


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
    parser.add_argument("--certificates", default="1,5,10,20", help="counts to measure at")
    parser.add_argument("--settle", type=float, default=2.0, help="s before reading memory")
    parser.add_argument("--size", default="120x40")
    parser.add_argument("--seed", type=int, default=29)
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the app")
    args = parser.parse_args()
    marks = sorted({int(n) for n in args.certificates.split(",") if n.strip()})
    demo = Path(args.demo).resolve()
    db_url = args.db or f"sqlite:///{demo / 'archive.db'}"
    db_file = Path(db_url.removeprefix("sqlite:///"))
    command = [
        "env",
        "PYTHON_KEYRING_BACKEND=counter_tui.demo.keyring_file.DemoFileKeyring",
        f"COUNTER_TUI_DEMO_KEYRING={args.keyring or demo / 'demo-keyring.json'}",
        *args.env,
        str(ROOT / ".venv" / "bin" / "counter-tui"),
        "--db",
        db_url,
        "--archive-root",
        args.archive_root or str(demo / "archive"),
        "--data-dir",
        args.data_dir or str(demo / "data"),
        *(["--counter", args.counter] if args.counter else []),
    ]
    total = marks[-1] if marks else 0
    numbers = iter(bt.dossier_numbers(db_file, args.prefix, 4 * (total + 2), args.seed))
    poll_s, quiet_s = 0.01, 0.25
    rows: list[tuple[str, dict[str, int]]] = []
    width, height = args.size.lower().split("x")
    subprocess.run(["tmux", "kill-session", "-t", bt.SESSION], capture_output=True)
    bt.tmux("new-session", "-d", "-s", bt.SESSION, "-x", width, "-y", height, shlex.join(command))
    try:
        bt.wait_until(lambda s: "用户名" in s or "Username" in s, poll_s)
        time.sleep(0.5)
        bt.typed(args.user)
        bt.send("Enter")
        time.sleep(0.3)
        bt.typed(args.password)
        bt.send("Enter")
        bt.wait_until(lambda s: any(m in s for m in bt.COUNTER), poll_s, timeout=120)
        time.sleep(args.settle)
        pid = bt.app_pid()
        rows.append(("after log-in", status(pid)))

        def next_held() -> str:
            """Scan dossiers until one opens (held here); its number, catalogue on screen."""
            while True:
                number = next(numbers)
                if bt.scan_to_catalogue(number, poll_s) is not None:
                    return number
                time.sleep(0.3)
                bt.back_to_counter(poll_s)

        next_held()
        time.sleep(args.settle)
        rows.append(("a catalogue open", status(pid)))
        time.sleep(0.3)
        bt.back_to_counter(poll_s)
        for count in range(1, total + 1):
            number = next_held()
            bt.back_to_counter(poll_s)  # certificate() scans it again, as a clerk would
            bt.certificate(number, poll_s, quiet_s)
            bt.wait_until(lambda s: any(m in s for m in bt.COUNTER), poll_s)
            if count in marks:
                time.sleep(args.settle)
                rows.append((f"after {count} certificate(s)", status(pid)))
        end = status(pid)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", bt.SESSION], capture_output=True)
    print(f"terminal {args.size}, database {db_url}, {' '.join(args.env) or 'default env'}")
    print("\n| step | RSS MB | of it anonymous MB |")
    print("|---|---|---|")
    for name, values in rows:
        print(f"| {name} | {values['VmRSS'] / 1024:.0f} | {values['RssAnon'] / 1024:.0f} |")
    print(f"\npeak RSS (VmHWM) {end['VmHWM'] / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
