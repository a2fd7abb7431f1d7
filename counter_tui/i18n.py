"""Translation of user-visible text (gettext; Simplified Chinese by default, English on request).

Source strings (msgids) are English; ``locale/zh_CN`` translates them. ``_`` looks the string up
in the language set by :func:`set_language` at the moment it is called, so modules may call it at
run time freely; module-level constants that must be translated use :func:`N_` and are passed
through ``_`` when shown.
"""

from __future__ import annotations

import gettext
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "counter_tui"
LANGUAGES = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def set_language(language: str) -> None:
    """Switch every later ``_()`` call to ``language`` ("zh_CN" or "en").

    Raises ValueError for any other language code.
    """
    global _translation, _language
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; choose one of {', '.join(LANGUAGES)}")
    _translation = gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)
    _language = language


def current_language() -> str:
    """The language code set last ("zh_CN" or "en")."""
    return _language


def _(message: str) -> str:
    """Translate ``message`` (an English msgid) into the current language."""
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a message with a count ``n``."""
    return _translation.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it now (translate when shown)."""
    return message


set_language(DEFAULT_LANGUAGE)
