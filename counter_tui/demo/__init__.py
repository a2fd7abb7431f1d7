"""The demo wing: a demonstration archive and generated counter service history, for trying
the counter and for benchmarks. Never imported by :mod:`counter_tui.services`.

- :mod:`.build` — :func:`build_demo` fills an empty database (institutions, accounts,
  dossiers, custody, digitised pages through the real intake, a few weeks of history);
- :mod:`.people` — names, resident IDs, birth dates as recorded and life stories as catalogues;
- :mod:`.pages` — cover and page images as a scanning station leaves them (:func:`render_cover`);
- :mod:`.institutions` — the demo's institutions, accounts and shelf places;
- :mod:`.service_history` — :func:`generate_history`, counter services day by day.

The names below are imported on first use (PEP 562): the demo's keyring
(:mod:`.keyring_file`), which a counter running on the demo loads, then does not bring the
builder's modules (python-barcode, zxing-cpp, ZBar, the intake …, ~5 MB resident) into it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from counter_tui.demo.build import AS_OF, DemoError, DemoSummary, build_demo
    from counter_tui.demo.pages import render_cover
    from counter_tui.demo.service_history import generate_history

__all__ = ["AS_OF", "DemoError", "DemoSummary", "build_demo", "generate_history", "render_cover"]

_HOMES = {
    "AS_OF": "build",
    "DemoError": "build",
    "DemoSummary": "build",
    "build_demo": "build",
    "render_cover": "pages",
    "generate_history": "service_history",
}


def __getattr__(name: str) -> Any:
    """The names of ``__all__``, imported from their module when first asked for; raises
    AttributeError for any other name."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
