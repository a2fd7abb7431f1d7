"""Accounts only by an administrator: `counter-tui user add|passwd|disable|enable|own-id` ask
for an administrator's log-in (except the first administrator of an empty database), every
change is sealed in the access chain, and `audit verify` names account rows added or edited
behind the application's back."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
from sqlmodel import select

from counter_tui import cli
from counter_tui.db import migrate
from counter_tui.db.engine import Database
from counter_tui.db.models import AccessEvent, Clerk
from counter_tui.services import access_log, auth, fixity, seals
from tests.support.factories import PASSWORD, TinyArchive, add_admin, tiny_archive


class Terminal(io.StringIO):
    """A standard input that is a terminal."""

    def isatty(self) -> bool:
        return True


def run_user(
    archive: TinyArchive,
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
    login: str | None = "admin1",
    passwords: tuple[str, ...] = (),
) -> int:
    """``counter-tui user ARGS`` at a terminal: ``login`` answers the administrator's
    username (None: no terminal, input ends at once), ``passwords`` the hidden prompts in
    order (the administrator's password first)."""
    answers = iter(passwords)

    def ask(prompt: str = "") -> str:
        if login is None:
            raise EOFError
        return login

    monkeypatch.setattr("builtins.input", ask)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    return cli.main(["--db", archive.settings.db_url, "--lang", "en", "user", *args])


def account_events(db: Database) -> list[AccessEvent]:
    with db.read() as s:
        return list(
            s.exec(
                select(AccessEvent)
                .where(AccessEvent.kind.in_(auth.ACCOUNT_KINDS))
                .order_by(AccessEvent.seq)
            )
        )


def clerk_row(db: Database, username: str) -> Clerk:
    with db.read() as s:
        return s.exec(select(Clerk).where(Clerk.username == username)).one()


ADD_CLERK9 = ("add", "clerk9", "--name", "周杰", "--role", "clerk", "--institution", "CY-RC")


@pytest.fixture
def archive(tmp_path: Path) -> TinyArchive:
    archive = tiny_archive(tmp_path)
    add_admin(archive)
    return archive


def test_user_add_without_an_administrators_log_in_is_refused(
    archive: TinyArchive, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = len(account_events(archive.db))
    assert run_user(archive, monkeypatch, *ADD_CLERK9, login=None) == 1
    assert "nothing was changed" in capsys.readouterr().err
    with archive.db.read() as s:
        assert s.exec(select(Clerk).where(Clerk.username == "clerk9")).first() is None
    assert len(account_events(archive.db)) == before


def test_user_add_with_a_wrong_administrator_password_is_refused(
    archive: TinyArchive, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status = run_user(
        archive, monkeypatch, *ADD_CLERK9, passwords=("not the password", "new password 1")
    )
    assert status == 1
    assert "Wrong username or password" in capsys.readouterr().err
    with archive.db.read() as s:
        assert s.exec(select(Clerk).where(Clerk.username == "clerk9")).first() is None
        failed = s.exec(select(AccessEvent).where(AccessEvent.kind == "login_failed")).one()
    assert failed.reason == "admin1" and failed.target_id == auth.counter_key("cli")


@pytest.mark.parametrize("verb", ["add", "passwd", "disable", "enable", "own-id"])
def test_a_clerk_may_not_change_accounts(
    archive: TinyArchive,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    verb: str,
) -> None:
    args = ADD_CLERK9 if verb == "add" else (verb, "clerk2")
    before = clerk_row(archive.db, "clerk2")
    status = run_user(
        archive,
        monkeypatch,
        *args,
        login="clerk1",
        passwords=(PASSWORD, "new password 1", "new password 1", "11010519491231002X"),
    )
    assert status == 1
    assert "Only an administrator may change accounts" in capsys.readouterr().err
    assert clerk_row(archive.db, "clerk2") == before
    with archive.db.read() as s:
        assert s.exec(select(Clerk).where(Clerk.username == "clerk9")).first() is None


def test_an_administrator_changes_accounts_and_every_change_is_sealed(
    archive: TinyArchive, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = clerk_row(archive.db, "admin1")
    start = len(account_events(archive.db))
    steps = [
        (ADD_CLERK9, (PASSWORD, "new password 1", "new password 1"), "account_added"),
        (("passwd", "clerk9"), (PASSWORD, "new password 2", "new password 2"), None),
        (("disable", "clerk9"), (PASSWORD,), "account_disabled"),
        (("enable", "clerk9"), (PASSWORD,), "account_enabled"),
        (("own-id", "clerk9"), (PASSWORD, "11010519491231002X"), "account_changed"),
    ]
    for args, passwords, _kind in steps:
        assert run_user(archive, monkeypatch, *args, passwords=passwords) == 0, capsys.readouterr()
    events = account_events(archive.db)[start:]
    assert [e.kind for e in events] == [
        "account_added",
        "account_password_changed",
        "account_disabled",
        "account_enabled",
        "account_changed",
    ]
    clerk9 = clerk_row(archive.db, "clerk9")
    # Each names the administrator and the account; the last holds the row as it is now.
    assert {(e.clerk_id, e.target_id) for e in events} == {(admin.id, clerk9.id)}
    assert events[-1].reason == seals.row_content_hash(clerk9)
    assert len({e.reason for e in events}) == 4  # enabling again restores the added content
    assert auth.authenticate(archive.db, "clerk9", "new password 2").clerk.name == "周杰"
    assert auth.is_own_dossier(archive.db, clerk9.id, "11010519491231002X")
    # The access log shows them with their labels.
    assert all(e.kind in access_log.KIND_LABELS for e in events)
    report = fixity.verify(archive.db)
    assert report.ok, fixity.summary(report)


def test_the_first_administrator_of_an_empty_database_needs_no_log_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    db = Database(url)
    migrate.upgrade(db)
    auth.add_institution(db, code="CY-RC", name="北京市朝阳区人才服务中心", serial_prefix="CY")
    args = ["--db", url]
    answers = iter(["long enough 1", "long enough 1"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    monkeypatch.setattr("builtins.input", lambda prompt="": pytest.fail("asked for a log-in"))
    base = [*args, "--lang", "en", "user", "add"]
    # Not as a clerk: the first account must be able to make the others.
    assert cli.main([*base, "x1", "--name", "某", "--role", "clerk", "--institution", "CY-RC"]) == 1
    assert "must be an administrator" in capsys.readouterr().err
    answers = iter(["long enough 1", "long enough 1"])
    assert (
        cli.main([*base, "root", "--name", "管理员", "--role", "admin", "--institution", "CY-RC"])
        == 0
    )
    root = auth.authenticate(db, "root", "long enough 1")
    (event,) = account_events(db)
    # The first administrator made itself.
    assert (event.kind, event.clerk_id, event.target_id) == (
        "account_added",
        root.clerk.id,
        root.clerk.id,
    )
    assert fixity.verify(db).ok
    # From now on a log-in is needed, even for another administrator.
    assert auth.has_accounts(db)
    with pytest.raises(auth.AuthError) as refused:
        auth.add_user(
            db,
            username="root2",
            name="二",
            role="admin",
            institution_code="CY-RC",
            password="long enough 2",
        )
    assert refused.value.reason == "forbidden"
    db.dispose()


def test_the_cli_first_admin_prompt_seals_the_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'new.db'}")
    migrate.upgrade(db)
    answers = iter(["cy-rc", "朝阳区人才服务中心", "cy", "", "", "root", "管理员"])
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    passwords = iter(["long enough 1", "long enough 1"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(passwords))
    assert cli._first_admin(db) is True
    assert [e.kind for e in account_events(db)] == ["account_added"]
    assert fixity.verify(db).ok
    db.dispose()


def test_the_last_active_administrator_cannot_be_disabled(archive: TinyArchive) -> None:
    admin = auth.authenticate(archive.db, "admin1", PASSWORD)
    with pytest.raises(auth.AuthError) as refused:
        auth.set_active(archive.db, "admin1", False, actor=admin)
    assert refused.value.reason == "invalid"
    assert clerk_row(archive.db, "admin1").active


def test_a_disabled_administrator_may_not_change_accounts(archive: TinyArchive) -> None:
    first = auth.authenticate(archive.db, "admin1", PASSWORD)
    second = add_admin(archive, "admin2", "周平")
    auth.set_active(archive.db, "admin1", False, actor=second)
    with pytest.raises(auth.AuthError) as refused:
        auth.set_password(archive.db, "clerk1", "new password 3", actor=first)
    assert refused.value.reason == "disabled"


# --------------------------------------------------------------------------------------------
# audit verify: accounts behind the application's back


def audit(archive: TinyArchive, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = cli.main(
        [
            "--db",
            archive.settings.db_url,
            "--archive-root",
            str(archive.settings.archive_dir),
            "--lang",
            "en",
            "audit",
            "verify",
        ]
    )
    return status, capsys.readouterr().out


def test_a_clean_archive_verifies_with_its_accounts(
    archive: TinyArchive, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = audit(archive, capsys)
    assert status == 0, out
    assert "No tampering found." in out


def test_audit_verify_names_an_account_inserted_with_sqlite3(
    archive: TinyArchive, capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite3.connect(Path(archive.settings.db_url.removeprefix("sqlite:///"))) as conn:
        conn.execute(
            "INSERT INTO clerk (id, username, name, role, institution_id, password_hash, "
            "id_number_hash, active, created_at) SELECT lower(hex(randomblob(16))), 'mole', "
            "'内鬼', 'admin', institution_id, password_hash, NULL, 1, created_at "
            "FROM clerk WHERE username = 'clerk1'"
        )
    # The intruder's account logs in as any other: only verify tells.
    assert auth.authenticate(archive.db, "mole", PASSWORD).clerk.role == "admin"

    report = fixity.verify(archive.db)
    (problem,) = report.problems
    mole = clerk_row(archive.db, "mole")
    assert (problem.table, problem.row_id, problem.what) == ("clerk", str(mole.id), "unsealed")
    assert "mole" in problem.message
    status, out = audit(archive, capsys)
    assert status == 1 and "mole" in out and "never sealed" in out


def test_audit_verify_names_a_swapped_password_hash(
    archive: TinyArchive, capsys: pytest.CaptureFixture[str]
) -> None:
    known = auth.hash_secret("attacker knows 1")
    with sqlite3.connect(Path(archive.settings.db_url.removeprefix("sqlite:///"))) as conn:
        conn.execute("UPDATE clerk SET password_hash = ? WHERE username = 'audit1'", (known,))
    assert auth.authenticate(archive.db, "audit1", "attacker knows 1")

    report = fixity.verify(archive.db)
    (problem,) = report.problems
    assert (problem.table, problem.what) == ("clerk", "changed")
    assert problem.row_id == str(clerk_row(archive.db, "audit1").id)
    status, out = audit(archive, capsys)
    assert status == 1 and "audit1" in out and "differs from its sealed content" in out


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE clerk SET role = 'admin' WHERE username = 'clerk1'",
        "UPDATE clerk SET active = 1 - active WHERE username = 'clerk1'",
        "UPDATE clerk SET id_number_hash = NULL WHERE username = 'clerk2'",
    ],
)
def test_audit_verify_names_any_edited_account_column(archive: TinyArchive, statement: str) -> None:
    with sqlite3.connect(Path(archive.settings.db_url.removeprefix("sqlite:///"))) as conn:
        conn.execute(statement)
    (problem,) = fixity.verify(archive.db).problems
    assert (problem.table, problem.what) == ("clerk", "changed")


def test_a_password_changed_through_the_service_still_verifies(archive: TinyArchive) -> None:
    admin = auth.authenticate(archive.db, "admin1", PASSWORD)
    before = clerk_row(archive.db, "clerk1")
    auth.set_password(archive.db, "clerk1", "new password 4", actor=admin)
    after = clerk_row(archive.db, "clerk1")
    # The content hash follows the password hash, so a swapped hash cannot hide behind it.
    assert seals.row_content_hash(before) != seals.row_content_hash(after)
    assert fixity.verify(archive.db).ok


def test_a_writing_command_signs_the_chain_so_its_change_cannot_be_cut_off(
    archive: TinyArchive, monkeypatch: pytest.MonkeyPatch
) -> None:
    from counter_tui.db.models import ChainCheckpoint
    from counter_tui.services import checkpoints, fixity

    assert checkpoints.sign(archive.db, "CY-RC") is not None  # the counter's key exists
    assert run_user(archive, monkeypatch, "disable", "clerk2", passwords=(PASSWORD,)) == 0
    with archive.db.read() as s:
        head = s.exec(select(AccessEvent).order_by(AccessEvent.seq.desc())).first()
        latest = s.exec(select(ChainCheckpoint).order_by(ChainCheckpoint.seq.desc())).first()
    assert (latest.seq, latest.head_hash) == (head.seq, head.hash)
    assert head.kind == "account_disabled"
    # Undoing the disable by cutting the tail and re-enabling the row is now caught.
    connection = sqlite3.connect(archive.settings.db_url.removeprefix("sqlite:///"))
    with connection:
        for table in ("access_event", "clerk"):
            connection.execute(f"DROP TRIGGER IF EXISTS {table}_append_only_delete")
        connection.execute("DELETE FROM access_event WHERE seq = ?", (head.seq,))
        connection.execute("UPDATE clerk SET active = 1 WHERE username = 'clerk2'")
    connection.close()
    assert ("chain_checkpoint", "truncated") in {
        (p.table, p.what) for p in fixity.verify(archive.db).problems
    }
