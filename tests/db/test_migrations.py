"""Migrations and engine behaviour against real databases (an SQLite file and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from counter_tui.db import engine as engine_module
from counter_tui.db import migrate, models
from counter_tui.db.engine import Database, StorageBusyError

EXPECTED_TABLES = {
    "institution",
    "clerk",
    "dossier",
    "custody_event",
    "material",
    "page",
    "service_visit",
    "service_event",
    "certificate",
    "access_event",
}


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def empty_db(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:  # noqa: ANN001
    """An empty database of each kind: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'archive' / 'archive.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    db = Database(url)
    try:
        yield db
    finally:
        db.dispose()


def _schema_drift(db: Database) -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, models.metadata)


def _sqlite_db(tmp_path) -> Database:  # noqa: ANN001
    db = Database(f"sqlite:///{tmp_path / 'archive.db'}")
    migrate.upgrade(db)
    return db


# --------------------------------------------------------------------------------------------
# Migrations (both backends)


def test_upgrade_reaches_head_and_is_idempotent(empty_db: Database) -> None:
    assert migrate.current_revision(empty_db) is None
    migrate.upgrade(empty_db)
    assert migrate.current_revision(empty_db) == migrate.head_revision()
    tables = set(inspect(empty_db.engine).get_table_names())
    assert EXPECTED_TABLES <= tables
    assert "alembic_version" in tables

    migrate.upgrade(empty_db)  # every start runs it again
    assert migrate.current_revision(empty_db) == migrate.head_revision()


def test_the_packaged_head_is_read_as_alembic_reads_it() -> None:
    assert migrate.packaged_head() == migrate.head_revision()


def test_a_database_at_head_is_opened_without_importing_alembic(
    empty_db: Database, tmp_path: Path
) -> None:
    """Alembic, Mako and Pygments (~6 MB resident) stay out of a counter whose database is
    current (issue 13); one that is not is migrated as before."""
    migrate.upgrade(empty_db, "0001")
    url = empty_db.url.render_as_string(hide_password=False)
    code = (
        "import sys\n"
        "from counter_tui.db import migrate\n"
        "from counter_tui.db.engine import Database\n"
        f"db = Database({url!r})\n"
        "migrate.upgrade(db)\n"
        "print(migrate.recorded_revision(db.engine.connect()), 'alembic' in sys.modules)\n"
        "db.dispose()\n"
    )
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    head = migrate.head_revision()
    assert first.stdout.split() == [head, "True"]  # 0001 → head: Alembic did it
    assert again.stdout.split() == [head, "False"]  # at head: not even imported


def test_an_unusual_script_leaves_the_decision_to_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "0001_a.py").write_text('revision = "0001"\ndown_revision = None\n')
    (versions / "0002_b.py").write_text('revision = "0002"\ndown_revision = "0001"\n')
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", tmp_path)
    migrate.packaged_head.cache_clear()
    try:
        assert migrate.packaged_head() == "0002"
        migrate.packaged_head.cache_clear()
        (versions / "0003_merge.py").write_text(
            'revision = "0003"\ndown_revision = ("0001", "0002")\n'
        )
        assert migrate.packaged_head() is None
        migrate.packaged_head.cache_clear()
        (versions / "0003_merge.py").write_text('revision = "0003"\ndown_revision = "0001"\n')
        assert migrate.packaged_head() is None  # two heads: 0002 and 0003
    finally:
        migrate.packaged_head.cache_clear()


def test_migrations_match_models(empty_db: Database) -> None:
    migrate.upgrade(empty_db)
    assert _schema_drift(empty_db) == []


def test_downgrade_to_base_and_back(empty_db: Database) -> None:
    migrate.upgrade(empty_db)
    cfg = migrate.alembic_config()
    with empty_db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "base")
    assert migrate.current_revision(empty_db) is None
    assert not EXPECTED_TABLES & set(inspect(empty_db.engine).get_table_names())

    migrate.upgrade(empty_db)
    assert migrate.current_revision(empty_db) == migrate.head_revision()
    assert _schema_drift(empty_db) == []


def test_migrated_schema_round_trips_rows(empty_db: Database) -> None:
    migrate.upgrade(empty_db)
    with empty_db.write() as session:
        inst = models.Institution(
            code="110105", name="朝阳区人才服务中心", kind="district", serial_prefix="CY"
        )
        session.add(inst)
        session.flush()
        session.add(
            models.Clerk(username="wang", name="王芳", role="clerk", institution_id=inst.id)
        )
    with empty_db.read() as session:
        clerk = session.exec(select(models.Clerk).where(models.Clerk.username == "wang")).one()
        assert clerk.institution_id == inst.id
        assert clerk.created_at.utcoffset() == dt.timedelta(0)  # aware UTC on both backends
        assert abs(models.utcnow() - clerk.created_at) < dt.timedelta(minutes=1)

    # Foreign keys are enforced (SQLite only does that with PRAGMA foreign_keys=ON).
    with pytest.raises(IntegrityError), empty_db.write() as session:
        session.add(
            models.Clerk(username="li", name="李", role="clerk", institution_id=models.new_id())
        )


# --------------------------------------------------------------------------------------------
# SQLite connection settings


def test_sqlite_connection_pragmas(tmp_path) -> None:  # noqa: ANN001
    db = _sqlite_db(tmp_path)
    try:
        for open_session in (db.read, db.write):
            with open_session() as session:
                conn = session.connection()
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == (
                    engine_module.BUSY_TIMEOUT_MS
                )
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert (tmp_path / "archive.db-wal").exists()
    finally:
        db.dispose()


# --------------------------------------------------------------------------------------------
# SQLite write locking: BEGIN IMMEDIATE


class _Holder(threading.Thread):
    """Opens ``db.write()`` in its own thread, runs only a SELECT in it, and holds the
    transaction open until told to finish (then commits)."""

    def __init__(self, db: Database) -> None:
        super().__init__(daemon=True)
        self.db = db
        self.began = threading.Event()
        self.release = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.db.write() as session:
                # A read only: a deferred BEGIN would take no write lock here.
                session.exec(select(models.Institution)).all()
                self.began.set()
                self.release.wait(10)
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            self.error = exc
            self.began.set()

    def __enter__(self) -> _Holder:
        self.start()
        assert self.began.wait(10), "the holder thread never began its transaction"
        assert self.error is None, self.error
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release.set()
        self.join(10)
        assert self.error is None, self.error


def test_sqlite_second_writer_waits_then_fails_busy(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    timeout_ms = 300
    monkeypatch.setattr(engine_module, "BUSY_TIMEOUT_MS", timeout_ms)
    db = _sqlite_db(tmp_path)
    try:
        with _Holder(db):
            # Readers are not blocked by the open write transaction (WAL).
            with db.read() as session:
                assert session.exec(select(models.Institution)).all() == []

            started = time.monotonic()
            with pytest.raises(StorageBusyError), db.write() as session:
                session.exec(select(models.Institution)).all()  # BEGIN IMMEDIATE waits here
            waited = time.monotonic() - started
        assert waited >= 0.8 * timeout_ms / 1000, f"gave up after {waited:.3f}s, no wait"
        assert waited < 5, f"waited {waited:.3f}s for a {timeout_ms} ms busy timeout"
    finally:
        db.dispose()


def test_sqlite_second_writer_queues_behind_first(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(engine_module, "BUSY_TIMEOUT_MS", 5000)
    db = _sqlite_db(tmp_path)
    try:
        with _Holder(db) as holder:
            threading.Timer(0.3, holder.release.set).start()
            started = time.monotonic()
            with db.write() as session:
                session.add(
                    models.Institution(code="1101", name="市中心", kind="city", serial_prefix="BJ")
                )
            waited = time.monotonic() - started
        assert 0.2 <= waited < 5, f"second writer waited {waited:.3f}s"
        with db.read() as session:
            assert [i.code for i in session.exec(select(models.Institution))] == ["1101"]
    finally:
        db.dispose()
