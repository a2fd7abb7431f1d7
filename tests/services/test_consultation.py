"""Consultation (查阅) and F2 next applicant at the counter, through Pilot."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select
from textual import events

from counter_tui.app import CounterApp
from counter_tui.context import build_context
from counter_tui.db.models import AccessEvent, Consultation, ServiceEvent, ServiceVisit
from counter_tui.dialogs.consultation import ConsultationDialog
from counter_tui.dialogs.next_applicant import NextApplicantDialog
from counter_tui.screens.counter import CounterScreen
from counter_tui.screens.dossier import DossierScreen
from tests.support.factories import counter_app, logged_in, tiny_archive
from tests.support.pilot import wait_for


async def test_f2_ticket_then_consultation(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    ctx = app.ctx
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        await pilot.press("f2")
        await wait_for(lambda: isinstance(app.screen, NextApplicantDialog), pilot)
        await pilot.press(*"a-017", "enter")
        await wait_for(
            lambda: (
                isinstance(app.screen, CounterScreen)
                and ctx.visit is not None
                and ctx.visit.id is not None
            ),
            pilot,
        )
        first_visit = ctx.visit.id
        await pilot.press(*"DA00000001", "enter")
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
        await pilot.press("space", "4", "space", "q")  # shows 1-1 and (jump to 四) 4-1-1
        await wait_for(lambda: isinstance(app.screen, ConsultationDialog), pilot)
        # Recording with a missing approval number is refused with a message.
        await pilot.press(*"朝阳区委组织部", "enter", "ctrl+s")
        from textual.widgets import Static

        error = app.screen.query_one("#error", Static)
        assert "审批表编号" in str(error.render())
        assert app.screen.query_one("#approval_no").has_focus
        # Pilot cannot type 〔〕 (no key event carries them), so the number is pasted.
        app.screen.query_one("#approval_no").post_message(events.Paste("组审〔2026〕15号"))
        await pilot.pause()
        await pilot.press("enter", "1", *"王某", "space", *"李某", "enter")
        # Registered; the service goes on at the dossier until F2 calls the next applicant.
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
        await wait_for(
            lambda: "查阅已登记" in str(app.screen.query_one("#message").render()), pilot
        )
        assert ctx.visit.id == first_visit
        await pilot.press("f2")
        await wait_for(lambda: isinstance(app.screen, NextApplicantDialog), pilot)
        await pilot.press("enter")
        await wait_for(lambda: ctx.visit is None, pilot)  # no ticket: nobody served yet
        await app.workers.wait_for_complete()

    with archive.db.read() as s:
        row = s.exec(select(Consultation)).one()
        assert row.requesting_unit == "朝阳区委组织部"
        assert row.approval_no == "组审〔2026〕15号"
        assert row.purpose == "政审"
        assert row.readers == "王某 李某"
        assert row.shown_material_ids == f"{archive.ids['m_cv']},{archive.ids['m_grad']}"
        visit = s.get(ServiceVisit, first_visit)
        assert visit.ticket == "A-017"
        kinds = [
            e.kind
            for e in s.exec(
                select(ServiceEvent)
                .where(ServiceEvent.visit_id == first_visit)
                .order_by(ServiceEvent.at, ServiceEvent.id)
            )
        ]
        assert kinds == ["started", "dossier_opened", "consultation_recorded", "closed"]
        closed = s.exec(
            select(ServiceEvent).where(
                ServiceEvent.visit_id == first_visit, ServiceEvent.kind == "closed"
            )
        ).one()
        assert closed.detail == "consultation"
        logged = s.exec(select(AccessEvent).where(AccessEvent.kind == "consultation")).one()
        assert logged.target_id == row.id


async def test_f2_ends_a_service_that_only_opened_a_dossier_as_answered(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    ctx = app.ctx
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        await pilot.press(*"DA00000001", "enter")
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
        first = ctx.visit.id
        await pilot.press("escape", "f2")
        await wait_for(lambda: isinstance(app.screen, NextApplicantDialog), pilot)
        await pilot.press("enter")
        # Without a ticket no service starts until the next lookup (the timer stops too).
        await wait_for(lambda: ctx.visit is None, pilot)
        await app.workers.wait_for_complete()
        await pilot.press("f4")
        await wait_for(
            lambda: "没有进行中的服务" in str(app.screen.query_one("#message").render()), pilot
        )
    with archive.db.read() as s:
        assert len(s.exec(select(ServiceVisit)).all()) == 1  # F2 and F4 stored no applicant
        kinds = [
            (e.kind, e.detail)
            for e in s.exec(
                select(ServiceEvent)
                .where(ServiceEvent.visit_id == first)
                .order_by(ServiceEvent.at, ServiceEvent.id)
            )
        ]
        assert kinds == [("started", ""), ("dossier_opened", ""), ("closed", "answered")]


async def test_f2_abandons_a_service_where_nothing_was_found(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    ctx = app.ctx
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        await pilot.press(*"DA99999999", "enter")  # no such dossier
        await wait_for(lambda: app.screen.busy is None and ctx.visit is not None, pilot)
        first = ctx.visit
        await pilot.press("f2")
        await wait_for(lambda: isinstance(app.screen, NextApplicantDialog), pilot)
        await pilot.press("enter")
        await wait_for(lambda: ctx.visit is not first, pilot)
        await app.workers.wait_for_complete()
    with archive.db.read() as s:
        kinds = [
            e.kind for e in s.exec(select(ServiceEvent).where(ServiceEvent.visit_id == first.id))
        ]
        assert sorted(kinds) == ["abandoned", "started"]


async def test_quit_ends_the_service_and_log_in_closes_visits_left_open(tmp_path: Path) -> None:
    from counter_tui.services import visits

    archive = tiny_archive(tmp_path)
    place = logged_in(archive)
    stale, _ = visits.start(archive.db, place)  # a visit a crashed session left open
    ctx = build_context(archive.settings)
    ctx.workplace = place
    app = CounterApp(ctx)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        await pilot.press(*"DA00000001", "enter")
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
        current = ctx.visit.id
        await pilot.press("ctrl+q")
    with archive.db.read() as s:

        def kinds(visit_id):  # noqa: ANN001, ANN202
            return [
                e.kind
                for e in s.exec(
                    select(ServiceEvent)
                    .where(ServiceEvent.visit_id == visit_id)
                    .order_by(ServiceEvent.at, ServiceEvent.id)
                )
            ]

        assert kinds(stale) == ["started", "abandoned"]
        assert kinds(current) == ["started", "dossier_opened", "closed"]  # answered


def test_log_in_leaves_a_colleagues_open_service_alone(tmp_path: Path) -> None:
    import datetime as dt

    from counter_tui.services import visits

    archive = tiny_archive(tmp_path)
    clerk1 = logged_in(archive, "clerk1")
    clerk2 = logged_in(archive, "clerk2")
    now = dt.datetime(2026, 5, 6, 2, 0, tzinfo=dt.UTC)
    colleague, _ = visits.start(archive.db, clerk1, at=now - dt.timedelta(minutes=2))
    own, _ = visits.start(archive.db, clerk2, at=now - dt.timedelta(minutes=30))
    yesterday, _ = visits.start(archive.db, clerk1, at=now - dt.timedelta(hours=20))
    assert visits.abandon_open(archive.db, clerk2, before=now) == 2
    with archive.db.read() as s:
        ended = {
            e.visit_id for e in s.exec(select(ServiceEvent).where(ServiceEvent.kind == "abandoned"))
        }
    assert ended == {own, yesterday}


def test_a_consultation_is_sealed_and_one_inserted_behind_the_back_is_named(
    tmp_path: Path,
) -> None:
    import sqlite3
    import uuid

    from counter_tui.services import consultation, fixity
    from tests.support.factories import logged_in, tiny_archive

    archive = tiny_archive(tmp_path)
    consultation.record(
        archive.db,
        consultation.ConsultationRequest(
            requesting_unit="北京市朝阳区人力资源和社会保障局",
            approval_no="CY-2026-0042",
            purpose="政审",
            readers="张三 110105198001010024",
            shown_material_ids=(archive.ids["m_cv"],),
        ),
        dossier_id=archive.ids["DA00000001"],
        workplace=logged_in(archive),
        visit_id=None,
    )
    assert fixity.verify(archive.db).ok
    forged = uuid.uuid4()
    connection = sqlite3.connect(archive.settings.db_url.removeprefix("sqlite:///"))
    with connection:
        connection.execute(
            "INSERT INTO consultation (id, dossier_id, institution_id, requesting_unit, "
            "approval_no, purpose, readers, shown_material_ids, recorded_at) VALUES "
            "(?, ?, ?, '某单位', 'X-1', '查阅', '', '', '2026-06-01 00:00:00.000000')",
            (forged.hex, archive.ids["DA00000001"].hex, archive.ids["here"].hex),
        )
    connection.close()
    report = fixity.verify(archive.db)
    assert [(p.table, p.row_id, p.what) for p in report.problems] == [
        ("consultation", str(forged), "unsealed")
    ]
