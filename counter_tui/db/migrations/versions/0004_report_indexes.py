"""report indexes (supervisor dashboard and reports)

* service_visit (institution_id, started_at) replaces the single institution_id index: one day of
  one institution is a single index range.
* service_event (visit_id, kind, at) replaces the single visit_id index: the first closed /
  abandoned / dossier_opened event of a visit is read from the index alone.
* certificate (visit_id, kind): the certificates of a visit, also from the index alone.

Plain CREATE/DROP INDEX (no batch mode): on SQLite a batch table rebuild would drop the
append-only triggers of migration 0003.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_service_visit_institution_started",
        "service_visit",
        ["institution_id", "started_at"],
        unique=False,
    )
    op.drop_index("ix_service_visit_institution_id", table_name="service_visit")
    op.create_index(
        "ix_service_event_visit_kind_at", "service_event", ["visit_id", "kind", "at"], unique=False
    )
    op.drop_index("ix_service_event_visit_id", table_name="service_event")
    op.create_index("ix_certificate_visit_kind", "certificate", ["visit_id", "kind"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_certificate_visit_kind", table_name="certificate")
    op.create_index("ix_service_event_visit_id", "service_event", ["visit_id"], unique=False)
    op.drop_index("ix_service_event_visit_kind_at", table_name="service_event")
    op.create_index(
        "ix_service_visit_institution_id", "service_visit", ["institution_id"], unique=False
    )
    op.drop_index("ix_service_visit_institution_started", table_name="service_visit")
