"""A small, real archive for tests: SQLite file, institutions, a clerk, dossiers, materials,
custody events, and page images written with Pillow (no mocks)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw
from sqlmodel import select

from counter_tui.config import Settings
from counter_tui.db import migrate
from counter_tui.db.engine import Database
from counter_tui.db.models import (
    Clerk,
    CustodyEvent,
    Dossier,
    Institution,
    Material,
    Page,
)
from counter_tui.services import access_log, auth, custody, fixity
from counter_tui.services.workplace import Workplace

T0 = dt.datetime(2020, 5, 6, 1, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse 1"
PASSWORD_HASH = auth.hash_secret(PASSWORD)


@dataclass
class TinyArchive:
    """What :func:`tiny_archive` built: settings pointing at it, ids by name."""

    settings: Settings
    db: Database
    ids: dict[str, object] = field(default_factory=dict)


def write_page(path: Path, text: str) -> bytes:
    """Write a small real PNG page with ``text`` on it; return its bytes."""
    image = Image.new("L", (320, 452), 255)
    ImageDraw.Draw(image).text((20, 20), text, fill=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, dpi=(150, 150))
    return path.read_bytes()


def tiny_archive(
    tmp_path: Path, *, viewer: list[str] | None = None, db_url: str | None = None
) -> TinyArchive:
    """Two institutions (CY-RC here, CY-JY elsewhere); accounts at CY-RC with password
    :data:`PASSWORD`: clerk1 王芳, clerk2 李强 (own ID = DA00000002's), super1 (supervisor),
    audit1 (auditor); every material and page sealed in the access chain; and:

    * DA00000001 张伟 11010519491231002X, held here since 2020-05-06, shelf 1库-01架-1层-001,
      materials 1-1 干部履历表 (2 scanned pages), 4-1-1 高等学校毕业生登记表 (paper), 9-2-1 录用审批表
      (1 scanned page);
    * DA00000002 张敏 440524188001010014 held here (paper only);
    * DA00000003 李娜 110105198001010024 transferred to CY-JY on 2024-03-01.

    ``db_url``: an empty database to use instead of a new SQLite file (e.g. PostgreSQL).
    """
    settings = Settings(
        db=db_url or f"sqlite:///{tmp_path / 'archive.db'}",
        data_dir=tmp_path / "data",
        archive_root=tmp_path / "archive",
        viewer=viewer or ["true"],
    )
    db = Database(settings.db_url)
    migrate.upgrade(db)
    ids: dict[str, object] = {}
    with db.write() as s:
        here = Institution(
            code="CY-RC",
            name="北京市朝阳区人才服务中心",
            kind="district",
            serial_prefix="CY",
            uscc="12110105MB0123456C",
            address="北京市朝阳区示例路 1 号",
        )
        there = Institution(
            code="CY-JY",
            name="北京市朝阳区职业介绍服务中心",
            kind="district",
            serial_prefix="CJ",
            uscc="12110105MB0234567P",
            address="北京市朝阳区示例路 2 号",
        )
        s.add_all([here, there])
        s.flush()
        clerk = Clerk(
            username="clerk1",
            name="王芳",
            role="clerk",
            institution_id=here.id,
            password_hash=PASSWORD_HASH,
        )
        s.add(clerk)
        # clerk2's own resident ID is that of dossier DA00000002.
        s.add(
            Clerk(
                username="clerk2",
                name="李强",
                role="clerk",
                institution_id=here.id,
                password_hash=PASSWORD_HASH,
                id_number_hash=auth.hash_id_number("440524188001010014"),
            )
        )
        s.add(
            Clerk(
                username="super1",
                name="赵敏",
                role="supervisor",
                institution_id=here.id,
                password_hash=PASSWORD_HASH,
            )
        )
        s.add(
            Clerk(
                username="audit1",
                name="刘洋",
                role="auditor",
                institution_id=here.id,
                password_hash=PASSWORD_HASH,
            )
        )
        people = [
            ("DA00000001", "张伟", "11010519491231002X", "F", "1949年12月"),
            ("DA00000002", "张敏", "440524188001010014", "M", "1880.01.01"),
            ("DA00000003", "李娜", "110105198001010024", "F", "1980年1月"),
        ]
        for no, name, idn, gender, born in people:
            d = Dossier(
                dossier_no=no,
                barcode=no,
                person_name=name,
                id_number=idn,
                gender=gender,
                birth_date_recorded=born,
            )
            s.add(d)
            s.flush()
            ids[no] = d.id
            s.add(
                CustodyEvent(dossier_id=d.id, kind="received", holder_institution_id=here.id, at=T0)
            )
            s.add(
                CustodyEvent(
                    dossier_id=d.id,
                    kind="shelved",
                    holder_institution_id=here.id,
                    shelf_location="1库-01架-1层-001",
                    at=T0 + dt.timedelta(hours=1),
                )
            )
        s.add(
            CustodyEvent(
                dossier_id=ids["DA00000003"],
                kind="transferred_out",
                holder_institution_id=there.id,
                at=dt.datetime(2024, 3, 1, 2, 0, tzinfo=dt.UTC),
            )
        )
        materials = [
            ("m_cv", 1, None, 1, "干部履历表", dt.date(1972, 3, 1), 2, ""),
            ("m_grad", 4, 1, 1, "高等学校毕业生登记表", dt.date(1971, 7, 1), 4, "复印件"),
            ("m_hire", 9, 2, 1, "录用审批表", dt.date(1972, 2, 1), 1, ""),
        ]
        for key, cat, sub, item, title, formed, pages, remark in materials:
            m = Material(
                dossier_id=ids["DA00000001"],
                category=cat,
                subcategory=sub,
                item_no=item,
                title=title,
                formed_on=formed,
                page_count=pages,
                remark=remark,
            )
            s.add(m)
            s.flush()
            ids[key] = m.id
            fixity.register_material(access_log.Chain(s), m, clerk_id=None, institution_id=here.id)
            if key == "m_grad":
                continue
            for n in range(1, pages + 1):
                rel = f"DA00000001/DA00000001-{len(ids):02d}{n:02d}.png"
                data = write_page(settings.archive_dir / rel, f"{title} p{n}")
                page = Page(
                    material_id=m.id,
                    page_no=n,
                    rel_path=rel,
                    sha256=hashlib.sha256(data).hexdigest(),
                    dpi=150,
                    width=320,
                    height=452,
                )
                s.add(page)
                s.flush()
                ids[f"{key}_p{n}"] = page.id
                fixity.register_page(
                    access_log.Chain(s),
                    page,
                    dossier_id=m.dossier_id,
                    clerk_id=None,
                    institution_id=here.id,
                )
        # Custody events are facts: sealed as the application seals them (after the catalogue:
        # seq 1–6 are the materials and pages, then one seal per custody event).
        for event in s.exec(select(CustodyEvent).order_by(CustodyEvent.at, CustodyEvent.id)):
            custody.register_event(access_log.Chain(s), event)
        # Accounts are sealed as `counter-tui user add` seals them (no administrator: built),
        # after the catalogue so that the seals of materials and pages keep their numbers.
        accounts = access_log.Chain(s)
        for account in s.exec(select(Clerk).order_by(Clerk.username)).all():
            auth.register_account(accounts, account, kind="account_added", clerk_id=None)
        # Institutions and dossiers are sealed too (last: the earlier seals keep their numbers).
        for institution in (here, there):
            fixity.register_institution(accounts, institution, clerk_id=None)
        for no in ("DA00000001", "DA00000002", "DA00000003"):
            fixity.register_dossier(
                accounts, s.get(Dossier, ids[no]), clerk_id=None, institution_id=here.id
            )
        ids["here"] = here.id
        ids["there"] = there.id
        ids["clerk"] = clerk.id
    return TinyArchive(settings=settings, db=db, ids=ids)


def add_admin(archive: TinyArchive, username: str = "admin1", name: str = "陈静") -> Workplace:
    """Add an administrator at CY-RC with password :data:`PASSWORD`, sealed as the application
    seals accounts, and log it in."""
    with archive.db.write() as s:
        here = s.exec(select(Institution).where(Institution.code == "CY-RC")).one()
        admin = Clerk(
            username=username,
            name=name,
            role="admin",
            institution_id=here.id,
            password_hash=PASSWORD_HASH,
        )
        s.add(admin)
        s.flush()
        auth.register_account(access_log.Chain(s), admin, kind="account_added", clerk_id=None)
    return logged_in(archive, username)


def logged_in(archive: TinyArchive, username: str = "clerk1") -> Workplace:
    """Log ``username`` in with the factory password (writes the ``login`` access event)."""
    return auth.authenticate(archive.db, username, PASSWORD)


def counter_app(archive: TinyArchive, username: str = "clerk1"):  # noqa: ANN201
    """The real app on ``archive`` with ``username`` already logged in (its counter mode)."""
    from counter_tui.app import CounterApp
    from counter_tui.context import build_context

    ctx = build_context(archive.settings)
    ctx.workplace = logged_in(archive, username)
    return CounterApp(ctx)
