"""Batch intake throughput: pages per second for decode + hash + store (issue 12, target ≥ 10).

Generates DOSSIERS dossiers × PAGES pages of A4 greyscale at 300 dpi (2480 × 3508 pixels, lines of
"text" blocks drawn at random so that no two pages look alike) with a Code 128 cover each, in
one sub-folder per dossier and as one flat folder; inserts the dossiers and their catalogues into
a fresh SQLite archive; then times ``services.intake_batch.take_in_batch`` for each layout and
number of worker processes (a fresh database and archive root for every run). Generation is not
timed. Prints a Markdown table.

  .venv/bin/python scripts/bench_intake.py [--dossiers 20] [--pages 15] [--format jpeg|png|tiff]
                                           [--workers 0,1,2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from counter_tui.db import migrate  # noqa: E402
from counter_tui.db.engine import Database  # noqa: E402
from counter_tui.db.models import Clerk, Dossier, Institution, Material  # noqa: E402
from counter_tui.demo import hard_covers  # noqa: E402
from counter_tui.services import access_log, fixity, intake_batch  # noqa: E402

A4_300 = (2480, 3508)
SAVE = {
    "jpeg": (".jpg", {"format": "JPEG", "quality": 85}),
    "png": (".png", {"format": "PNG"}),
    "tiff": (".tif", {"format": "TIFF", "compression": "tiff_lzw"}),
}


def page(rng: random.Random) -> Image.Image:
    """A4 at 300 dpi, grey: 60 lines of dark word blocks on slightly uneven paper."""
    width, height = A4_300
    pixels = np.full((height, width), 245, dtype=np.uint8)
    for line in range(60):
        top = 250 + line * 52
        x = 240
        while x < width - 240:
            word = rng.randint(30, 220)
            if rng.random() < 0.8:
                pixels[top : top + 30, x : min(x + word, width - 240)] = rng.randint(10, 60)
            x += word + 28
    return Image.fromarray(pixels, "L")


def generate(folder: Path, dossiers: int, pages: int, fmt: str, seed: int = 1) -> list[str]:
    """Write the batch in both layouts; returns the dossier numbers."""
    rng = random.Random(seed)
    suffix, options = SAVE[fmt]
    numbers = [f"BM{n:08d}" for n in range(1, dossiers + 1)]
    serial = 0
    for number in numbers:
        sub = folder / "folders" / number
        sub.mkdir(parents=True)
        cover = hard_covers.cover(number, dpi=300)
        cover.save(sub / "0000.png", dpi=(300, 300))
        os.link(sub / "0000.png", folder_flat(folder) / f"{serial:05d}.png")
        serial += 1
        for k in range(1, pages + 1):
            name = sub / f"{k:04d}{suffix}"
            page(rng).save(name, dpi=(300, 300), **options)
            os.link(name, folder_flat(folder) / f"{serial:05d}{suffix}")
            serial += 1
    return numbers


def folder_flat(folder: Path) -> Path:
    flat = folder / "flat"
    flat.mkdir(parents=True, exist_ok=True)
    return flat


def archive(root: Path, numbers: list[str], pages: int) -> tuple[Database, object]:
    """A fresh archive holding the dossiers, each with 5 materials sharing ``pages`` pages."""
    db = Database(f"sqlite:///{root / 'archive.db'}")
    migrate.upgrade(db)
    with db.write() as s:
        here = Institution(code="BM-RC", name="基准测试中心", kind="district", serial_prefix="BM")
        s.add(here)
        s.flush()
        clerk = Clerk(username="arch1", name="陈刚", role="archivist", institution_id=here.id)
        s.add(clerk)
        s.flush()
        chain = access_log.Chain(s)
        counts = [pages // 5 + (1 if k < pages % 5 else 0) for k in range(5)]
        for number in numbers:
            dossier = Dossier(dossier_no=number, barcode=number, person_name="测试", gender="M")
            s.add(dossier)
            s.flush()
            for item, count in enumerate(counts, start=1):
                material = Material(
                    dossier_id=dossier.id,
                    category=1,
                    item_no=item,
                    title=f"材料{item}",
                    page_count=count,
                )
                s.add(material)
                s.flush()
                fixity.register_material(chain, material, clerk_id=None, institution_id=None)
        return db, clerk.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=20)
    parser.add_argument("--pages", type=int, default=15)
    parser.add_argument("--format", choices=sorted(SAVE), default="jpeg")
    parser.add_argument("--workers", default="0,1,2")
    parser.add_argument("--layouts", default="folders,flat")
    parser.add_argument("--keep", type=Path, help="keep the generated batch in this folder")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-intake-"))
    try:
        batch = args.keep or base / "batch"
        started = time.perf_counter()
        numbers = generate(batch, args.dossiers, args.pages, args.format)
        total_pages = args.dossiers * args.pages
        size = sum(p.stat().st_size for p in (batch / "folders").rglob("*") if p.is_file())
        print(
            f"Generated {args.dossiers} dossiers × {args.pages} pages ({total_pages} pages, "
            f"{args.format.upper()}, A4 300 dpi grey, {size / 1e6:.0f} MB) in "
            f"{time.perf_counter() - started:.0f} s; {os.cpu_count()} cores, "
            f"Python {platform.python_version()}."
        )
        print()
        print("| layout | workers | seconds | pages/s | taken in |")
        print("|---|---:|---:|---:|---:|")
        for layout in args.layouts.split(","):
            for workers in (int(w) for w in args.workers.split(",")):
                run = base / f"run-{layout}-{workers}"
                run.mkdir()
                db, clerk_id = archive(run, numbers, args.pages)
                t0 = time.perf_counter()
                result = intake_batch.take_in_batch(
                    db,
                    batch_dir=batch / layout,
                    archive_root=run / "archive",
                    clerk_id=clerk_id,
                    workers=workers,
                    report_path=run / "report.json",
                    quarantine_dir=run / "quarantine",
                )
                seconds = time.perf_counter() - t0
                taken = result.report.totals()["taken_in"]
                print(
                    f"| {layout} | {workers} | {seconds:.1f} | {total_pages / seconds:.1f} | "
                    f"{taken}/{args.dossiers} |",
                    flush=True,
                )
                db.dispose()
                shutil.rmtree(run)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
