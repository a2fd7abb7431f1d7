"""Benchmark: build the default demo archive (300 dossiers, 10 % digitised) into a temp folder.

Usage:
  python scripts/bench_demo_build.py [--dossiers N] [--share F] [--seed S] [--workers W] [--keep]

Prints the summary, wall-clock and CPU seconds, megabytes on disk (page files + SQLite files) and the
peak resident memory of this process. The target on a 2-core box: < 30 s and < 200 MB.
``--keep`` leaves the folder in place (its path is printed). Never imported by the app.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from counter_tui.db import migrate
from counter_tui.db.engine import Database
from counter_tui.demo import build_demo
from counter_tui.services.fonts import find_cjk_font


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=300)
    parser.add_argument("--share", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv[1:])

    folder = Path(tempfile.mkdtemp(prefix="counter-tui-bench-demo-"))
    try:
        db = Database(f"sqlite:///{folder / 'archive.db'}")
        migrate.upgrade(db)
        started = time.perf_counter()
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        summary = build_demo(
            db,
            folder / "archive",
            dossiers=args.dossiers,
            seed=args.seed,
            digitised_share=args.share,
            workers=args.workers,
        )
        wall = time.perf_counter() - started
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (
            cpu_after.ru_stime - cpu_before.ru_stime
        )
        db.dispose()
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        font = find_cjk_font()
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
            f"{platform.python_version()}; CJK font: {font[0] if font else 'none (ASCII)'}"
        )
        print(summary)
        print(
            f"dossiers {summary.dossiers}, materials {summary.materials}, digitised "
            f"{summary.digitised_dossiers}, pages {summary.pages}"
        )
        print(
            f"build: {wall:.1f} s wall, {cpu:.1f} s CPU (1-min load average at the end: "
            f"{os.getloadavg()[0]:.1f}); on disk: {summary.bytes_on_disk / 1e6:.1f} MB "
            f"({summary.bytes_on_disk / max(summary.pages, 1) / 1e3:.1f} kB per page incl. DB); "
            f"peak RSS {peak_mb:.0f} MB"
        )
        if args.keep:
            print(f"kept: {folder}")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
