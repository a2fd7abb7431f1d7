"""Alembic environment: runs against the connection handed in by counter_tui.db.migrate."""

from alembic import context
from sqlalchemy.engine import Connection

from counter_tui.db import models

config = context.config
target_metadata = models.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite ALTER TABLE support
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations through counter_tui.db.migrate.upgrade(), not the alembic CLI"
    )
_run(connection)
