"""chain_checkpoint: signed statements of the access chain's head; key list endorsements

Anyone who can edit the database file could re-seal an edited row and re-hash every later
access event, or cut the chain's tail. A checkpoint signs the head (seq, hash, time) with the
institution's key from the keyring, so `audit verify` catches both behind the latest one
(services.checkpoints). Append-only. A key list made by a rotation now carries the retired
key's endorsement (``signing_key_list.endorsement``), so a list inserted by someone without the
key is not taken as the institution's.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from counter_tui.db import append_only

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here: a table guarded later gets a migration of its own.
TABLES = ("chain_checkpoint",)


def upgrade() -> None:
    op.create_table(
        "chain_checkpoint",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("head_hash", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("key_id", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["institution_id"], ["institution.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_chain_checkpoint_institution_id", "chain_checkpoint", ["institution_id"])
    op.create_index("ix_chain_checkpoint_seq", "chain_checkpoint", ["seq"])
    for statement in append_only.create_statements(op.get_bind().dialect.name, TABLES):
        op.execute(statement)
    op.add_column("signing_key_list", sa.Column("endorsement", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("signing_key_list") as batch:
        batch.drop_column("endorsement")
    drop = (
        append_only.sqlite_drop
        if op.get_bind().dialect.name == "sqlite"
        else append_only.postgresql_drop
    )
    for statement in (sql for table in TABLES for sql in drop(table)):  # the function stays
        op.execute(statement)
    op.drop_index("ix_chain_checkpoint_seq", table_name="chain_checkpoint")
    op.drop_index("ix_chain_checkpoint_institution_id", table_name="chain_checkpoint")
    op.drop_table("chain_checkpoint")
