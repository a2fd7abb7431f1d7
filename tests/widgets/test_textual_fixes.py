"""A removed widget's drawn lines are freed (Textual 8.2 kept the last 1,024 widgets' lines
alive through ``StylesCache.get_inner_outer``'s ``lru_cache``; issue 13)."""

from __future__ import annotations

import gc
import weakref

from textual._styles_cache import StylesCache
from textual.color import Color

from counter_tui.widgets import textual_fixes

BASE, BACKGROUND = Color(10, 20, 30), Color(200, 100, 50, 0.5)


def kept_after_use(get_inner_outer) -> bool:  # noqa: ANN001
    """Whether a ``StylesCache`` (a widget's, with every line it drew) stays alive after
    ``get_inner_outer`` was called on it and nothing else holds it."""
    styles_cache = StylesCache()
    get_inner_outer(styles_cache, BASE, BACKGROUND)
    ref = weakref.ref(styles_cache)
    del styles_cache
    gc.collect()
    return ref() is not None


def test_a_styles_cache_is_not_kept_by_its_backgrounds() -> None:
    textual_fixes.install()
    assert not kept_after_use(StylesCache.get_inner_outer)


def test_the_fix_gives_the_same_backgrounds() -> None:
    textual_fixes.install()
    inner, outer = StylesCache().get_inner_outer(BASE, BACKGROUND)
    assert outer.background == BASE and inner.background == BASE + BACKGROUND
    assert (inner, outer) == textual_fixes.TEXTUAL_GET_INNER_OUTER.__wrapped__(
        StylesCache, BASE, BACKGROUND
    )


def test_textual_still_keeps_them_so_the_fix_is_needed() -> None:
    # When this fails, Textual fixed the leak and counter_tui.widgets.textual_fixes can go.
    original = textual_fixes.TEXTUAL_GET_INNER_OUTER
    try:
        assert hasattr(original, "cache_clear")
        assert kept_after_use(original)
    finally:
        original.cache_clear()
