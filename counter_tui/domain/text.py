"""Cleaning what people type or paste: one rule for each kind of field.

* Codes (dossier numbers, resident IDs, tickets, dates) are folded with NFKC, so full-width
  digits and letters typed on a Chinese input method become ASCII (:func:`fold`).
* Free text that ends up on a certificate or in a register (purpose, unit, names) is NFC
  normalised, never NFKC: NFKC would turn Chinese full-width punctuation such as （） into
  ASCII in the certificate's wording (:func:`collapse`).
* A one-line field refuses control characters (Unicode category C: line breaks, tabs, NUL,
  zero-width and bidi controls) instead of silently dropping them (:func:`has_control`).
"""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """NFKC-fold and trim a typed or scanned code (full-width "ＤＡ１２" → "DA12")."""
    return unicodedata.normalize("NFKC", text).strip()


def is_control(ch: str) -> bool:
    """True for a Unicode category C character (Cc, Cf, Co, Cs, Cn)."""
    return unicodedata.category(ch)[0] == "C"


def has_control(text: str) -> bool:
    """True when ``text`` holds any control character (see :func:`is_control`)."""
    return any(is_control(ch) for ch in text)


def strip_control(text: str) -> str:
    """``text`` without its control characters, trimmed."""
    return "".join(ch for ch in text if not is_control(ch)).strip()


def collapse(text: str, limit: int) -> str:
    """NFC-normalise, drop control characters, collapse runs of whitespace (line breaks and
    tabs included) to one blank and trim. Raises ValueError(limit) if the result is longer
    than ``limit`` characters."""
    folded = unicodedata.normalize("NFC", text)
    kept = "".join(
        " " if ch.isspace() else ch for ch in folded if ch.isspace() or not is_control(ch)
    )
    cleaned = " ".join(kept.split())
    if len(cleaned) > limit:
        raise ValueError(limit)
    return cleaned
