"""Resident identity numbers (公民身份号码), GB 11643-1999.

Layout of the 18-character number: 6-digit address code (GB/T 2260) + 8-digit birth date
YYYYMMDD + 3-digit sequence (odd = male, even = female) + 1 check character computed with
ISO 7064:1983 MOD 11-2 (python-stdnum's ``stdnum.cn.ric.calc_check_digit``).

Legacy 15-digit numbers (GB 11643-1989: address + YYMMDD + sequence, no check digit) are upgraded
by inserting "19" after the address code and appending the computed check character.

Decision on address codes: python-stdnum's ``validate`` also rejects address codes missing from
its GB/T 2260 table. Dossiers opened decades ago carry codes of abolished counties, and a counter
must still find those people, so :func:`parse` checks length, characters, check digit and birth
date only, never the address code.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from stdnum.cn import ric

from counter_tui.errors import CounterError
from counter_tui.i18n import _

# Characters a scanner, an ID-card reader or a clerk may put around or inside a number.
_DROPPED = frozenset(" \t\r\n-_\u00a0\u3000")
# Look-alikes of X typed on Chinese keyboards or produced by IMEs.
_X_LOOKALIKES = {"×": "X", "Ｘ": "X", "x": "X", "ｘ": "X"}
_ID_CHARACTERS = re.compile("[0-9X]*")
"""ASCII digits and X only (what is left of a resident ID after :func:`normalise`)."""
_FOLD_X = str.maketrans(_X_LOOKALIKES)
_FOLD_X_AND_DROP = str.maketrans({**_X_LOOKALIKES, **dict.fromkeys(_DROPPED)})

REASONS = ("empty", "length", "characters", "check_digit", "birth_date")


class ResidentIdError(CounterError, ValueError):
    """A text that is not a valid resident ID number.

    ``reason`` is one of ``empty``, ``length``, ``characters``, ``check_digit``, ``birth_date``;
    ``text`` is the input as given; ``str(error)`` is a message for the clerk in the UI language.
    """

    def __init__(self, reason: str, text: str, message: str) -> None:
        super().__init__(message, reason=reason)
        self.reason = reason
        self.text = text


def normalise(text: str) -> str:
    """Return ``text`` reduced to the characters of a resident ID.

    NFKC folds full-width digits and letters to ASCII; look-alikes of X (×, x, ｘ) become "X";
    spaces, tabs, CR/LF, hyphens and underscores are dropped. Nothing is validated here.
    """
    # str.translate: the look-alikes before and after NFKC, then the dropped characters
    # (none of which is a look-alike or becomes one).
    folded = unicodedata.normalize("NFKC", text.translate(_FOLD_X))
    return folded.translate(_FOLD_X_AND_DROP)


def check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character ("0"–"9" or "X") for 17 digits (GB 11643-1999 §6)."""
    return ric.calc_check_digit(first17 + "0")


def upgrade_legacy(number15: str) -> str:
    """Upgrade a 15-digit GB 11643-1989 number to 18 characters: insert "19", append check.

    ``number15`` must be 15 ASCII digits (ValueError otherwise).
    """
    if len(number15) != 15 or not number15.isdigit():
        raise ValueError("a legacy resident ID has exactly 15 digits")
    first17 = number15[:6] + "19" + number15[6:]
    return first17 + check_character(first17)


def parse(text: str, *, today: dt.date | None = None) -> str:
    """Parse what a clerk typed or a reader sent into a normalised 18-character resident ID.

    ``today`` (default: the local date) bounds the birth date. Returns e.g. "11010519491231002X".
    Raises :class:`ResidentIdError` with reason ``empty`` (nothing but blanks), ``length`` (not 15
    or 18 characters), ``characters`` (a non-digit other than a final X), ``check_digit`` (MOD 11-2
    mismatch) or ``birth_date`` (not a real date, or after ``today``).
    """
    number = normalise(text)
    if not number:
        raise ResidentIdError("empty", text, _("Please enter a resident ID number."))
    if not _ID_CHARACTERS.fullmatch(number):
        raise ResidentIdError(
            "characters",
            text,
            _("A resident ID has only digits and a final X; this one contains other characters."),
        )
    if len(number) not in (15, 18):
        raise ResidentIdError(
            "length",
            text,
            _("A resident ID has 18 characters (or 15 for old cards); {n} were entered.").format(
                n=len(number)
            ),
        )
    if "X" in number[:-1] or (len(number) == 15 and not number.isdigit()):
        raise ResidentIdError(
            "characters",
            text,
            _("Only the last character of a resident ID may be X."),
        )
    if len(number) == 15:
        number = upgrade_legacy(number)
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        born = None
    limit = today or dt.date.today()
    if born is None or born > limit or born.year < 1880:
        raise ResidentIdError(
            "birth_date",
            text,
            _("The birth date {date} in this resident ID is not a real date.").format(
                date=f"{number[6:10]}-{number[10:12]}-{number[12:14]}"
            ),
        )
    expected = check_character(number[:17])
    if number[17] != expected:
        raise ResidentIdError(
            "check_digit",
            text,
            _(
                "The check digit is wrong (the last character should be {expected}); "
                "please check the number against the card."
            ).format(expected=expected),
        )
    return number


@dataclass(frozen=True)
class ResidentIdFacts:
    """Facts encoded in a valid 18-character resident ID."""

    address_code: str
    birth_date: dt.date
    gender: str  # "M" or "F" (odd sequence = male)


def facts(number: str) -> ResidentIdFacts:
    """Decode address code, birth date and gender from a normalised 18-character ID."""
    return ResidentIdFacts(
        address_code=number[:6],
        birth_date=dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14])),
        gender="M" if int(number[16]) % 2 else "F",
    )


def mask(number: str) -> str:
    """Mask a resident ID for display: first 6 and last 4 shown, e.g. "110105********002X"."""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def looks_like_resident_id(text: str) -> bool:
    """Whether ``text`` may be meant as a resident ID: after normalising, 6–19 digits with at
    most a final X. A half-typed ID is then validated as an ID (with a useful message); callers
    also try such text as an all-digit dossier number before reporting the ID error."""
    number = normalise(text)
    body = number[:-1] if number.endswith("X") else number
    return 6 <= len(number) <= 19 and body.isdigit()
