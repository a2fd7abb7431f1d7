"""The supervisor dashboard through Textual's Pilot: figures shown, ←/→ change the day, g
switches counters/clerks, i cycles institutions for city-level supervisors, today refreshes."""

from __future__ import annotations

import datetime as dt

from textual.widgets import DataTable, Static

from counter_tui.app import CounterApp
from counter_tui.context import build_context
from counter_tui.db.models import Clerk, Institution, utcnow
from counter_tui.domain import clock
from counter_tui.screens import dashboard
from counter_tui.screens.dashboard import DashboardScreen
from counter_tui.services import reports
from tests.services.test_reports import DAY, add_visit, archive_places, seed_day
from tests.support.factories import PASSWORD_HASH, logged_in
from tests.support.pilot import wait_for

SIZE = (150, 50)


def text(screen: DashboardScreen, selector: str) -> str:
    content = screen.query_one(selector, Static).content
    return getattr(content, "plain", str(content))


def column(screen: DashboardScreen, selector: str, index: int = 0) -> list[str]:
    table = screen.query_one(selector, DataTable)
    return [str(table.get_row_at(r)[index]) for r in range(table.row_count)]


def setup(tmp_path, username: str = "super1"):  # noqa: ANN001, ANN201
    """The hand-built day of tests/test_reports.py, a city-level institution (BJ) with a
    supervisor ``city1``, and a context logged in as ``username``."""
    archive, places = archive_places(tmp_path)
    with archive.db.write() as s:
        city = Institution(code="BJ", name="北京市人才服务中心", kind="city", serial_prefix="BJ")
        s.add(city)
        s.flush()
        s.add(
            Clerk(
                username="city1",
                name="孙丽",
                role="supervisor",
                institution_id=city.id,
                password_hash=PASSWORD_HASH,
            )
        )
    seed_day(archive.db, places)
    ctx = build_context(archive.settings)
    ctx.workplace = logged_in(archive, username)
    return archive, places, ctx


async def open_dashboard(app: CounterApp, pilot, **kwargs) -> DashboardScreen:  # noqa: ANN001
    await wait_for(lambda: app.screen is not None and app.screen.is_current, pilot)
    screen = DashboardScreen(app.ctx, **kwargs)
    await app.push_screen(screen)
    await wait_for(lambda: screen.figures is not None, pilot)
    await pilot.pause()
    return screen


async def test_dashboard_shows_the_day_and_changes_day_and_grouping(tmp_path) -> None:  # noqa: ANN001
    archive, places, ctx = setup(tmp_path)
    app = CounterApp(ctx)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_dashboard(app, pilot, day=DAY)
        expected = reports.day_figures(archive.db, day=DAY, institution_id=places.here)
        assert screen.figures.total == expected.total

        where = text(screen, "#where")
        assert "北京市朝阳区人才服务中心" in where and "2026-11-17" in where
        summary = text(screen, "#summary")
        for part in ("11", "9", "6", "1:59", "5:00", "12:00", "60.0%", "80.0%"):
            assert part in summary, part  # services, closed, certificates, median, P90, max
        assert column(screen, "#groups") == ["1", "2", "3", "—"]
        assert column(screen, "#groups", 1) == ["5", "4", "2", "0"]  # services
        assert column(screen, "#groups", 4) == ["2:30", "4:00", "0:59", "—"]  # medians
        assert column(screen, "#slowest", 3)[:3] == ["12:00", "5:00", "4:00"]
        assert column(screen, "#slowest")[0] == "11:00"
        assert column(screen, "#types", 1)[0] == "6"  # lookups

        bands = text(screen, "#bands").splitlines()
        assert len(bands) == 7  # title + six bands
        assert bands[2].rstrip().endswith(" 3") and "█" in bands[2]  # 1–2 min: the largest
        assert bands[1].rstrip().endswith(" 2")
        hours = text(screen, "#hours").splitlines()
        assert hours[-1].split()[0] == "00"  # the midnight arrival widens the chart
        assert "█" in text(screen, "#hours")
        assert "存档证明" in text(screen, "#kinds-chart")

        # g: per clerk (no new query needed), and back.
        await pilot.press("g")
        await pilot.pause()
        assert column(screen, "#groups") == ["李强", "王芳", "（无经办人）"]
        assert screen.query_one("#groups", DataTable).ordered_columns[0].label.plain == "经办人"
        await pilot.press("g")
        await pilot.pause()
        assert column(screen, "#groups") == ["1", "2", "3", "—"]

        # ←: the day before holds only the 23:59:59.999 service; → comes back.
        await pilot.press("left")
        await wait_for(lambda: screen.figures.day == DAY - dt.timedelta(days=1), pilot)
        await pilot.pause()
        assert screen.figures.total.arrivals == 1
        assert "2026-11-16" in text(screen, "#where")
        assert column(screen, "#groups", 1) == ["1"]
        await pilot.press("right")
        await wait_for(lambda: screen.figures.day == DAY, pilot)
        assert screen.figures.total.arrivals == 11

        # i: a district supervisor sees only their own institution.
        await pilot.press("i")
        await pilot.pause()
        assert "city-level" in text(screen, "#message") or "市级" in text(screen, "#message")
        assert screen.figures.institution.code == "CY-RC"


async def test_city_supervisor_cycles_institutions(tmp_path) -> None:  # noqa: ANN001
    _archive, _places, ctx = setup(tmp_path, "city1")
    app = CounterApp(ctx)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_dashboard(app, pilot, day=DAY)
        assert screen.figures.institution is None
        assert screen.figures.total.arrivals == 12
        assert column(screen, "#groups")[0] == "CY-JY · 1"
        seen = []

        def code(institution) -> str | None:  # noqa: ANN001
            return institution.code if institution else None

        for _n in range(4):
            before = code(screen.institution)
            await pilot.press("i")
            # The choice changes once the key is delivered (the scan gate holds printable
            # keys a moment); the figures follow from the worker.
            await wait_for(lambda: code(screen.institution) != before, pilot)  # noqa: B023
            await wait_for(
                lambda: code(screen.figures.institution) == code(screen.institution), pilot
            )
            seen.append(screen.figures.institution)
        assert [(i.code if i else None) for i in seen] == ["BJ", "CY-JY", "CY-RC", None]
        assert screen.figures.total.arrivals == 12


async def test_today_refreshes_and_stops_at_today(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(dashboard, "REFRESH_S", 0.2)
    archive, places, ctx = setup(tmp_path)
    now = utcnow()
    add_visit(
        archive.db,
        places,
        counter="1",
        clerk=places.clerk1,
        start=now - dt.timedelta(seconds=90),
        events=[("closed", now)],
    )
    app = CounterApp(ctx)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_dashboard(app, pilot)
        assert screen.day == clock.today()
        before = screen.figures.total.arrivals
        assert before >= 1
        add_visit(archive.db, places, counter="2", clerk=places.clerk2, start=utcnow())
        await wait_for(lambda: screen.figures.total.arrivals == before + 1, pilot)
        assert screen.figures.total.open >= 1
        await pilot.press("right")
        await pilot.pause()
        assert screen.day == clock.today()
        assert text(screen, "#message")  # "no figures for days after today"


async def test_supervisor_logs_in_to_the_dashboard_and_f3_toggles_the_counter(tmp_path) -> None:  # noqa: ANN001
    from counter_tui.screens.counter import CounterScreen
    from counter_tui.screens.login import LoginScreen
    from tests.support.factories import PASSWORD

    archive, places, ctx = setup(tmp_path)
    ctx.workplace = None  # log in through the screen
    app = CounterApp(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: isinstance(app.screen, LoginScreen), pilot)
        await pilot.press(*"super1", "enter", *PASSWORD, "enter")
        await wait_for(lambda: isinstance(app.screen, DashboardScreen), pilot)
        screen = app.screen
        await wait_for(lambda: screen.figures is not None, pilot)
        # It opens on today; the seeded day lies in the past, so today has no arrivals yet.
        assert screen.day == clock.today() != DAY
        assert screen.figures.total.arrivals == 0
        await pilot.press("f3")
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        await pilot.press("f3")
        await wait_for(lambda: isinstance(app.screen, DashboardScreen), pilot)


async def test_clerks_have_no_dashboard(tmp_path) -> None:  # noqa: ANN001
    from counter_tui.screens.counter import CounterScreen

    archive, places, ctx = setup(tmp_path, "clerk1")
    app = CounterApp(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        await pilot.press("f3")
        await pilot.pause()
        assert isinstance(app.screen, CounterScreen)


async def test_the_supervisor_sees_transferred_dossiers_overdue_for_their_receipt_audit(
    tmp_path,  # noqa: ANN001
) -> None:
    from sqlmodel import select

    from counter_tui.db.models import CustodyEvent
    from counter_tui.services import access_log, custody
    from tests.support.factories import tiny_archive

    archive = tiny_archive(tmp_path)
    # DA00000003 was sent to CY-JY on 2024-03-01 and received there the next day; nobody has
    # accepted or refused it since: two months are long past.
    with archive.db.write() as s:
        jy = s.exec(select(Institution).where(Institution.code == "CY-JY")).one()
        event = CustodyEvent(
            dossier_id=archive.ids["DA00000003"],
            kind="received",
            holder_institution_id=jy.id,
            at=dt.datetime(2024, 3, 2, 2, 0, tzinfo=dt.UTC),
        )
        s.add(event)
        s.flush()
        custody.register_event(access_log.Chain(s), event)
        s.add(
            Clerk(
                username="super_jy",
                name="孙丽",
                role="supervisor",
                institution_id=jy.id,
                password_hash=PASSWORD_HASH,
            )
        )
    ctx = build_context(archive.settings)
    ctx.workplace = logged_in(archive, "super_jy")
    app = CounterApp(ctx)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, DashboardScreen), pilot)
        line = app.screen.query_one("#receipts", Static)
        await wait_for(lambda: line.display, pilot, timeout=20)
        text = str(line.render())
        assert "1" in text and "2024-05-02" in text and "DA00000003" in text
