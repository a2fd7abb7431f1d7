"""Apply Alembic migrations programmatically (on every start; idempotent).

The migration scripts live in ``counter_tui/db/migrations``; there is no alembic.ini. Use
:func:`upgrade` from code and ``counter-tui db revision -m MSG`` (autogenerate) during development.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from counter_tui.db.engine import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    """An Alembic Config pointing at the packaged migration scripts."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the database schema to ``revision`` (default: the newest).

    Safe when several counters start at once: SQLite takes the write lock at BEGIN, PostgreSQL
    serialises upgraders with a transaction-level advisory lock.
    """
    cfg = alembic_config()
    with db.begin_write_connection() as connection:
        if not db.is_sqlite:
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7358211)")
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def current_revision(db: Database) -> str | None:
    """The schema revision the database is at, or None for an empty database."""
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision among the packaged scripts."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def revision(db: Database, message: str) -> None:
    """Autogenerate a new migration script by comparing models with ``db`` (developers only)."""
    cfg = alembic_config()
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.revision(cfg, message=message, autogenerate=True)
