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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from counter_tui.config import Settings
from counter_tui.db import migrate
from counter_tui.db.engine import (
    DATABASE_ERRORS as DATABASE_ERRORS,  # re-exported: the CLI may not import db/
)
from counter_tui.db.engine import PRIVATE_FILE_MODE as PRIVATE_FILE_MODE
from counter_tui.db.engine import Database, DatabaseUnavailable
from counter_tui.db.engine import explain as explain
from counter_tui.db.engine import make_private_dir as make_private_dir
from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.read_models import Visit, Workplace
from counter_tui.services import auth, secrets, viewing

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

    try:
        return (
            ScriptDirectory.from_config(migrate.alembic_config()).get_revision(revision) is not None
        )
    except CommandError:
        return False


@dataclass
class AppContext:
    """Everything the screens need: settings, database, who/where, the private view folder."""

    settings: Settings
    db: Database
    private_dir: Path
    workplace: Workplace | None = None  # set by log-in
    visit: Visit | None = None  # the applicant being served (set on the UI thread only)
    notices: list[str] = field(default_factory=list)  # shown once the app is up
    scans: list[str] = field(default_factory=list)  # the scan kept as the next lookup (UI thread)

    def authenticate(self, username: str, password: str) -> Workplace:
        """Check a username and password for this counter (the log-in screen and the idle
        lock; call it in a worker thread: argon2 is slow on purpose). Raises AuthError."""
        return auth.authenticate(
            self.db,
            username,
            password,
            counter=self.settings.counter,
            lockout_failures=self.settings.login_lockout_failures,
        )

    def close(self) -> None:
        """Empty the private viewing folder and close the database."""
        viewing.clear_private_dir(self.private_dir)
        self.db.dispose()


def build_context(settings: Settings, *, db: Database | None = None) -> AppContext:
    """Open (and migrate) the database with :func:`open_database` unless ``db`` is given, and
    make the private viewing folder; nobody is logged in yet. Stale viewing folders of
    earlier runs are removed first. Raises what :func:`open_database` raises."""
    db = db or open_database(settings)
    viewing.clear_stale_private_dirs()
    return AppContext(settings=settings, db=db, private_dir=viewing.new_private_dir())
