"""services.audit_log.recent_events on the real tiny archive: who may read the log, what a
row holds, newest first, the limit."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from counter_tui.services import audit_log, auth, viewing
from tests.support.factories import add_admin, logged_in, tiny_archive


def test_an_auditor_reads_the_newest_events_first_with_names_and_dossier_numbers(
    tmp_path,  # noqa: ANN001
) -> None:
    archive = tiny_archive(tmp_path)
    clerk = logged_in(archive, "clerk1")
    viewing.open_dossier(archive.db, archive.ids["DA00000001"], clerk)
    with pytest.raises(viewing.ViewingError):  # clerk2's own dossier: refused, and logged
        viewing.open_dossier(archive.db, archive.ids["DA00000002"], logged_in(archive, "clerk2"))
    auditor = logged_in(archive, "audit1")

    rows = audit_log.recent_events(archive.db, auditor)

    seqs = [row.seq for row in rows]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == len(seqs)
    newest = rows[:5]
    assert [(r.kind, r.clerk_name, r.dossier_no, r.reason) for r in newest] == [
        ("login", "刘洋", "", "audit1"),
        ("refused", "李强", "DA00000002", "own_dossier"),
        ("login", "李强", "", "clerk2"),
        ("dossier", "王芳", "DA00000001", "counter"),
        ("login", "王芳", "", "clerk1"),
    ]
    assert all(r.at.tzinfo is not None and r.at.utcoffset() == dt.timedelta(0) for r in rows)
    assert newest[0].at >= newest[-1].at
    # The factory sealed materials and pages with no clerk: the oldest events name nobody.
    assert rows[-1].seq == 1 and rows[-1].clerk_name == "" and rows[-1].kind == "material_added"
    assert rows[-1].dossier_no == "DA00000001"
    with pytest.raises(dataclasses.FrozenInstanceError):
        rows[0].reason = "edited"  # type: ignore[misc]


def test_limit_is_respected(tmp_path) -> None:  # noqa: ANN001
    archive = tiny_archive(tmp_path)
    auditor = logged_in(archive, "audit1")
    every = audit_log.recent_events(archive.db, auditor)
    assert len(every) > 3

    three = audit_log.recent_events(archive.db, auditor, limit=3)

    assert three == every[:3]
    assert len(audit_log.recent_events(archive.db, auditor, limit=1)) == 1
    with pytest.raises(ValueError):
        audit_log.recent_events(archive.db, auditor, limit=0)


def test_an_admin_may_read_the_log(tmp_path) -> None:  # noqa: ANN001
    archive = tiny_archive(tmp_path)
    auth.add_user(
        archive.db,
        username="admin2",
        name="陈静",
        role="admin",
        institution_code="CY-RC",
        password="correct horse 1",
        actor=add_admin(archive, name="周平"),
    )
    rows = audit_log.recent_events(archive.db, logged_in(archive, "admin2"), limit=1)
    assert [(r.kind, r.clerk_name) for r in rows] == [("login", "陈静")]


@pytest.mark.parametrize("username", ["clerk1", "super1"])
def test_other_roles_are_refused(tmp_path, username: str) -> None:  # noqa: ANN001
    archive = tiny_archive(tmp_path)
    with pytest.raises(auth.AuthError) as refused:
        audit_log.recent_events(archive.db, logged_in(archive, username))
    assert refused.value.reason == "forbidden"
    assert str(refused.value) == "只有审计员和系统管理员可以查看访问日志。"


def test_nobody_logged_in_is_refused(tmp_path) -> None:  # noqa: ANN001
    archive = tiny_archive(tmp_path)
    with pytest.raises(auth.AuthError) as refused:
        audit_log.recent_events(archive.db, None)
    assert refused.value.reason == "forbidden"


def test_the_role_and_active_flag_are_read_at_the_time_of_reading(tmp_path) -> None:  # noqa: ANN001
    archive = tiny_archive(tmp_path)
    auditor = logged_in(archive, "audit1")
    auth.set_active(archive.db, "audit1", False, actor=add_admin(archive))
    with pytest.raises(auth.AuthError) as refused:
        audit_log.recent_events(archive.db, auditor)
    assert refused.value.reason == "disabled"


async def test_the_audit_screen_shows_a_refusal_in_its_message_line(tmp_path) -> None:  # noqa: ANN001
    from textual.widgets import DataTable

    from counter_tui.screens.audit import AuditScreen
    from counter_tui.widgets.message_line import MessageLine
    from tests.support.factories import counter_app
    from tests.support.pilot import wait_for

    app = counter_app(tiny_archive(tmp_path), "clerk1")
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(lambda: app.screen is not None and app.screen.is_current, pilot)
        screen = AuditScreen(app.ctx)
        await app.push_screen(screen)
        message = screen.query_one("#message", MessageLine)
        await wait_for(lambda: str(message.render()), pilot)
        assert str(message.render()) == "只有审计员和系统管理员可以查看访问日志。"
        assert message.has_class("-error")
        assert screen.query_one(DataTable).row_count == 0
