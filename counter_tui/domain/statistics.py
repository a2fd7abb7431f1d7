"""Service-time statistics: nearest-rank percentiles and the six service-time bands.

Definitions (the supervisor's figures in services.reports and the dashboard use these):

* **Percentiles: nearest rank.** For n values sorted ascending x₁ ≤ … ≤ xₙ, the P-th
  percentile is x_k with k = ⌈P/100 · n⌉ (k ≥ 1), so every figure is a time that was actually
  observed; None for n = 0.
* **Bands** are half-open, in seconds: [0, 60) [60, 120) [120, 180) [180, 300) [300, 600)
  [600, ∞). *Within 3 minutes* is < 180 s (the first three bands), *within 5 minutes* < 300 s
  (domain.service_time's 2–3 minute promise, 5 for complex cases).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from counter_tui.i18n import N_

# Lower bounds of the bands in seconds; the last band is open-ended.
BAND_BOUNDS_S = (0, 60, 120, 180, 300, 600)
BAND_LABELS = (
    N_("0–1 min"),
    N_("1–2 min"),
    N_("2–3 min"),
    N_("3–5 min"),
    N_("5–10 min"),
    N_("10+ min"),
)
BAND_KEYS = ("0-1", "1-2", "2-3", "3-5", "5-10", "10+")
BAND_BOUNDS_MS = tuple(b * 1000 for b in BAND_BOUNDS_S)


@dataclass(frozen=True)
class TimeStats:
    """Service-time figures of a set of ended services (times in seconds, see module doc).

    ``bands`` holds the counts of the six bands of :data:`BAND_BOUNDS_S`, in order.
    """

    timed: int
    median_s: float | None
    p90_s: float | None
    max_s: float | None
    within_target: int  # < 180 s
    within_complex: int  # < 300 s
    bands: tuple[int, ...]

    @property
    def share_within_target(self) -> float | None:
        """Fraction (0–1) of the timed services under 3 minutes; None when nothing was timed."""
        return self.within_target / self.timed if self.timed else None

    @property
    def share_within_complex(self) -> float | None:
        """Fraction (0–1) of the timed services under 5 minutes; None when nothing was timed."""
        return self.within_complex / self.timed if self.timed else None


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of ascending ``sorted_values``: x_k, k = ⌈p/100 · n⌉ (k ≥ 1).

    ``p`` is in (0, 100]. Returns None for an empty sequence; raises ValueError for p out of
    range. (The method of NIST's "nearest rank" definition; see the module doc.)
    """
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in (0, 100], not {p}")
    n = len(sorted_values)
    if n == 0:
        return None
    # Exact rational arithmetic: 90 % of 10 is rank 9, not 9.000000000000002 → 10.
    k = max(1, math.ceil(Fraction(str(p)) * n / 100))
    return sorted_values[k - 1]


def band_index(ms: int) -> int:
    """Index (0–5) of the band of a service time given in milliseconds (negatives → 0)."""
    return max(0, bisect.bisect_right(BAND_BOUNDS_MS, ms) - 1)


def time_stats(durations_ms: Iterable[int]) -> TimeStats:
    """Median, P90, maximum, shares and bands of service times given in whole milliseconds
    (negative times count as 0). See the module doc for the definitions."""
    values = sorted(durations_ms)
    if values and values[0] < 0:
        values = [max(0, v) for v in values]
    n = len(values)
    # Counts per half-open band from the positions of the bounds in the sorted times.
    edges = [bisect.bisect_left(values, bound) for bound in BAND_BOUNDS_MS[1:]]
    bands = [b - a for a, b in zip([0, *edges], [*edges, n], strict=True)]

    def seconds(ms: int | None) -> float | None:
        return None if ms is None else ms / 1000

    return TimeStats(
        timed=n,
        median_s=seconds(percentile(values, 50)),
        p90_s=seconds(percentile(values, 90)),
        max_s=seconds(values[-1]) if values else None,
        within_target=sum(bands[:3]),
        within_complex=sum(bands[:4]),
        bands=tuple(bands),
    )
