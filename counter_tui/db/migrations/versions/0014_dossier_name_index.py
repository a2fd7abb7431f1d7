"""indexes for the counter's lookups: dossier names, custody, refused events (issue 13, city scale)

* dossier (person_name, dossier_no): the name search lists dossiers in that order, at most 51
  a statement (services.lookup); with this index it reads them in order and stops, where the
  single person_name index made it read and sort every dossier of a common name (~3,000 of
  "王芳" among 1.71 million) to return 51.
* custody_event (dossier_id, holder_institution_id) replaces the dossier_id index: the name
  search keeps only dossiers this institution ever held (``EXISTS`` per candidate), now
  answered from the index alone instead of one table row per candidate (a random read on a
  cold city database); a dossier's events are found by the same index.
* sync_quarantine (row_id): every custody read leaves out the events central refused
  (services.custody.not_refused, ``NOT EXISTS``), one index probe per event instead of
  reading the whole quarantine for each lookup.
* PostgreSQL only: ix_dossier_person_name is rebuilt with ``text_pattern_ops``. A prefix
  search (``LIKE '王芳%'``) can use a default-opclass index only under the C collation; a
  central created with another collation (zh_CN.UTF-8, en_US.UTF-8) would read the whole
  table. The composite index above keeps serving the ordering and equality on every
  collation. SQLite keeps its BINARY index (services.lookup searches it by byte range).

Plain CREATE/DROP INDEX (no batch mode): on SQLite a batch table rebuild would drop the
append-only triggers of migration 0003.

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_dossier_person_name_dossier_no", "dossier", ["person_name", "dossier_no"])
    op.create_index(
        "ix_custody_event_dossier_id_holder",
        "custody_event",
        ["dossier_id", "holder_institution_id"],
    )
    op.drop_index("ix_custody_event_dossier_id", table_name="custody_event")
    op.create_index("ix_sync_quarantine_row_id", "sync_quarantine", ["row_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_dossier_person_name", table_name="dossier")
        op.create_index(
            "ix_dossier_person_name",
            "dossier",
            ["person_name"],
            postgresql_ops={"person_name": "text_pattern_ops"},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_dossier_person_name", table_name="dossier")
        op.create_index("ix_dossier_person_name", "dossier", ["person_name"])
    op.drop_index("ix_sync_quarantine_row_id", table_name="sync_quarantine")
    op.create_index("ix_custody_event_dossier_id", "custody_event", ["dossier_id"])
    op.drop_index("ix_custody_event_dossier_id_holder", table_name="custody_event")
    op.drop_index("ix_dossier_person_name_dossier_no", table_name="dossier")
