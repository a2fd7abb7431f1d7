"""``counter-tui barcode read [--json] FILE...``: what the barcode reader finds in image files,
for an operator checking a scanner's output (services.barcodes).

Text output: one line per code found (file, text); with ``--json`` one JSON array (UTF-8,
RFC 8259). Exit status 0 when every file could be read, 1 otherwise; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from counter_tui import config
from counter_tui.i18n import _


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``barcode`` on the top-level subparsers ``sub``; returns its subparsers."""
    barcode = sub.add_parser("barcode", help=_("read barcodes from image files"))
    barcode_sub = barcode.add_subparsers(dest="barcode_command", required=True)
    read = barcode_sub.add_parser("read", help=_("list the barcodes found in image files"))
    read.add_argument("files", nargs="+", metavar="FILE", help=_("image files"))
    read.add_argument("--json", action="store_true", help=_("print one JSON array"))
    return barcode_sub


def run(settings: config.Settings, args: argparse.Namespace) -> int:
    """Run ``barcode read`` as parsed by :func:`add_parser`; returns the exit status."""
    from counter_tui.services import barcodes

    found: list[dict[str, object]] = []
    failed = False
    for name in args.files:
        try:
            texts = barcodes.decode_barcodes(Path(name))
        except barcodes.BarcodeImageError as exc:
            failed = True
            found.append({"file": name, "error": str(exc)})
            continue
        found += [{"file": name, "text": text} for text in texts]
    if args.json:
        print(json.dumps(found, ensure_ascii=False))
    else:
        for item in found:
            if "error" in item:
                print(f"{item['file']}: {item['error']}", file=sys.stderr)
            else:
                print(f"{item['file']}\t{item['text']}")
    return 1 if failed else 0
