"""institution: 统一社会信用代码 (uscc) and address, for the certificate header

Plain ADD COLUMN (no batch mode): on SQLite a batch table rebuild would drop the append-only
triggers of migration 0003 (institution has none, but the rule is kept for every migration).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "institution", sa.Column("uscc", sa.String(length=18), nullable=False, server_default="")
    )
    op.add_column(
        "institution",
        sa.Column("address", sa.String(length=200), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_column("institution", "address")
    op.drop_column("institution", "uscc")
