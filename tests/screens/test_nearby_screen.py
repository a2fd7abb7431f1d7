"""就近办理 at the counter through Textual's Pilot: an ID held by another office, F7, the
read-only catalogue from central, a 存档证明 under this office's serial naming the holder; and
F7 offline says why and opens nothing (a real PostgreSQL central, the office's own role)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from counter_tui.app import CounterApp
from counter_tui.config import Settings
from counter_tui.context import build_context
from counter_tui.db.models import AccessEvent, Certificate
from counter_tui.dialogs.certificate import CertificateDialog
from counter_tui.screens.counter import CounterScreen
from counter_tui.screens.nearby import NearbyScreen
from counter_tui.services import secrets
from counter_tui.widgets.scan_input import ScanInput
from tests.services.test_nearby import ZHANG_WEI, Office, city, jy  # noqa: F401 - fixtures
from tests.support.pilot import wait_for

pytestmark = pytest.mark.postgres

DEAD_CENTRAL = "postgresql+psycopg://office_cy_jy@127.0.0.1:1/central?connect_timeout=2"


def _app(office: Office, central_url: str) -> CounterApp:
    settings = Settings(
        db=f"sqlite:///{office.folder / 'archive.db'}",
        data_dir=office.folder / "data",
        archive_root=office.folder / "archive",
        viewer=["true"],
        central=central_url,
        institution="CY-JY",
    )
    secrets.set_secret(secrets.DB_PASSWORD, office.password)
    ctx = build_context(settings)
    ctx.workplace = office.workplace
    return CounterApp(ctx)


def _message(app: CounterApp) -> str:
    return str(app.screen.query_one("#message").render()).replace("\n", "")


async def test_f7_serves_a_dossier_held_elsewhere_and_issues_under_this_offices_serial(
    jy: Office,  # noqa: F811
) -> None:
    app = _app(jy, jy.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        await pilot.press(*ZHANG_WEI, "enter")
        await wait_for(lambda: "F7" in _message(app), pilot, timeout=20)
        assert "北京市朝阳区人才服务中心" in _message(app)
        await pilot.press("f7")
        await wait_for(lambda: isinstance(app.screen, NearbyScreen), pilot, timeout=20)
        screen = app.screen
        banner = str(screen.query_one("#nearby-banner").render()).replace("\n", "")
        assert "北京市朝阳区人才服务中心" in banner and "只读" in banner
        # Enter on a material: no pages here, said so; the screen stays.
        await pilot.press("enter")
        await wait_for(lambda: "只显示目录" in _message(app), pilot)
        assert app.screen is screen
        await pilot.press("c")
        await wait_for(lambda: isinstance(app.screen, CertificateDialog), pilot)
        await pilot.press("1", "1", "enter")
        await wait_for(lambda: isinstance(app.screen, NearbyScreen), pilot)
        await wait_for(lambda: "CJ-" in _message(app), pilot, timeout=20)
        # Back at the counter, the served applicant's full resident ID is not left in the
        # scan field (it came back there when the lookup found it held elsewhere).
        await pilot.press("escape")
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        assert app.screen.query_one(ScanInput).value == ""
    with jy.db.read() as s:
        cert = s.exec(select(Certificate)).one()
        kinds = [e.kind for e in s.exec(select(AccessEvent).order_by(AccessEvent.seq))]
    assert cert.serial.startswith("CJ-") and cert.kind == "custody"
    assert "存放于北京市朝阳区人才服务中心" in (cert.certified_text or "")
    assert kinds.index("nearby_view") < kinds.index("certificate")


async def test_f7_offline_says_why_and_opens_nothing(jy: Office) -> None:  # noqa: F811
    app = _app(jy, DEAD_CENTRAL)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        await pilot.press("f7")
        assert "先查询" in _message(app)
        await pilot.press(*ZHANG_WEI, "enter")
        await wait_for(lambda: "F7" in _message(app), pilot, timeout=20)
        await pilot.press("f7")
        await wait_for(lambda: "联网" in _message(app), pilot, timeout=20)
        assert isinstance(app.screen, CounterScreen)
    with jy.db.read() as s:
        assert not s.exec(select(AccessEvent).where(AccessEvent.kind == "nearby_view")).all()
