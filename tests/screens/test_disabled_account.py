"""A disabled account's open session ends at its next action: back to the log-in screen,
the dossier gone from the screen stack, the reason shown."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from counter_tui.db.models import Clerk
from counter_tui.screens.counter import CounterScreen
from counter_tui.screens.dossier import DossierScreen
from counter_tui.screens.login import LoginScreen
from tests.support.factories import counter_app, tiny_archive
from tests.support.pilot import wait_for


async def test_the_next_action_of_a_disabled_account_ends_its_session(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        await pilot.press(*"DA00000001", "enter")
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
        # An administrator disables the account meanwhile (another terminal).
        with archive.db.write() as s:
            s.exec(select(Clerk).where(Clerk.username == "clerk1")).one().active = False
        await pilot.press("enter")  # open the pages: refused, the session ends
        await wait_for(lambda: isinstance(app.screen, LoginScreen), pilot)
        assert app.ctx.workplace is None
        assert not any(isinstance(s, DossierScreen) for s in app.screen_stack)
        message = app.screen.query_one("#login-message")
        await wait_for(lambda: "停用" in str(message.render()), pilot)
