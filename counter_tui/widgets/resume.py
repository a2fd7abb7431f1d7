"""Screens that Textual does not restyle from scratch each time they are shown.

When a screen is pushed (a dialog opened, the counter's kept dossier screen shown again),
Textual recomputes the style of every widget on it (``ScreenResume.refresh_styles``), although
they were styled when mounted and Textual restyles a widget by itself whenever its classes,
focus or hover change. At the counter that full pass was ~10 ms of a scan's wait and a fifth of
the time from ``c`` to the certificate dialog drawn (issue 13).
"""

from __future__ import annotations

from typing import Any

from textual import events


def style_inputs(app: Any) -> tuple[int, frozenset[str]]:
    """What every style on a screen depends on beyond its own widgets: the app's CSS
    generation (Textual counts theme changes and CSS reloads in ``App._css_update_count``)
    and the app's pseudo-classes (terminal focus, dark/light, ANSI colour, no colour)."""
    return app._css_update_count, frozenset(app.get_pseudo_classes())


class RestyledOnlyOnChange:
    """Mix into a Screen (before Textual's Screen class): its full restyle on being shown is
    skipped unless :func:`style_inputs` changed since it was mounted or last restyled.

    Textual calls a subclass's handler before Screen's own, so this handler can clear the
    event's ``refresh_styles`` before Screen reads it. A theme changed while the screen was
    not shown still restyles it (the CSS generation changed).
    """

    _styled_for: tuple[int, frozenset[str]] | None = None

    def on_mount(self) -> None:
        self._styled_for = style_inputs(self.app)  # type: ignore[attr-defined]

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        now = style_inputs(self.app)  # type: ignore[attr-defined]
        if self._styled_for == now:
            event.refresh_styles = False
        self._styled_for = now
