"""``counter-tui barcode read [--json] FILE...``: what the barcode reader finds in image files,
for an operator checking a scanner's output (services.barcodes).

FILE may be an image (anything Pillow opens; every TIFF frame), a PDF (every page at 300 dpi), a
folder (every image and PDF file directly inside it, in natural name order; hidden files and
other files skipped, sub-folders not entered) or a wildcard pattern the shell left unexpanded
(``*.tif`` on Windows, or quoted). Each file is read in a worker process with a time and pixel
budget, so one bad file cannot stop the rest.

Text output: a table, one row per code (file, page, symbology, text, position) and per file that
cannot be read (its reason), and the reads left for review. With ``--json`` one JSON array
(UTF-8, RFC 8259): ``{"file", "text", "format", "page", "position": {"x", "y", "width",
"height"}, "decoders"}`` per code, ``{"file", "error", "error_code"}`` per file that cannot be
read and ``{"file", "review"}`` per read not accepted. File names that are not valid UTF-8 are
shown with ``\\xNN`` escapes. Exit status 0 when every file was read (with or without codes), 1
when a file could not be read, 2 for a usage error; never a traceback.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
from pathlib import Path

from counter_tui import config
from counter_tui.i18n import _

READABLE_SUFFIXES = frozenset(
    {".png", ".tif", ".tiff", ".jpg", ".jpeg", ".jp2", ".webp", ".bmp", ".gif", ".pdf"}
)
"""File name endings read from a folder given as FILE (case-insensitive)."""

_DIGITS = re.compile(r"(\d+)")


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``barcode`` on the top-level subparsers ``sub``; returns its subparsers."""
    barcode = sub.add_parser("barcode", help=_("read barcodes from image files"))
    barcode_sub = barcode.add_subparsers(dest="barcode_command", required=True)
    read = barcode_sub.add_parser("read", help=_("list the barcodes found in image files"))
    read.add_argument(
        "files", nargs="+", metavar="FILE", help=_("image or PDF files, folders or patterns")
    )
    read.add_argument("--json", action="store_true", help=_("print one JSON array"))
    read.add_argument(
        "--workers",
        type=_positive_int,
        default=2,
        metavar="N",
        help=_("worker processes (default 2)"),
    )
    read.add_argument(
        "--time-budget",
        type=_positive_float,
        default=30.0,
        metavar="SECONDS",
        help=_("time allowed per file (default 30 s)"),
    )
    return barcode_sub


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(_("a whole number of at least 1 is needed"))
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(_("a number of seconds above 0 is needed"))
    return value


def _shown(name: str) -> str:
    """A file name for output: undecodable bytes (surrogate escapes) as ``\\xNN``."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _natural(path: Path) -> list[object]:
    return [int(p) if p.isdigit() else p.lower() for p in _DIGITS.split(path.name)]


def _expand(names: list[str]) -> list[tuple[str, Path | None, str | None]]:
    """(shown name, path to read or None, error message) for each FILE argument."""
    out: list[tuple[str, Path | None, str | None]] = []
    for name in names:
        path = Path(name)
        if not path.exists() and glob.has_magic(name):
            matches = sorted(glob.glob(name), key=lambda m: _natural(Path(m)))
            if not matches:
                out.append(
                    (name, None, _("No file matches {pattern}.").format(pattern=_shown(name)))
                )
            out += [(m, Path(m), None) for m in matches]
        elif path.is_dir():
            try:
                inside = sorted(
                    (
                        p
                        for p in path.iterdir()
                        if p.is_file()
                        and not p.name.startswith(".")
                        and p.suffix.lower() in READABLE_SUFFIXES
                    ),
                    key=_natural,
                )
            except OSError as exc:
                out.append(
                    (
                        name,
                        None,
                        _("The folder {folder} cannot be read: {reason}").format(
                            folder=_shown(name), reason=exc.strerror or type(exc).__name__
                        ),
                    )
                )
                continue
            if not inside:
                out.append(
                    (
                        name,
                        None,
                        _("The folder {folder} holds no image or PDF files.").format(
                            folder=_shown(name)
                        ),
                    )
                )
            out += [(str(p), p, None) for p in inside]
        else:
            out.append((name, path, None))
    seen: set[Path] = set()
    unique = []
    for name, path, error in out:  # a file named twice (folder and pattern) is read once
        if path is not None and path in seen:
            continue
        if path is not None:
            seen.add(path)
        unique.append((name, path, error))
    return unique


def run(settings: config.Settings, args: argparse.Namespace) -> int:
    """Run ``barcode read`` as parsed by :func:`add_parser`; returns the exit status."""
    from counter_tui.services import barcodes

    items = _expand(args.files)
    paths = [path for _name, path, _error in items if path is not None]
    results = iter(
        barcodes.read_files(
            paths,
            workers=getattr(args, "workers", 2),
            time_budget_s=getattr(args, "time_budget", barcodes.DEFAULT_TIME_BUDGET_S),
        )
    )
    rows: list[dict[str, object]] = []
    failed = False
    for name, path, error in items:
        shown = _shown(name)
        if path is None:
            failed = True
            rows.append({"file": shown, "error": error, "error_code": "missing"})
            continue
        read = next(results)
        if read.error_code is not None:
            failed = True
            rows.append({"file": shown, "error": read.error, "error_code": read.error_code})
            continue
        for code in read.codes:
            x, y, width, height = code.position
            rows.append(
                {
                    "file": shown,
                    "text": code.text,
                    "format": code.format,
                    "page": code.page,
                    "position": {"x": x, "y": y, "width": width, "height": height},
                    "decoders": list(code.decoders),
                }
            )
        rows += [{"file": shown, "review": reason} for reason in read.review]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        _print_table(rows)
    return 1 if failed else 0


def _print_table(rows: list[dict[str, object]]) -> None:
    header = (_("file"), _("page"), _("symbology"), _("text"), _("position (x, y, w × h)"))
    lines = [header]
    notes: list[str] = []
    for row in rows:
        if "text" in row:
            pos = row["position"]
            assert isinstance(pos, dict)
            lines.append(
                (
                    str(row["file"]),
                    str(row["page"]),
                    str(row["format"]),
                    json.dumps(row["text"], ensure_ascii=False)[1:-1],
                    f"{pos['x']}, {pos['y']}, {pos['width']} × {pos['height']}",
                )
            )
        elif "error" in row:
            notes.append(
                _("{file}: cannot be read: {reason}").format(file=row["file"], reason=row["error"])
            )
        else:
            notes.append(
                _("{file}: for review: {reason}").format(file=row["file"], reason=row["review"])
            )
    if len(lines) == 1:
        print(_("No barcode found."))
    else:
        widths = [max(_width(line[i]) for line in lines) for i in range(len(header))]
        for line in lines:
            print(
                "  ".join(
                    cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(line)
                ).rstrip()
            )
    for note in notes:
        print(note)


def _width(text: str) -> int:
    """Terminal columns of ``text``: CJK and full-width characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
