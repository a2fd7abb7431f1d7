"""``counter-tui central init URL`` and ``central add-office URL CODE [--store-password]``
against the throwaway PostgreSQL server: the administrator's password from the keyring or a
prompt (never the URL), the office's password shown once or kept in the keyring, and a plain
sentence (no traceback) for each way it can fail."""

from __future__ import annotations

import socket

import psycopg
import pytest
from sqlalchemy.engine import make_url

from counter_tui import cli
from counter_tui.services import central
from tests.support.factories import tiny_archive
from tests.support.pg import PASSWORD_GROUP

pytestmark = pytest.mark.postgres


def admin_connect(url: str) -> psycopg.Connection:
    u = make_url(url)
    return psycopg.connect(
        host=u.host, port=u.port, dbname=u.database, user=u.username, autocommit=True
    )


@pytest.fixture
def seeded(tmp_path, postgres_url: str) -> str:
    """A database holding tiny_archive's institutions and dossiers (not yet central)."""
    tiny_archive(tmp_path, db_url=postgres_url).db.dispose()
    return postgres_url


@pytest.fixture
def password_admin(postgres_url: str) -> tuple[str, str]:
    """A superuser that must give its password over TCP: (URL without password, password)."""
    role = "central_admin_" + make_url(postgres_url).database[2:14]
    with admin_connect(postgres_url) as conn:
        conn.execute(
            f"DO $$ BEGIN CREATE ROLE {PASSWORD_GROUP} NOLOGIN; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
        conn.execute(
            f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD 'admin-pw-1' IN ROLE {PASSWORD_GROUP}"
        )
    url = make_url(postgres_url).set(username=role).render_as_string(hide_password=False)
    return url, "admin-pw-1"


def test_init_then_add_office_prints_the_password_once(seeded: str, capsys) -> None:
    assert cli.main(["central", "init", seeded]) == 0
    assert cli.main(["central", "init", seeded]) == 0  # safe to rerun
    out = capsys.readouterr().out
    assert out.count(f"架构版本 {central.SCHEMA_VERSION}") == 2  # Chinese by default

    assert cli.main(["--lang", "en", "central", "add-office", seeded, "CY-RC"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    password = lines[-1]
    assert "office_cy_rc" in lines[0] and "shown only this once" in lines[0]
    u = make_url(seeded)
    with psycopg.connect(
        host=u.host, port=u.port, dbname=u.database, user="office_cy_rc", password=password
    ) as conn:
        assert conn.execute(
            "SELECT code FROM institution WHERE id = current_office()"
        ).fetchone() == ("CY-RC",)


def test_store_password_keeps_it_in_the_keyring_and_shows_nothing(
    seeded: str, capsys, memory_keyring
) -> None:
    assert cli.main(["central", "init", seeded]) == 0
    assert (
        cli.main(["--lang", "en", "central", "add-office", seeded, "cy-jy", "--store-password"])
        == 0
    )
    out = capsys.readouterr().out
    stored = memory_keyring.get_password("counter-tui", "db-password")
    assert stored and len(stored) == 32
    assert stored not in out
    assert "postgresql+psycopg://office_cy_jy@" in out


def test_the_admin_password_comes_from_the_keyring_or_the_prompt(
    seeded: str, password_admin, capsys, memory_keyring, monkeypatch
) -> None:
    url, password = password_admin
    memory_keyring.set_password("counter-tui", "db-password", password)
    asked: list[str] = []
    monkeypatch.setattr("getpass.getpass", lambda prompt="": asked.append(prompt) or "")
    assert cli.main(["central", "init", url]) == 0
    assert asked == []  # the keyring's password was accepted

    memory_keyring.set_password("counter-tui", "db-password", "stale")
    monkeypatch.setattr("getpass.getpass", lambda prompt="": asked.append(prompt) or password)
    assert cli.main(["--lang", "en", "central", "add-office", url, "CY-RC"]) == 0
    assert len(asked) == 1 and "central database" in asked[0]


def test_a_wrong_password_is_refused_in_plain_words(
    seeded: str, password_admin, capsys, monkeypatch
) -> None:
    url, _password = password_admin
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "wrong")
    assert cli.main(["--lang", "en", "central", "init", url]) == 1
    err = capsys.readouterr().err
    assert "refused the log-in" in err and "Traceback" not in err


def test_a_password_in_the_url_is_refused_before_anything_is_done(seeded: str, capsys) -> None:
    url = make_url(seeded).set(password="secret-1").render_as_string(hide_password=False)
    assert cli.main(["--lang", "en", "central", "init", url]) == 2
    err = capsys.readouterr().err
    assert "must not contain a password" in err and "secret-1" not in err
    with admin_connect(seeded) as conn:
        assert conn.execute("SELECT to_regclass('central_meta')").fetchone() == (None,)


def test_an_unreachable_server_is_named(capsys) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once closed
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/central"
    assert cli.main(["--lang", "en", "central", "init", url]) == 1
    err = capsys.readouterr().err
    assert "cannot be reached" in err and "Traceback" not in err


def test_a_database_of_another_program_and_an_unknown_code_are_refused(
    seeded: str, postgres_server, capsys
) -> None:
    assert cli.main(["central", "init", seeded]) == 0
    assert cli.main(["--lang", "en", "central", "add-office", seeded, "XX-NONE"]) == 1
    assert "No institution with code XX-NONE" in capsys.readouterr().err

    other = postgres_server.url(make_url(seeded).database + "_other")
    with postgres_server.connect() as conn:
        conn.execute(f'CREATE DATABASE "{make_url(other).database}"')
    try:
        with admin_connect(other) as conn:
            conn.execute("CREATE TABLE invoices (id int)")
        assert cli.main(["--lang", "en", "central", "init", other]) == 1
        err = capsys.readouterr().err
        assert "already holds tables of another program" in err and "Traceback" not in err
    finally:
        with postgres_server.connect() as conn:
            conn.execute(f'DROP DATABASE "{make_url(other).database}" WITH (FORCE)')


def test_help_is_in_chinese_by_default(capsys) -> None:
    with pytest.raises(SystemExit):
        cli.main(["central", "add-office", "--help"])
    out = capsys.readouterr().out
    assert "--store-password" in out and "机构代码" in out


def test_institutions_are_registered_from_an_archive_and_kept_current(
    tmp_path, postgres_url: str, capsys
) -> None:
    archive = tiny_archive(tmp_path)
    assert cli.main(["central", "init", postgres_url]) == 0
    with admin_connect(postgres_url) as conn:
        # Another institution already uses the prefix CJ (CY-JY's): CY-JY is refused.
        conn.execute(
            "INSERT INTO institution (id, code, name, kind, serial_prefix, uscc, address, phone) "
            "VALUES (gen_random_uuid(), 'HD-RC', '海淀区人才服务中心', 'district', 'CJ', '', '', '')"
        )
    capsys.readouterr()
    db_args = ["--db", archive.settings.db]
    assert cli.main([*db_args, "central", "institutions", postgres_url]) == 1
    captured = capsys.readouterr()
    assert "CY-RC" in captured.out and "CY-JY" in captured.err and "HD-RC" in captured.err
    with admin_connect(postgres_url) as conn:
        conn.execute("UPDATE institution SET serial_prefix = 'HD' WHERE code = 'HD-RC'")
    assert cli.main(["--lang", "en", *db_args, "central", "institutions", postgres_url]) == 0
    out = capsys.readouterr().out
    assert "added: CY-JY" in out and "unchanged: CY-RC" in out
    with archive.db.write() as s:
        from sqlmodel import select

        from counter_tui.db.models import Institution

        row = s.exec(select(Institution).where(Institution.code == "CY-RC")).one()
        row.phone = "010-65000000"
        s.add(row)
    assert cli.main(["--lang", "en", *db_args, "central", "institutions", postgres_url]) == 0
    assert "updated: CY-RC" in capsys.readouterr().out
    with admin_connect(postgres_url) as conn:
        ids = dict(conn.execute("SELECT code, id FROM institution").fetchall())
        phone = conn.execute("SELECT phone FROM institution WHERE code = 'CY-RC'").fetchone()[0]
    assert ids["CY-RC"] == archive.ids["here"] and phone == "010-65000000"
