"""SQLModel tables of the archive (see shared/design/ARCHITECTURE.md, "Data model").

Keys are UUIDv7 (time-ordered, globally unique so offline offices can sync by set union).
Times are aware UTC ``datetime`` values (SQLModel's UTCDateTime) (shown in Asia/Shanghai by the UI). Resident IDs are
stored normalised (18 characters, GB 11643-1999). Materials, pages, certificates, service
events and access events are facts: rows are inserted, never updated or deleted.
"""

from __future__ import annotations

import datetime as dt
import uuid

import uuid6
from sqlalchemy import Index, MetaData, UniqueConstraint
from sqlmodel import Field, SQLModel

# A naming convention keeps Alembic's constraint names identical on SQLite and PostgreSQL.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


def new_id() -> uuid.UUID:
    """A new UUIDv7 primary key (RFC 9562), ordered by creation time."""
    return uuid6.uuid7()


def utcnow() -> dt.datetime:
    """The current time as an aware UTC datetime (the storage convention)."""
    return dt.datetime.now(dt.UTC)


class Institution(SQLModel, table=True):
    """存档机构: a city centre, a district talent/employment centre or a sub-district office."""

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    code: str = Field(max_length=16, unique=True, index=True)
    name: str = Field(max_length=100)
    kind: str = Field(max_length=16)  # city | district | sub-district
    parent_code: str | None = Field(default=None, max_length=16)
    serial_prefix: str = Field(max_length=8)  # certificate serial prefix, e.g. "CY"
    uscc: str = Field(default="", max_length=18)  # 统一社会信用代码 (GB 32100), "" if not set
    address: str = Field(default="", max_length=200)  # for the certificate header
    phone: str = Field(default="", max_length=40, sa_column_kwargs={"server_default": ""})


class Clerk(SQLModel, table=True):
    """A user account: window clerk, supervisor, archivist, auditor or admin."""

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=64)
    role: str = Field(max_length=16)
    institution_id: uuid.UUID = Field(foreign_key="institution.id")
    password_hash: str | None = Field(default=None, max_length=255)
    id_number_hash: str | None = Field(default=None, max_length=128)
    active: bool = True
    created_at: dt.datetime = Field(default_factory=utcnow)


class Dossier(SQLModel, table=True):
    """档案: one person's personnel dossier."""

    # The name search (services.lookup) reads dossiers in (person_name, dossier_no) order and
    # stops at 51; the prefix search uses ix_dossier_person_name, text_pattern_ops on
    # PostgreSQL so that LIKE 'x%' is an index range under any collation (migration 0014).
    __table_args__ = (
        Index(
            "ix_dossier_person_name",
            "person_name",
            postgresql_ops={"person_name": "text_pattern_ops"},
        ),
        Index("ix_dossier_person_name_dossier_no", "person_name", "dossier_no"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    dossier_no: str = Field(max_length=32, unique=True, index=True)  # 档号
    barcode: str | None = Field(default=None, max_length=64, index=True)
    person_name: str = Field(max_length=64)
    id_number: str | None = Field(default=None, max_length=18, index=True)
    gender: str = Field(default="", max_length=1)  # "M" / "F" as recorded
    birth_date_recorded: str = Field(default="", max_length=32)  # as written in the dossier
    created_at: dt.datetime = Field(default_factory=utcnow)
    origin_institution_id: uuid.UUID | None = Field(default=None, foreign_key="institution.id")


class CustodyEvent(SQLModel, table=True):
    """A custody fact: received, shelved, lent, returned or transferred_out.

    The dossier's current holder and shelf location are those of its latest event.
    """

    __tablename__ = "custody_event"
    # A dossier's events, and "has this institution ever held it" (the name search's
    # candidates) from the index alone (migration 0014).
    __table_args__ = (
        Index("ix_custody_event_dossier_id_holder", "dossier_id", "holder_institution_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    dossier_id: uuid.UUID = Field(foreign_key="dossier.id")
    kind: str = Field(max_length=16)
    holder_institution_id: uuid.UUID = Field(foreign_key="institution.id", index=True)
    shelf_location: str = Field(default="", max_length=64)
    at: dt.datetime = Field(default_factory=utcnow)
    clerk_id: uuid.UUID | None = Field(default=None, foreign_key="clerk.id")
    remark: str = Field(default="", max_length=255)


class Material(SQLModel, table=True):
    """材料: one catalogue entry. ``corrects`` points at a material this one corrects (认定)."""

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    dossier_id: uuid.UUID = Field(foreign_key="dossier.id", index=True)
    category: int
    subcategory: int | None = None
    item_no: int
    title: str = Field(max_length=200)  # 材料名称
    formed_on: dt.date | None = None  # 材料形成时间
    page_count: int = 0
    remark: str = Field(default="", max_length=200)  # 备注
    corrects: uuid.UUID | None = Field(default=None, foreign_key="material.id")
    created_at: dt.datetime = Field(default_factory=utcnow)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="clerk.id")


class Page(SQLModel, table=True):
    """A scanned page image of a material (DA/T 31-2017 naming: 档号 + 图像流水号)."""

    __table_args__ = (UniqueConstraint("material_id", "page_no"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    material_id: uuid.UUID = Field(foreign_key="material.id", index=True)
    page_no: int
    rel_path: str = Field(max_length=255)  # relative to the archive root, "/" separated
    sha256: str = Field(max_length=64)
    dpi: int
    width: int
    height: int
    phash: str = Field(default="", max_length=32)  # 64-bit difference hash, hex
    created_at: dt.datetime = Field(default_factory=utcnow)


class ServiceVisit(SQLModel, table=True):
    """One applicant served at one counter."""

    __tablename__ = "service_visit"
    # A day's visits of one institution are one index range (supervisor dashboard, reports).
    __table_args__ = (
        Index("ix_service_visit_institution_started", "institution_id", "started_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    institution_id: uuid.UUID = Field(foreign_key="institution.id")
    counter: str = Field(max_length=16)
    clerk_id: uuid.UUID | None = Field(default=None, foreign_key="clerk.id")
    ticket: str | None = Field(default=None, max_length=16)
    started_at: dt.datetime = Field(default_factory=utcnow, index=True)


class ServiceEvent(SQLModel, table=True):
    """A timestamped step of a visit: started, dossier_opened, material_viewed,
    certificate_issued, consultation_recorded, closed, abandoned."""

    __tablename__ = "service_event"
    # Covers "first <kind> event of a visit" without reading the table (service times).
    __table_args__ = (Index("ix_service_event_visit_kind_at", "visit_id", "kind", "at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    visit_id: uuid.UUID = Field(foreign_key="service_visit.id")
    kind: str = Field(max_length=32)
    at: dt.datetime = Field(default_factory=utcnow, index=True)
    dossier_id: uuid.UUID | None = Field(default=None, foreign_key="dossier.id")
    detail: str = Field(default="", max_length=255)


class CertificateSequence(SQLModel, table=True):
    """The last serial number issued by an institution in a year: certificate serials come
    from this counter, not from the largest serial stored, so a malformed or far-ahead row
    inserted behind the application's back never stops issuing (services.issuance)."""

    __tablename__ = "certificate_sequence"

    institution_id: uuid.UUID = Field(foreign_key="institution.id", primary_key=True)
    year: int = Field(primary_key=True)
    last_number: int = 0


class Certificate(SQLModel, table=True):
    """证明: issued from dossier records, one serial per institution and year."""

    # Covers "kinds of certificate issued in a visit" (reports).
    __table_args__ = (Index("ix_certificate_visit_kind", "visit_id", "kind"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    serial: str = Field(max_length=32, unique=True, index=True)
    kind: str = Field(max_length=32)
    dossier_id: uuid.UUID = Field(foreign_key="dossier.id", index=True)
    visit_id: uuid.UUID | None = Field(default=None, foreign_key="service_visit.id")
    institution_id: uuid.UUID = Field(foreign_key="institution.id")
    applicant_kind: str = Field(max_length=8)  # self | agent
    agent_name: str | None = Field(default=None, max_length=64)
    agent_id_number: str | None = Field(default=None, max_length=18)
    purpose: str = Field(max_length=100)
    cited_material_ids: str = Field(default="")  # comma-separated UUIDs, catalogue order
    text_path: str = Field(max_length=255)
    """The issued document: the PDF (since migration 0007; a .txt file before)."""
    text_sha256: str = Field(max_length=64)
    """SHA-256 (hex) of the document's bytes as written."""
    issued_by: uuid.UUID | None = Field(default=None, foreign_key="clerk.id")
    issued_at: dt.datetime = Field(default_factory=utcnow)
    # Since migration 0007 (None on certificates issued before it):
    identifier: str | None = Field(default=None, max_length=160)
    """电子证照-shaped identifier (domain.identifiers.certificate_identifier)."""
    verification_code: str | None = Field(default=None, max_length=16, unique=True, index=True)
    """The typable 查验码 ``XXXX-XXXX-XXX`` (domain.identifiers), derived from the payload."""
    payload: str | None = None
    """The signed QR text (services.certificate_signing, ``CTC1:`` + Base45)."""
    key_id: str | None = Field(default=None, max_length=16)
    """Id of the key that signed the payload (16 hex digits)."""
    certified_text: str | None = None
    """The certified text as printed (its SHA-256 is signed in the payload)."""
    facts: str | None = None
    """The kind's certified facts as confirmed by the clerk, JSON (RFC 8259)."""


class CertificateEvent(SQLModel, table=True):
    """What happened to an issued certificate afterwards: ``printed``, ``reprinted`` (补打:
    same serial, a new copy marked as such, ``copy_no`` 1, 2 …) or ``voided`` (作废, with
    ``reason``). Appended, never changed; a certificate's status follows from its events."""

    __tablename__ = "certificate_event"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    certificate_id: uuid.UUID = Field(foreign_key="certificate.id", index=True)
    kind: str = Field(max_length=16)
    at: dt.datetime = Field(default_factory=utcnow)
    clerk_id: uuid.UUID | None = Field(default=None, foreign_key="clerk.id")
    copy_no: int | None = None
    reason: str = Field(default="", max_length=255)
    document_path: str | None = Field(default=None, max_length=255)
    document_sha256: str | None = Field(default=None, max_length=64)


class SigningKeyList(SQLModel, table=True):
    """An institution's signed list of certificate signing keys (public data,
    services.certificate_signing): kept in the database so that any counter verifies its
    certificates offline. A new row per rotation; the newest lists every key."""

    __tablename__ = "signing_key_list"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    institution_id: uuid.UUID = Field(foreign_key="institution.id", index=True)
    current_key_id: str = Field(max_length=16)
    key_list: bytes
    stored_at: dt.datetime = Field(default_factory=utcnow)
    endorsement: bytes | None = None
    """For a list made by a rotation: the retired key's signature over it (since migration
    0008; certificate_signing.successor_endorsed)."""


class ChainCheckpoint(SQLModel, table=True):
    """A signed statement of the access chain's head (services.checkpoints): ``seq`` and
    ``head_hash`` of the newest event at ``at``, signed by the institution's key
    (``signature``: COSE_Sign1 over the CBOR statement, ``key_id`` its key)."""

    __tablename__ = "chain_checkpoint"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    institution_id: uuid.UUID = Field(foreign_key="institution.id", index=True)
    seq: int = Field(index=True)
    head_hash: str = Field(max_length=64)
    at: dt.datetime = Field(default_factory=utcnow)
    key_id: str = Field(max_length=16)
    signature: bytes


class AccessEvent(SQLModel, table=True):
    """Who viewed what and when: dossier, material, page, export, refusal.

    ``seq`` orders the hash chain; ``hash`` = SHA-256 over the canonical content and ``prev_hash``;
    ``mac`` = ``<key id>$<HMAC-SHA256 of hash>`` under the keyring's chain key ("" when written
    without one; services.chain_key).
    """

    __tablename__ = "access_event"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    seq: int = Field(unique=True, index=True)
    at: dt.datetime = Field(default_factory=utcnow)
    clerk_id: uuid.UUID | None = Field(default=None, foreign_key="clerk.id")
    institution_id: uuid.UUID | None = Field(default=None, foreign_key="institution.id")
    kind: str = Field(max_length=32, index=True)
    dossier_id: uuid.UUID | None = Field(default=None, foreign_key="dossier.id", index=True)
    target_id: uuid.UUID | None = None
    reason: str = Field(default="", max_length=255)
    prev_hash: str = Field(default="", max_length=64)
    hash: str = Field(default="", max_length=64)
    mac: str = Field(default="", max_length=80, sa_column_kwargs={"server_default": ""})


class Consultation(SQLModel, table=True):
    """查阅: a unit consulting a dossier (政审, 考察, 录用 …) on an approved request.

    ``shown_material_ids`` lists the materials shown (comma-separated UUIDs, catalogue order).
    """

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    dossier_id: uuid.UUID = Field(foreign_key="dossier.id", index=True)
    visit_id: uuid.UUID | None = Field(default=None, foreign_key="service_visit.id")
    institution_id: uuid.UUID = Field(foreign_key="institution.id")
    requesting_unit: str = Field(max_length=100)  # 查阅单位
    approval_no: str = Field(max_length=64)  # 审批表/介绍信编号
    purpose: str = Field(max_length=100)
    readers: str = Field(default="", max_length=100)  # 查阅人 names
    shown_material_ids: str = Field(default="")
    recorded_by: uuid.UUID | None = Field(default=None, foreign_key="clerk.id")
    recorded_at: dt.datetime = Field(default_factory=utcnow)


class SyncOutbox(SQLModel, table=True):
    """One fact this office inserted and has to push to the central database: ``seq`` is
    assigned by an AFTER INSERT trigger in the fact's own transaction (SQLite; migration 0011),
    so it orders facts by commit, never by UUIDv7 (services.sync)."""

    __tablename__ = "sync_outbox"
    __table_args__ = {"sqlite_autoincrement": True}

    seq: int | None = Field(default=None, primary_key=True)
    table_name: str = Field(max_length=32)
    row_id: uuid.UUID


class SyncState(SQLModel, table=True):
    """Sync cursors and status of this database (services.sync): ``key`` → text ``value``."""

    __tablename__ = "sync_state"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=1000)


class SyncQuarantine(SQLModel, table=True):
    """A row that arrived with a key already held but with other content (``direction``
    ``pull``) or that central refused as such (``push``): kept as received, never applied —
    a possible tampering for the auditor (services.sync). ``received`` / ``held`` are the
    canonical JSON of both versions."""

    __tablename__ = "sync_quarantine"

    id: int | None = Field(default=None, primary_key=True)
    table_name: str = Field(max_length=32)
    row_id: uuid.UUID = Field(index=True)  # custody.not_refused probes it (migration 0014)
    direction: str = Field(max_length=8)
    received: str
    held: str
    reason: str = Field(max_length=255)
    at: dt.datetime = Field(default_factory=utcnow)


class HolderIndex(SQLModel, table=True):
    """The city-wide holder index: a keyed hash of a resident ID (``id_hash``,
    services.holder_index: ``<key id>$<HMAC-SHA256 hex>``, never the ID itself) → the
    institution holding that person's dossier and since when. Pulled from the central database
    so that an office can say where a dossier is even offline."""

    __tablename__ = "holder_index"

    id_hash: str = Field(primary_key=True, max_length=80)
    institution_id: uuid.UUID = Field(foreign_key="institution.id")
    since: dt.datetime
    updated_at: dt.datetime = Field(default_factory=utcnow)
