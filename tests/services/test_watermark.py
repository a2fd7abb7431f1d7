"""Watermarked page copies (查阅专用) and the private viewing folder, with real image files."""

from __future__ import annotations

import datetime as dt
import hashlib
import stat
import tempfile
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw

from counter_tui.context import build_context
from counter_tui.db.models import Page
from counter_tui.services import viewing, watermark
from tests.support.factories import logged_in, tiny_archive

WHEN = dt.datetime(2020, 5, 6, 1, 0, tzinfo=dt.UTC)  # 09:00 in Beijing
SIZE = (600, 848)


def page_image(mode: str, size: tuple[int, int] = SIZE) -> Image.Image:
    """A white page with a few black text lines, as a scanner would leave it."""
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    for y in range(40, size[1] - 40, 60):
        draw.text((40, y), "干部履历表 page text " * 2, fill=0)
    return image.convert(mode)


def grey(image: Image.Image) -> Image.Image:
    return image.convert("L")


def changed_fraction(
    before: Image.Image, after: Image.Image, box: tuple[int, int, int, int], threshold: int = 20
) -> float:
    """Share of pixels in ``box`` whose grey level moved by more than ``threshold``."""
    diff = ImageChops.difference(grey(before).crop(box), grey(after).crop(box))
    histogram = diff.histogram()
    return sum(histogram[threshold + 1 :]) / (diff.width * diff.height)


def quadrants(size: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    w, h = size
    return [
        (0, 0, w // 2, h // 2),
        (w // 2, 0, w, h // 2),
        (0, h // 2, w // 2, h),
        (w // 2, h // 2, w, h),
    ]


@pytest.mark.parametrize(
    ("mode", "fmt", "suffix"),
    [
        ("1", "PNG", ".png"),
        ("L", "PNG", ".png"),
        ("RGB", "PNG", ".png"),
        ("L", "JPEG", ".jpg"),
        ("RGB", "JPEG", ".jpg"),
        ("1", "TIFF", ".tif"),
        ("L", "TIFF", ".tif"),
        ("RGB", "TIFF", ".tif"),
    ],
)
def test_stamp_tiles_a_visible_watermark(tmp_path: Path, mode: str, fmt: str, suffix: str) -> None:
    source = tmp_path / f"page{suffix}"
    extra = {"compression": "group4"} if (fmt, mode) == ("TIFF", "1") else {}
    page_image(mode).save(source, format=fmt, dpi=(300, 300), **extra)
    target = tmp_path / "out" / source.name

    watermark.stamp(source, target, clerk_name="王芳", when=WHEN)

    assert target.read_bytes() != source.read_bytes()
    with Image.open(source) as original, Image.open(target) as stamped:
        assert stamped.format == fmt
        assert stamped.size == original.size
        assert stamped.mode == ("L" if mode in ("1", "L") else "RGB")  # grey can show
        assert round(stamped.info["dpi"][0]) == 300
        stamped.load()
        original.load()
        # Tiled over the whole page, not a single stamp in a corner.
        for box in quadrants(original.size):
            assert changed_fraction(original, stamped, box) > 0.02, box
        # Semi-transparent grey, not black: the paper shows through and the text stays legible.
        levels = grey(stamped).histogram()
        assert sum(levels[150:240]) > 0.02 * original.width * original.height
        assert grey(stamped).getextrema()[0] < 60  # the black page text is still black


def test_watermark_only_touches_the_text_strokes(tmp_path: Path) -> None:
    source = tmp_path / "blank.png"
    page_image("L").save(source)
    target = tmp_path / "blank-stamped.png"
    watermark.stamp(source, target, clerk_name="王芳", when=WHEN)
    with Image.open(source) as before, Image.open(target) as after:
        changed = changed_fraction(before, after, (0, 0, *SIZE), threshold=0)
    # Visible but sparse: the page is readable under it.
    assert 0.03 < changed < 0.5


def test_watermark_text_in_beijing_time() -> None:
    assert watermark.watermark_text("王芳", WHEN) == "查阅专用 王芳 2020-05-06 09:00"
    naive_utc = dt.datetime(2020, 5, 6, 16, 30)
    assert watermark.watermark_text("王芳", naive_utc) == "查阅专用 王芳 2020-05-07 00:30"
    assert watermark.watermark_text("王\n芳\x00", WHEN) == "查阅专用 王芳 2020-05-06 09:00"


def test_ascii_fallback_without_a_cjk_font(tmp_path: Path) -> None:
    assert watermark.watermark_text("王芳", WHEN, cjk=False) == (
        "FOR CONSULTATION ONLY U+738B U+82B3 2020-05-06 09:00 UTC+8"
    )
    assert watermark.watermark_text("Wang Fang", WHEN, cjk=False) == (
        "FOR CONSULTATION ONLY Wang Fang 2020-05-06 09:00 UTC+8"
    )
    source = tmp_path / "p.png"
    page_image("L").save(source)
    with_cjk, ascii_only = tmp_path / "cjk.png", tmp_path / "ascii.png"
    watermark.stamp(source, with_cjk, clerk_name="王芳", when=WHEN)
    watermark.stamp(source, ascii_only, clerk_name="王芳", when=WHEN, use_cjk_font=False)
    with Image.open(source) as before, Image.open(ascii_only) as after, Image.open(with_cjk) as cjk:
        for box in quadrants(SIZE):
            assert changed_fraction(before, after, box) > 0.02
        if watermark.find_cjk_font() is not None:
            assert ImageChops.difference(after, cjk).getbbox() is not None  # another text


def test_target_is_private_and_written_atomically(tmp_path: Path) -> None:
    source = tmp_path / "p.png"
    page_image("L").save(source)
    target = tmp_path / "out" / "p.png"
    watermark.stamp(source, target, clerk_name="王芳", when=WHEN)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["p.png"]  # no temp file left


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "missing"])
def test_corrupt_image_is_a_clear_error(tmp_path: Path, damage: str) -> None:
    good = tmp_path / "good.png"
    page_image("RGB").save(good)
    source = tmp_path / "bad.png"
    if damage == "garbage":
        source.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 50)
    elif damage == "truncated":
        source.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif damage == "empty":
        source.write_bytes(b"")
    target = tmp_path / "out" / "bad.png"

    with pytest.raises(watermark.WatermarkError) as info:
        watermark.stamp(source, target, clerk_name="王芳", when=WHEN)

    assert "bad.png" in str(info.value)
    assert not target.exists()
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


# --------------------------------------------------------------------------------------------
# The viewing folder: stamped copies, 0700 / 0600, emptied on close and at the next start


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Viewing folders go to a temp dir of this test only: clearing "stale" folders must not
    reach folders of other test runs or a real session of the same user."""
    base = tmp_path / "tmp"
    base.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(base))
    return base


def test_viewer_gets_stamped_private_copies(tmp_path: Path, private_tmp: Path) -> None:
    archive = tiny_archive(tmp_path)
    ctx = build_context(archive.settings)
    workplace = logged_in(archive)
    assert ctx.private_dir.parent == private_tmp
    assert stat.S_IMODE(ctx.private_dir.stat().st_mode) == 0o700

    copies = viewing.open_material_pages(
        ctx.db,
        archive.ids["m_cv"],
        workplace,
        None,
        archive_root=archive.settings.archive_dir,
        private_dir=ctx.private_dir,
    )

    assert len(copies) == 2
    with archive.db.read() as s:
        pages = [s.get(Page, archive.ids[f"m_cv_p{n}"]) for n in (1, 2)]
    for copy, page in zip(copies, pages, strict=True):
        assert copy.is_relative_to(ctx.private_dir)
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600
        original = archive.settings.archive_dir / page.rel_path
        assert copy.read_bytes() != original.read_bytes()
        with Image.open(original) as before, Image.open(copy) as after:
            assert after.size == before.size == (page.width, page.height)
            for box in quadrants(before.size):
                assert changed_fraction(before, after, box) > 0.02
    # The archive file itself is untouched.
    assert [p.sha256 for p in pages] == [
        hashlib.sha256((archive.settings.archive_dir / p.rel_path).read_bytes()).hexdigest()
        for p in pages
    ]

    ctx.close()
    assert not ctx.private_dir.exists()


def test_stale_private_dirs_are_removed_at_next_start(tmp_path: Path, private_tmp: Path) -> None:
    archive = tiny_archive(tmp_path)
    crashed = viewing.new_private_dir()
    (crashed / "m").mkdir()
    (crashed / "m" / "left-behind.png").write_bytes(b"x")
    unrelated = private_tmp / "someone-else"
    unrelated.mkdir()

    ctx = build_context(archive.settings)  # a new start clears leftovers first

    assert not crashed.exists()
    assert unrelated.exists()
    assert ctx.private_dir.exists()
    assert viewing.clear_stale_private_dirs() == 1  # only the live folder of this context
    assert not ctx.private_dir.exists()
    ctx.close()
