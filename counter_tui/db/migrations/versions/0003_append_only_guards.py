"""append-only guards on fact tables

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

from counter_tui.db import append_only

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here: a table guarded later gets a migration of its own.
TABLES = (
    "material",
    "page",
    "certificate",
    "service_event",
    "access_event",
    "custody_event",
    "consultation",
)


def upgrade() -> None:
    for statement in append_only.create_statements(op.get_bind().dialect.name, TABLES):
        op.execute(statement)


def downgrade() -> None:
    for statement in append_only.drop_statements(op.get_bind().dialect.name, TABLES):
        op.execute(statement)
