"""Dates as clerks type them and as paper catalogues write them (材料形成时间 is Y-M-D)."""

from __future__ import annotations

import datetime as dt
import re

from counter_tui.domain.text import fold

_PATTERNS = (
    re.compile(r"^(\d{4})[-./年](\d{1,2})[-./月](\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def parse_date(text: str) -> dt.date:
    """Parse "2020-05-06", "2020.5.6", "2020/05/06", "2020年5月6日" or "20200506".

    Full-width digits are folded (NFKC). Raises ValueError for anything else or a date that
    does not exist.
    """
    folded = fold(text).replace(" ", "")
    for pattern in _PATTERNS:
        m = pattern.match(folded)
        if m:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
    raise ValueError(text)
