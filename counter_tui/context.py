"""The one factory that wires settings, database and services for the app, the CLI and tests.

:func:`open_database` is the only way the app and every CLI command open the archive
database: it fills in the central PostgreSQL password from the keyring (or asks once for the
session where no keyring exists) and applies the migrations. It lives here rather than in
``db/`` because the password comes from the keyring adapter in ``services/``, which ``db/``
must not import.
"""

from __future__ import annotations

import getpass
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING

from counter_tui.config import Settings
from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.read_models import Visit, Workplace

if TYPE_CHECKING:
    from counter_tui.db.engine import Database

# Re-exported from db.engine (the CLI may not import db/), looked up on first use: the app's
# log-in screen is drawn before SQLAlchemy, the models and Alembic are imported (issue 13).
_FROM_ENGINE = frozenset(
    {
        "DATABASE_ERRORS",
        "PRIVATE_FILE_MODE",
        "Database",
        "DatabaseUnavailable",
        "explain",
        "make_private_dir",
    }
)


def __getattr__(name: str) -> object:
    """``DATABASE_ERRORS``, ``PRIVATE_FILE_MODE``, ``Database``, ``DatabaseUnavailable``,
    ``explain`` and ``make_private_dir`` of :mod:`counter_tui.db.engine` (PEP 562)."""
    if name in _FROM_ENGINE:
        from counter_tui.db import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


log = logging.getLogger(__name__)


def _ask_central_password(_name: str) -> str:
    return getpass.getpass(_("Central database password: "))


def database_url(settings: Settings, *, ask: Callable[[str], str] | None = None) -> str:
    """The database URL with the central password filled in from the keyring, or asked
    through ``ask`` (default: a hidden prompt on the terminal) once per session where no
    keyring exists; SQLite URLs are returned unchanged. The result may contain a password:
    pass it to the engine, never store or log it. Raises EOFError without a terminal to
    ask on, SecretsError when the keyring fails."""
    url = settings.db_url
    if not url.startswith("postgresql"):
        return url
    from counter_tui.services import secrets

    source = secrets.secret_source(ask or _ask_central_password)
    return secrets.database_url_with_password(url, source)


def open_central(
    settings: Settings, url: str = "", *, ask: Callable[[str], str] | None = None
) -> Database:
    """The city's central database (``url``, default the ``central`` setting) with the office's
    password from the keyring (``db-password``; asked through ``ask`` once where no keyring
    exists). Nothing is migrated or checked here (services.sync compares schema revisions).
    Raises ValueError when no central database is configured, SecretsError, EOFError."""
    target = url or settings.central
    if not target:
        raise ValueError(
            _("No central database is set: give --central URL or set central in settings.toml.")
        )
    from counter_tui.db.engine import Database
    from counter_tui.services import secrets

    source = secrets.secret_source(ask or _ask_central_password)
    return Database(secrets.database_url_with_password(target, source))


class SchemaOutdated(CounterError):
    """A read-only command met a database whose schema is older than this program's."""


def open_database(
    settings: Settings,
    *,
    upgrade: bool = True,
    read_only: bool = False,
    ask: Callable[[str], str] | None = None,
) -> Database:
    """Open the configured archive database (password from the keyring, see
    :func:`database_url`) and apply pending migrations; with ``upgrade=False`` check instead
    that the schema is current. ``read_only=True`` (``audit verify``, ``report``,
    ``certificate verify``, ``user list``) implies ``upgrade=False`` and opens the database
    read-only (:class:`~counter_tui.db.engine.Database`): nothing is created, migrated,
    written or locked for writing, so it works on a file the user cannot write and while
    another counter holds the write lock.

    Raises SchemaOutdated (not upgrading, an older schema), DatabaseUnavailable (reason
    ``not_an_archive`` for an empty, zero-byte or non-SQLite file or a schema this program
    does not know; others when the database cannot be opened or reached, see
    :func:`~counter_tui.db.engine.explain`), StorageBusyError, EOFError (no terminal to ask
    for the central password) and SecretsError."""
    from counter_tui.db import migrate
    from counter_tui.db.engine import DATABASE_ERRORS, Database, explain

    url = database_url(settings, ask=ask)
    db = Database(url, read_only=read_only)
    try:
        if upgrade and not read_only:
            migrate.upgrade(db)
        else:
            _check_schema(db)
    except DATABASE_ERRORS as exc:
        db.dispose()
        raise explain(exc, db.url) from exc
    except BaseException:
        db.dispose()
        raise
    return db


def _check_schema(db: Database) -> None:
    from counter_tui.db import migrate
    from counter_tui.db.engine import DatabaseUnavailable

    current = migrate.current_revision(db)
    if current == migrate.head_revision():
        return
    if current is None:
        raise DatabaseUnavailable(
            _(
                "{where} is not a Counter TUI archive database (an empty file, another kind "
                "of file, or another program's database)."
            ).format(where=db.describe()),
            reason="not_an_archive",
        )
    if not _known_revision(current):
        raise DatabaseUnavailable(
            _(
                "The archive database {where} was written by a newer version of Counter TUI "
                "(schema {revision}); update this program."
            ).format(where=db.describe(), revision=current),
            reason="schema_newer",
        )
    raise SchemaOutdated(
        _(
            "The archive database's schema is older than this program's; run "
            "counter-tui db upgrade first."
        ),
        reason="schema_outdated",
    )


def _known_revision(revision: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from counter_tui.db import migrate

    try:
        return (
            ScriptDirectory.from_config(migrate.alembic_config()).get_revision(revision) is not None
        )
    except CommandError:
        return False


class AppContext:
    """Everything the screens need: settings, database, who/where, the private view folder.

    Built open by :func:`build_context`, or by :func:`start_context` with the database still to
    open: then :meth:`finish_opening` (a worker thread, once the log-in screen is drawn) opens
    and migrates it, and :attr:`db` and :attr:`private_dir` wait for that, so nothing ever
    reads or writes a database whose schema was not checked."""

    def __init__(
        self,
        settings: Settings,
        db: Database | None = None,
        private_dir: Path | None = None,
        *,
        opener: Callable[[], tuple[Database, Path]] | None = None,
    ) -> None:
        self.settings = settings
        self.workplace: Workplace | None = None  # set by log-in
        self.visit: Visit | None = None  # the applicant being served (set on the UI thread only)
        self.notices: list[str] = []  # shown once the app is up
        self.scans: list[str] = []  # the scan kept as the next lookup (UI thread)
        self._opened: Future[tuple[Database, Path]] = Future()
        self._opener = opener
        self._lock = threading.Lock()
        self._closed = False
        if db is not None and private_dir is not None:
            self._opened.set_result((db, private_dir))
        elif opener is None:
            raise ValueError("AppContext needs db and private_dir, or an opener")

    @property
    def db(self) -> Database:
        """The archive database, open and migrated; waits for :meth:`finish_opening` and
        raises what it raised."""
        return self._opened.result()[0]

    @property
    def private_dir(self) -> Path:
        """This run's private viewing folder (mode 0700); waits like :attr:`db`."""
        return self._opened.result()[1]

    @property
    def opened(self) -> bool:
        """Whether the database is open (False while opening and after a failure)."""
        return self._opened.done() and self._opened.exception() is None

    @property
    def opening_error(self) -> BaseException | None:
        """What :meth:`finish_opening` raised (None while opening or when it succeeded)."""
        return self._opened.exception() if self._opened.done() else None

    def finish_opening(self) -> None:
        """Open (and migrate) the database of a context from :func:`start_context` and make
        the private viewing folder; call once, from a worker thread. Does nothing when the
        context is already open. Raises what :func:`open_database` raises (kept for
        :attr:`db`, which raises it too)."""
        if self._opened.done() or self._opener is None:
            return
        try:
            opened = self._opener()
        except BaseException as exc:
            self._opened.set_exception(exc)
            raise
        with self._lock:
            self._opened.set_result(opened)
            closed = self._closed
        if closed:  # the app quit while the database was opening
            self._release(*opened)

    def authenticate(self, username: str, password: str) -> Workplace:
        """Check a username and password for this counter (the log-in screen and the idle
        lock; call it in a worker thread: argon2 is slow on purpose, and the database may
        still be opening). Raises AuthError."""
        from counter_tui.services import auth

        return auth.authenticate(
            self.db,
            username,
            password,
            counter=self.settings.counter,
            lockout_failures=self.settings.login_lockout_failures,
        )

    def close(self) -> None:
        """Empty the private viewing folder and close the database (a database still opening
        is closed as soon as it is open)."""
        with self._lock:
            self._closed = True
            if not self.opened:
                return
        self._release(*self._opened.result())

    @staticmethod
    def _release(db: Database, private_dir: Path) -> None:
        from counter_tui.services import viewing

        viewing.clear_private_dir(private_dir)
        db.dispose()


def _open_with_private_dir(settings: Settings, db: Database | None) -> tuple[Database, Path]:
    from counter_tui.services import viewing

    if db is not None:
        viewing.clear_stale_private_dirs()
        return db, viewing.new_private_dir()
    db = open_database(settings)
    try:
        viewing.clear_stale_private_dirs()
        return db, viewing.new_private_dir()
    except BaseException:
        db.dispose()
        raise


def build_context(settings: Settings, *, db: Database | None = None) -> AppContext:
    """Open (and migrate) the database with :func:`open_database` unless ``db`` is given, and
    make the private viewing folder; nobody is logged in yet. Stale viewing folders of
    earlier runs are removed first. Raises what :func:`open_database` raises."""
    db, private_dir = _open_with_private_dir(settings, db)
    return AppContext(settings, db, private_dir)


def start_context(settings: Settings) -> AppContext:
    """A context whose database is opened later, by :meth:`AppContext.finish_opening` in a
    worker once the log-in screen is drawn (what :func:`build_context` does, deferred). Only
    for a database that can be opened without asking anything at the terminal: see
    :func:`opens_later`."""
    return AppContext(settings, opener=lambda: _open_with_private_dir(settings, None))


def opens_later(settings: Settings) -> bool:
    """Whether the app may draw its log-in screen before opening the database: an existing,
    non-empty SQLite file (a first start creates the file and asks for the first
    administrator at the terminal; PostgreSQL may ask for its password there). Read from the
    URL's text, without SQLAlchemy: a wrong guess only changes when the database is opened."""
    scheme, sep, rest = settings.db_url.partition(":///")
    if not sep or scheme.split("+")[0] != "sqlite":
        return False
    path = Path(rest.partition("?")[0]).expanduser()
    try:
        return path.is_file() and path.stat().st_size > 0
    except OSError:
        return False
