"""Engine factory and transactions.

SQLite (a file on the counter PC or an offline laptop): WAL journal, ``foreign_keys=ON``, a busy
timeout, and writes in ``BEGIN IMMEDIATE`` transactions so two writers queue instead of failing
half-way. PostgreSQL (the central store): ordinary transactions. Nothing is built at import time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from counter_tui.errors import CounterError
from counter_tui.i18n import _

BUSY_TIMEOUT_MS = 5000


class StorageBusyError(CounterError, RuntimeError):
    """The database stayed locked by another writer for longer than the busy timeout.

    ``str(error)`` is the clerk's sentence; ``detail`` the driver's own words (for the log)."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            _("The database is busy (another counter is writing); please try again."),
            reason="busy",
        )
        self.detail = detail


class Database:
    """An engine plus read and write session factories.

    ``url`` is an SQLAlchemy URL: ``sqlite:///path/archive.db`` or
    ``postgresql+psycopg://user@host/db``. The SQLite file's folder is created if missing.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            if self.url.database and self.url.database != ":memory:":
                Path(self.url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(
                self.url,
                echo=echo,
                connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            )
            _configure_sqlite(self.engine)
        else:
            self.engine = create_engine(self.url, echo=echo, pool_pre_ping=True)
        self._write_engine = self.engine.execution_options(sqlite_begin="BEGIN IMMEDIATE")

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads. Closing it ends the transaction; loaded rows stay readable
        (detached, not expired) for building read models."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
            except OperationalError as exc:
                raise _translate(exc) from exc

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A session for one write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on
        success and rolled back on any exception. Raises StorageBusyError when the file stays
        locked past the busy timeout."""
        with Session(self._write_engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except OperationalError as exc:
                session.rollback()
                raise _translate(exc) from exc
            except BaseException:
                session.rollback()
                raise

    @contextlib.contextmanager
    def begin_write_connection(self) -> Iterator[Connection]:
        """A Core connection in one write transaction (BEGIN IMMEDIATE on SQLite), for
        migrations and bulk loads; committed on success."""
        with self._write_engine.begin() as connection:
            yield connection

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _translate(exc: OperationalError) -> Exception:
    if "locked" in str(exc.orig).lower() or "busy" in str(exc.orig).lower():
        return StorageBusyError(str(exc.orig))
    return exc


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001
        # Let SQLAlchemy's "begin" hook emit BEGIN itself (pysqlite's own handling defers it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # noqa: ANN001
        connection.exec_driver_sql(connection.get_execution_options().get("sqlite_begin", "BEGIN"))
