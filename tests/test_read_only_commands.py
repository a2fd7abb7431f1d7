"""Read-only commands (``audit verify``, ``report``, ``certificate verify``, ``locate``) open the archive
read-only: the file's bytes and mtime stay the same, they work on a file the user cannot write
and while another process holds the write lock, never migrate, and call a file that is not an
archive (zero bytes, another kind of file, an SQLite file without our tables) by its name."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from counter_tui import cli
from counter_tui.db import migrate
from counter_tui.db.engine import Database, ReadOnlyDatabaseError
from counter_tui.services import certificate_signing as cs
from tests.services.test_certificate_verify import INSTITUTION, T_KEY, issue_certificate
from tests.support.factories import TinyArchive, tiny_archive
from tests.support.keyrings import MemoryKeyring


@pytest.fixture
def archive(tmp_path: Path, memory_keyring: MemoryKeyring) -> TinyArchive:
    archive = tiny_archive(tmp_path)
    cs.create_signing_key(INSTITUTION, now=T_KEY)
    return archive


@pytest.fixture
def code(archive: TinyArchive) -> str:
    """The payload of one issued certificate; the archive is closed (WAL checkpointed)."""
    payload = issue_certificate(archive)
    archive.db.dispose()
    return payload


def commands(code: str) -> dict[str, list[str]]:
    return {
        "audit": ["audit", "verify"],
        "report": ["report", "--from", "2026-01-01", "--to", "2026-12-31", "--format", "json"],
        "certificate": ["certificate", "verify", code],
        "locate": ["locate", "DA00000001"],
    }


def where(archive: TinyArchive, db_file: Path | None = None) -> list[str]:
    return [
        "--db",
        f"sqlite:///{db_file}" if db_file else archive.settings.db_url,
        "--archive-root",
        str(archive.settings.archive_dir),
        "--data-dir",
        str(archive.settings.data_dir),
    ]


def db_file(archive: TinyArchive) -> Path:
    return Path(archive.settings.db_url.removeprefix("sqlite:///"))


def snapshot(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


@pytest.mark.parametrize("command", ["audit", "report", "certificate", "locate"])
def test_the_file_is_unchanged_and_readable_when_not_writable(
    archive: TinyArchive, code: str, command: str, capsys
) -> None:  # noqa: ANN001
    path = db_file(archive)
    # Root ignores the mode; there the mode=ro connection is what refuses writes (see
    # test_a_read_only_database_refuses_writes_and_takes_no_lock).
    path.chmod(0o400)
    before = snapshot(path)
    status = cli.main([*where(archive), *commands(code)[command]])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert out and "Traceback" not in err
    assert snapshot(path) == before
    assert path.stat().st_mode & 0o777 == 0o400


@pytest.mark.parametrize("command", ["audit", "report", "certificate", "locate"])
def test_works_while_another_process_holds_the_write_lock(
    archive: TinyArchive, code: str, command: str, capsys
) -> None:  # noqa: ANN001
    path = db_file(archive)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            f"c = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.readline()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        # The lock is real: a writer gives up.
        probe = sqlite3.connect(path, timeout=0.1, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            probe.execute("BEGIN IMMEDIATE")
        probe.close()
        before = snapshot(path)
        started = time.monotonic()
        status = cli.main([*where(archive), *commands(code)[command]])
        elapsed = time.monotonic() - started
        err = capsys.readouterr().err
        assert status == 0, err
        assert elapsed < 3  # not waiting out the 5 s busy timeout
        assert snapshot(path) == before
    finally:
        holder.communicate("\n", timeout=10)


def _zero_bytes(path: Path) -> None:
    path.write_bytes(b"")


def _not_sqlite(path: Path) -> None:
    path.write_bytes("人事档案\n".encode() * 400)


def _other_sqlite(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE notes (body TEXT)")
    connection.commit()
    connection.close()


def _empty_sqlite(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA user_version = 1")  # a real SQLite header, no tables
    connection.commit()
    connection.close()


@pytest.mark.parametrize("make", [_zero_bytes, _not_sqlite, _other_sqlite, _empty_sqlite])
@pytest.mark.parametrize("command", ["audit", "report", "certificate", "locate"])
def test_a_file_that_is_not_an_archive_says_so(
    archive: TinyArchive, code: str, command: str, make, tmp_path: Path, capsys
) -> None:  # noqa: ANN001
    path = tmp_path / "suspect.db"
    make(path)
    before = snapshot(path)
    status = cli.main([*where(archive, path), *commands(code)[command]])
    out, err = capsys.readouterr()
    assert status != 0
    assert "不是档案窗口（Counter TUI）的档案数据库" in err, err
    assert "Traceback" not in err + out
    assert snapshot(path) == before  # a zero-byte file stays zero bytes: nothing migrated


def test_a_schema_that_is_behind_says_so_and_is_not_migrated(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    path = tmp_path / "old.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db, "0005")
    db.dispose()
    before = snapshot(path)
    for argv in (["audit", "verify"], ["report", "--from", "2026-01-01", "--to", "2026-01-02"]):
        assert cli.main(["--db", f"sqlite:///{path}", *argv]) == 1
        err = capsys.readouterr().err
        assert "counter-tui db upgrade" in err and "Traceback" not in err
    assert snapshot(path) == before


def test_a_schema_from_a_newer_version_says_so(archive: TinyArchive, capsys) -> None:  # noqa: ANN001
    path = db_file(archive)
    archive.db.dispose()
    connection = sqlite3.connect(path)
    connection.execute("UPDATE alembic_version SET version_num = '0999_future'")
    connection.commit()
    connection.close()
    assert cli.main([*where(archive), "audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "更新版本" in err and "0999_future" in err


def test_a_read_only_database_refuses_writes_and_takes_no_lock(archive: TinyArchive) -> None:
    archive.db.dispose()
    db = Database(archive.settings.db_url, read_only=True)
    try:
        with pytest.raises(ReadOnlyDatabaseError):
            with db.write():
                pass
        with pytest.raises(ReadOnlyDatabaseError):
            with db.begin_write_connection():
                pass
        with db.read() as session:
            assert session.execute(text("SELECT count(*) FROM dossier")).scalar_one() == 3
            # SQLite itself refuses: the connection is mode=ro.
            with pytest.raises(Exception, match="readonly"):
                session.execute(text("CREATE TABLE x (y INT)"))
    finally:
        db.dispose()


def test_a_missing_file_is_not_created(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    path = tmp_path / "nowhere" / "archive.db"
    for argv in (
        ["audit", "verify"],
        ["report", "--from", "2026-01-01", "--to", "2026-01-02"],
        ["certificate", "verify", "SVGX-6R0M-542"],
    ):
        assert cli.main(["--db", f"sqlite:///{path}", *argv]) != 0
        assert "没有档案数据库" in capsys.readouterr().err
    assert not path.parent.exists()


@pytest.mark.postgres
def test_postgresql_sessions_are_read_only(postgres_url: str) -> None:
    db = Database(postgres_url)
    migrate.upgrade(db)
    db.dispose()
    reader = Database(postgres_url, read_only=True)
    try:
        with reader.read() as session:
            assert session.execute(text("SHOW transaction_read_only")).scalar_one() == "on"
            with pytest.raises(Exception, match="read-only"):
                session.execute(text("CREATE TABLE x (y INT)"))
    finally:
        reader.dispose()
