"""Accounts and log-in: argon2id hashes, growing delays, access events, own-dossier refusal."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlmodel import select

from counter_tui.cli import main
from counter_tui.db.models import AccessEvent, Clerk, utcnow
from counter_tui.services import access_log, auth, viewing
from tests.support.factories import PASSWORD, add_admin, logged_in, tiny_archive


def test_passwords_are_argon2id_hashes(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    with archive.db.read() as s:
        clerk = s.exec(select(Clerk).where(Clerk.username == "clerk1")).one()
    assert clerk.password_hash.startswith("$argon2id$")
    assert PASSWORD not in clerk.password_hash


def test_wrong_passwords_are_logged_and_delayed_more_each_time(
    tmp_path: Path,
    monkeypatch,  # noqa: ANN001
) -> None:
    archive = tiny_archive(tmp_path)
    delays = []
    waited = [0.0]  # the service refuses during the delay: wait it out on its clock

    def now() -> dt.datetime:
        return utcnow() + dt.timedelta(seconds=waited[0])

    monkeypatch.setattr(auth, "_now", now)
    monkeypatch.setattr(access_log, "utcnow", now)
    for _ in range(4):
        with pytest.raises(auth.AuthError) as info:
            auth.authenticate(archive.db, "clerk1", "wrong password")
        assert info.value.reason == "wrong_password"
        delays.append(info.value.delay_s)
        waited[0] += info.value.delay_s
    assert delays == [1.0, 2.0, 4.0, 8.0]
    place = auth.authenticate(archive.db, "clerk1", PASSWORD)
    assert place.clerk.username == "clerk1" and place.institution.code == "CY-RC"
    # After a success the count starts again.
    with pytest.raises(auth.AuthError) as info:
        auth.authenticate(archive.db, "clerk1", "nope")
    assert info.value.delay_s == 1.0
    with archive.db.read() as s:
        kinds = [
            (e.kind, e.reason)
            for e in s.exec(
                select(AccessEvent)
                .where(AccessEvent.kind.in_(("login", "login_failed")))
                .order_by(AccessEvent.seq)
            )
        ]
    assert kinds == [("login_failed", "clerk1")] * 4 + [
        ("login", "clerk1"),
        ("login_failed", "clerk1"),
    ]
    assert auth.failure_delay(20) == auth.MAX_DELAY_S


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    with pytest.raises(auth.AuthError) as unknown:
        auth.authenticate(archive.db, "nobody", PASSWORD)
    with pytest.raises(auth.AuthError) as wrong:  # at another counter: no delay to wait
        auth.authenticate(archive.db, "clerk1", "x" * 9, counter="2")
    assert str(unknown.value) == str(wrong.value)


def test_a_password_typed_as_username_never_reaches_the_access_log(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    with pytest.raises(auth.AuthError):
        auth.authenticate(archive.db, "clerk1" + PASSWORD, "")
    with archive.db.read() as s:
        reasons = [e.reason for e in s.exec(select(AccessEvent))]
    assert not any(PASSWORD in r for r in reasons)
    assert auth.UNKNOWN_USER in reasons


@pytest.mark.parametrize("username", ["", "   ", "a\x00b", "x" * 65, "'; DROP TABLE clerk; --"])
def test_hostile_usernames_are_refused_cleanly(tmp_path: Path, username: str) -> None:
    archive = tiny_archive(tmp_path)
    with pytest.raises(auth.AuthError) as info:
        auth.authenticate(archive.db, username, PASSWORD)
    assert info.value.reason in {"invalid", "wrong_password"}
    with archive.db.read() as s:
        assert s.exec(select(Clerk)).all()  # the table is still there


def test_disabled_account_cannot_log_in(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    auth.set_active(archive.db, "clerk1", False, actor=add_admin(archive))
    with pytest.raises(auth.AuthError) as info:
        auth.authenticate(archive.db, "clerk1", PASSWORD)
    assert info.value.reason == "disabled"


def test_clerk_is_refused_their_own_dossier_and_the_attempt_is_logged(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    place = logged_in(archive, "clerk2")  # own ID = DA00000002's
    with pytest.raises(viewing.ViewingError) as info:
        viewing.open_dossier(archive.db, archive.ids["DA00000002"], place, None)
    assert info.value.reason == "own_dossier"
    # A colleague may open it.
    view = viewing.open_dossier(archive.db, archive.ids["DA00000002"], logged_in(archive), None)
    assert view.dossier_no == "DA00000002"
    with archive.db.read() as s:
        refused = s.exec(select(AccessEvent).where(AccessEvent.kind == "refused")).one()
    assert refused.dossier_id == archive.ids["DA00000002"] and refused.reason == "own_dossier"


def test_dossier_held_elsewhere_is_refused_even_by_id(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    with pytest.raises(viewing.ViewingError) as info:
        viewing.open_dossier(archive.db, archive.ids["DA00000003"], logged_in(archive), None)
    assert info.value.reason == "not_held"


def test_reveal_full_id_is_logged(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    number = viewing.reveal_id(archive.db, archive.ids["DA00000001"], logged_in(archive))
    assert number == "11010519491231002X"
    with archive.db.read() as s:
        event = s.exec(select(AccessEvent).where(AccessEvent.kind == "reveal_id")).one()
    assert event.target_id == archive.ids["DA00000001"]


def test_user_cli_add_list_passwd_disable(tmp_path: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    archive = tiny_archive(tmp_path)
    add_admin(archive)
    # Each change asks for an administrator's log-in first.
    monkeypatch.setattr("builtins.input", lambda prompt="": "admin1")
    answers = iter([PASSWORD, "new password 1", "new password 1", "11010519491231002X"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    db = ["--db", archive.settings.db_url]
    assert (
        main(
            [
                *db,
                "user",
                "add",
                "clerk9",
                "--name",
                "周杰",
                "--role",
                "clerk",
                "--institution",
                "CY-RC",
                "--own-id",
            ]
        )
        == 0
    )
    assert auth.authenticate(archive.db, "clerk9", "new password 1").clerk.name == "周杰"
    assert auth.is_own_dossier(
        archive.db,
        auth.authenticate(archive.db, "clerk9", "new password 1").clerk.id,
        "11010519491231002X",
    )
    answers = iter([PASSWORD])
    assert main([*db, "user", "disable", "clerk9"]) == 0
    with pytest.raises(auth.AuthError):
        auth.authenticate(archive.db, "clerk9", "new password 1")
    capsys.readouterr()
    assert main([*db, "user", "list"]) == 0
    listing = capsys.readouterr().out
    assert "clerk9" in listing and "已停用" in listing and "clerk1" in listing
    # A short password is refused with a message, nothing is created.
    answers = iter([PASSWORD, "short", "short"])
    assert (
        main(
            [
                *db,
                "user",
                "add",
                "clerk8",
                "--name",
                "x",
                "--role",
                "clerk",
                "--institution",
                "CY-RC",
            ]
        )
        == 1
    )
    assert "8" in capsys.readouterr().err


def test_first_administrator_on_an_empty_database(tmp_path: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    import io

    from counter_tui import cli
    from counter_tui.db import migrate
    from counter_tui.db.engine import Database

    db = Database(f"sqlite:///{tmp_path / 'new.db'}")
    migrate.upgrade(db)
    assert not auth.has_accounts(db)

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    answers = iter(
        [
            "cy-rc",
            "北京市朝阳区人才服务中心",
            "cy",
            "12110105mb0123456c",
            "北京市朝阳区示例路 1 号",
            "root",
            "管理员",
        ]
    )
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    passwords = iter(["long enough 1", "long enough 1"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(passwords))
    assert cli._first_admin(db) is True
    place = auth.authenticate(db, "root", "long enough 1")
    assert (place.clerk.role, place.institution.code, place.institution.serial_prefix) == (
        "admin",
        "CY-RC",
        "CY",
    )
    # What a certificate's header and identifier need is asked at once.
    assert (place.institution.uscc, place.institution.address) == (
        "12110105MB0123456C",
        "北京市朝阳区示例路 1 号",
    )
    assert auth.has_accounts(db)


def test_no_first_administrator_without_a_terminal(tmp_path: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    import io

    from counter_tui import cli
    from counter_tui.db import migrate
    from counter_tui.db.engine import Database

    db = Database(f"sqlite:///{tmp_path / 'new.db'}")
    migrate.upgrade(db)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert cli._first_admin(db) is False
    assert "counter-tui user add" in capsys.readouterr().err
