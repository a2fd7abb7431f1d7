"""CounterApp: the Textual application. Built from an AppContext by the CLI and by tests."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding

from counter_tui.context import AppContext
from counter_tui.i18n import _
from counter_tui.screens.counter import CounterScreen


class CounterApp(App):
    """档案窗口 — the service counter. Starts on the counter screen."""

    CSS_PATH = "styles/app.tcss"
    TITLE = "档案窗口 Counter TUI"
    BINDINGS = [
        Binding("ctrl+q", "quit", _("Quit"), id="app.quit", priority=True),
    ]

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.title = _("Archive counter")

    def on_mount(self) -> None:
        self.push_screen(CounterScreen(self.ctx))

    def on_unmount(self) -> None:
        self.ctx.close()
