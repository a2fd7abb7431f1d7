"""Viewing a dossier: its header and catalogue, and its page images in an external viewer.

Every view writes an access event (dossier, material, page) and a service event in the same
transaction. Page files are copied into a private (0700) temporary folder before the viewer
sees them, so the archive files are never handed out.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from counter_tui.db.engine import Database
from counter_tui.db.models import Dossier, Material, Page
from counter_tui.domain import categories, resident_id
from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.read_models import DossierView, MaterialRow, Visit
from counter_tui.services import access_log, authorization, custody, visits, watermark
from counter_tui.services.workplace import Workplace, institution_names


class ViewingError(CounterError, RuntimeError):
    """A view that cannot happen; ``reason`` is ``not_found``, ``own_dossier``, ``not_held``,
    ``paper_only``, ``missing_file``, ``bad_image`` or ``viewer``; the message is for the
    clerk."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, reason=reason)
        self.reason = reason


def load_view(
    db: Database, dossier_id: uuid.UUID, workplace: Workplace | None = None
) -> DossierView:
    """Read a dossier's header and catalogue again (no access event: it was opened already).

    With ``workplace`` the rule ``open_dossier`` is checked first (services.authorization:
    role, active account, held here, not the clerk's own; a refusal is logged and raised as
    authorization.Forbidden). Raises ViewingError ``not_found``.
    """
    with authorization.refusals_logged(db, workplace), db.read() as session:
        if workplace is not None:
            authorization.require(session, workplace, "open_dossier", dossier_id=dossier_id)
        return _read_view(session, dossier_id)[0]


_MATERIAL = Material.__table__  # type: ignore[attr-defined]
_PAGE = Page.__table__  # type: ignore[attr-defined]
CATALOGUE_FIELDS = (
    "id",
    "category",
    "subcategory",
    "item_no",
    "title",
    "formed_on",
    "page_count",
    "remark",
    "corrects",
)
"""What :func:`catalogue_rows` reads of a material."""


@functools.cache
def _catalogue_statement() -> sa.Select:
    """A dossier's materials (:data:`CATALOGUE_FIELDS`; parameter ``dossier_id``) as Core
    rows: at the counter the ORM cost several times the query (issue 13). Built once."""
    m = _MATERIAL
    return sa.select(*(m.c[name] for name in CATALOGUE_FIELDS)).where(
        m.c.dossier_id == sa.bindparam("dossier_id", type_=m.c.dossier_id.type)
    )


@functools.cache
def _scanned_statement() -> sa.Select:
    """How many page images each material of a dossier has (parameter ``dossier_id``),
    counted by the database instead of reading every page row. Built once."""
    m, p = _MATERIAL, _PAGE
    return (
        sa.select(p.c.material_id, sa.func.count())
        .join(m, m.c.id == p.c.material_id)
        .where(m.c.dossier_id == sa.bindparam("dossier_id", type_=m.c.dossier_id.type))
        .group_by(p.c.material_id)
    )


def _read_view(
    session: Session, dossier_id: uuid.UUID
) -> tuple[DossierView, str | None, custody.CustodyState]:
    """The view, the unmasked resident ID and the custody state, from one session."""
    dossier = session.get(Dossier, dossier_id)
    if dossier is None:
        raise ViewingError("not_found", _("This dossier no longer exists."))
    connection = session.connection()
    materials = connection.execute(_catalogue_statement(), {"dossier_id": dossier_id}).all()
    scanned: dict[uuid.UUID, int] = dict(
        connection.execute(_scanned_statement(), {"dossier_id": dossier_id}).all()
    )
    state = custody.states(session, [dossier_id])[dossier_id]
    names = institution_names(session)
    rows = catalogue_rows(materials, scanned)
    view = DossierView(
        id=dossier.id,
        dossier_no=dossier.dossier_no,
        person_name=dossier.person_name,
        id_masked=resident_id.mask(dossier.id_number or ""),
        gender=dossier.gender,
        birth_date_recorded=dossier.birth_date_recorded,
        holder_name=names.get(state.holder_id, "") if state.holder_id else "",
        held_since=state.since,
        shelf_location=state.shelf_location,
        digitised=any(r.scanned_pages for r in rows),
        materials=rows,
    )
    return view, dossier.id_number, state


def catalogue_rows(materials: Sequence[Any], scanned: dict[uuid.UUID, int]) -> list[MaterialRow]:
    """The catalogue (材料目录) rows of ``materials`` (Material rows, or any rows with the
    attributes :data:`CATALOGUE_FIELDS`) in display order (category, subcategory, item:
    domain.categories.display_key); ``scanned`` maps a material id to its number of scanned
    pages (0 when absent). A material another one corrects is marked ``corrected``."""
    corrected = {m.corrects for m in materials if m.corrects}
    return [
        MaterialRow(
            id=m.id,
            number=categories.catalogue_number(m.category, m.subcategory, m.item_no),
            category=m.category,
            subcategory=m.subcategory,
            title=m.title,
            formed_on=m.formed_on,
            page_count=m.page_count,
            remark=m.remark,
            scanned_pages=scanned.get(m.id, 0),
            corrects=m.corrects,
            corrected=m.id in corrected,
        )
        for m in sorted(materials, key=categories.display_key)
    ]


def check_opening(
    session: Session, dossier_id: uuid.UUID, workplace: Workplace
) -> tuple[DossierView, ViewingError | None]:
    """Read a dossier's view and decide, inside the caller's read session, whether this clerk
    may open it (services.authorization rule ``open_dossier``): the refusal is ViewingError
    ``own_dossier`` (by the clerk's hashed resident ID: nobody consults their own dossier) or
    ``not_held`` (a counter serves only dossiers its institution holds), else None; the
    caller logs it with the opening (:func:`record_opening`). Raises ViewingError
    ``not_found``, and authorization.Forbidden (not logged: the caller runs inside
    authorization.refusals_logged) when the account may not open dossiers at all (none,
    disabled, or its role)."""
    authorization.require(session, workplace, "open_dossier")
    view, _id_number, state = _read_view(session, dossier_id)
    dossier = session.get(Dossier, dossier_id)
    assert dossier is not None
    refusal = authorization.dossier_refusal(session, workplace, "open_dossier", dossier, state)
    if refusal is not None and refusal.why == "own_dossier":
        return view, ViewingError(
            "own_dossier",
            _("This is your own dossier: you may not open it. Ask a colleague at another counter."),
        )
    if refusal is not None:
        return view, ViewingError(
            "not_held",
            _("Dossier {no} is {whereabouts}; it is not served at this counter.").format(
                no=view.dossier_no,
                whereabouts=custody.whereabouts(state, institution_names(session)),
            ),
        )
    return view, None


def record_opening(
    session: Session,
    dossier_id: uuid.UUID,
    workplace: Workplace,
    visit: Visit | None,
    refusal: ViewingError | None,
    successor: Visit | None = None,
) -> Visit | None:
    """Write, inside the caller's write transaction, what opening a dossier leaves: the visit
    (stored if new), then either the access event ``refused`` (reason: the refusal's) or the
    access event ``dossier`` and the service event ``dossier_opened``.

    A visit is one applicant: when ``visit`` already opened another person's dossier
    (visits.successor_needed) and ``successor`` is given (made on the UI thread when the
    lookup was submitted), ``visit`` is ended with the outcome it earned at the successor's
    start and the opening belongs to ``successor``. Returns the visit the opening belongs to.
    """
    if (
        visit is not None
        and successor is not None
        and refusal is None
        and visits.successor_needed(session, visit, dossier_id)
    ):
        visits.close(session, workplace, visit, at=successor.started_at)
        visit = successor
    if visit is not None:
        visits.ensure_started(session, workplace, visit)
    access_log.append(
        session,
        kind="refused" if refusal else "dossier",
        clerk_id=_clerk_id(workplace),
        institution_id=workplace.institution.id,
        dossier_id=dossier_id,
        target_id=dossier_id,
        reason=refusal.reason if refusal else "counter",
    )
    if visit is not None and refusal is None:
        visits.record(session, visit.id, "dossier_opened", dossier_id=dossier_id)
    return visit


def open_for_visit(
    db: Database,
    dossier_id: uuid.UUID,
    workplace: Workplace,
    visit: Visit | None,
    successor: Visit | None = None,
) -> tuple[DossierView, Visit | None]:
    """:func:`open_dossier` that may move the opening to ``successor`` (a different person:
    see :func:`record_opening`); returns the view and the visit it belongs to."""
    with authorization.refusals_logged(db, workplace), db.read() as session:
        view, refusal = check_opening(session, dossier_id, workplace)
    with db.write() as session:
        current = record_opening(session, dossier_id, workplace, visit, refusal, successor)
    if refusal is not None:
        raise refusal
    return view, current


def open_dossier(
    db: Database, dossier_id: uuid.UUID, workplace: Workplace, visit: Visit | None = None
) -> DossierView:
    """Record that the clerk opened a dossier (access + service event, the visit stored if
    new) and return its view: one read and one write transaction.

    Refused (ViewingError ``own_dossier`` / ``not_held``, after writing an access event
    ``refused``) as :func:`check_opening` decides; an account that may not open dossiers
    (authorization.Forbidden) is refused and logged too. Raises ViewingError ``not_found``.
    """
    return open_for_visit(db, dossier_id, workplace, visit)[0]


def reveal_id(db: Database, dossier_id: uuid.UUID, workplace: Workplace) -> str:
    """Return a dossier's full resident ID and log the reveal (access event ``reveal_id``).

    Checked by the rule ``reveal_id`` (services.authorization: a counter role, an active
    account, the dossier held here and not the clerk's own); a refusal is logged and raised
    as authorization.Forbidden. Raises ViewingError ``not_found``.
    """
    with authorization.refusals_logged(db, workplace), db.write() as session:
        authorization.require(session, workplace, "reveal_id", dossier_id=dossier_id)
        dossier = session.get(Dossier, dossier_id)
        if dossier is None:
            raise ViewingError("not_found", _("This dossier no longer exists."))
        access_log.append(
            session,
            kind="reveal_id",
            clerk_id=_clerk_id(workplace),
            institution_id=workplace.institution.id,
            dossier_id=dossier_id,
            target_id=dossier_id,
            reason="command palette",
        )
        return dossier.id_number or ""


def _clerk_id(workplace: Workplace) -> uuid.UUID | None:
    return workplace.clerk.id if workplace.clerk else None


PRIVATE_PREFIX = "counter-tui-view-"


OWNER_FILE = ".owner-pid"


def new_private_dir() -> Path:
    """A fresh temporary folder readable by the current user only (mode 0700), marked with
    this process's id so that another running instance leaves it alone."""
    path = Path(tempfile.mkdtemp(prefix=PRIVATE_PREFIX))
    (path / OWNER_FILE).write_text(str(os.getpid()), encoding="ascii")
    return path


def _owner_alive(path: Path) -> bool:
    try:
        pid = int((path / OWNER_FILE).read_text(encoding="ascii"))
    except (OSError, ValueError):
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def clear_stale_private_dirs() -> int:
    """Remove viewing folders this user left behind (a crash, a killed terminal); returns how
    many were removed. Folders of other users, and of other instances still running, are never
    touched."""
    removed = 0
    uid = os.getuid() if hasattr(os, "getuid") else None
    for path in Path(tempfile.gettempdir()).glob(PRIVATE_PREFIX + "*"):
        try:
            if uid is not None and path.stat().st_uid != uid:
                continue
        except OSError:
            continue
        if _owner_alive(path):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed += 1
    return removed


def clear_private_dir(path: Path) -> None:
    """Remove a private viewing folder and everything in it (missing is fine)."""
    shutil.rmtree(path, ignore_errors=True)


def open_material_pages(
    db: Database,
    material_id: uuid.UUID,
    workplace: Workplace,
    visit_id: uuid.UUID | None,
    *,
    archive_root: Path,
    private_dir: Path,
) -> list[Path]:
    """Copy a material's page images into ``private_dir`` and log the views.

    Returns the copies in page order. Writes one access event for the material and one per
    page, plus a service event ``material_viewed``. Checked first by the rule ``view_pages``
    (services.authorization: a counter role, an active account, the dossier held here and not
    the clerk's own; a refusal is logged and raised as authorization.Forbidden). Raises
    ViewingError ``not_found``, ``paper_only`` (no scans: the shelf location is in the
    message) or ``missing_file``.
    """
    with authorization.refusals_logged(db, workplace), db.read() as session:
        material = session.get(Material, material_id)
        if material is None:
            raise ViewingError("not_found", _("This material no longer exists."))
        authorization.require(session, workplace, "view_pages", dossier_id=material.dossier_id)
        pages = list(
            session.exec(select(Page).where(Page.material_id == material_id).order_by(Page.page_no))
        )
        state = custody.states(session, [material.dossier_id])[material.dossier_id]
    if not pages:
        raise ViewingError(
            "paper_only",
            _("This material is on paper only (shelf {shelf}).").format(
                shelf=state.shelf_location or "?"
            ),
        )
    copies = []
    target = private_dir / str(material_id)
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    for page in pages:
        source = archive_root / page.rel_path
        if not source.is_file():
            raise ViewingError(
                "missing_file",
                _(
                    "The page image {path} is missing from the archive; tell the archive room."
                ).format(path=page.rel_path),
            )
        copy = target / source.name
        try:
            watermark.stamp(
                source,
                copy,
                clerk_name=workplace.clerk.name if workplace.clerk else "",
                when=dt.datetime.now(dt.UTC),
            )
        except watermark.WatermarkError as exc:
            raise ViewingError("bad_image", str(exc)) from exc
        os.chmod(copy, 0o600)
        copies.append(copy)
    with db.write() as session:
        clerk_id = _clerk_id(workplace)
        access_log.append(
            session,
            kind="material",
            clerk_id=clerk_id,
            institution_id=workplace.institution.id,
            dossier_id=material.dossier_id,
            target_id=material_id,
            reason="counter",
        )
        for page in pages:
            access_log.append(
                session,
                kind="page",
                clerk_id=clerk_id,
                institution_id=workplace.institution.id,
                dossier_id=material.dossier_id,
                target_id=page.id,
                reason="counter",
            )
        if visit_id:
            visits.record(
                session,
                visit_id,
                "material_viewed",
                dossier_id=material.dossier_id,
                detail=str(material_id),
            )
    return copies


# Openers that take a single file per call (xdg-open rejects a second argument).
SINGLE_FILE_OPENERS = frozenset(
    {
        "xdg-open",
        "cmd",
        "start",
        "gio",
        "kde-open",
        "kde-open5",
        "gnome-open",
        "exo-open",
        "wslview",
    }
)


def check_viewer(command: list[str]) -> None:
    """Raise ViewingError ``viewer`` unless ``command``'s program can be found (so no view is
    logged for pages nobody could see)."""
    if not command:
        raise ViewingError("viewer", _("No viewer command is configured."))
    if shutil.which(command[0]) is None:
        raise ViewingError(
            "viewer",
            _(
                "The viewer {cmd} is not installed on this computer; "
                "ask IT to install it or set another viewer in the "
                "settings."
            ).format(cmd=command[0]),
        )


def launch_viewer(command: list[str], files: list[Path]) -> None:
    """Start the external viewer ``command`` with ``files`` appended; does not wait.

    Openers in :data:`SINGLE_FILE_OPENERS` are started once per file. Raises ViewingError
    ``viewer`` if the command cannot be started.
    """
    check_viewer(command)
    single = Path(command[0]).name.lower().removesuffix(".exe") in SINGLE_FILE_OPENERS
    calls = [[*command, str(f)] for f in files] if single else [[*command, *map(str, files)]]
    try:
        for argv in calls:
            subprocess.Popen(  # noqa: S603 - the command comes from the operator's settings
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
    except OSError as exc:
        raise ViewingError(
            "viewer",
            _("The viewer {cmd} could not be started: {error}").format(
                cmd=command[0], error=exc.strerror or exc
            ),
        ) from exc
