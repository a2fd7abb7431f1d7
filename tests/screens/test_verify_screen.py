"""The 查验 screen through real keys: a certificate's QR text scanned at the counter opens it
and shows the verdict (no service starts, nothing is written); F6 opens it for a typed
verification code; Esc returns. At 80×24 and 120×40, in Chinese and English."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import func, select
from textual.widgets import Static

from counter_tui import i18n
from counter_tui.app import CounterApp
from counter_tui.db.models import AccessEvent, ServiceEvent, ServiceVisit
from counter_tui.domain.identifiers import new_verification_code
from counter_tui.screens.counter import CounterScreen
from counter_tui.screens.verify import VerifyScreen
from counter_tui.services import certificate_signing as cs
from counter_tui.widgets.scan_input import ScanInput
from tests.services.test_certificate_verify import INSTITUTION, T_KEY, issue_certificate
from tests.support.factories import TinyArchive, counter_app, tiny_archive
from tests.support.keyrings import MemoryKeyring
from tests.support.pilot import burst, type_slowly, wait_for

SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def archive(tmp_path: Path, memory_keyring: MemoryKeyring) -> TinyArchive:
    archive = tiny_archive(tmp_path)
    cs.create_signing_key(INSTITUTION, now=T_KEY)
    return archive


@pytest.fixture
def payload(archive: TinyArchive) -> str:
    return issue_certificate(archive)


def rows(app: CounterApp) -> dict[str, int]:
    with app.ctx.db.read() as s:
        return {
            t.__name__: s.exec(select(func.count()).select_from(t)).one()
            for t in (AccessEvent, ServiceEvent, ServiceVisit)
        }


def shown(screen: VerifyScreen, part: str) -> str:
    return str(screen.query_one(part, Static).render())


async def verdict(app: CounterApp, pilot) -> VerifyScreen:  # noqa: ANN001
    await wait_for(lambda: isinstance(app.screen, VerifyScreen), pilot)
    screen = app.screen
    await wait_for(lambda: screen.result is not None, pilot)
    await pilot.pause()
    return screen


def fully_visible(screen: VerifyScreen, part: str) -> bool:
    widget = screen.query_one(part)
    region, size = widget.region, screen.size
    return region.height > 0 and region.bottom <= size.height and region.right <= size.width


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("gap_ms", [0, 10])
async def test_a_certificate_scanned_at_the_counter_opens_the_verify_screen(
    archive: TinyArchive, payload: str, size: tuple[int, int], gap_ms: int
) -> None:
    app = counter_app(archive)
    async with app.run_test(size=size) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        before = rows(app)
        await burst(pilot, payload, gap_ms)
        screen = await verdict(app, pilot)

        assert screen.result.valid
        assert screen.query_one("#verdict").has_class("-valid")
        assert "有效" in shown(screen, "#verdict")
        assert "CY-2026-000001" in shown(screen, "#summary")
        assert "王芳" in shown(screen, "#details") and "张伟" in shown(screen, "#details")
        assert fully_visible(screen, "#verdict") and fully_visible(screen, "#code")
        assert screen.query_one(ScanInput).value == ""
        # Verifying is no service and leaves no trace.
        assert app.ctx.visit is None and rows(app) == before

        await pilot.press("escape")
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        assert app.screen.query_one(ScanInput).has_focus
        assert app.ctx.visit is None


@pytest.mark.parametrize("size", SIZES)
async def test_f6_and_a_typed_code(archive: TinyArchive, payload: str, size) -> None:  # noqa: ANN001
    app = counter_app(archive)
    async with app.run_test(size=size) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        await pilot.press("f6")
        await wait_for(lambda: isinstance(app.screen, VerifyScreen), pilot)
        await type_slowly(pilot, [*cs.verification_code_for(payload).lower(), "enter"])
        screen = await verdict(app, pilot)
        assert screen.result.valid and "存档证明" in shown(screen, "#details")
        assert "兹证明" in shown(screen, "#text")
        assert "11010519491231002X" not in shown(screen, "#text")  # masked
        if size == (80, 24):  # the result is longer than the screen: PgDn scrolls it
            await pilot.press("pagedown")
            assert screen.query_one("#result").scroll_y > 0

        # A code nobody issued here: red, and it says to ask the issuer.
        await type_slowly(pilot, [*new_verification_code(bytes(7)), "enter"])
        await wait_for(lambda: not screen.result.valid, pilot)
        await pilot.pause()
        assert screen.query_one("#verdict").has_class("-invalid")
        assert shown(screen, "#details") == "" or "CY-" not in shown(screen, "#details")


async def test_an_altered_scan_on_the_verify_screen_is_red(
    archive: TinyArchive, payload: str
) -> None:
    app = counter_app(archive)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        await pilot.press("f6")
        await wait_for(lambda: isinstance(app.screen, VerifyScreen), pilot)
        middle = len(payload) // 2
        altered = (
            payload[:middle] + ("A" if payload[middle] != "A" else "B") + payload[middle + 1 :]
        )
        await burst(pilot, altered, 0)
        screen = await verdict(app, pilot)
        assert screen.result.outcome == "altered"
        assert screen.query_one("#verdict").has_class("-invalid")
        assert fully_visible(screen, "#verdict")


@pytest.mark.parametrize("size", SIZES)
async def test_in_english(archive: TinyArchive, payload: str, size) -> None:  # noqa: ANN001
    i18n.set_language("en")
    try:
        app = counter_app(archive)
        async with app.run_test(size=size) as pilot:
            await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
            await burst(pilot, payload, 0)
            screen = await verdict(app, pilot)
            assert "VALID" in shown(screen, "#verdict")
            assert "Valid: certificate CY-2026-000001" in shown(screen, "#summary")
            assert "Serial" in shown(screen, "#details")
            assert fully_visible(screen, "#verdict")
    finally:
        i18n.set_language("zh_CN")
