"""Telling what was typed or scanned at the counter: a resident ID, a dossier number or a name.

Rules (in order), applied to the text after NFKC folding and trimming:
  * nothing left → ``empty``;
  * longer than :data:`MAX_QUERY_CHARS` → ``too_long`` (a pasted paragraph, a scanner burst gone wrong);
  * several non-empty lines (line breaks or the input's ↵ mark) → ``multi_line``;
  * starts with "/" or contains CJK ideographs → ``name`` (a name search);
  * 14–19 digits with at most a final X → ``resident_id`` (validated by GB 11643 rules);
  * 3–32 letters, digits and hyphens with at least one letter or digit → ``dossier_no``;
  * anything else → ``unrecognised``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from counter_tui.domain import resident_id
from counter_tui.domain.text import fold

MAX_QUERY_CHARS = 64
# The counter input is one line: a pasted line break is kept visibly as this mark.
LINE_BREAK_MARK = "↵"
_DOSSIER_NO_RE = re.compile(r"^[A-Z0-9][A-Z0-9\-]{2,31}$")


@dataclass(frozen=True)
class Query:
    """A classified counter query: ``kind`` (see module doc) and the normalised ``value``."""

    kind: str
    value: str


def normalise_dossier_no(text: str) -> str:
    """Fold a typed or scanned dossier number: NFKC, upper case, blanks removed."""
    folded = unicodedata.normalize("NFKC", text).upper()
    return "".join(ch for ch in folded if not ch.isspace())


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


def classify(text: str) -> Query:
    """Classify counter input (see the module docstring for the rules). Never raises."""
    folded = unicodedata.normalize("NFKC", text).replace(LINE_BREAK_MARK, "\n")
    lines = [ln.strip() for ln in folded.splitlines() if ln.strip()]
    if not lines:
        return Query("empty", "")
    joined = " ".join(lines)
    if len(joined) > MAX_QUERY_CHARS:
        return Query("too_long", joined)
    if len(lines) > 1:
        return Query("multi_line", joined)
    line = lines[0]
    if line.startswith("/"):
        return Query("name", line[1:].strip())
    if _has_cjk(line):
        return Query("name", line)
    if resident_id.looks_like_resident_id(line):
        return Query("resident_id", resident_id.normalise(line))
    dossier_no = normalise_dossier_no(line)
    if _DOSSIER_NO_RE.match(dossier_no):
        return Query("dossier_no", dossier_no)
    return Query("unrecognised", line)


TICKET_MAX = 16
TICKET_RE = re.compile(r"^[A-Z]{0,2}-?[0-9]{1,4}$")
"""A queue ticket as queue machines print it: up to two letters (the service line), an
optional hyphen, 1–4 digits ("A023", "B-105", "17"). Longer codes are dossier numbers or IDs."""


def clean_ticket(text: str) -> str:
    """NFKC-fold, trim and upper-case a queue ticket number ("ａ０１２" → "A012"); raises
    ValueError unless it is empty or matches :data:`TICKET_RE`."""
    ticket = fold(text).strip().upper()
    if ticket and not TICKET_RE.match(ticket):
        raise ValueError(ticket)
    return ticket
