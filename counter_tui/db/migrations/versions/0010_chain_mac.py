"""access_event.mac: each event's HMAC under the keyring's chain key; index on access_event.kind

Anyone who can edit the database file can append a forged fact with a correct SHA-256 seal and
a correctly chained access event; the next signed checkpoint would sign it. The ``mac`` column
(``<key id>$<HMAC-SHA256 of the event hash>``, services.chain_key) tells the application's
events from such rows on any computer holding the chain key. Events written before this
migration keep "" (checked by the chain and the signed checkpoints alone).

The index on ``kind`` serves `audit verify` and the access log's filters by kind.

Plain ALTER TABLE / CREATE INDEX (no batch mode): on SQLite a batch table rebuild would drop the
append-only triggers of migration 0003.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
# Revision 0009 was never used (a receipt migration planned alongside was not needed).
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "access_event",
        sa.Column(
            "mac", sqlmodel.AutoString(length=80), nullable=False, server_default=sa.text("''")
        ),
    )
    op.create_index("ix_access_event_kind", "access_event", ["kind"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_access_event_kind", table_name="access_event")
    op.execute("ALTER TABLE access_event DROP COLUMN mac")
