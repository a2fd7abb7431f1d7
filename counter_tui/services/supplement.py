"""补登: adding a material to a dossier's catalogue, including corrections (认定).

Materials are never edited or removed (中组发〔2015〕23号 counts 擅自抽取、撤换、添加 as 档案造假);
a new material is 鉴别ed, placed in its category, 补登ed in the catalogue with the next item
number of its (sub-)category, and inserted. A wrong material is not changed either: the new
one (an organisational 认定 or a re-issued document) names it in ``corrects``, and the catalogue
shows both, the old one marked as corrected. See shared/reference/domain.md §1.2–1.3 and §6.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

from sqlmodel import Session, col, func, select

from counter_tui.db.engine import Database
from counter_tui.db.models import Dossier, Material
from counter_tui.domain import categories, clock, resident_id
from counter_tui.domain import text as text_rules
from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.services import access_log, authorization, fixity
from counter_tui.services.viewing import MaterialRow
from counter_tui.services.workplace import Workplace

MAX_TITLE_CHARS = 200
MAX_REMARK_CHARS = 200
MAX_PAGES = 999
FIELDS = (
    "clerk",
    "dossier",
    "category",
    "subcategory",
    "title",
    "formed_on",
    "page_count",
    "remark",
    "corrects",
)

_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")


class SupplementError(CounterError, ValueError):
    """Input that cannot be added. ``field`` is one of :data:`FIELDS` (the form field to
    focus); the message is for the clerk."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, reason=field, field=field)
        self.field = field


class SupplementRefused(authorization.Forbidden, SupplementError):
    """An addition the authorization rules refuse (services.authorization, rule
    ``add_material``; logged): both a Forbidden and a SupplementError, ``field`` ``clerk``
    (nobody logged in, a disabled account, a role that may not add) or ``dossier`` (not held
    here, the clerk's own)."""


def _one_line(value: str, *, field: str, what: str, limit: int, required: bool) -> str:
    text = value.strip()
    if required and not text:
        raise SupplementError(field, _("Please fill in the {what}.").format(what=what))
    if len(text) > limit:
        raise SupplementError(
            field, _("The {what} must be at most {n} characters.").format(what=what, n=limit)
        )
    if text_rules.has_control(text):
        raise SupplementError(
            field, _("The {what} must be one line without control characters.").format(what=what)
        )
    return text


def _birth_year(dossier: Dossier) -> int | None:
    """The earliest birth year the dossier states (resident ID, birth date as recorded)."""
    years = []
    if dossier.id_number and len(dossier.id_number) == 18:
        try:
            years.append(resident_id.facts(dossier.id_number).birth_date.year)
        except ValueError:
            pass
    match = _YEAR.search(dossier.birth_date_recorded or "")
    if match:
        years.append(int(match.group(1)))
    return min(years) if years else None


def _check_fields(
    *,
    category: int,
    subcategory: int | None,
    title: str,
    formed_on: dt.date,
    page_count: int,
    remark: str,
    today: dt.date,
) -> tuple[str, str]:
    if isinstance(category, bool) or not isinstance(category, int) or category not in range(1, 11):
        raise SupplementError("category", _("The category must be a number from 1 to 10."))
    try:
        categories.validate_placement(category, subcategory)
    except ValueError:
        if category in categories.SPLIT_CATEGORIES:
            raise SupplementError(
                "subcategory",
                _("Category {c} needs a sub-category from 1 to 4 ({c}-1 … {c}-4).").format(
                    c=category
                ),
            ) from None
        raise SupplementError(
            "subcategory", _("Category {c} has no sub-categories.").format(c=category)
        ) from None
    clean_title = _one_line(
        title, field="title", what=_("material title"), limit=MAX_TITLE_CHARS, required=True
    )
    clean_remark = _one_line(
        remark, field="remark", what=_("remark"), limit=MAX_REMARK_CHARS, required=False
    )
    if not isinstance(formed_on, dt.date) or isinstance(formed_on, dt.datetime):
        raise SupplementError("formed_on", _("Please give the date the material was formed."))
    if formed_on > today:
        raise SupplementError(
            "formed_on",
            _("The date the material was formed ({date}) is in the future.").format(
                date=formed_on.isoformat()
            ),
        )
    if (
        isinstance(page_count, bool)
        or not isinstance(page_count, int)
        or not 1 <= page_count <= MAX_PAGES
    ):
        raise SupplementError(
            "page_count",
            _("The page count must be a whole number from 1 to {n}.").format(n=MAX_PAGES),
        )
    return clean_title, clean_remark


def _next_item_no(
    session: Session, dossier_id: uuid.UUID, category: int, subcategory: int | None
) -> int:
    stmt = select(func.max(Material.item_no)).where(
        Material.dossier_id == dossier_id, Material.category == category
    )
    if subcategory is None:
        stmt = stmt.where(col(Material.subcategory).is_(None))
    else:
        stmt = stmt.where(Material.subcategory == subcategory)
    return (session.exec(stmt).one() or 0) + 1


def add_material(
    db: Database,
    *,
    dossier_id: uuid.UUID,
    category: int,
    subcategory: int | None,
    title: str,
    formed_on: dt.date,
    page_count: int,
    remark: str = "",
    corrects: uuid.UUID | None = None,
    workplace: Workplace,
    today: dt.date | None = None,
) -> MaterialRow:
    """补登: add one material to the catalogue of ``dossier_id`` and seal it.

    ``category`` 1–10 with ``subcategory`` 1–4 for categories 4 and 9 (None otherwise);
    ``title`` (材料名称) 1–200 characters on one line; ``formed_on`` (材料形成时间) not after
    ``today`` (default: today in Beijing) and not before the person's birth year when the
    dossier states one (resident ID or birth date as recorded; the earlier counts);
    ``page_count`` 1–999; ``remark`` (备注) up to 200 characters; ``corrects``: a material of
    the same dossier that no other material corrects yet (this one is then its 认定).

    The material gets the next item number of its (sub-)category (numbers already pencilled on
    paper are never changed, so an addition goes last), ``created_by`` = the clerk, and is
    sealed in the access chain (:func:`fixity.register_material`: a ``material_added`` access
    event naming the clerk, institution, dossier and material, carrying the content hash) —
    all in one write transaction. Returns the new catalogue row.

    Raises SupplementError (``field`` says which input is wrong; ``dossier`` when it does
    not exist), SupplementRefused (a SupplementError and an authorization.Forbidden, logged)
    when the rule ``add_material`` refuses — ``clerk``: nobody logged in, a disabled account,
    a role that may not add; ``dossier``: not held by the clerk's institution, or the clerk's
    own (nobody may add to their own dossier) — and StorageBusyError when the database stays
    locked.
    """
    today = today or clock.today()
    clean_title, clean_remark = _check_fields(
        category=category,
        subcategory=subcategory,
        title=title,
        formed_on=formed_on,
        page_count=page_count,
        remark=remark,
        today=today,
    )

    with authorization.refusals_logged(db, workplace), db.write() as session:
        # The chain's lock (PostgreSQL) also serialises item numbering and the "already
        # corrected" check against other counters adding to the same dossier.
        chain = access_log.Chain(session)
        clerk = authorization.require(
            session, workplace, "add_material", dossier_id=dossier_id, error=SupplementRefused
        )
        dossier = session.get(Dossier, dossier_id)
        if dossier is None:
            raise SupplementError("dossier", _("This dossier no longer exists."))
        born = _birth_year(dossier)
        if born is not None and formed_on.year < born:
            raise SupplementError(
                "formed_on",
                _(
                    "The date the material was formed ({date}) is before the person's birth year "
                    "{year}."
                ).format(date=formed_on.isoformat(), year=born),
            )
        if corrects is not None:
            old = session.get(Material, corrects)
            if old is None or old.dossier_id != dossier_id:
                raise SupplementError(
                    "corrects", _("The material to correct is not in this dossier.")
                )
            if session.exec(select(Material.id).where(Material.corrects == corrects)).first():
                raise SupplementError(
                    "corrects",
                    _(
                        "Material {number} is already corrected; correct the correction instead."
                    ).format(
                        number=categories.catalogue_number(
                            old.category, old.subcategory, old.item_no
                        )
                    ),
                )
        material = Material(
            dossier_id=dossier_id,
            category=category,
            subcategory=subcategory,
            item_no=_next_item_no(session, dossier_id, category, subcategory),
            title=clean_title,
            formed_on=formed_on,
            page_count=page_count,
            remark=clean_remark,
            corrects=corrects,
            created_by=clerk.id,
        )
        session.add(material)
        session.flush()
        fixity.register_material(
            chain, material, clerk_id=clerk.id, institution_id=workplace.institution.id
        )
    return MaterialRow(
        id=material.id,
        number=categories.catalogue_number(category, subcategory, material.item_no),
        category=category,
        subcategory=subcategory,
        title=clean_title,
        formed_on=formed_on,
        page_count=page_count,
        remark=clean_remark,
        scanned_pages=0,
        corrects=corrects,
        corrected=False,
    )
