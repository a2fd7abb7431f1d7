"""Snapshot tests: a frozen clock, fixed ids and a blink-free cursor, so that the same app
state always draws the same screen.

What moves on a live screen or in the data behind it, and how it is held still here:

* wall-clock time (``datetime.now`` everywhere: ``clock.utcnow``, the models' default
  timestamps, the dashboard's "today" and "updated"): frozen at :data:`NOW` by time-machine,
  which leaves ``time.monotonic`` (asyncio's and Textual's timers) running;
* ids (``uuid6.uuid7``, through ``db.models.new_id``): numbered from 1 in creation order, so
  that the content hashes the access log shows (fixity) are the same on every run;
* the service timer (``time.monotonic`` since the first lookup): always
  :data:`SERVICE_SECONDS` while a service runs;
* the time the dashboard's figures took (``perf_counter``): always :data:`FIGURES_MS`;
* the blinking Input cursor: never toggled (visible in the focused field).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import uuid
from collections.abc import Iterator

import pytest
import time_machine
import uuid6
from textual.widgets import Input

from counter_tui.services import reports
from counter_tui.widgets.service_timer import ServiceTimer

NOW = dt.datetime(2026, 11, 17, 9, 30, tzinfo=dt.UTC)
"""17:30 Beijing time on the seeded dashboard day (tests/services/test_reports.py DAY)."""
SERVICE_SECONDS = 95.0
"""What the service timer shows while a service runs (1:35)."""
FIGURES_MS = 12.0
"""The time the dashboard's figures "took"."""


def numbered_uuid7s() -> Iterator[uuid.UUID]:
    """Version-7 UUIDs 1, 2, 3 … with the frozen time as their timestamp: increasing like
    real ones (sorting by id still sorts by creation), the same on every run."""
    millis = int(NOW.timestamp() * 1000)
    for n in itertools.count(1):
        yield uuid.UUID(int=(millis << 80) | (0x7 << 76) | (0b10 << 62) | n)


def freeze(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold still what time-machine does not (see the module docstring)."""
    ids = numbered_uuid7s()
    monkeypatch.setattr(uuid6, "uuid7", lambda: next(ids))

    def elapsed(timer: ServiceTimer) -> float:
        return SERVICE_SECONDS if timer.started is not None else 0.0

    monkeypatch.setattr(ServiceTimer, "elapsed", property(elapsed))

    day_figures = reports.day_figures

    def measured_figures(*args, **kwargs) -> reports.DayFigures:  # noqa: ANN002, ANN003
        return dataclasses.replace(day_figures(*args, **kwargs), elapsed_ms=FIGURES_MS)

    monkeypatch.setattr(reports, "day_figures", measured_figures)
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


@pytest.fixture(autouse=True)
def frozen(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every snapshot test runs at :data:`NOW`, with :func:`freeze` applied."""
    with time_machine.travel(NOW, tick=False):
        freeze(monkeypatch)
        yield
