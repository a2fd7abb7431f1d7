"""Service-time policy: the counter's 2–3 minute promise (5 for complex cases).

A service is timed from its first lookup to its close. The counter shows the elapsed time as
mm:ss, in a warning style from 2:00 and an alert style from 3:00.
"""

from __future__ import annotations

WARNING_AFTER_S = 120
ALERT_AFTER_S = 180
COMPLEX_LIMIT_S = 300


def format_elapsed(seconds: float) -> str:
    """Format seconds as "mm:ss" (minutes grow past 59, e.g. "61:05"); negatives read "00:00"."""
    total = max(0, int(seconds))
    return f"{total // 60:02d}:{total % 60:02d}"


def level(seconds: float) -> str:
    """ "ok" below 2:00, "warning" from 2:00, "alert" from 3:00."""
    if seconds >= ALERT_AFTER_S:
        return "alert"
    if seconds >= WARNING_AFTER_S:
        return "warning"
    return "ok"
