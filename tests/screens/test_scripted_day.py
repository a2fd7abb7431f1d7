"""A scripted day at one counter, driven by keys only (issue 8 §2): a visit is one applicant.

1. 张伟 (DA00000001) takes two 存档证明 (two purposes) in one visit; F2 with ticket A002 ends it.
2. Ticket A002: 张敏 (DA00000002) is looked up and only answered; then 张伟's dossier is
   scanned again without F2: a different person, so 张敏's visit ends as answered and a new one
   starts by itself.
3. That visit registers a consultation and the clerk ends it with F4 1 (served).
4. A scan that finds nothing, then F4 2: abandoned.

The figures of the day (services.reports, which the dashboard and ``counter-tui report`` show)
must then be exactly: 4 applicants, 3 served, 1 abandoned, none open, 2 certificates.
"""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select
from textual import events

from counter_tui.db.models import Certificate, Consultation, ServiceEvent, ServiceVisit
from counter_tui.dialogs.certificate import CertificateDialog
from counter_tui.dialogs.consultation import ConsultationDialog
from counter_tui.dialogs.end_service import EndServiceDialog
from counter_tui.dialogs.next_applicant import NextApplicantDialog
from counter_tui.domain import clock
from counter_tui.screens.counter import CounterScreen
from counter_tui.screens.dashboard import DashboardScreen
from counter_tui.screens.dossier import DossierScreen
from counter_tui.services import reports
from tests.support.factories import counter_app, tiny_archive
from tests.support.pilot import wait_for


def message(app) -> str:  # noqa: ANN001
    return str(app.screen.query_one("#message").render())


async def issue_custody(app, pilot, purpose_key: str) -> None:  # noqa: ANN001
    await pilot.press("c")
    await wait_for(lambda: isinstance(app.screen, CertificateDialog), pilot)
    await pilot.press("1", purpose_key, "enter")
    await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
    await wait_for(lambda: "已出具" in message(app), pilot)


async def test_a_scripted_day_counts_applicants_and_certificates(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    app = counter_app(archive)
    ctx = app.ctx
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        # 1. 张伟: two certificates, one visit.
        await pilot.press(*"DA00000001", "enter")
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
        first = ctx.visit
        await issue_custody(app, pilot, "1")
        await issue_custody(app, pilot, "2")
        assert ctx.visit is first
        await pilot.press("f2")
        await wait_for(lambda: isinstance(app.screen, NextApplicantDialog), pilot)
        await pilot.press(*"A002", "enter")
        await wait_for(
            lambda: isinstance(app.screen, CounterScreen) and ctx.visit is not first, pilot
        )
        second = ctx.visit
        assert second.ticket == "A002"

        # 2. 张敏: looked up, answered; then 张伟 again without F2.
        await pilot.press(*"DA00000002", "enter")
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
        assert ctx.visit is second
        await pilot.press("escape")
        await wait_for(lambda: isinstance(app.screen, CounterScreen), pilot)
        await pilot.press(*"DA00000001", "enter")
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
        third = ctx.visit
        assert third is not second and third.ticket is None

        # 3. A consultation, then F4 1.
        await pilot.press("space", "q")
        await wait_for(lambda: isinstance(app.screen, ConsultationDialog), pilot)
        await pilot.press(*"朝阳区委组织部", "enter")
        app.screen.query_one("#approval_no").post_message(events.Paste("组审〔2026〕15号"))
        await pilot.pause()
        await pilot.press("enter", "1", *"王某", "enter")
        await wait_for(lambda: isinstance(app.screen, DossierScreen), pilot)
        await wait_for(lambda: "查阅已登记" in message(app), pilot)
        await pilot.press("f4")
        await wait_for(lambda: isinstance(app.screen, EndServiceDialog), pilot)
        await pilot.press("1")
        await wait_for(lambda: isinstance(app.screen, CounterScreen) and ctx.visit is None, pilot)
        await wait_for(lambda: "已登记查阅" in message(app), pilot)

        # 4. Nothing found; the applicant leaves: F4 2.
        await pilot.press(*"DA99999999", "enter")
        await wait_for(lambda: ctx.visit is not None and app.screen.busy is None, pilot)
        fourth = ctx.visit
        await pilot.press("f4")
        await wait_for(lambda: isinstance(app.screen, EndServiceDialog), pilot)
        await pilot.press("2")
        await wait_for(lambda: ctx.visit is None and "中止" in message(app), pilot)
        await app.workers.wait_for_complete()

    with archive.db.read() as s:
        assert len(s.exec(select(ServiceVisit)).all()) == 4
        ends = {
            e.visit_id: (e.kind, e.detail)
            for e in s.exec(
                select(ServiceEvent).where(ServiceEvent.kind.in_(("closed", "abandoned")))
            )
        }
        assert ends == {
            first.id: ("closed", "certificate"),
            second.id: ("closed", "answered"),
            third.id: ("closed", "consultation"),
            fourth.id: ("abandoned", ""),
        }
        certs = s.exec(select(Certificate)).all()
        assert [c.visit_id for c in certs] == [first.id, first.id]
        assert s.exec(select(Consultation.id)).all() != []

    figures = reports.day_figures(archive.db, day=clock.today(), institution_id=archive.ids["here"])
    total = figures.total
    assert (total.arrivals, total.closed, total.abandoned, total.open) == (4, 3, 1, 0)
    assert (total.certificates, total.certificates_by_kind) == (2, (("custody", 2),))
    types = {t.key: (t.arrivals, t.certificates) for t in figures.types}
    assert types == {"custody": (1, 2), "consultation": (1, 0), "lookup": (2, 0)}
    assert sum(figures.arrivals_by_hour) == 4
    assert [(c.key, c.arrivals, c.certificates) for c in figures.counters] == [("1", 4, 2)]

    # The supervisor's dashboard shows the same day.
    board = counter_app(archive, "super1")
    async with board.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: isinstance(board.screen, DashboardScreen), pilot)
        await wait_for(lambda: board.screen.figures is not None, pilot)
        shown = board.screen.figures.total
        assert (shown.arrivals, shown.closed, shown.abandoned, shown.certificates) == (4, 3, 1, 2)
        summary = str(board.screen.query_one("#summary").render())
        for text in ("接待 4 人次", "办结 3", "中止 1", "进行中 0", "证明 2 份"):
            assert text in summary, (text, summary)
