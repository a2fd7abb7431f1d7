"""Extract translatable strings, merge them into locale/zh_CN, compile the .mo file.

Usage: python scripts/update_locale.py [--check | --add FILE.po]
  --check  exit 1 (listing them) if any msgid lacks a zh_CN translation or the .mo is stale.
  --add    take the translations in FILE.po (msgid/msgstr pairs) into the catalog first,
           replacing empty or older ones.
Source strings are English msgids marked with _(), N_() or ngettext(); translations are kept in
counter_tui/locale/zh_CN/LC_MESSAGES/counter_tui.po (edit that file, then run this script).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "counter_tui"
PO = PACKAGE / "locale" / "zh_CN" / "LC_MESSAGES" / "counter_tui.po"
MO = PO.with_suffix(".mo")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def extract() -> Catalog:
    """All msgids in the package, with their source locations."""
    template = Catalog(project="counter-tui", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(PACKAGE),
        method_map=[("**.py", "python")],
        keywords=KEYWORDS,
    ):
        template.add(
            message,
            None,
            [(f"counter_tui/{filename}", lineno)],
            auto_comments=comments,
            context=context,
        )
    return template


def load_po() -> Catalog:
    """The zh_CN catalog as stored (empty if missing)."""
    if not PO.exists():
        return Catalog(locale="zh_CN", project="counter-tui", charset="utf-8")
    with PO.open("rb") as fh:
        return read_po(fh, locale="zh_CN")


def mo_bytes(catalog: Catalog) -> bytes:
    """The compiled .mo of ``catalog``."""
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def missing(catalog: Catalog, template: Catalog) -> list[str]:
    """msgids of the template without a translation in ``catalog``."""
    out = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id)
        if (
            found is None
            or not found.string
            or (isinstance(found.string, tuple) and not all(found.string))
            or found.fuzzy
        ):
            out.append(message.id if isinstance(message.id, str) else message.id[0])
    return out


def main(argv: list[str]) -> int:
    template = extract()
    catalog = load_po()
    if "--check" in argv:
        problems = missing(catalog, template)
        stale = not MO.exists() or MO.read_bytes() != mo_bytes(catalog)
        for msgid in problems:
            print(f"untranslated: {msgid!r}")
        if stale:
            print(f"{MO} is not the compiled form of {PO}; run `make locale`")
        return 1 if problems or stale else 0
    if "--add" in argv:
        with Path(argv[argv.index("--add") + 1]).open("rb") as fh:
            for message in read_po(fh, locale="zh_CN"):
                if message.id and message.string:
                    known = catalog.get(message.id)
                    if known is None:
                        catalog.add(message.id, message.string)
                    else:  # Catalog.add keeps the old string of a known msgid
                        known.string = message.string
                        known.flags.discard("fuzzy")
    catalog.update(template, no_fuzzy_matching=True)
    PO.parent.mkdir(parents=True, exist_ok=True)
    with PO.open("wb") as fh:
        write_po(fh, catalog, width=100, omit_header=False, ignore_obsolete=True)
    MO.write_bytes(mo_bytes(catalog))
    todo = missing(catalog, template)
    print(f"{len(template)} msgids; {len(todo)} untranslated in {PO.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
