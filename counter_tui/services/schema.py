"""The archive database's schema, for the administrator's ``counter-tui db`` commands
(Alembic migrations in counter_tui/db/migrations)."""

from __future__ import annotations

from counter_tui.db import migrate
from counter_tui.db.engine import Database


def upgrade(db: Database) -> str | None:
    """Apply every pending migration; returns the revision the database is now at."""
    migrate.upgrade(db)
    return migrate.current_revision(db)


def new_revision(db: Database, message: str) -> None:
    """Autogenerate a migration named ``message`` from the models' difference to ``db``
    (developers)."""
    migrate.revision(db, message)
