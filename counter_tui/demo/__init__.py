"""The demo wing: a demonstration archive and generated counter service history, for trying
the counter and for benchmarks. Never imported by :mod:`counter_tui.services`.

- :mod:`.build` — :func:`build_demo` fills an empty database (institutions, accounts,
  dossiers, custody, digitised pages through the real intake, a few weeks of history);
- :mod:`.people` — names, resident IDs, birth dates as recorded and life stories as catalogues;
- :mod:`.pages` — cover and page images as a scanning station leaves them (:func:`render_cover`);
- :mod:`.institutions` — the demo's institutions, accounts and shelf places;
- :mod:`.service_history` — :func:`generate_history`, counter services day by day.
"""

from counter_tui.demo.build import AS_OF, DemoError, DemoSummary, build_demo
from counter_tui.demo.pages import render_cover
from counter_tui.demo.service_history import generate_history

__all__ = ["AS_OF", "DemoError", "DemoSummary", "build_demo", "generate_history", "render_cover"]
