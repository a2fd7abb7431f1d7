"""Fixity: proof that the access log, the materials and the page images were not changed.

* Each material and page, when added, gets an access event (``material_added`` /
  ``page_added``) whose ``reason`` holds the SHA-256 of the row's canonical content (RFC 8785
  JSON of its fields); a page's content includes the SHA-256 of its image file.
* :func:`verify` walks the access-event chain in ``seq`` order and reports the first broken
  link: a gap in ``seq`` (a deleted row), a ``prev_hash`` that is not the previous row's hash
  (reordered or deleted rows), or a ``hash`` that does not match the row's content (an edited
  row), or a row before seq 1. It then recomputes every material and page content hash, and
  the SHA-256 of every page file under the archive root, against the values sealed in the
  chain, and reports sealed materials and pages that are no longer there.

Limitation: deleting the newest rows of the chain (truncation) leaves a valid shorter chain;
:func:`verify` reports the head (seq and hash) so an operator or the central server can
compare it with a head recorded earlier.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, and_, or_, select

from counter_tui.db.engine import Database
from counter_tui.db.models import (
    AccessEvent,
    Consultation,
    CustodyEvent,
    Dossier,
    Institution,
    Material,
    Page,
)
from counter_tui.domain import canonical, clock
from counter_tui.i18n import N_, _
from counter_tui.services import (
    access_log,
    account_audit,
    certificate_audit,
    chain_key,
    checkpoints,
    seals,
    secrets,
)

log = logging.getLogger(__name__)

_instant = clock.storage_text


def material_content_hash(material: Material) -> str:
    """SHA-256 (hex) of a material's canonical content (RFC 8785 JSON of its catalogue fields,
    who added it and when)."""
    content = {
        "id": str(material.id),
        "dossier_id": str(material.dossier_id),
        "category": material.category,
        "subcategory": material.subcategory,
        "item_no": material.item_no,
        "title": material.title,
        "formed_on": material.formed_on.isoformat() if material.formed_on else None,
        "page_count": material.page_count,
        "remark": material.remark,
        "corrects": str(material.corrects) if material.corrects else None,
        "created_at": _instant(material.created_at),
        "created_by": str(material.created_by) if material.created_by else None,
    }
    return hashlib.sha256(canonical.dumps(content)).hexdigest()


def page_content_hash(page: Page) -> str:
    """SHA-256 (hex) of a page row's canonical content, including its image file's SHA-256."""
    content = {
        "id": str(page.id),
        "material_id": str(page.material_id),
        "page_no": page.page_no,
        "rel_path": page.rel_path,
        "sha256": page.sha256,
        "dpi": page.dpi,
        "width": page.width,
        "height": page.height,
        "created_at": _instant(page.created_at),
    }
    return hashlib.sha256(canonical.dumps(content)).hexdigest()


SEAL_KINDS = {
    "material_added": "material",
    "page_added": "page",
    "certificate_added": "certificate",
    "certificate_event_added": "certificate_event",
    "key_list_added": "signing_key_list",
    "custody_event_added": "custody_event",
    "consultation_added": "consultation",
    "account_added": "clerk",
    "account_password_changed": "clerk",
    "account_disabled": "clerk",
    "account_enabled": "clerk",
    "account_changed": "clerk",
    "dossier_added": "dossier",
    "institution_changed": "institution",
}
"""Access event kinds that seal a fact row, with the row's table."""


def register_material(
    chain: access_log.Chain,
    material: Material,
    *,
    clerk_id: uuid.UUID | None,
    institution_id: uuid.UUID | None,
) -> None:
    """Seal a newly added material into the chain (call in the transaction that adds it)."""
    chain.append(
        kind="material_added",
        clerk_id=clerk_id,
        institution_id=institution_id,
        dossier_id=material.dossier_id,
        target_id=material.id,
        reason=material_content_hash(material),
    )


def register_dossier(
    chain: access_log.Chain,
    dossier: Dossier,
    *,
    clerk_id: uuid.UUID | None,
    institution_id: uuid.UUID | None,
) -> None:
    """Seal a newly registered dossier (its number, holder's name and resident ID …: every
    column, services.seals.row_content_hash) into the chain (``dossier_added``); call in the
    transaction that inserts it."""
    seals.seal_row(
        chain,
        "dossier_added",
        dossier,
        clerk_id=clerk_id,
        institution_id=institution_id,
        dossier_id=dossier.id,
    )


def register_institution(
    chain: access_log.Chain, institution: Institution, *, clerk_id: uuid.UUID | None
) -> None:
    """Seal an institution as recorded or changed now (``institution_changed``: name, code,
    USCC, address … as printed on certificates; the latest seal is the one checked); call in
    the transaction that writes it."""
    seals.seal_row(
        chain, "institution_changed", institution, clerk_id=clerk_id, institution_id=institution.id
    )


def register_page(
    chain: access_log.Chain,
    page: Page,
    *,
    dossier_id: uuid.UUID,
    clerk_id: uuid.UUID | None,
    institution_id: uuid.UUID | None,
) -> None:
    """Seal a newly added page into the chain (call in the transaction that adds it)."""
    chain.append(
        kind="page_added",
        clerk_id=clerk_id,
        institution_id=institution_id,
        dossier_id=dossier_id,
        target_id=page.id,
        reason=page_content_hash(page),
    )


@dataclass(frozen=True)
class Problem:
    """One finding: ``table`` and ``row_id`` of the row at fault, ``seq`` for access events,
    ``what`` (a stable code) and a ``message`` for the auditor."""

    table: str
    row_id: str
    what: str
    message: str
    seq: int | None = None


@dataclass
class VerifyReport:
    """Outcome of :func:`verify`: counts, the chain head, and problems (first broken link of
    the chain first)."""

    events: int = 0
    materials: int = 0
    pages: int = 0
    files: int = 0
    certificates: int = 0
    certificate_files: int = 0
    checkpoints: int = 0
    unsigned_events: int = 0
    """Events after the latest valid signed checkpoint (protected by the chain alone)."""
    mac_key_id: str = ""
    """Id of the chain key the events' MACs were checked with ("" when this keyring holds
    none: they were not checked; services.chain_key)."""
    macs_checked: int = 0
    mac_required_from: int | None = None
    """The first event that must carry a MAC (the keyring's record, else the first event
    sealed with its key)."""
    head_seq: int = 0
    head_hash: str = ""
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems

    def add(self, table: str, row_id: str, what: str, message: str) -> None:
        """Record one finding (a :class:`Problem`)."""
        self.problems.append(Problem(table, row_id, what, message))


def _iter_events(session: Session, batch: int = 5000) -> Iterator[AccessEvent]:
    # Keyset pages on (seq, id): a second row under a seq already read (a duplicate slipped in
    # at a page boundary) is still read. The first page has no lower bound: a row slipped in
    # with seq 0 or below must be seen.
    last: tuple[object, uuid.UUID] | None = None
    while True:
        stmt = select(AccessEvent).order_by(AccessEvent.seq, AccessEvent.id).limit(batch)
        if last is not None:
            stmt = stmt.where(
                or_(
                    AccessEvent.seq > last[0],
                    and_(AccessEvent.seq == last[0], AccessEvent.id > last[1]),
                )
            )
        rows = session.exec(stmt).all()
        if not rows:
            return
        yield from rows
        last = (rows[-1].seq, rows[-1].id)


def verify_chain(session: Session, report: VerifyReport) -> dict[tuple[str, str], str]:
    """Walk the chain; record the first broken link in ``report``. Returns the sealed content
    hashes {(table, id): hash} found on the way (up to the first break; tables as in
    :data:`SEAL_KINDS`)."""
    sealed: dict[tuple[str, str], str] = {}
    expected_seq, prev_hash = 1, ""
    key, required_from = _chain_key()
    report.mac_key_id = key.key_id if key else ""
    macs = VerifyReport()  # MAC findings, reported after the chain's first broken link
    try:
        for event in _iter_events(session):
            if not _walk_one(report, sealed, event, expected_seq, prev_hash):
                return sealed
            if key is not None:
                required_from = _check_mac(macs, key, event, required_from)
            expected_seq, prev_hash = event.seq + 1, event.hash
    finally:
        report.problems += macs.problems
        report.macs_checked, report.mac_required_from = macs.macs_checked, required_from
    return sealed


def _walk_one(
    report: VerifyReport,
    sealed: dict[tuple[str, str], str],
    event: AccessEvent,
    expected_seq: int,
    prev_hash: str,
) -> bool:
    """One step of :func:`verify_chain`: False at a broken link (recorded in ``report``)."""
    report.events += 1
    problem = None
    if not isinstance(event.seq, int) or isinstance(event.seq, bool):
        problem = (
            "malformed",
            _(
                "an access event has {value!r} as its number, which is not a whole number: "
                "it was inserted or edited behind the application's back"
            ).format(value=event.seq),
        )
    elif event.seq < 1:
        problem = (
            "out_of_chain",
            _(
                "access event no. {seq} lies before the start of the "
                "chain (no. 1): it was inserted or renumbered behind "
                "the application's back"
            ).format(seq=event.seq),
        )
    elif event.seq < expected_seq:
        problem = (
            "duplicate",
            _(
                "access event no. {seq} appears a second time: a row was inserted under a "
                "number already used, behind the application's back"
            ).format(seq=event.seq),
        )
    elif event.seq != expected_seq:
        problem = (
            "gap",
            _("access event no. {seq}: expected no. {expected}; rows are missing before it").format(
                seq=event.seq, expected=expected_seq
            ),
        )
    elif event.prev_hash != prev_hash:
        problem = (
            "prev_hash",
            _(
                "access event no. {seq}: its link to the previous event does not match "
                "(deleted or reordered rows)"
            ).format(seq=event.seq),
        )
    elif access_log.compute_hash(event) != event.hash:
        problem = (
            "hash",
            _(
                "access event no. {seq}: content does not match its hash (the row was edited)"
            ).format(seq=event.seq),
        )
    if problem:
        report.problems.append(
            Problem("access_event", str(event.id), problem[0], problem[1], seq=event.seq)
        )
        return False
    table = SEAL_KINDS.get(event.kind)
    if table and event.target_id:
        sealed[(table, str(event.target_id))] = event.reason
    report.head_seq, report.head_hash = event.seq, event.hash
    return True


def _chain_key() -> tuple[chain_key.ChainKey | None, int | None]:
    """This keyring's chain key and the event from which it sealed (None, None without one)."""
    try:
        key = chain_key.read()
        return key, (chain_key.since() if key else None)
    except secrets.SecretsError:
        return None, None


def _check_mac(
    report: VerifyReport, key: chain_key.ChainKey, event: AccessEvent, required_from: int | None
) -> int | None:
    """Check one event's MAC (services.chain_key); returns the (possibly now known) first
    event that must carry one."""
    outcome = key.check(event.hash, event.mac)
    if required_from is None and outcome == "ok":
        required_from = event.seq
    if outcome == "ok":
        report.macs_checked += 1
        return required_from
    if outcome == "missing" and (required_from is None or event.seq < required_from):
        return required_from  # written before this key sealed anything
    report.mac_required_from = required_from
    messages = {
        "missing": _(
            "access event no. {seq} carries no MAC of the chain key: it was appended behind "
            "the application's back (or by a computer without the chain key)"
        ),
        "invalid": _(
            "access event no. {seq}: its MAC does not match; the event was forged or re-hashed "
            "by someone without the chain key"
        ),
        "other_key": _(
            "access event no. {seq} was sealed with another chain key ({other}) than this "
            "keyring's ({own}): forged, or written by a computer given another key"
        ),
    }
    report.problems.append(
        Problem(
            "access_event",
            str(event.id),
            f"mac_{outcome}",
            messages[outcome].format(
                seq=event.seq, other=event.mac.partition("$")[0], own=key.key_id
            ),
            seq=event.seq,
        )
    )
    return required_from


def verify(db: Database, *, archive_root: Path | None = None) -> VerifyReport:
    """Check the chain, every material and page against its sealed hash, and (when
    ``archive_root`` is given) every page file against its recorded SHA-256; then the
    certificates, their events and the stored key lists (services.certificate_audit: seals,
    signatures, claims, and with ``archive_root`` the PDF files).

    Returns a VerifyReport; never raises for tampering (only for database errors).
    """
    report = VerifyReport()
    with db.read() as session:
        sealed: dict[tuple[str, str], str] = {}
        with _malformed(report, "access_event"):
            sealed = verify_chain(session, report)
        chain_ok = report.ok
        present: set[tuple[str, str]] = set()
        with _malformed(report, "material"):
            for material in session.exec(select(Material).order_by(Material.id)):
                report.materials += 1
                _check_seal(
                    report,
                    sealed,
                    present,
                    chain_ok,
                    "material",
                    material.id,
                    material_content_hash(material),
                    material.title,
                )
            _report_missing(report, sealed, present, "material")
        with _malformed(report, "page"):
            for page in session.exec(select(Page).order_by(Page.id)):
                report.pages += 1
                _check_seal(
                    report,
                    sealed,
                    present,
                    chain_ok,
                    "page",
                    page.id,
                    page_content_hash(page),
                    page.rel_path,
                )
                if archive_root is not None:
                    report.files += 1
                    _check_file(report, archive_root, page)
            _report_missing(report, sealed, present, "page")
        with _malformed(report, "certificate"):
            certificate_audit.check(
                session, report, sealed, chain_ok, check_files=archive_root is not None
            )
        with _malformed(report, "custody_event"):
            seals.check_rows(
                report,
                sealed,
                chain_ok,
                "custody_event",
                _("custody event"),
                session.exec(select(CustodyEvent).order_by(CustodyEvent.id)),
                lambda e: f"{e.kind} {e.id}",
            )
        with _malformed(report, "consultation"):
            seals.check_rows(
                report,
                sealed,
                chain_ok,
                "consultation",
                _("consultation"),
                session.exec(select(Consultation).order_by(Consultation.id)),
                lambda c: f"{c.approval_no} {c.id}",
            )
        with _malformed(report, "clerk"):
            account_audit.check_accounts(session, report, sealed, chain_ok)
        with _malformed(report, "dossier"):
            seals.check_rows(
                report,
                sealed,
                chain_ok,
                "dossier",
                _("dossier"),
                session.exec(select(Dossier).order_by(Dossier.id)),
                lambda d: d.dossier_no,
            )
        with _malformed(report, "institution"):
            seals.check_rows(
                report,
                sealed,
                chain_ok,
                "institution",
                _("institution"),
                session.exec(select(Institution).order_by(Institution.code)),
                lambda i: i.code,
            )
        with _malformed(report, "chain_checkpoint"):
            report.checkpoints, report.unsigned_events = checkpoints.check(session, report)
    return report


@contextlib.contextmanager
def _malformed(report: VerifyReport, table: str) -> Iterator[None]:
    """Report a value that cannot be read as its column's type (a date that is not a date, a
    number stored as text …) as a finding on ``table`` instead of stopping the verification."""
    try:
        yield
    except (ValueError, TypeError, OverflowError) as exc:
        log.warning("malformed value in %s: %s", table, exc, exc_info=True)
        report.add(
            table,
            "?",
            "malformed",
            _(
                "a row of this table holds a value that is not of its column's type ({detail}): "
                "it was written behind the application's back; the rest of the table was not "
                "checked"
            ).format(detail=str(exc)[:120] or type(exc).__name__),
        )


def _check_seal(
    report: VerifyReport,
    sealed: dict[tuple[str, str], str],
    present: set[tuple[str, str]],
    chain_ok: bool,
    table: str,
    row_id: uuid.UUID,
    content_hash: str,
    label: str,
) -> None:
    """Compare one material or page row (``label``: its title or path) with its seal.

    Unsealed rows are only reported when the chain itself is intact: after a break the
    seals that follow it were not read.
    """
    key = (table, str(row_id))
    present.add(key)
    want = sealed.get(key)
    if want is None:
        if chain_ok:
            message = (
                _(
                    "material {id} ({title}) was never sealed in the access chain "
                    "(added behind the application's back)"
                )
                if table == "material"
                else _("page {id} ({path}) was never sealed in the access chain")
            )
            report.problems.append(
                Problem(
                    table,
                    str(row_id),
                    "unsealed",
                    message.format(id=row_id, title=label, path=label),
                )
            )
    elif content_hash != want:
        message = (
            _("material {id} ({title}) differs from its sealed content")
            if table == "material"
            else _("page {id} ({path}) differs from its sealed content")
        )
        report.problems.append(
            Problem(
                table, str(row_id), "changed", message.format(id=row_id, title=label, path=label)
            )
        )


def _check_file(report: VerifyReport, archive_root: Path, page: Page) -> None:
    """Compare a page's image file with its recorded SHA-256."""
    try:
        digest = hashlib.sha256((archive_root / page.rel_path).read_bytes()).hexdigest()
    except OSError:
        report.problems.append(
            Problem(
                "page",
                str(page.id),
                "file_missing",
                _("page file {path} is missing").format(path=page.rel_path),
            )
        )
        return
    if digest != page.sha256:
        report.problems.append(
            Problem(
                "page",
                str(page.id),
                "file_changed",
                _("page file {path} differs from its recorded SHA-256").format(path=page.rel_path),
            )
        )


def _report_missing(
    report: VerifyReport,
    sealed: dict[tuple[str, str], str],
    present: set[tuple[str, str]],
    table: str,
) -> None:
    """Rows sealed in the chain that are gone from ``table`` (擅自抽取: removed behind the
    application's back)."""
    for kind, row_id in sorted(sealed):
        if kind == table and (kind, row_id) not in present:
            message = (
                _(
                    "material {id} was sealed in the access chain but is no longer in "
                    "the database (removed behind the application's back)"
                )
                if table == "material"
                else _(
                    "page {id} was sealed in the access chain but is no longer in the "
                    "database (removed behind the application's back)"
                )
            )
            report.problems.append(Problem(table, row_id, "missing", message.format(id=row_id)))


TABLE_LABELS = {
    "access_event": N_("access event"),
    "material": N_("material"),
    "page": N_("page"),
    "certificate": N_("certificate"),
    "certificate_event": N_("certificate event"),
    "signing_key_list": N_("signing key list"),
    "chain_checkpoint": N_("checkpoint"),
    "custody_event": N_("custody event"),
    "clerk": N_("account"),
    "consultation": N_("consultation"),
    "dossier": N_("dossier"),
    "institution": N_("institution"),
}
"""How :func:`summary` names the table of a problem's row (a msgid; the table name itself
when not listed)."""


def summary(report: VerifyReport) -> str:
    """One paragraph describing a verification, for the screen and the CLI, in the UI
    language: counts, the chain head, and the first 20 problems, each with the kind and id of
    the row at fault."""
    head = _(
        "{events} access events (head no. {seq}, hash {hash}), {materials} materials, "
        "{pages} pages, {files} page files, {certificates} certificates and "
        "{documents} certificate documents checked."
    ).format(
        events=report.events,
        seq=report.head_seq,
        hash=report.head_hash[:16],
        materials=report.materials,
        pages=report.pages,
        files=report.files,
        certificates=report.certificates,
        documents=report.certificate_files,
    )
    head += " " + _(
        "{checkpoints} signed checkpoints; {unsigned} events after the latest one."
    ).format(checkpoints=report.checkpoints, unsigned=report.unsigned_events)
    if report.mac_key_id:
        head += " " + _("{n} event MACs checked with chain key {key}.").format(
            n=report.macs_checked, key=report.mac_key_id
        )
    else:
        head += " " + _(
            "Event MACs not checked here: this keyring holds no chain key (events appended "
            "behind the application's back after the latest checkpoint cannot be told apart "
            "on this computer)."
        )
    if report.ok:
        return head + " " + _("No tampering found.")
    lines = [head, _("{n} problem(s); the first:").format(n=len(report.problems))]
    lines += [
        f"  [{_(TABLE_LABELS.get(p.table, p.table))} {p.row_id}] {p.message}"
        for p in report.problems[:20]
    ]
    return "\n".join(lines)
