"""sync_outbox, sync_state, sync_quarantine: what an office has to push to the central
database, its cursors, and rows that arrived with a known key but different content;
holder_index (keyed hash of a resident ID → holding institution, city-wide); institution.phone

holder_index rows are kept current (one per person, updated when a dossier moves), so it is
not append-only; the hash is keyed (services.holder_index), never the ID.

An office's SQLite database numbers every fact it inserts in ``sync_outbox`` (``seq``, an
INTEGER PRIMARY KEY AUTOINCREMENT assigned by AFTER INSERT triggers in the same transaction as
the fact, never by UUIDv7 order), so the push cursor never skips a fact a slower transaction
committed later. Rows already in the database are numbered here, parents before children.
PostgreSQL (the central database) gets the tables but no triggers: central keeps its own log
(services.central).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (services.sync.PUSHED keeps the live list): parents before children.
PUSHED = (
    "clerk",
    "dossier",
    "custody_event",
    "material",
    "page",
    "service_visit",
    "service_event",
    "consultation",
    "certificate",
    "certificate_event",
    "signing_key_list",
    "access_event",
    "chain_checkpoint",
)


def upgrade() -> None:
    op.create_table(
        "sync_outbox",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("table_name", sqlmodel.AutoString(length=32), nullable=False),
        sa.Column("row_id", sa.Uuid(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "sync_state",
        sa.Column("key", sqlmodel.AutoString(length=64), primary_key=True),
        sa.Column("value", sqlmodel.AutoString(length=1000), nullable=False),
    )
    op.create_table(
        "sync_quarantine",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("table_name", sqlmodel.AutoString(length=32), nullable=False),
        sa.Column("row_id", sa.Uuid(), nullable=False),
        sa.Column("direction", sqlmodel.AutoString(length=8), nullable=False),
        sa.Column("received", sqlmodel.AutoString(), nullable=False),
        sa.Column("held", sqlmodel.AutoString(), nullable=False),
        sa.Column("reason", sqlmodel.AutoString(length=255), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    )
    op.create_table(
        "holder_index",
        sa.Column("id_hash", sqlmodel.AutoString(length=80), primary_key=True),
        sa.Column("institution_id", sa.Uuid(), sa.ForeignKey("institution.id"), nullable=False),
        sa.Column("since", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    )
    op.add_column(
        "institution",
        sa.Column(
            "phone", sqlmodel.AutoString(length=40), nullable=False, server_default=sa.text("''")
        ),
    )
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in PUSHED:
        op.execute(
            f"INSERT INTO sync_outbox (table_name, row_id) SELECT '{table}', id FROM {table}"
            + (" ORDER BY seq" if table == "access_event" else " ORDER BY rowid")
        )
        op.execute(
            f"CREATE TRIGGER IF NOT EXISTS {table}_sync_outbox AFTER INSERT ON {table} "
            f"BEGIN INSERT INTO sync_outbox (table_name, row_id) VALUES ('{table}', NEW.id); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in PUSHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_sync_outbox")
    op.execute("ALTER TABLE institution DROP COLUMN phone")
    op.drop_table("holder_index")
    op.drop_table("sync_quarantine")
    op.drop_table("sync_state")
    op.drop_table("sync_outbox")
