"""Isolation of barcode reading (services.barcode_worker through barcodes.read_files): a
hanging decoder or a decompression bomb costs one file, never the batch; results keep the
input order."""

from __future__ import annotations

import time
from pathlib import Path

from PIL import Image

from counter_tui.demo import hard_covers
from counter_tui.services import barcodes


def sleeping_decoder(image: Image.Image, symbologies: frozenset[str]) -> list[barcodes.RawRead]:
    """A decoder that hangs inside one call (module level: workers unpickle it)."""
    if image.width == 333:
        time.sleep(60)
    return barcodes.zxing_decode(image, symbologies)


def test_a_hanging_decoder_is_killed_and_the_batch_goes_on(tmp_path: Path) -> None:
    good = tmp_path / "a.png"
    hard_covers.cover("CY00000001", dpi=100, module_mm=0.5).save(good)
    hang = tmp_path / "b.png"
    Image.new("L", (333, 200), 255).save(hang)
    last = tmp_path / "c.png"
    hard_covers.cover("CY00000003", dpi=100, module_mm=0.5).save(last)
    started = time.monotonic()
    reads = list(
        barcodes.read_files(
            [good, hang, last],
            workers=2,
            time_budget_s=8.0,
            decoders={"zxing": sleeping_decoder, "zbar": barcodes.zbar_decode},
        )
    )
    assert time.monotonic() - started < 45
    assert [r.path for r in reads] == [good, hang, last]
    assert [c.text for c in reads[0].codes] == ["CY00000001"]
    assert reads[1].error_code == "timeout" and reads[1].error
    assert [c.text for c in reads[2].codes] == ["CY00000003"]


def test_a_decompression_bomb_is_refused_without_decoding(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    Image.new("1", (20_000, 20_000), 1).save(bomb)  # 400 Mpx in a few kB
    assert bomb.stat().st_size < 200_000
    (read,) = barcodes.read_files([bomb], workers=1)
    assert read.error_code == "too_many_pixels"
    small = barcodes.read_file(bomb, max_pixels=1_000)
    assert small.error_code == "too_many_pixels"
