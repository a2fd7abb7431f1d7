"""certificate_sequence: each institution's own serial counter per year

Certificate serials came from the largest serial stored, so one malformed or far-ahead row
inserted behind the application's back ("CY-2026-ABC", "CY-2026-999999") stopped issuing.
The counter of an institution and year is started by the first certificate issued after this
migration (services.issuance.next_serial), from the number of well-formed serials stored.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "certificate_sequence",
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["institution_id"], ["institution.id"]),
        sa.PrimaryKeyConstraint("institution_id", "year"),
    )


def downgrade() -> None:
    op.drop_table("certificate_sequence")
