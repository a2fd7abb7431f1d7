"""Textual's line renderer without its memory leak: removed widgets' rendered lines were kept.

Every widget draws its lines through its own ``StylesCache`` (``textual._styles_cache``), which
keeps them (``Strip`` objects, each with seven small caches of derived strips) while the
widget lives. Textual 8.2 memoizes ``StylesCache.get_inner_outer`` — the two background
styles of a line, a pure function of two colours — with ``functools.lru_cache`` on the
method, so the cache's key holds ``self``: the last 1,024 ``StylesCache`` objects that drew a
line stayed alive after their widgets were removed, with every line they had drawn. At the
counter each certificate (its dialog, the dossier's rows, the footer's keys) left ~17 of them
and ~340 strips behind: 0.5–1 MB a certificate until 1,024 were held (issue 13;
``scripts/bench_memory.py``: 4.5 MB after 10 certificates).
:func:`install` memoizes the same function on the two colours only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from textual._styles_cache import StylesCache
from textual.color import Color
from textual.style import Style

TEXTUAL_GET_INNER_OUTER = StylesCache.__dict__.get("get_inner_outer")
"""Textual's own ``StylesCache.get_inner_outer``, as imported (for the test that tells when
Textual fixed it and this module can go)."""


def install() -> None:
    """Replace ``StylesCache.get_inner_outer`` with the same computation memoized on its two
    colours (1,024 entries, as Textual's), not on the ``StylesCache`` it is called on, and
    empty Textual's cache. Does nothing when Textual's method is not an ``lru_cache`` wrapper
    (a Textual that fixed it, or this already installed). Never raises."""
    method = StylesCache.__dict__.get("get_inner_outer")
    compute: Callable | None = getattr(method, "__wrapped__", None)
    if method is not TEXTUAL_GET_INNER_OUTER or compute is None:
        return
    if not hasattr(method, "cache_clear"):  # not an lru_cache wrapper: nothing to fix
        return

    @functools.lru_cache(1024)
    def inner_outer(base_background: Color, background: Color) -> tuple[Style, Style]:
        return compute(StylesCache, base_background, background)

    def get_inner_outer(
        self: StylesCache, base_background: Color, background: Color
    ) -> tuple[Style, Style]:
        """Inner and outer background styles of a line (memoized on the colours only)."""
        return inner_outer(base_background, background)

    StylesCache.get_inner_outer = get_inner_outer  # type: ignore[method-assign]
    method.cache_clear()
