"""Decode rate of counter_tui.services.barcodes on the shared barcode corpus.

Usage:
  python scripts/barcode_decode_rate.py [CORPUS_DIR]

CORPUS_DIR defaults to tests/fixtures/barcodes (the copy of shared/fixtures/barcodes).
For each folder prints found / expected (an image counts as found when its expected text, the
exact bytes of NAME.txt, is among the decoded texts), the images decoded to something else, and
for ``falsepositives-*`` folders (and any image without a .txt) the number of images that
decoded to anything at all. Also prints the mean decoding time per image. Never imported by the
app.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from counter_tui.services.barcodes import BarcodeImageError, decode_barcodes

IMAGE_SUFFIXES = {".png", ".webp", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif"}


def default_corpus() -> Path:
    """tests/fixtures/barcodes in this repository."""
    return Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "barcodes"


def main(argv: list[str]) -> int:
    corpus = Path(argv[1]) if len(argv) > 1 else default_corpus()
    total_found = total_expected = total_fp = total_images = 0
    seconds = 0.0
    print(f"corpus: {corpus}")
    print(f"{'folder':<20} {'found/expected':>15} {'rate':>7} {'false positives':>16}")
    for folder in sorted(p for p in corpus.iterdir() if p.is_dir()):
        found = expected = false_positives = negatives = 0
        misses: list[str] = []
        for image in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
            started = time.perf_counter()
            try:
                texts = decode_barcodes(image)
            except BarcodeImageError as exc:
                texts = []
                misses.append(f"{image.name}: {exc}")
            seconds += time.perf_counter() - started
            total_images += 1
            expected_file = image.with_suffix(".txt")
            if expected_file.exists() and not folder.name.startswith("falsepositives"):
                expected += 1
                if expected_file.read_bytes().decode("utf-8") in texts:
                    found += 1
                else:
                    misses.append(f"{image.name}: got {texts!r}")
            else:
                negatives += 1
                if texts:
                    false_positives += 1
                    misses.append(f"{image.name}: false positive {texts!r}")
        rate = f"{found / expected:.0%}" if expected else "-"
        fp = f"{false_positives}/{negatives}" if negatives else "-"
        print(f"{folder.name:<20} {f'{found}/{expected}':>15} {rate:>7} {fp:>16}")
        for miss in misses:
            print(f"    {miss}")
        total_found += found
        total_expected += expected
        total_fp += false_positives
    print(
        f"{'total':<20} {f'{total_found}/{total_expected}':>15} "
        f"{total_found / max(total_expected, 1):>7.0%} {total_fp:>16}"
    )
    print(
        f"mean time per image: {seconds / max(total_images, 1) * 1000:.1f} ms "
        f"({total_images} images)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
