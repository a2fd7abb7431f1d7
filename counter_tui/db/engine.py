"""Engine factory and transactions.

SQLite (a file on the counter PC or an offline laptop): WAL journal, ``foreign_keys=ON``, a busy
timeout, and writes in ``BEGIN IMMEDIATE`` transactions so two writers queue instead of failing
half-way. PostgreSQL (the central store): ordinary transactions. Nothing is built at import time.

Files: the SQLite file is created here, mode 0600, before SQLite first opens it, in a folder
created 0700; SQLite gives its ``-wal`` and ``-shm`` files the mode of the database file, so
they are private too whatever the umask. A read-only :class:`Database` (``read_only=True``:
``audit verify``, ``report``, ``certificate verify``) opens SQLite with ``mode=ro`` and
PostgreSQL with ``default_transaction_read_only``: it never writes, never migrates and never
takes the write lock.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.sql import Select
from sqlmodel import Session

from counter_tui.errors import CounterError
from counter_tui.i18n import _

BUSY_TIMEOUT_MS = 5000
PRIVATE_DIR_MODE = 0o700
"""Mode of every folder this program creates (data folder, logs, certificates, pages)."""
PRIVATE_FILE_MODE = 0o600
"""Mode of every file this program creates (database, page images, certificates, logs)."""


def make_private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parent folder with mode 0700 whatever the umask (each
    new folder is chmod-ed after creation); folders that exist keep their mode. Returns
    ``path``. Raises OSError (no permission, read-only disk, a file in the way)."""
    path = Path(path).expanduser()
    missing = []
    for folder in (path, *path.parents):
        if folder.is_dir():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            if not folder.is_dir():
                raise
            continue  # another process made it meanwhile
        os.chmod(folder, PRIVATE_DIR_MODE)
    return path


def create_private_file(path: Path) -> bool:
    """Create an empty file at ``path`` with mode 0600 (whatever the umask) unless something
    already exists there; returns whether it was created. Raises OSError."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)
    return True


class StorageBusyError(CounterError, RuntimeError):
    """The database stayed locked by another writer for longer than the busy timeout.

    ``str(error)`` is the clerk's sentence; ``detail`` the driver's own words (for the log)."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            _("The database is busy (another counter is writing); please try again."),
            reason="busy",
        )
        self.detail = detail


class ReadOnlyDatabaseError(RuntimeError):
    """A write was attempted through a read-only :class:`Database` (a programming error)."""


class Database:
    """An engine plus read and write session factories.

    ``url`` is an SQLAlchemy URL: ``sqlite:///path/archive.db`` or
    ``postgresql+psycopg://user@host/db``. A missing SQLite file is created empty with mode
    0600 (its missing folders 0700) before SQLite opens it.

    ``read_only=True``: nothing is created or written: SQLite is opened with the URI
    ``file:…?mode=ro`` (no journal-mode change, so no write lock is ever taken), PostgreSQL
    sessions run with ``default_transaction_read_only``; :meth:`write` and
    :meth:`begin_write_connection` raise ReadOnlyDatabaseError.
    """

    def __init__(self, url: str | URL, *, echo: bool = False, read_only: bool = False) -> None:
        self.url = make_url(url)
        self.read_only = read_only
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            file = sqlite_path(self.url)
            connect_args: dict[str, object] = {
                "timeout": BUSY_TIMEOUT_MS / 1000,
                "check_same_thread": False,
            }
            creator = None
            if file is not None and read_only:
                # A URI names the file exactly (spaces, "?" and "#" percent-encoded).
                uri = file.absolute().as_uri() + "?mode=ro"

                def creator() -> sqlite3.Connection:
                    return sqlite3.connect(uri, uri=True, **connect_args)  # type: ignore[arg-type]

            elif file is not None:
                make_private_dir(file.parent)
                create_private_file(file)
                _tighten(file)
            kwargs: dict[str, object] = {"creator": creator} if creator else {}
            self.engine: Engine = create_engine(
                self.url, echo=echo, connect_args=connect_args, **kwargs
            )
            _configure_sqlite(self.engine, read_only=read_only)
        else:
            connect_args = {}
            if read_only:
                connect_args["options"] = "-c default_transaction_read_only=on"
            self.engine = create_engine(
                self.url, echo=echo, pool_pre_ping=True, connect_args=connect_args
            )
        self._write_engine = self.engine.execution_options(sqlite_begin="BEGIN IMMEDIATE")
        self._plans: dict[Select, _Plan] = {}

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads. Closing it ends the transaction; loaded rows stay readable
        (detached, not expired) for building read models."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
            except OperationalError as exc:
                raise _translate(exc) from exc

    def read_rows(self, statement: Select, params: Mapping[str, object]) -> list[tuple[Any, ...]]:
        """The rows of one read ``statement`` (a Core SELECT with named bound parameters,
        ``params`` their values), run outside any transaction: the statement is its own
        snapshot (SQLite in autocommit mode; PostgreSQL READ COMMITTED in autocommit). Values
        come back converted by the columns' types as SQLAlchemy converts them (UUIDs,
        timezone-aware datetimes, booleans), as plain tuples in the statement's column order.

        For the counter's hottest reads (issue 13: a lookup by barcode or resident ID at 1.71
        million dossiers). On SQLite the statement is compiled once per ``Database`` and run
        through the pooled sqlite3 connection directly: SQLAlchemy's execution, result and
        transaction machinery cost about twice the statement itself there. Statements with
        expanding parameters (``IN`` lists) are not supported (ValueError). Raises
        StorageBusyError when the file stays locked past the busy timeout, and the driver's
        or SQLAlchemy's errors (:data:`DATABASE_ERRORS`) for other failures."""
        if not self.is_sqlite:
            with self.engine.connect() as connection:
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
                try:
                    return [tuple(row) for row in connection.execute(statement, params)]
                except OperationalError as exc:
                    raise _translate(exc) from exc
        plan = self._plans.get(statement)
        if plan is None:
            plan = self._plans[statement] = _Plan.of(statement, self.engine.dialect)
        arguments = plan.arguments(params)
        connection = self.engine.raw_connection()
        try:
            rows = connection.driver_connection.execute(plan.sql, arguments).fetchall()
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc).lower() or "busy" in str(exc).lower():
                raise StorageBusyError(str(exc)) from exc
            raise
        finally:
            connection.close()
        return [plan.convert(row) for row in rows]

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A session for one write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on
        success and rolled back on any exception. Raises StorageBusyError when the file stays
        locked past the busy timeout, ReadOnlyDatabaseError on a read-only Database."""
        self._check_writable()
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
        migrations and bulk loads; committed on success. Raises ReadOnlyDatabaseError on a
        read-only Database."""
        self._check_writable()
        with self._write_engine.begin() as connection:
            yield connection

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def _check_writable(self) -> None:
        if self.read_only:
            raise ReadOnlyDatabaseError(f"{self.describe()} was opened read-only")

    def describe(self) -> str:
        """The database for a message: the SQLite file's path, or the URL without password."""
        file = sqlite_path(self.url) if self.is_sqlite else None
        if file is not None:
            return str(file)
        return self.url.render_as_string(hide_password=True)


@dataclasses.dataclass(frozen=True)
class _Plan:
    """A SELECT compiled for SQLite's driver: its SQL with ``?`` marks, the parameter names
    in mark order with each one's bind conversion, the compiled constant parameters, and each
    result column's conversion (the types' own processors, as SQLAlchemy applies them)."""

    sql: str
    names: tuple[str, ...]
    binders: tuple[Callable[[Any], Any] | None, ...]
    constants: Mapping[str, object]
    converters: tuple[Callable[[Any], Any] | None, ...]

    @classmethod
    def of(cls, statement: Select, dialect: Any) -> _Plan:  # noqa: ANN401 - a Dialect
        """Compile ``statement`` for ``dialect`` (positional ``?`` marks). Raises ValueError
        for expanding (``IN`` list) parameters."""
        compiled = statement.compile(dialect=dialect)
        names = tuple(compiled.positiontup or ())
        binds = compiled.binds
        if any(bind.expanding for bind in binds.values()):
            raise ValueError("read_rows does not take expanding (IN list) parameters")
        binders = tuple(
            binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
        )
        converters = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.selected_columns
        )
        return cls(str(compiled), names, binders, dict(compiled.params), converters)

    def arguments(self, params: Mapping[str, object]) -> list[object]:
        """The driver's arguments for ``params`` (compiled constants for the rest)."""
        out = []
        for name, binder in zip(self.names, self.binders, strict=True):
            value = params[name] if name in params else self.constants[name]
            out.append(value if binder is None else binder(value))
        return out

    def convert(self, row: Sequence[object]) -> tuple[Any, ...]:
        """One driver row with each column's type conversion applied."""
        return tuple(
            value if convert is None else convert(value)
            for value, convert in zip(row, self.converters, strict=True)
        )


def sqlite_path(url: str | URL) -> Path | None:
    """The file of an SQLite URL (None for in-memory SQLite or another database)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


def _tighten(file: Path) -> None:
    """Make an existing database file of this user (and its ``-wal``/``-shm``) private: an
    archive created by an earlier version under a 022 umask was readable by every local
    account."""
    for path in (file, Path(f"{file}-wal"), Path(f"{file}-shm")):
        try:
            info = path.stat()
            if (
                path.is_file()
                and info.st_mode & 0o077
                and (not hasattr(os, "getuid") or info.st_uid == os.getuid())
            ):
                os.chmod(path, info.st_mode & 0o700)
        except OSError:
            continue  # not ours to change; SQLite reports what matters when it opens it


class DatabaseUnavailable(CounterError):
    """The archive database cannot be opened or used: not an archive, damaged, a folder,
    read-only, on a full disk, or a central server that cannot be reached or refuses the
    log-in. ``str(error)`` is the operator's sentence; ``reason`` one of ``not_an_archive``,
    ``damaged``, ``cannot_open``, ``read_only``, ``disk``, ``unreachable``, ``refused``,
    ``failed``; ``detail`` the driver's own words (for the log)."""

    def __init__(self, message: str, *, reason: str, detail: str = "") -> None:
        super().__init__(message, reason=reason)
        self.detail = detail


def explain(exc: BaseException, url: str | URL) -> CounterError:
    """The operator's sentence (UI language) for a database failure ``exc`` (an SQLAlchemy
    or driver error) on the database ``url``: StorageBusyError for a lock held too long,
    else a :class:`DatabaseUnavailable` naming the file (or the server, never a password)
    and what to do. The driver's English text is kept in ``detail`` only."""
    if isinstance(exc, CounterError):
        return exc
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    detail = lines[0] if lines else type(original).__name__
    text = str(original).lower()
    parsed = make_url(url)
    file = sqlite_path(parsed)
    where = str(file) if file is not None else parsed.render_as_string(hide_password=True)

    def unavailable(message: str, reason: str) -> DatabaseUnavailable:
        return DatabaseUnavailable(message.format(where=where), reason=reason, detail=detail)

    if "locked" in text or "busy" in text:
        return StorageBusyError(detail)
    if file is not None and file.is_dir():  # SQLite's words vary: "unable to open", "I/O"
        return unavailable(
            _("{where} is a folder, not an archive database; check --db."), "cannot_open"
        )
    if "not a database" in text or "file is encrypted" in text or "no such table" in text:
        return unavailable(
            _(
                "{where} is not a Counter TUI archive database (an empty file, another kind "
                "of file, or another program's database)."
            ),
            "not_an_archive",
        )
    if "malformed" in text or "corrupt" in text:
        return unavailable(
            _("The archive database {where} is damaged; restore it from the backup."), "damaged"
        )
    if "readonly" in text or "read-only" in text:
        return unavailable(
            _("The archive database {where} is read-only for this user; nothing was changed."),
            "read_only",
        )
    if "disk is full" in text or "disk i/o" in text or "no space" in text:
        return unavailable(
            _("The disk of the archive database {where} is full or failing; nothing was changed."),
            "disk",
        )
    if "unable to open" in text or "cannot open" in text:
        if file is not None and not file.parent.is_dir():
            message = _("The folder of the archive database {where} does not exist; check --db.")
        else:
            message = _(
                "The archive database {where} cannot be opened (no permission for the file or "
                "its folder?)."
            )
        return unavailable(message, "cannot_open")
    if "authentication" in text or "password" in text or "permission denied" in text:
        return unavailable(
            _(
                "The central database {where} refused the log-in; check the user name in --db "
                "and the password in the keyring."
            ),
            "refused",
        )
    if any(
        word in text
        for word in (
            "connection",
            "connect",
            "timeout",
            "timed out",
            "name or service",
            "resolve",
            "translate host",
            "unreachable",
            "server closed",
        )
    ):
        return unavailable(
            _(
                "The central database {where} cannot be reached (server down, wrong address "
                "or no network); nothing was changed."
            ),
            "unreachable",
        )
    return DatabaseUnavailable(
        _("The archive database {where} cannot be used: {detail}").format(
            where=where, detail=detail
        ),
        reason="failed",
        detail=detail,
    )


DATABASE_ERRORS: tuple[type[BaseException], ...] = (SQLAlchemyError, sqlite3.Error)
"""What a failing database raises (SQLAlchemy wraps the driver's errors; a creator's
``sqlite3.connect`` may surface them unwrapped)."""


def _translate(exc: OperationalError) -> Exception:
    if "locked" in str(exc.orig).lower() or "busy" in str(exc.orig).lower():
        return StorageBusyError(str(exc.orig))
    return exc


def _configure_sqlite(engine: Engine, *, read_only: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001
        # Let SQLAlchemy's "begin" hook emit BEGIN itself (pysqlite's own handling defers it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not read_only:  # setting the journal mode writes the file's header
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # noqa: ANN001
        connection.exec_driver_sql(connection.get_execution_options().get("sqlite_begin", "BEGIN"))
