"""The footer forgets the keys each rebuild removed (Textual 8.2 kept them: a footer living
all day grew by every key it ever showed)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer as TextualFooter
from textual.widgets._footer import FooterKey

from counter_tui.widgets.footer import Footer


class KeysApp(App):
    BINDINGS = [
        Binding("a", "noop('a')", "A"),
        Binding("b", "noop('b')", "B"),
        Binding("c", "noop('c')", "C"),
    ]

    def __init__(self, footer: type[TextualFooter]) -> None:
        super().__init__()
        self.footer_type = footer
        self.b_enabled = True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # "b" shown enabled or disabled: what the footer shows changes when this flips.
        return None if action == "noop" and parameters == ("b",) and not self.b_enabled else True

    def compose(self) -> ComposeResult:
        yield self.footer_type()

    def action_noop(self, _key: str) -> None:
        pass


async def rebuilds(footer_type: type[TextualFooter], times: int) -> tuple[int, int]:
    """(watchers of ``compact``, keys shown) after ``times`` rebuilds of the footer, each
    after what it shows changed."""
    app = KeysApp(footer_type)
    async with app.run_test() as pilot:
        footer = app.query_one(footer_type)
        for _ in range(times):
            app.b_enabled = not app.b_enabled
            app.screen.refresh_bindings()  # what a dialog closing or a screen resuming does
            await pilot.pause(0.05)
        await pilot.pause(0.3)
        watchers = getattr(footer, "__watchers", {}).get("compact", [])
        # The command palette's key (ctrl+p) is not bound to ``compact``.
        return len(watchers), len([k for k in footer.query(FooterKey) if k.key != "ctrl+p"])


async def test_rebuilds_do_not_pile_up_removed_keys() -> None:
    watchers, keys = await rebuilds(Footer, 12)
    assert keys == 3 and watchers == keys  # a, b and c


async def test_textual_footer_still_leaks_so_the_subclass_is_needed() -> None:
    # When this fails, Textual fixed the leak and counter_tui.widgets.footer can go.
    watchers, keys = await rebuilds(TextualFooter, 12)
    assert watchers > keys * 5


async def test_a_rebuild_showing_the_same_keys_is_skipped() -> None:
    app = KeysApp(Footer)
    async with app.run_test() as pilot:
        await pilot.pause(0.3)
        footer = app.query_one(Footer)
        before = list(footer.query(FooterKey))
        for _ in range(3):
            app.screen.refresh_bindings()
            await pilot.pause(0.05)
        assert list(footer.query(FooterKey)) == before  # the same widgets, not rebuilt
        app.b_enabled = False
        app.screen.refresh_bindings()
        await pilot.pause(0.3)
        after = list(footer.query(FooterKey))
        assert after != before and len(after) == len(before)
        disabled = [key.key for key in after if key.has_class("-disabled")]
        assert disabled == ["b"]
