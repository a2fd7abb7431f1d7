"""Page images of an arriving paper dossier against the held ones: alignment and region-by-region
comparison (接收比对, services.receipt).

A perceptual hash says which held page an arriving scan shows; it cannot say whether a date was
changed or a line added. So each matched pair is compared region by region:

1. Both pages are read as 8-bit grey (Pillow; transparency onto white, 16-bit scaled) and brought
   to the working resolution :data:`WORK_DPI` (the held page's recorded dpi; the arriving page is
   scaled to the held page's width, as both are scans of the same sheet).
2. Ink is separated from paper per page (threshold half-way between the paper's grey, the
   median, and the ink's, the 0.5th percentile), so brightness, contrast and scanner gamma do not
   matter.
3. The arriving page is registered onto the held one: ORB key points (Rublee et al., ICCV 2011)
   matched and filtered by RANSAC give a similarity transform (rotation, scale, shift), refined
   by ECC (Evangelidis & Psarakis, PAMI 2008) to an affine one on blurred grey images; skew,
   a different dpi, crop and shift are absorbed here.
4. Ink present on one page and absent within :data:`TOLERANCE_PX` on the other is "changed":
   a 2×2 opening removes scanner speckle, changed pixels closer than :data:`GROUP_PX` are
   grouped (closing, then 8-connected components), and a group is a :class:`Region` (its
   bounding box in the **arriving page's** pixels) when it has :data:`MIN_REGION_PIXELS`
   changed pixels, or ink both removed and added (:data:`MIN_REPLACED_PIXELS`): a digit
   written over another.

The perceptual hash is ``imagehash.phash`` (DCT, 64 bits) of the normalised page; distances are
Hamming distances in bits. OpenCV (``opencv-python-headless``) does the registration and the
morphology. No database access here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import imagehash
import numpy as np
from PIL import Image, ImageDraw

from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.services.images import IMAGE_ERRORS, grey

log = logging.getLogger(__name__)

WORK_DPI = 150
"""Resolution the comparison works at, dots per inch (held pages scanned finer are reduced)."""
TOLERANCE_PX = 1
"""Ink within this many working pixels (0.17 mm at 150 dpi, 4-connected) on the other page is
"the same": what re-scanning, interpolation and residual misregistration move a stroke by."""
GROUP_PX = 9
"""Changed pixels closer than this (working pixels, 1.5 mm at 150 dpi) form one region: the
strokes of one digit, word or line."""
MIN_REGION_PIXELS = 40
"""Changed pixels a region of added-only or removed-only ink needs to be reported (an added
or erased character of 8-point type at 150 dpi has more; a speck of dust fewer)."""
MIN_REPLACED_PIXELS = 10
MIN_CHANGED_PIXELS = 24
"""A region where ink was both removed and added (at least :data:`MIN_REPLACED_PIXELS` each,
:data:`MIN_CHANGED_PIXELS` in all) is reported however small: one digit written over another.
Dust and scanner noise only ever add (or only remove) ink in one place."""
MAX_PIXELS = 60_000_000
"""Largest page image read, in pixels (an A3 page at 600 dpi has 70 M; A4 at 600 dpi 35 M)."""
MATCH_BITS = 14
"""Largest perceptual-hash distance (bits of 64) between an aligned arriving page and a held
page for the two to be the same sheet."""


class PageImageError(CounterError, ValueError):
    """A page image that cannot be compared: missing, unreadable, damaged, not an image or over
    :data:`MAX_PIXELS`. ``str(error)`` names the file and the cause in the UI language."""

    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(
            _("The page image {file} cannot be used: {detail}").format(
                file=Path(path).name, detail=detail
            ),
            reason="bad_image",
        )
        self.path = Path(path)


@dataclass(frozen=True)
class Region:
    """A changed region: ``x``, ``y``, ``width``, ``height`` in pixels of the arriving page
    (origin top left); ``added`` / ``removed``: changed pixels (working resolution) where the
    arriving page has ink the held one lacks, and the reverse."""

    x: int
    y: int
    width: int
    height: int
    added: int
    removed: int

    def overlaps(self, box: tuple[int, int, int, int]) -> bool:
        """Whether this region intersects ``box`` (x, y, width, height, same pixels)."""
        bx, by, bw, bh = box
        return (
            self.x < bx + bw
            and bx < self.x + self.width
            and self.y < by + bh
            and by < self.y + self.height
        )

    def as_json(self) -> dict[str, int]:
        """The region as a JSON object (RFC 8259): x, y, width, height, added, removed."""
        return {
            "x": self.x,
            "y": self.y,
            "width": self.width,
            "height": self.height,
            "added": self.added,
            "removed": self.removed,
        }


@dataclass
class PreparedPage:
    """A page read for comparison: ``path``; ``size`` (width, height) of the file in pixels;
    ``scale`` from file pixels to working pixels; ``grey`` the working image (uint8);
    ``ink`` its ink mask (bool); ``phash`` its perceptual hash."""

    path: Path
    size: tuple[int, int]
    scale: float
    grey: np.ndarray
    ink: np.ndarray
    phash: imagehash.ImageHash


@dataclass(frozen=True)
class PageComparison:
    """One arriving page against one held page.

    ``aligned``: registration succeeded (else the pages are compared unregistered and
    ``regions`` is likely to be large); ``hash_distance``: perceptual-hash distance in bits
    after alignment; ``regions``: the changed regions (arriving page pixels); ``changed_share``:
    changed pixels as a share of the page's ink (0–1); ``transform``: the 2×3 affine matrix
    mapping arriving-page pixels to held-page pixels (both as in their files)."""

    aligned: bool
    hash_distance: int
    regions: tuple[Region, ...]
    changed_share: float
    transform: tuple[tuple[float, float, float], tuple[float, float, float]]

    @property
    def same_sheet(self) -> bool:
        """Whether the two images show the same sheet (:data:`MATCH_BITS`)."""
        return self.aligned and self.hash_distance <= MATCH_BITS


def read_page(
    path: Path, *, working_width: int | None = None, dpi: int | None = None
) -> PreparedPage:
    """Read ``path`` for comparison.

    Either ``working_width`` (pixels: the arriving page is scaled to the held page's working
    width) or ``dpi`` (the file's resolution; scaled down to :data:`WORK_DPI`, never up) sets
    the working scale; neither keeps the file's pixels. Raises :class:`PageImageError`.
    """
    path = Path(path)
    try:
        with Image.open(path) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise PageImageError(
                    path,
                    _("{pixels} million pixels, more than the {limit} million allowed").format(
                        pixels=round(width * height / 1e6), limit=MAX_PIXELS // 1_000_000
                    ),
                )
            image.load()
            if getattr(image, "n_frames", 1) > 1:
                image.seek(0)
            page = grey(image)
    except PageImageError:
        raise
    except FileNotFoundError as exc:
        raise PageImageError(path, _("the file does not exist")) from exc
    except IMAGE_ERRORS as exc:
        raise PageImageError(path, str(exc) or type(exc).__name__) from exc
    if working_width is not None:
        scale = working_width / width
    elif dpi:
        scale = min(1.0, WORK_DPI / dpi)
    else:
        scale = 1.0
    if abs(scale - 1.0) > 1e-3:
        page = page.resize(
            (max(1, round(width * scale)), max(1, round(height * scale))),
            Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC,
        )
    array = np.asarray(page, dtype=np.uint8)
    normalised, ink = _normalise(array)
    return PreparedPage(
        path=path,
        size=(width, height),
        scale=scale,
        grey=normalised,
        ink=ink,
        phash=imagehash.phash(Image.fromarray(normalised)),
    )


def _normalise(array: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stretch paper to 255 and ink to 0; return the stretched page and its ink mask."""
    paper = float(np.median(array))
    dark = float(np.percentile(array, 0.5))
    if paper - dark < 48:
        # No ink darker than the paper's own noise: a blank page (or one dust speck).
        dark = max(0.0, paper - 128)
        blank = True
    else:
        blank = False
    span = max(paper - dark, 1.0)
    stretched = np.clip((array.astype(np.float32) - dark) * (255.0 / span), 0, 255).astype(np.uint8)
    ink = stretched < 128
    if blank:
        ink[:] = False
    return stretched, ink


def compare_pages(held: PreparedPage, arriving: PreparedPage) -> PageComparison:
    """Register ``arriving`` onto ``held`` and compare them region by region (see the module
    docstring). Both must come from :func:`read_page`, ``arriving`` read with
    ``working_width=held.grey.shape[1]``. Never raises for image content."""
    warp, aligned = _register(held.grey, arriving.grey)
    h, w = held.grey.shape
    warped_grey = cv2.warpAffine(
        arriving.grey,
        warp,
        (w, h),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=255,
    )
    warped_ink = warped_grey < 128
    distance = held.phash - imagehash.phash(Image.fromarray(warped_grey))
    regions, share = _changed_regions(held.ink, warped_ink, warp, arriving.scale)
    # warp maps held working pixels to arriving working pixels; report arriving → held in
    # file pixels.
    transform = _file_transform(warp, held.scale, arriving.scale)
    return PageComparison(
        aligned=aligned,
        hash_distance=int(distance),
        regions=tuple(regions),
        changed_share=share,
        transform=transform,
    )


def _register(reference: np.ndarray, moving: np.ndarray) -> tuple[np.ndarray, bool]:
    """A 2×3 float32 matrix mapping ``reference`` pixels to ``moving`` pixels (for
    ``WARP_INVERSE_MAP``), and whether registration succeeded."""
    warp = np.eye(2, 3, dtype=np.float32)
    found = _orb_estimate(reference, moving)
    if found is not None:
        warp = found
    # ECC on a half-size, blurred copy: fast, and smooth enough to converge from the ORB guess.
    factor = 0.5
    ref_small = cv2.GaussianBlur(
        cv2.resize(reference, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA), (5, 5), 0
    ).astype(np.float32)
    mov_small = cv2.GaussianBlur(
        cv2.resize(moving, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA), (5, 5), 0
    ).astype(np.float32)
    small = warp.copy()
    small[:, 2] *= factor
    try:
        _score, refined = cv2.findTransformECC(
            ref_small,
            mov_small,
            small,
            cv2.MOTION_AFFINE,
            (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-5),
            None,
            3,
        )
    except cv2.error:
        return warp, found is not None
    refined = refined.astype(np.float32)
    refined[:, 2] /= factor
    if not _plausible(refined):
        return warp, found is not None
    return refined, True


def _plausible(warp: np.ndarray) -> bool:
    """A page re-scan: rotation under 10°, scale within 20 %, no strong shear."""
    a, b, c, d = float(warp[0, 0]), float(warp[0, 1]), float(warp[1, 0]), float(warp[1, 1])
    sx, sy = (a * a + c * c) ** 0.5, (b * b + d * d) ** 0.5
    if not (0.8 < sx < 1.25 and 0.8 < sy < 1.25):
        return False
    return abs(np.degrees(np.arctan2(c, a))) < 10 and abs(a * b + c * d) / (sx * sy) < 0.1


def _orb_estimate(reference: np.ndarray, moving: np.ndarray) -> np.ndarray | None:
    orb = cv2.ORB_create(nfeatures=2500, fastThreshold=12)
    kp_ref, des_ref = orb.detectAndCompute(reference, None)
    kp_mov, des_mov = orb.detectAndCompute(moving, None)
    if des_ref is None or des_mov is None or len(kp_ref) < 12 or len(kp_mov) < 12:
        return None
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True)
    matches = sorted(matcher.match(des_ref, des_mov), key=lambda m: m.distance)[:800]
    if len(matches) < 12:
        return None
    src = np.float32([kp_ref[m.queryIdx].pt for m in matches])
    dst = np.float32([kp_mov[m.trainIdx].pt for m in matches])
    matrix, inliers = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=3.0, maxIters=3000, confidence=0.995
    )
    if matrix is None or inliers is None or int(inliers.sum()) < 10:
        return None
    matrix = matrix.astype(np.float32)
    return matrix if _plausible(matrix) else None


def _changed_regions(
    held_ink: np.ndarray, arriving_ink: np.ndarray, warp: np.ndarray, arriving_scale: float
) -> tuple[list[Region], float]:
    near = cv2.getStructuringElement(cv2.MORPH_CROSS, (2 * TOLERANCE_PX + 1,) * 2)
    held_u8 = held_ink.astype(np.uint8)
    arr_u8 = arriving_ink.astype(np.uint8)
    added = arr_u8 & (1 - cv2.dilate(held_u8, near))
    removed = held_u8 & (1 - cv2.dilate(arr_u8, near))
    # Scanner speckle leaves isolated pixels: a 2×2 opening removes them from what counts as
    # added or erased writing; a digit written over another is judged on the raw difference.
    speck = np.ones((2, 2), np.uint8)
    added_open = cv2.morphologyEx(added, cv2.MORPH_OPEN, speck)
    removed_open = cv2.morphologyEx(removed, cv2.MORPH_OPEN, speck)
    changed = added | removed
    ink_total = max(int(held_u8.sum()), int(arr_u8.sum()), 1)
    share = float((added_open | removed_open).sum()) / ink_total
    if not changed.any():
        return [], share
    # The strokes of one changed digit, word or line belong together.
    grouped = cv2.morphologyEx(changed, cv2.MORPH_CLOSE, np.ones((GROUP_PX, GROUP_PX), np.uint8))
    count, labels, boxes, _centres = cv2.connectedComponentsWithStats(grouped, connectivity=8)
    kept: list[list[int]] = []
    for label in range(1, count):
        x, y, bw, bh, area = (int(v) for v in boxes[label])
        if area < MIN_CHANGED_PIXELS:
            continue
        window = labels[y : y + bh, x : x + bw] == label
        n_added = int(added_open[y : y + bh, x : x + bw][window].sum())
        n_removed = int(removed_open[y : y + bh, x : x + bw][window].sum())
        raw_added = int(added[y : y + bh, x : x + bw][window].sum())
        raw_removed = int(removed[y : y + bh, x : x + bw][window].sum())
        replaced = (
            min(raw_added, raw_removed) >= MIN_REPLACED_PIXELS
            and raw_added + raw_removed >= MIN_CHANGED_PIXELS
        )
        if n_added + n_removed < MIN_REGION_PIXELS and not replaced:
            continue
        kept.append([x, y, x + bw, y + bh, raw_added, raw_removed])
    kept = _merge_lines(kept)
    regions = [_to_arriving(*b[:4], warp, arriving_scale, b[4], b[5]) for b in kept]
    regions.sort(key=lambda r: (r.y, r.x))
    return regions, share


def _merge_lines(boxes: list[list[int]]) -> list[list[int]]:
    """Join regions of one line of writing: boxes overlapping vertically and less than
    3 × :data:`GROUP_PX` apart horizontally become one (their pixel counts added)."""
    merged = True
    while merged:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                gap = max(a[0], b[0]) - min(a[2], b[2])
                overlap = min(a[3], b[3]) - max(a[1], b[1])
                if gap < 3 * GROUP_PX and overlap > 0:
                    boxes[i] = [
                        min(a[0], b[0]),
                        min(a[1], b[1]),
                        max(a[2], b[2]),
                        max(a[3], b[3]),
                        a[4] + b[4],
                        a[5] + b[5],
                    ]
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    return boxes


def _to_arriving(
    x0: int, y0: int, x1: int, y1: int, warp: np.ndarray, scale: float, added: int, removed: int
) -> Region:
    """A box in held working pixels as a box in the arriving file's pixels."""
    corners = np.float32([[x0, y0], [x1, y0], [x0, y1], [x1, y1]])
    mapped = corners @ warp[:, :2].T + warp[:, 2]  # held working → arriving working
    mapped /= scale  # arriving working → arriving file
    left, top = np.floor(mapped.min(axis=0))
    right, bottom = np.ceil(mapped.max(axis=0))
    return Region(
        x=max(0, int(left)),
        y=max(0, int(top)),
        width=int(right - left),
        height=int(bottom - top),
        added=added,
        removed=removed,
    )


def _file_transform(
    warp: np.ndarray, held_scale: float, arriving_scale: float
) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    # warp: held working → arriving working. Its inverse: arriving working → held working.
    inverse = cv2.invertAffineTransform(warp)
    full = np.vstack([inverse, [0, 0, 1]])
    to_working = np.diag([arriving_scale, arriving_scale, 1.0])
    from_working = np.diag([1 / held_scale, 1 / held_scale, 1.0])
    m = from_working @ full @ to_working
    return (
        (round(float(m[0, 0]), 6), round(float(m[0, 1]), 6), round(float(m[0, 2]), 3)),
        (round(float(m[1, 0]), 6), round(float(m[1, 1]), 6), round(float(m[1, 2]), 3)),
    )


def side_by_side(
    held: Path,
    arriving: Path,
    regions: tuple[Region, ...],
    target: Path,
    *,
    transform: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None,
    height: int = 1100,
) -> Path:
    """Write a PNG showing the held page (left) and the arriving page (right), both
    ``height`` pixels high, each changed region framed in red on the arriving page and, mapped
    by ``transform`` (arriving file pixels → held file pixels, :attr:`PageComparison.transform`;
    None: the same box scaled), in orange on the held page. Returns ``target``. Raises
    :class:`PageImageError` if a page cannot be read, OSError if ``target`` cannot be written.
    """
    panels = []
    scales = []
    for path in (held, arriving):
        try:
            with Image.open(path) as image:
                image.load()
                page = grey(image).convert("RGB")
        except FileNotFoundError as exc:
            raise PageImageError(path, _("the file does not exist")) from exc
        except IMAGE_ERRORS as exc:
            raise PageImageError(path, str(exc) or type(exc).__name__) from exc
        scale = height / page.height
        panels.append(
            page.resize((max(1, round(page.width * scale)), height), Image.Resampling.LANCZOS)
        )
        scales.append(scale)
    gap = 24
    canvas = Image.new("RGB", (panels[0].width + gap + panels[1].width, height), (128, 128, 128))
    canvas.paste(panels[0], (0, 0))
    offset = panels[0].width + gap
    canvas.paste(panels[1], (offset, 0))
    draw = ImageDraw.Draw(canvas)
    held_scale, arriving_scale = scales
    for region in regions:
        x0, y0 = region.x, region.y
        x1, y1 = region.x + region.width, region.y + region.height
        draw.rectangle(
            (
                offset + x0 * arriving_scale - 4,
                y0 * arriving_scale - 4,
                offset + x1 * arriving_scale + 4,
                y1 * arriving_scale + 4,
            ),
            outline=(220, 0, 0),
            width=3,
        )
        corners = np.float32([[x0, y0], [x1, y0], [x0, y1], [x1, y1]])
        if transform is not None:
            matrix = np.float32(transform)
            mapped = corners @ matrix[:, :2].T + matrix[:, 2]
        else:
            mapped = corners * (panels[0].width / held_scale) / (panels[1].width / arriving_scale)
        mapped *= held_scale
        (hx0, hy0), (hx1, hy1) = mapped.min(axis=0), mapped.max(axis=0)
        draw.rectangle((hx0 - 4, hy0 - 4, hx1 + 4, hy1 + 4), outline=(240, 150, 0), width=2)
    target.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(target, "PNG")
    return target
