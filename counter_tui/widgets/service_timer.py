"""The visible service timer: mm:ss since the first lookup, -warning at 2:00, -alert at 3:00."""

from __future__ import annotations

import time

from textual.reactive import reactive
from textual.widgets import Static

from counter_tui.domain import service_time
from counter_tui.i18n import _


class ServiceTimer(Static):
    """Shows the elapsed service time. ``started`` is a ``time.monotonic()`` value or None."""

    DEFAULT_CSS = """
    ServiceTimer { width: auto; padding: 0 1; }
    ServiceTimer.-warning { background: $warning; color: $text; text-style: bold; }
    ServiceTimer.-alert { background: $error; color: $text; text-style: bold reverse; }
    """

    started: reactive[float | None] = reactive(None)

    def on_mount(self) -> None:
        self.set_interval(1.0, self.refresh_time)
        self.refresh_time()

    def watch_started(self) -> None:
        self.refresh_time()

    @property
    def elapsed(self) -> float:
        """Seconds since ``started`` (0 when no service is running)."""
        return time.monotonic() - self.started if self.started is not None else 0.0

    def refresh_time(self) -> None:
        """Redraw the time and its warning/alert style."""
        seconds = self.elapsed
        level = service_time.level(seconds) if self.started is not None else "ok"
        self.set_class(level == "warning", "-warning")
        self.set_class(level == "alert", "-alert")
        label = _("Service") if self.started is not None else _("No service")
        self.update(f"{label} {service_time.format_elapsed(seconds)}")
