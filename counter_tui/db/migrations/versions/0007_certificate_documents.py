"""certificate documents: identifier, 查验码, signed payload, certified text; events; key lists

Certificates become PDFs with a signed QR payload (issue 9): the certificate row gains the
电子证照-shaped identifier, the typable verification code, the QR text, the signing key's id,
the certified text and the confirmed facts (all nullable: certificates issued before stay as
they were). ``certificate_event`` records prints, reprints (补打) and voids (作废);
``signing_key_list`` keeps each institution's signed list of public keys so that any counter
verifies offline. Both new tables are append-only.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from counter_tui.db import append_only

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here: a table guarded later gets a migration of its own.
TABLES = ("certificate_event", "signing_key_list")


def upgrade() -> None:
    for column in (
        sa.Column("identifier", sqlmodel.AutoString(length=160), nullable=True),
        sa.Column("verification_code", sqlmodel.AutoString(length=16), nullable=True),
        sa.Column("payload", sqlmodel.AutoString(), nullable=True),
        sa.Column("key_id", sqlmodel.AutoString(length=16), nullable=True),
        sa.Column("certified_text", sqlmodel.AutoString(), nullable=True),
        sa.Column("facts", sqlmodel.AutoString(), nullable=True),
    ):
        op.add_column("certificate", column)
    op.create_index(
        "ix_certificate_verification_code", "certificate", ["verification_code"], unique=True
    )
    op.create_table(
        "certificate_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("certificate_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("clerk_id", sa.Uuid(), nullable=True),
        sa.Column("copy_no", sa.Integer(), nullable=True),
        sa.Column("reason", sqlmodel.AutoString(length=255), nullable=False),
        sa.Column("document_path", sqlmodel.AutoString(length=255), nullable=True),
        sa.Column("document_sha256", sqlmodel.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificate.id"]),
        sa.ForeignKeyConstraint(["clerk_id"], ["clerk.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_certificate_event_certificate_id", "certificate_event", ["certificate_id"])
    op.create_table(
        "signing_key_list",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("current_key_id", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("key_list", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["institution_id"], ["institution.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_signing_key_list_institution_id", "signing_key_list", ["institution_id"])
    for statement in append_only.create_statements(op.get_bind().dialect.name, TABLES):
        op.execute(statement)


def downgrade() -> None:
    drop = (
        append_only.sqlite_drop
        if op.get_bind().dialect.name == "sqlite"
        else append_only.postgresql_drop
    )
    for statement in (sql for table in TABLES for sql in drop(table)):  # the function stays
        op.execute(statement)
    op.drop_index("ix_signing_key_list_institution_id", table_name="signing_key_list")
    op.drop_table("signing_key_list")
    op.drop_index("ix_certificate_event_certificate_id", table_name="certificate_event")
    op.drop_table("certificate_event")
    op.drop_index("ix_certificate_verification_code", table_name="certificate")
    with op.batch_alter_table("certificate") as batch:
        for name in (
            "facts",
            "certified_text",
            "key_id",
            "payload",
            "verification_code",
            "identifier",
        ):
            batch.drop_column(name)
