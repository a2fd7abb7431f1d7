"""Benchmark of the receipt comparison's page images (services.receipt_images): false alarms over
honest re-scans, detection of forged alterations, page matching, and time per page.

    .venv/bin/python scripts/bench_receipt.py [--honest 120] [--seed 1] [--out FILE]

Sheets are drawn by the demo generator (counter_tui.demo.pages, A4 at 150 dpi); each is
"printed and re-scanned" with tests/services/test_receipt_paper.random_rescan (0.5–2° skew either
way, 150/200/300 dpi, brightness ±30, contrast 0.75–1.15, blur ≤ 1 px, noise σ ≤ 8, dust, a
shift of up to 20 px, 30 % saved as JPEG). An honest re-scan counts as a false alarm when the
comparison reports any changed region or does not see the same sheet. A forged variant counts as
detected when a reported region overlaps the altered text (its box on the re-scan, widened by the
skew's sway) and as missed otherwise. Matching: each honest re-scan is looked up among all held
sheets by perceptual hash, the three nearest aligned, the best kept (as services.receipt does when
a page is not where the catalogue puts it). Figures are printed and written as Markdown.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from counter_tui.services import receipt_images as ri  # noqa: E402
from tests.services.test_receipt_paper import (  # noqa: E402
    ADDED_LINE,
    ADDED_LINE_XY,
    erase_box,
    random_rescan,
    render_pages,
    replace_text,
    rescan,
    save_scan,
    scaled_box,
    text_box,
    write_line,
)

MATERIALS = (
    ("1-1", "干部履历表", "1975-03-01", 2, ""),
    ("2-1", "自传", "1978-01-01", 2, ""),
    ("3-1", "年度考核登记表", "1990-12-01", 1, ""),
    ("4-1-1", "高等学校毕业生登记表", "1982-07-01", 1, ""),
    ("4-1-2", "学士学位证书", "1982-07-01", 1, ""),
    ("5-1", "关于王建国同志参加工作时间的审查结论", "1986-05-01", 1, ""),
    ("6-1", "入党志愿书", "1984-07-01", 1, ""),
    ("9-1-1", "工资审批表", "1985-06-01", 1, ""),
    ("9-1-2", "工资审批表", "1992-10-01", 1, ""),
)
FORM_PAGES = {4: "1990-12-01", 5: "1982-07-01", 8: "1984-07-01", 9: "1985-06-01", 10: "1992-10-01"}
"""Index (in the page list, cover 0) of one-page forms → their formation date."""


def forgeries(pages: list[Path]) -> list[tuple[str, int, Image.Image, tuple[int, int, int, int]]]:
    """(variant, page index, altered sheet, altered box) for each forged variant."""
    found = []
    for index, formed in FORM_PAGES.items():
        with Image.open(pages[index]) as sheet:
            sheet.load()
            year, month, day = (int(p) for p in formed.split("-"))
            date = f"（盖章）  {year}年{month}月{day}日"
            found.append(
                (
                    "added line (work type)",
                    index,
                    write_line(sheet, ADDED_LINE, ADDED_LINE_XY),
                    text_box(ADDED_LINE, ADDED_LINE_XY),
                )
            )
            altered, box = replace_text(
                sheet, date, f"（盖章）  {year - 2}年{month}月{day}日", (1100, 1520), 28, "r"
            )
            found.append(("year changed (one digit)", index, altered, box))
            altered, box = replace_text(
                sheet, date, f"（盖章）  {year}年{month % 9 + 1}月{day}日", (1100, 1520), 28, "r"
            )
            found.append(("month changed (one digit)", index, altered, box))
            word = (330, 622)
            found.append(
                (
                    "two characters added",
                    index,
                    write_line(sheet, "井下", word),
                    text_box("井下", word),
                )
            )
            line = (320, 730, 790, 36)
            found.append(("one body line erased", index, erase_box(sheet, line), line))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--honest", type=int, default=120, help="honest re-scans (≥ 100)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="", help="also write the section to this file")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="bench-receipt-"))
    sheets = [
        work / "held" / "scan-0000.png",
        *render_pages(work / "held", "DA00000009", "王建国", MATERIALS, seed=5),
    ]
    held = {k: ri.read_page(p, dpi=150) for k, p in enumerate(sheets)}

    # honest re-scans
    alarms: list[str] = []
    times: list[float] = []
    by_dpi: dict[int, list[int]] = {}
    matched = 0
    match_tried = 0
    match_times: list[float] = []
    for n in range(args.honest):
        index = rng.randrange(len(sheets))
        how = random_rescan(rng)
        with Image.open(sheets[index]) as sheet:
            path = save_scan(rescan(sheet, how, seed=n), work / "honest" / f"h{n:03d}.png", how)
        started = time.perf_counter()
        arriving = ri.read_page(path, working_width=held[index].grey.shape[1])
        result = ri.compare_pages(held[index], arriving)
        times.append(time.perf_counter() - started)
        alarm = bool(result.regions) or not result.same_sheet
        by_dpi.setdefault(how.dpi, [0, 0])
        by_dpi[how.dpi][0] += 1
        by_dpi[how.dpi][1] += alarm
        if alarm:
            alarms.append(
                f"sheet {index}, skew {how.skew:+.2f}°, {how.dpi} dpi, brightness {how.brightness:+.0f}, "
                f"contrast {how.contrast:.2f}, blur {how.blur:.2f}, noise {how.noise:.1f}, "
                f"hash distance {result.hash_distance}, regions {len(result.regions)}"
            )
        if n % 4 == 0:  # matching among every held sheet
            match_tried += 1
            started = time.perf_counter()
            ranked = sorted(held, key=lambda k: held[k].phash - arriving.phash)
            best = None
            for k in ranked[:3]:
                other = ri.compare_pages(
                    held[k], ri.read_page(path, working_width=held[k].grey.shape[1])
                )
                if other.same_sheet and (best is None or other.changed_share < best[1]):
                    best = (k, other.changed_share)
            match_times.append(time.perf_counter() - started)
            matched += best is not None and best[0] == index

    # forged variants
    variants: dict[str, list[int]] = {}
    forged_times: list[float] = []
    misses: list[str] = []
    for variant, index, altered, box in forgeries(sheets):
        for attempt in range(2):
            how = random_rescan(rng)
            path = save_scan(
                rescan(altered, how, seed=1000 + index * 10 + attempt),
                work / "forged" / f"f{len(forged_times):03d}.png",
                how,
            )
            started = time.perf_counter()
            result = ri.compare_pages(
                held[index], ri.read_page(path, working_width=held[index].grey.shape[1])
            )
            forged_times.append(time.perf_counter() - started)
            target = scaled_box(box, how)
            located = any(r.overlaps(target) for r in result.regions)
            variants.setdefault(variant, [0, 0])
            variants[variant][0] += 1
            variants[variant][1] += located
            if not located:
                misses.append(
                    f"{variant} on sheet {index}, skew {how.skew:+.2f}°, {how.dpi} dpi, regions {len(result.regions)}"
                )

    honest = args.honest
    lines = [
        "## Receipt comparison (接收比对): page images",
        "",
        f"Command: `.venv/bin/python scripts/bench_receipt.py --honest {honest} --seed {args.seed}`",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"OpenCV {__import__('cv2').__version__}; one process, one thread per comparison.",
        "",
        f"Sheets: {len(sheets)} demo-generator pages (cover, forms, text pages, a certificate), "
        "A4 at 150 dpi; re-scans: 0.5–2° skew either way, 150/200/300 dpi, brightness ±30, contrast "
        "0.75–1.15, blur ≤ 1 px, noise σ ≤ 8, dust, shift ≤ 20 px, 30 % JPEG.",
        "",
        "| measure | result |",
        "|---|---|",
        f"| false alarms over {honest} honest re-scans | **{len(alarms)} / {honest}** "
        f"({100 * len(alarms) / honest:.1f} %) |",
    ]
    for dpi in sorted(by_dpi):
        total, bad = by_dpi[dpi]
        lines.append(f"| … of which at {dpi} dpi | {bad} / {total} |")
    detected = sum(v[1] for v in variants.values())
    tried = sum(v[0] for v in variants.values())
    lines.append(f"| forged variants detected and located | **{detected} / {tried}** |")
    for variant, (total, hit) in variants.items():
        lines.append(f"| … {variant} | {hit} / {total} |")
    lines += [
        f"| honest re-scans matched to the right sheet among all {len(sheets)} (hash + alignment) "
        f"| {matched} / {match_tried} |",
        f"| time per page compared (read + align + compare), median / p95 | "
        f"{1000 * statistics.median(times):.0f} / {1000 * _p95(times):.0f} ms |",
        f"| time per page looked up among all sheets (3 alignments), median | "
        f"{1000 * statistics.median(match_times):.0f} ms |",
        "",
    ]
    if alarms:
        lines += ["False alarms:", "", *[f"- {a}" for a in alarms], ""]
    if misses:
        lines += ["Missed forgeries:", "", *[f"- {m}" for m in misses], ""]
    text = "\n".join(lines)
    print(text)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    return 0


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


if __name__ == "__main__":
    raise SystemExit(main())
