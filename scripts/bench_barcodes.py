"""Benchmark of the cover barcode reader: zxing-cpp alone, ZBar alone and the trusted chain.

Usage:
  python scripts/bench_barcodes.py [--corpus DIR]... [--no-hard-covers] [--markdown FILE]

For each folder of each corpus (default tests/fixtures/barcodes: NAME.txt beside an image is its
expected text; images in ``falsepositives-*`` or without a .txt must give nothing) and for each
category of generated hard covers (counter_tui.demo.hard_covers): found/expected, wrong reads
(an accepted text other than the expected one), false positives (anything read where nothing is
expected) and time per image (median and 95th percentile, ms). "Alone" is the decoder on each
page as it is (zxing-cpp with its own rotation/inversion search, ZBar plain), as the old reader
used them. Also measures the cost of isolation (a worker process per batch, barcodes.read_files)
against reading in process. Never imported by the app.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pyzbar import pyzbar

from counter_tui.demo import hard_covers
from counter_tui.services import barcodes

IMAGE_SUFFIXES = {".png", ".webp", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".pdf"}
ROOT = Path(__file__).resolve().parents[1]


def _pages(path: Path) -> list:
    budget = barcodes._Budget(time.monotonic() + 60, barcodes.DEFAULT_MAX_PIXELS, 60)
    try:
        return list(barcodes._pages(path, budget, barcodes.DEFAULT_PDF_DPI))
    except barcodes._Stop:
        return []


def zxing_alone(path: Path) -> list[str]:
    import zxingcpp

    formats = [barcodes._ZXING_FORMATS[s] for s in barcodes.DEFAULT_SYMBOLOGIES]
    return [r.text for page in _pages(path) for r in zxingcpp.read_barcodes(page, formats=formats)]


def zbar_alone(path: Path) -> list[str]:
    symbols = list(barcodes._ZBAR_SYMBOLS.values())
    texts = []
    for page in _pages(path):
        for r in pyzbar.decode(page, symbols=symbols):
            try:
                texts.append(r.data.decode("utf-8"))
            except UnicodeDecodeError:
                texts.append(r.data.decode("latin-1"))
    return texts


def chain(path: Path) -> list[str]:
    return [c.text for c in barcodes.read_file(path).codes]


READERS: dict[str, Callable[[Path], list[str]]] = {
    "zxing-cpp": zxing_alone,
    "ZBar": zbar_alone,
    "chain": chain,
}


def _corpus_cases(corpus: Path) -> list[tuple[str, Path, tuple[str, ...]]]:
    cases = []
    for folder in sorted(p for p in corpus.iterdir() if p.is_dir()):
        for image in sorted(folder.iterdir()):
            if image.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            txt = image.with_suffix(".txt")
            expected = (
                (txt.read_bytes().decode("utf-8", "replace"),)
                if txt.exists() and not folder.name.startswith("falsepositives")
                else ()
            )
            cases.append((folder.name, image, expected))
    return cases


def _measure(cases: list[tuple[str, Path, tuple[str, ...]]]) -> list[str]:
    groups = list(dict.fromkeys(group for group, _p, _e in cases))
    lines = [
        "| set | reader | found/expected | wrong reads | false positives | median ms | p95 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for group in groups:
        mine = [(p, e) for g, p, e in cases if g == group]
        for name, reader in READERS.items():
            found = expected = wrong = false_pos = 0
            times = []
            for path, want in mine:
                started = time.perf_counter()
                texts = reader(path)
                times.append((time.perf_counter() - started) * 1000)
                if want:
                    expected += len(want)
                    found += sum(1 for w in want if w in texts)
                    wrong += sum(1 for t in set(texts) if t not in want)
                elif texts:
                    false_pos += 1
            p95 = sorted(times)[max(0, round(0.95 * len(times)) - 1)]
            lines.append(
                f"| {group} | {name} | {found}/{expected} | {wrong} | {false_pos} | "
                f"{statistics.median(times):.0f} | {p95:.0f} |"
            )
    return lines


def _isolation(paths: list[Path]) -> list[str]:
    started = time.perf_counter()
    for path in paths:
        barcodes.read_file(path)
    in_process = time.perf_counter() - started
    started = time.perf_counter()
    list(barcodes.read_files(paths, workers=1))
    one = time.perf_counter() - started
    started = time.perf_counter()
    list(barcodes.read_files(paths, workers=2))
    two = time.perf_counter() - started
    started = time.perf_counter()
    barcodes.read_file(paths[0], isolate=True)
    single = time.perf_counter() - started
    started = time.perf_counter()
    barcodes.read_file(paths[0])
    single_in = time.perf_counter() - started
    return [
        f"- {len(paths)} covers in process: {in_process:.2f} s; read_files with 1 worker: "
        f"{one:.2f} s; with 2 workers: {two:.2f} s.",
        f"- One cover: in process {single_in * 1000:.0f} ms; isolated (worker start included) "
        f"{single * 1000:.0f} ms.",
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append", type=Path)
    parser.add_argument("--no-hard-covers", action="store_true")
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    corpora = args.corpus or [ROOT / "tests" / "fixtures" / "barcodes"]
    cases = [case for corpus in corpora for case in _corpus_cases(corpus)]
    with tempfile.TemporaryDirectory() as tmp:
        covers = [] if args.no_hard_covers else hard_covers.generate(Path(tmp))
        cases += [
            (f"hard: {c.category}", c.path, c.expected) for c in covers if c.error_code is None
        ]
        lines = _measure(cases)
        unreadable = [c for c in covers if c.error_code is not None]
        got = [(c, barcodes.read_file(c.path).error_code) for c in unreadable]
        lines.append("")
        lines.append(
            "Unreadable hard covers (expected error code → chain's): "
            + ", ".join(f"{c.path.name}: {c.error_code} → {code}" for c, code in got)
        )
        lines.append("")
        upright = [c.path for c in covers if c.category in ("upright", "storage", "inverted")]
        if upright:
            lines += _isolation(upright)
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
