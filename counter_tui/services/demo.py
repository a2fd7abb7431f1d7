"""A demonstration archive that looks like the real thing (for trying the counter and benchmarks).

Three Chaoyang institutions, one account per role, and a few hundred personnel dossiers with
plausible names, valid resident IDs (GB 11643-1999), birth dates as written in dossiers
(sometimes off from the ID, as happens), catalogues across the ten categories with dates that fit
each life (school from age 15, work after graduation, nothing in the future), custody histories
(received, shelved, a few transferred out) and, for a share of the dossiers, page images.

Page images are rendered with Pillow as a scanning station would leave them — A4 at 150 dpi,
bilevel PNG (DA/T 31-2017 §9.3 allows 二值 for clean black-and-white text), cover first with a
Code 128 label of the dossier number — and go through the real intake
(:func:`counter_tui.services.intake.ingest_scan_batch`), which reads the number off the cover.
Everything is deterministic for a given seed (except UUIDs and creation times of rows).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import math
import os
import random
import shutil
import tempfile
import threading
import time
import uuid
import zlib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import barcode
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import insert
from sqlmodel import col, func, select

from counter_tui.db.engine import Database
from counter_tui.db.models import (
    Clerk,
    CustodyEvent,
    Dossier,
    Institution,
    Material,
    new_id,
    utcnow,
)
from counter_tui.domain import categories, clock, resident_id
from counter_tui.domain.clock import BEIJING
from counter_tui.errors import CounterError
from counter_tui.i18n import _
from counter_tui.services import access_log, auth, fixity, history
from counter_tui.services.fonts import find_cjk_font
from counter_tui.services.intake import ingest_scan_batch

AS_OF = dt.date(2026, 6, 30)
"""The demo archive's "today": no material, custody event or scan is dated later (nor later
than the real date, whichever comes first)."""


PAGE_SIZE = (1240, 1754)
"""A4 at 150 dpi, in pixels."""
PAGE_DPI = 150


class DemoError(CounterError, RuntimeError):
    """The demo archive cannot be built here (e.g. the database is not empty)."""


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`build_demo` built and what it cost (``bytes_on_disk``: page files plus the
    SQLite database files)."""

    institutions: int
    clerks: int
    dossiers: int
    materials: int
    digitised_dossiers: int
    pages: int
    services: int
    seconds: float
    bytes_on_disk: int


# --------------------------------------------------------------------------------------------
# Institutions and accounts

INSTITUTIONS: tuple[tuple[str, str, str, str | None, str], ...] = (
    # code, name, kind, parent_code, serial_prefix
    ("CY-RC", "北京市朝阳区人才服务中心", "district", None, "CY"),
    ("CY-JY", "北京市朝阳区职业介绍服务中心", "district", None, "CJ"),
    ("CY-JW", "朝阳区建外街道社会保障事务所", "sub-district", "CY-RC", "JW"),
)
CLERKS: tuple[tuple[str, str, str, str], ...] = (
    # username, name, role, institution code
    ("clerk1", "王芳", "clerk", "CY-RC"),
    ("clerk2", "李强", "clerk", "CY-RC"),
    ("super1", "赵敏", "supervisor", "CY-RC"),
    ("arch1", "陈刚", "archivist", "CY-RC"),
    ("audit1", "刘洋", "auditor", "CY-RC"),
    ("admin", "系统管理员", "admin", "CY-RC"),
    ("clerk3", "孙丽", "clerk", "CY-JY"),
)
_HOLDER_SHARES = (("CY-RC", 0.8), ("CY-JY", 0.1), ("CY-JW", 0.1))
# First dossier serial and first shelf slot per institution (numbers continue an older register).
_SERIAL_BASE = {"CY-RC": 86_000, "CY-JY": 31_400, "CY-JW": 2_100}
_SHELF_BASE = {"CY-RC": (3, 12), "CY-JY": (1, 5), "CY-JW": (1, 1)}  # 库, 架 of the first slot

# --------------------------------------------------------------------------------------------
# People

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "司徒")
_MALE_CHARS = (
    "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林峰建国志文海东亮成振兴瑞晨博毅"
)
_FEMALE_CHARS = "芳娜敏静丽艳娟霞燕玲婷雪慧颖洁琳红梅英萍晶倩丹璐佳欣月莉楠琴云霞秀兰凤萌悦"
_OLD_MALE_NAMES = ("建国", "建军", "卫东", "国庆", "援朝", "红旗", "向东", "文革", "志强", "建华")
_OLD_FEMALE_NAMES = ("秀英", "桂兰", "玉兰", "淑珍", "凤英", "秀兰", "桂英", "红梅", "建华", "秀珍")

# GB/T 2260 county codes (a few abolished ones too, as old IDs carry them).
_BEIJING_AREAS = (
    "110101",
    "110102",
    "110103",
    "110104",
    "110105",
    "110105",
    "110105",
    "110106",
    "110107",
    "110108",
    "110109",
    "110111",
    "110112",
    "110113",
    "110114",
    "110115",
    "110116",
    "110117",
    "110228",
    "110229",
)
_OTHER_AREAS = (
    "120101",
    "130104",
    "130203",
    "130602",
    "131002",
    "140105",
    "150102",
    "210102",
    "220102",
    "230103",
    "310104",
    "320102",
    "330106",
    "340104",
    "350102",
    "360102",
    "370102",
    "370202",
    "410105",
    "420106",
    "430104",
    "440106",
    "500103",
    "510107",
    "610103",
    "620102",
)

# --------------------------------------------------------------------------------------------
# Body text of rendered pages (fragments joined into lines).

_PHRASES = (
    "本人自参加工作以来",
    "认真学习马克思列宁主义毛泽东思想",
    "坚持四项基本原则",
    "服从组织安排",
    "工作认真负责",
    "团结同志",
    "按时完成各项任务",
    "积极参加单位组织的各项活动",
    "遵守劳动纪律",
    "业务能力不断提高",
    "经组织研究同意",
    "特此证明",
    "该同志在校期间学习努力",
    "成绩优良",
    "热爱祖国",
    "品德良好",
    "身体健康",
    "能够正确对待批评",
    "注重理论联系实际",
    "经考核合格",
    "同意按期转正",
    "希望继续努力",
    "今后要进一步加强学习",
    "经审查",
    "情况属实",
    "家庭成员无政治问题",
    "本人保证以上所填内容真实",
    "工作中能吃苦耐劳",
    "虚心向老同志学习",
    "认真贯彻执行党的路线方针政策",
)
_FORM_LABELS = (
    ("姓名", "性别", "出生年月"),
    ("民族", "籍贯", "政治面貌"),
    ("参加工作时间", "文化程度", "健康状况"),
    ("单位及职务",),
    ("家庭住址",),
    ("本人简历",),
    ("奖惩情况",),
    ("组织意见",),
)


@dataclass
class _MaterialPlan:
    category: int
    subcategory: int | None
    title: str
    formed_on: dt.date
    page_count: int
    remark: str = ""
    core: bool = True
    item_no: int = 0

    @property
    def catalogue_number(self) -> str:
        return categories.catalogue_number(self.category, self.subcategory, self.item_no)


@dataclass
class _CustodyPlan:
    kind: str
    holder: str  # institution holding the dossier after the event (the receiver, for a transfer)
    at: dt.datetime
    shelf: str = ""
    remark: str = ""
    recorded_by: str = ""  # institution whose staff recorded it (default: the holder)


@dataclass
class _DossierPlan:
    name: str
    id_number: str
    gender: str
    birth: dt.date
    birth_recorded: str
    origin: str
    received: dt.datetime
    materials: list[_MaterialPlan]
    custody: list[_CustodyPlan] = field(default_factory=list)
    dossier_no: str = ""
    digitised: bool = False
    render_seed: int = 0


@dataclass(frozen=True)
class _BatchJob:
    """Everything a rendering process needs for one dossier's scan batch (plain, picklable)."""

    batch_dir: str
    dossier_no: str
    person_name: str
    birth_recorded: str
    institution: str
    seed: int
    # (catalogue number, title, formed_on ISO date, page count, remark) in catalogue order
    materials: tuple[tuple[str, str, str, int, str], ...]


# --------------------------------------------------------------------------------------------
# Public entry point


def build_demo(
    db: Database,
    archive_root: Path,
    *,
    dossiers: int = 300,
    seed: int = 2026,
    digitised_share: float = 0.1,
    workers: int | None = None,
    history_days: int = 21,
) -> DemoSummary:
    """Fill an empty, migrated database with a demonstration archive and return a summary.

    ``history_days`` (0: none) weeks of generated counter service history end today, so the
    supervisor's dashboard has figures (services.history).

    ``dossiers`` (≥ 1) personnel dossiers are generated deterministically from ``seed``
    (``random.Random``); about 80 % are held by CY-RC. ``round(dossiers * digitised_share)`` of
    them (``digitised_share`` in 0–1) are digitised: page images are rendered into a temporary
    scan batch per dossier (A4, 150 dpi, bilevel PNG, Code 128 cover label) and attached through
    :func:`counter_tui.services.intake.ingest_scan_batch`, which stores them under
    ``archive_root`` and reads the dossier number off the cover. The rest are paper only.
    ``workers`` is the number of rendering threads working ahead of intake (default: 1 on a
    multi-core machine, else 0, which renders in the calling thread between intakes).

    Institutions: CY-RC, CY-JY, CY-JW (see :data:`INSTITUTIONS`); accounts: one per role at
    CY-RC plus ``clerk3`` at CY-JY (see :data:`CLERKS`), without passwords.

    Raises :class:`DemoError` if the database already holds dossiers or institutions, ValueError
    for out-of-range arguments, and whatever intake raises if a rendered batch cannot be attached
    (a bug). Sources for the catalogue: shared/reference/domain.md §1 (ten categories, numbering
    in date order), §3 (DA/T 31-2017), §4 (GB 11643-1999), §5 (sequential dossier numbers).
    """
    started = time.perf_counter()
    if dossiers < 1:
        raise ValueError("dossiers must be at least 1")
    if not 0.0 <= digitised_share <= 1.0:
        raise ValueError("digitised_share must be between 0 and 1")
    with db.read() as session:
        held = session.exec(select(func.count()).select_from(Dossier)).one()
        institutions = session.exec(select(func.count()).select_from(Institution)).one()
    if held or institutions:
        raise DemoError(
            _(
                "The database already holds an archive; the demo is built only into an empty "
                "database."
            )
        )
    as_of = min(AS_OF, dt.date.today())
    plans = _plan_archive(random.Random(seed), dossiers, digitised_share, as_of)
    archivist_id = _insert(db, plans)

    archive_root = Path(archive_root)
    archive_root.mkdir(parents=True, exist_ok=True)
    jobs = [_job(plan) for plan in plans if plan.digitised]
    pages = _digitise(db, archive_root, jobs, archivist_id, workers)
    services = _history(db, history_days, seed) if history_days else 0

    material_count = sum(len(p.materials) for p in plans)
    return DemoSummary(
        institutions=len(INSTITUTIONS),
        clerks=len(CLERKS),
        dossiers=len(plans),
        materials=material_count,
        digitised_dossiers=len(jobs),
        pages=pages,
        services=services,
        seconds=time.perf_counter() - started,
        bytes_on_disk=_bytes_on_disk(db, archive_root),
    )


def _history(db: Database, days: int, seed: int) -> int:
    """A few weeks of counter service history up to now, for the supervisor's dashboard:
    4 counters at each district centre and 2 at the sub-district office, served by the
    clerks and supervisors of each."""
    with db.read() as session:
        institutions = session.exec(select(Institution).order_by(Institution.code)).all()
        staff = session.exec(
            select(Clerk).where(col(Clerk.role).in_(("clerk", "supervisor")))
        ).all()
    counters = {"sub-district": 2}
    total = 0
    today = clock.today()
    for inst in institutions:
        total += history.generate_history(
            db,
            institution_ids=[inst.id],
            counters=counters.get(inst.kind, 4),
            clerks=[c.id for c in staff if c.institution_id == inst.id],
            start=today - dt.timedelta(days=days),
            days=days + 1,
            seed=seed,
        )
    return total


# --------------------------------------------------------------------------------------------
# Planning (pure: a seeded Random in, plain data out)


def _plan_archive(
    rng: random.Random, count: int, share: float, as_of: dt.date
) -> list[_DossierPlan]:
    used_ids: set[str] = set()
    plans = [
        _plan_dossier(random.Random(rng.getrandbits(64)), as_of, used_ids) for _i in range(count)
    ]
    # Sequential dossier numbers per institution in order of receipt (domain.md §5), and shelf
    # slots in the same order, so neighbours on the shelf arrived together.
    prefixes = {code: prefix for code, _n, _k, _p, prefix in INSTITUTIONS}
    by_origin: dict[str, list[_DossierPlan]] = {}
    for plan in plans:
        by_origin.setdefault(plan.origin, []).append(plan)
    for code, group in by_origin.items():
        group.sort(key=lambda p: p.received)
        for slot, plan in enumerate(group):
            plan.dossier_no = f"{prefixes[code]}{_SERIAL_BASE[code] + slot + 1:08d}"
            shelved_at = plan.received + dt.timedelta(
                days=rng.randint(0, 4), hours=rng.randint(0, 3)
            )
            shelved_at = min(shelved_at, _at(as_of, 16))
            plan.custody = [
                _CustodyPlan("received", code, plan.received, remark="机要转递"),
                _CustodyPlan("shelved", code, max(shelved_at, plan.received), _shelf(code, slot)),
            ]
    # A few dossiers left for another institution later; most arrived and were shelved there,
    # the most recent may still be on their way.
    transfers = rng.sample(range(count), max(1, round(count * 0.04)))
    incoming: dict[str, int] = {}
    names = {code: name for code, name, _k, _p, _s in INSTITUTIONS}
    for n, index in enumerate(sorted(transfers)):
        plan = plans[index]
        destination = rng.choice([c for c, *_rest in INSTITUTIONS if c != plan.origin])
        earliest = plan.custody[-1].at + dt.timedelta(days=60)
        latest = _at(as_of, 10) - dt.timedelta(days=20)
        if earliest >= latest:
            continue
        left = earliest + (latest - earliest) * rng.random()
        plan.custody.append(
            _CustodyPlan(
                "transferred_out",
                destination,
                left,
                remark=f"转递至{names[destination]}",
                recorded_by=plan.custody[-1].holder,
            )
        )
        if n % 4 == 3:
            continue  # still in transit
        arrived = left + dt.timedelta(days=rng.randint(2, 12))
        slot = 5_000 + incoming.get(destination, 0)
        incoming[destination] = incoming.get(destination, 0) + 1
        plan.custody.append(_CustodyPlan("received", destination, arrived, remark="机要转递"))
        plan.custody.append(
            _CustodyPlan(
                "shelved",
                destination,
                arrived + dt.timedelta(hours=rng.randint(1, 30)),
                _shelf(destination, slot),
            )
        )
    digitised = round(count * share)
    in_transit = {i for i in transfers if plans[i].custody[-1].kind == "transferred_out"}
    eligible = [i for i in range(count) if i not in in_transit]
    for index in rng.sample(eligible, min(digitised, len(eligible))):
        plans[index].digitised = True
        plans[index].render_seed = rng.getrandbits(32)
    return plans


def _plan_dossier(rng: random.Random, as_of: dt.date, used_ids: set[str]) -> _DossierPlan:
    gender = rng.choice("MF")
    birth = _rand_date(rng, dt.date(1950, 1, 1), dt.date(2002, 12, 31))
    name = _name(rng, gender, birth)
    while True:
        area = rng.choice(_BEIJING_AREAS) if rng.random() < 0.6 else rng.choice(_OTHER_AREAS)
        sequence = rng.randrange(0, 499) * 2 + (1 if gender == "M" else 2)
        first17 = f"{area}{birth:%Y%m%d}{sequence:03d}"
        number = first17 + resident_id.check_character(first17)
        if number not in used_ids:
            used_ids.add(number)
            break
    roll = rng.random()
    origin = "CY-RC"
    for code, share in _HOLDER_SHARES:
        if roll < share:
            origin = code
            break
        roll -= share
    life = _Life(rng, birth, gender, name, as_of)
    materials, received = life.build()
    recorded, differs = _recorded_birth(rng, birth)
    if differs and rng.random() < 0.5:
        when = _rand_date(rng, max(received.date(), life.earliest), as_of)
        materials.append(_MaterialPlan(5, None, f"关于{name}同志出生日期的认定意见", when, 1))
    for plan, item_no in categories.number_items(materials):
        plan.item_no = item_no
    materials.sort(key=categories.display_key)
    return _DossierPlan(
        name=name,
        id_number=number,
        gender=gender,
        birth=birth,
        birth_recorded=recorded,
        origin=origin,
        received=received,
        materials=materials,
    )


def _name(rng: random.Random, gender: str, birth: dt.date) -> str:
    if rng.random() < 0.01:
        surname = rng.choice(_COMPOUND_SURNAMES)
    else:
        # Frequent surnames first in the list: weight falls with rank.
        surname = rng.choices(
            _SURNAMES, weights=[1 / (rank + 4) for rank in range(len(_SURNAMES))]
        )[0]
    if birth.year < 1968 and rng.random() < 0.3:
        return surname + rng.choice(_OLD_MALE_NAMES if gender == "M" else _OLD_FEMALE_NAMES)
    chars = _MALE_CHARS if gender == "M" else _FEMALE_CHARS
    given = rng.choice(chars) + (rng.choice(chars) if rng.random() < 0.6 else "")
    return surname + given


def _recorded_birth(rng: random.Random, birth: dt.date) -> tuple[str, bool]:
    """The birth date as the dossier writes it; sometimes it is not quite the ID's date."""
    shown = birth
    roll = rng.random()
    if roll < 0.03:
        shown = _add_years(birth, rng.choice((-1, 1)))
    elif roll < 0.09:
        shown = birth + dt.timedelta(days=rng.choice((-45, -30, -12, -3, 2, 9, 31, 60)))
    style = rng.choice(_BIRTH_STYLES)
    return style(shown), style(shown) != style(birth)


_BIRTH_STYLES = (
    *([lambda d: f"{d.year}年{d.month}月"] * 8),
    *([lambda d: f"{d:%Y.%m.%d}"] * 5),
    *([lambda d: f"{d.year}年{d.month:02d}月{d.day:02d}日"] * 3),
    *([lambda d: f"{d:%Y-%m}"] * 2),
    lambda d: f"{d.year}.{d.month}",
)


class _Life:
    """One person's path through school and work, written down as dossier materials."""

    _LEVELS = {
        # cohort upper bound: (junior, senior, vocational, college, bachelor, master, doctor)
        1965: (0.25, 0.30, 0.20, 0.15, 0.10, 0.0, 0.0),
        1980: (0.08, 0.20, 0.20, 0.22, 0.25, 0.05, 0.0),
        9999: (0.0, 0.05, 0.10, 0.25, 0.45, 0.12, 0.03),
    }

    def __init__(
        self, rng: random.Random, birth: dt.date, gender: str, name: str, as_of: dt.date
    ) -> None:
        self.rng = rng
        self.birth = birth
        self.gender = gender
        self.name = name
        self.as_of = as_of
        self.earliest = _add_years(birth, 15)
        self.items: list[_MaterialPlan] = []

    def add(
        self,
        category: int,
        subcategory: int | None,
        title: str,
        when: dt.date | None,
        pages: tuple[int, int] | int = 1,
        remark: str = "",
        *,
        core: bool = True,
    ) -> bool:
        """Record a material formed on ``when`` (moved up to age 15; dropped if in the future)."""
        if when is None:
            return False
        when = max(when, self.earliest)
        if when > self.as_of:
            return False
        count = pages if isinstance(pages, int) else self.rng.randint(*pages)
        self.items.append(_MaterialPlan(category, subcategory, title, when, count, remark, core))
        return True

    def between(self, start: dt.date, end: dt.date) -> dt.date | None:
        start = max(start, self.earliest)
        end = min(end, self.as_of)
        return _rand_date(self.rng, start, end) if start <= end else None

    def build(self) -> tuple[list[_MaterialPlan], dt.datetime]:
        rng = self.rng
        cohort = next(bound for bound in sorted(self._LEVELS) if self.birth.year < bound)
        level = rng.choices(range(7), weights=self._LEVELS[cohort])[0]
        junior = dt.date(self.birth.year + rng.choice((15, 16)), 7, rng.randint(1, 12))
        senior = _add_years(junior, 3)
        college_start = dt.date(senior.year, 9, rng.randint(1, 10))
        vocational = dt.date(junior.year + rng.choice((3, 4)), 7, rng.randint(1, 12))
        degrees = [
            dt.date(senior.year + 3, 7, rng.randint(1, 10)),  # 大专
            dt.date(senior.year + 4, 7, rng.randint(1, 10)),  # 本科
        ]
        degrees.append(dt.date(degrees[1].year + rng.choice((2, 3)), 7, rng.randint(1, 10)))
        degrees.append(dt.date(degrees[2].year + rng.choice((3, 4)), 7, rng.randint(1, 10)))
        # Nobody still at school has a dossier at a talent centre: stop the path in time.
        while True:
            graduations = (
                []
                if level <= 2
                else [degrees[0]]
                if level == 3
                else [degrees[1], *degrees[2 : level - 2]]
            )
            last = {0: junior, 1: senior, 2: vocational}[level] if level <= 2 else graduations[-1]
            if level == 0 or last <= self.as_of - dt.timedelta(days=120):
                break
            level -= 1
        college = level >= 3
        cadre = level >= 2 or rng.random() < 0.15
        if level <= 1:
            work_start = _add_days(last, rng.randint(60, 900))
        else:
            work_start = dt.date(last.year, rng.choice((8, 9)), rng.randint(1, 28))
        retire_age = 60 if self.gender == "M" else (55 if cadre else 50)
        retire = _add_years(self.birth, retire_age)
        career_end = min(self.as_of, retire)
        working = work_start <= career_end

        # 4-1 schooling
        if level == 1 or (level >= 3 and rng.random() < 0.5):
            self.add(4, 1, "高中毕业生登记表", senior, (1, 2))
        if level == 2:
            self.add(4, 1, "中等专业学校毕业生登记表", last, (2, 4))
            if rng.random() < 0.7:
                self.add(4, 1, "中专毕业证书（复印件）", last, 1, "复印件")
        if college:
            first = graduations[0]
            if rng.random() < 0.5:
                self.add(4, 1, "学生学籍登记表", college_start, (1, 2))
            self.add(4, 1, "高等学校毕业生登记表", first, (2, 4))
            if rng.random() < 0.7:
                self.add(4, 1, "学习成绩单", _add_days(first, -rng.randint(10, 40)), (1, 2))
            if rng.random() < 0.8:
                self.add(4, 1, "毕业证书（复印件）", first, 1, "复印件")
            if level >= 4 and rng.random() < 0.85:
                self.add(4, 1, "学士学位证书（复印件）", first, 1, "复印件")
            if first.year >= 2002 and rng.random() < 0.5:
                self.add(
                    4,
                    1,
                    "教育部学历证书电子注册备案表",
                    self.between(first, _add_years(first, 3)),
                    1,
                )
            for year in range(college_start.year, first.year):
                if rng.random() < 0.25:
                    self.add(
                        3,
                        None,
                        "学年鉴定表",
                        dt.date(year + 1, 6, rng.randint(15, 30)),
                        1,
                        core=False,
                    )
            if rng.random() < 0.15:
                self.add(7, None, "三好学生登记表", self.between(college_start, first), 1)
            if rng.random() < 0.1:
                self.add(7, None, "优秀毕业生登记表", _add_days(first, -rng.randint(20, 40)), 1)
        if level >= 5:
            self.add(4, 1, "硕士研究生毕业登记表", graduations[1], (2, 4))
            self.add(4, 1, "硕士学位证书（复印件）", graduations[1], 1, "复印件")
        if level == 6:
            self.add(4, 1, "博士研究生毕业登记表", graduations[2], (2, 4))
            self.add(4, 1, "博士学位证书（复印件）", graduations[2], 1, "复印件")
        if level >= 2:
            if rng.random() < 0.6:
                self.add(3, None, "毕业鉴定表", _add_days(last, -rng.randint(10, 30)), 1)
            title = "普通高等学校毕业生就业报到证" if last.year >= 1997 else "毕业生派遣报到证"
            if level == 2:
                title = "中等专业学校毕业生派遣证"
            self.add(10, None, title, _add_days(last, rng.randint(1, 20)), 1)

        # 6 League and Party, 2 autobiography and reports, 5 political review
        if rng.random() < (0.5 if self.birth.year < 1965 else 0.75):
            self.add(
                6,
                None,
                "入团志愿书",
                self.between(self.earliest, _add_years(self.birth, 18)),
                (2, 4),
            )
        if rng.random() < (0.42 if cadre else 0.2):
            applied = self.between(_add_years(self.birth, 19), _add_years(self.birth, 38))
            if applied:
                self.add(6, None, "入党申请书", applied, (1, 2))
                self.add(2, None, "自传", _add_days(applied, rng.randint(20, 90)), (2, 6))
                for k in range(rng.randint(1, 4)):
                    self.add(
                        2,
                        None,
                        "思想汇报",
                        _add_days(applied, 90 + 120 * k + rng.randint(0, 60)),
                        (1, 3),
                        core=False,
                    )
                self.add(
                    6,
                    None,
                    "入党积极分子考察登记表",
                    _add_days(applied, rng.randint(180, 360)),
                    (2, 4),
                )
                self.add(
                    5, None, "入党政治审查材料", _add_days(applied, rng.randint(300, 420)), (1, 2)
                )
                joined = _add_days(applied, rng.randint(400, 760))
                if self.add(6, None, "入党志愿书", joined, (4, 6)):
                    self.add(
                        6,
                        None,
                        "预备党员转正申请书",
                        _add_days(joined, rng.randint(360, 380)),
                        (1, 2),
                    )
                    if cadre and rng.random() < 0.3:
                        self.add(
                            4,
                            4,
                            "党校学习鉴定表",
                            self.between(_add_years(joined, 2), career_end),
                            (1, 2),
                        )
        elif rng.random() < 0.5:
            self.add(2, None, "自传", _add_days(last, -rng.randint(30, 120)), (2, 6))

        # 1 CV forms, 3 appraisals, 9 wages and appointment, 10 other
        def hired(low: int, high: int) -> dt.date:
            """A date shortly before starting work, but after leaving school."""
            return max(_add_days(work_start, -rng.randint(low, high)), _add_days(last, 1))

        received = None
        if working:
            if cadre:
                self.add(
                    1,
                    None,
                    "干部履历表",
                    self.between(work_start, _add_years(work_start, 2)),
                    (4, 6),
                )
                if rng.random() < 0.4:
                    self.add(
                        1,
                        None,
                        "干部履历表",
                        self.between(_add_years(work_start, 10), career_end),
                        (4, 6),
                    )
                if rng.random() < 0.7:
                    self.add(3, None, "见习期满考核鉴定表", _add_years(work_start, 1), (1, 2))
                    self.add(9, 1, "转正定级审批表", _add_days(_add_years(work_start, 1), 15), 1)
                if rng.random() < 0.6:
                    self.add(9, 2, "录用审批表", hired(5, 30), (1, 2))
                if rng.random() < 0.25:
                    self.add(
                        9,
                        2,
                        "干部任免审批表",
                        self.between(_add_years(work_start, 5), career_end),
                        (1, 2),
                    )
                if rng.random() < 0.12:
                    self.add(
                        3,
                        None,
                        "考察材料",
                        self.between(_add_years(work_start, 8), career_end),
                        (2, 4),
                    )
            else:
                title = "招工审批表" if work_start.year < 1995 else "招工登记表"
                self.add(9, 2, title, hired(5, 30), (1, 2))
                self.add(
                    1,
                    None,
                    "职工登记表",
                    self.between(work_start, _add_years(work_start, 1)),
                    (2, 4),
                )
            if rng.random() < 0.6:
                self.add(10, None, "体检表", hired(5, 25), (1, 2))
            wage_year = work_start.year + rng.randint(2, 5)
            while wage_year < career_end.year and rng.random() < 0.85:
                title = "工资调整审批表" if cadre else "职工工资变动审批表"
                self.add(
                    9,
                    1,
                    title,
                    dt.date(wage_year, rng.randint(1, 12), rng.randint(1, 28)),
                    1,
                    core=False,
                )
                wage_year += rng.randint(2, 6)
            if rng.random() < 0.25:
                self.add(
                    4,
                    2,
                    "专业技术职务任职资格评审表",
                    self.between(_add_years(work_start, 5), career_end),
                    (2, 6),
                )
                self.add(
                    4,
                    2,
                    "专业技术资格证书（复印件）",
                    self.between(_add_years(work_start, 5), career_end),
                    1,
                    "复印件",
                )
            if rng.random() < 0.12:
                self.add(
                    4,
                    2,
                    "职业资格证书（复印件）",
                    self.between(work_start, career_end),
                    1,
                    "复印件",
                )
            if rng.random() < 0.05:
                self.add(
                    4,
                    3,
                    "科研成果登记表",
                    self.between(_add_years(work_start, 3), career_end),
                    (1, 3),
                )
            if rng.random() < 0.15:
                self.add(
                    4,
                    4,
                    "培训结业证书（复印件）",
                    self.between(work_start, career_end),
                    1,
                    "复印件",
                )
            if rng.random() < 0.15:
                self.add(
                    7,
                    None,
                    "先进工作者审批表",
                    self.between(_add_years(work_start, 2), career_end),
                    (1, 2),
                )
            if rng.random() < 0.03:
                punished = self.between(_add_years(work_start, 1), career_end)
                if self.add(8, None, f"关于给予{self.name}同志警告处分的决定", punished, (1, 2)):
                    self.add(
                        8, None, f"关于解除{self.name}同志处分的决定", _add_years(punished, 1), 1
                    )
            if rng.random() < 0.06:
                self.add(
                    9, 3, "因私出国（境）人员审批表", self.between(work_start, career_end), (1, 2)
                )
            if rng.random() < 0.01:
                self.add(
                    9,
                    4,
                    "区人民代表大会代表登记表",
                    self.between(_add_years(work_start, 10), career_end),
                    (1, 2),
                )
            if rng.random() < 0.2:
                self.add(
                    10,
                    None,
                    "工作调动介绍信",
                    self.between(_add_years(work_start, 1), career_end),
                    1,
                )
            if rng.random() < 0.08:
                self.add(5, None, "参加工作时间认定审批表", self.between(work_start, career_end), 1)

            # Most dossiers reach the district centre when their holder leaves an employer.
            left_from = max(_add_years(work_start, 2), dt.date(1995, 1, 1))
            left_until = min(career_end, self.as_of - dt.timedelta(days=40))
            if left_from <= left_until and (level < 2 or rng.random() < 0.6):
                left = _rand_date(rng, left_from, left_until)
                self.add(9, 2, "解除劳动合同证明书", left, 1)
                received = _at(
                    min(_add_days(left, rng.randint(10, 60)), self.as_of), rng.randint(9, 16), rng
                )
        if received is None:
            # A graduate's dossier sent by the school, or a dossier arriving with its holder.
            base = max(
                _add_days(last, rng.randint(30, 90)),
                dt.date(1995, 1, 1) + dt.timedelta(days=rng.randint(0, 3000)),
            )
            received = _at(
                min(base, self.as_of - dt.timedelta(days=rng.randint(20, 400))),
                rng.randint(9, 16),
                rng,
            )
        received_day = received.date()
        if rng.random() < 0.8:
            self.add(10, None, "档案转递通知单", max(received_day, self.earliest), 1)
        if rng.random() < 0.3:
            self.add(
                10, None, "居民身份证（复印件）", max(received_day, self.earliest), 1, "复印件"
            )
        if retire <= self.as_of:
            title = "干部退休审批表" if cadre else "职工退休审批表"
            self.add(9, 2, title, _add_days(retire, -rng.randint(10, 40)), (2, 4))

        # Annual appraisals fill the catalogue up to a plausible length (15–60 rows).
        target = round(rng.triangular(15, 60, 30))
        years = list(range(work_start.year, career_end.year)) if working else []
        room = max(0, target - len(self.items))
        for year in sorted(rng.sample(years, min(room, len(years)))):
            self.add(
                3,
                None,
                f"{year}年度考核登记表",
                dt.date(year + 1, 1, rng.randint(5, 25)),
                (1, 2),
                core=False,
            )
        while len(self.items) < 15:
            self._pad(
                work_start if working else None,
                career_end,
                last,
                college_start if college else None,
            )
        while len(self.items) > 60:
            optional = [i for i, m in enumerate(self.items) if not m.core] or list(
                range(len(self.items))
            )
            del self.items[rng.choice(optional)]
        return self.items, received

    def _pad(
        self,
        work_start: dt.date | None,
        career_end: dt.date,
        last_school: dt.date,
        college_start: dt.date | None,
    ) -> None:
        rng = self.rng
        choices = ["思想汇报"]
        if work_start:
            choices += ["个人总结", "培训结业证书（复印件）", "工资调整审批表"]
        if college_start:
            choices += ["学年鉴定表", "荣誉证书（复印件）"]
        title = rng.choice(choices)
        if title == "思想汇报":
            self.add(
                2,
                None,
                title,
                self.between(_add_years(self.birth, 18), self.as_of),
                (1, 3),
                core=False,
            )
        elif title == "个人总结":
            self.add(2, None, title, self.between(work_start, career_end), (1, 2), core=False)
        elif title == "培训结业证书（复印件）":
            self.add(4, 4, title, self.between(work_start, career_end), 1, "复印件", core=False)
        elif title == "工资调整审批表":
            self.add(9, 1, title, self.between(work_start, career_end), 1, core=False)
        elif title == "学年鉴定表":
            self.add(3, None, title, self.between(college_start, last_school), 1, core=False)
        else:
            self.add(
                7, None, title, self.between(college_start, self.as_of), 1, "复印件", core=False
            )


def _shelf(code: str, slot: int) -> str:
    """Shelf location "3库-12架-4层-087": 120 places a layer, 6 layers a rack, 40 racks a store."""
    store, rack = _SHELF_BASE[code]
    index = ((store - 1) * 40 + (rack - 1)) * 720 + slot
    place = index % 120 + 1
    layer = index // 120 % 6 + 1
    rack = index // 720 % 40 + 1
    store = index // 28_800 + 1
    return f"{store}库-{rack}架-{layer}层-{place:03d}"


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _add_days(day: dt.date, days: int) -> dt.date:
    return day + dt.timedelta(days=days)


def _rand_date(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    if end <= start:
        return start
    return start + dt.timedelta(days=rng.randint(0, (end - start).days))


def _at(day: dt.date, hour: int, rng: random.Random | None = None) -> dt.datetime:
    """Office time ``hour`` (Beijing) on ``day``, as aware UTC."""
    minute = rng.randint(0, 59) if rng else 0
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=BEIJING).astimezone(
        dt.UTC
    )


# --------------------------------------------------------------------------------------------
# Writing the paper part


def _insert(db: Database, plans: list[_DossierPlan]) -> uuid.UUID:
    """Insert institutions, accounts, dossiers, catalogues and custody; return the archivist."""
    now = utcnow()
    with db.write() as session:
        institutions = {}
        for code, name, kind, parent, prefix in INSTITUTIONS:
            institutions[code] = Institution(
                code=code, name=name, kind=kind, parent_code=parent, serial_prefix=prefix
            )
        session.add_all(institutions.values())
        # No ORM relationships are declared, so the flush order follows these explicit flushes.
        session.flush()
        clerks = {}
        for username, name, role, code in CLERKS:
            # Demo passwords are "<username>-demo" (README); real accounts come from
            # `counter-tui user add` or the first-admin prompt.
            clerks[username] = Clerk(
                username=username,
                name=name,
                role=role,
                institution_id=institutions[code].id,
                password_hash=auth.hash_secret(f"{username}-demo"),
            )
        session.add_all(clerks.values())
        session.flush()
        archivist = clerks["arch1"].id
        holders_clerk = {"CY-RC": archivist, "CY-JY": clerks["clerk3"].id}
        # Plain executemany inserts: ten thousand catalogue rows as ORM objects would cost
        # seconds and a hundred megabytes for nothing.
        dossier_rows, event_rows, material_rows = [], [], []
        for plan in plans:
            dossier_id = new_id()
            dossier_rows.append(
                dict(
                    id=dossier_id,
                    dossier_no=plan.dossier_no,
                    barcode=plan.dossier_no,
                    person_name=plan.name,
                    id_number=plan.id_number,
                    gender=plan.gender,
                    birth_date_recorded=plan.birth_recorded,
                    created_at=plan.received,
                    origin_institution_id=institutions[plan.origin].id,
                )
            )
            for event in plan.custody:
                event_rows.append(
                    dict(
                        id=new_id(),
                        dossier_id=dossier_id,
                        kind=event.kind,
                        holder_institution_id=institutions[event.holder].id,
                        shelf_location=event.shelf,
                        at=event.at,
                        clerk_id=holders_clerk.get(event.recorded_by or event.holder),
                        remark=event.remark,
                    )
                )
            for m in plan.materials:
                # Catalogued on arrival, or within a month of forming for later materials.
                filed = max(plan.received, _at(m.formed_on, 10) + dt.timedelta(days=20))
                material_rows.append(
                    dict(
                        id=new_id(),
                        dossier_id=dossier_id,
                        category=m.category,
                        subcategory=m.subcategory,
                        item_no=m.item_no,
                        title=m.title,
                        formed_on=m.formed_on,
                        page_count=m.page_count,
                        remark=m.remark,
                        corrects=None,
                        created_at=min(filed, now),
                        created_by=archivist,
                    )
                )
        session.execute(insert(Dossier), dossier_rows)
        session.execute(insert(CustodyEvent), event_rows)
        session.execute(insert(Material), material_rows)
        # Seal every catalogue entry in the access chain, as 补登 and intake do.
        chain = access_log.Chain(session)
        for row in material_rows:
            fixity.register_material(
                chain, Material(**row), clerk_id=archivist, institution_id=institutions["CY-RC"].id
            )
    return archivist


# --------------------------------------------------------------------------------------------
# Digitising: rendering scan batches and attaching them through intake


def _job(plan: _DossierPlan) -> _BatchJob:
    names = {code: name for code, name, _k, _p, _s in INSTITUTIONS}
    return _BatchJob(
        batch_dir="",
        dossier_no=plan.dossier_no,
        person_name=plan.name,
        birth_recorded=plan.birth_recorded,
        institution=names[plan.origin],
        seed=plan.render_seed,
        materials=tuple(
            (m.catalogue_number, m.title, m.formed_on.isoformat(), m.page_count, m.remark)
            for m in plan.materials
        ),
    )


def _digitise(
    db: Database,
    archive_root: Path,
    jobs: list[_BatchJob],
    archivist: uuid.UUID,
    workers: int | None,
) -> int:
    if not jobs:
        return 0
    if workers is None:
        # One thread rendering ahead of intake is the sweet spot on two cores; more threads
        # mostly add memory.
        workers = 1 if (os.cpu_count() or 1) > 1 else 0
    pages = 0
    with tempfile.TemporaryDirectory(prefix="counter-tui-demo-") as tmp:
        staged = [
            dataclasses.replace(job, batch_dir=str(Path(tmp) / job.dossier_no)) for job in jobs
        ]
        # One painter per thread (FreeType faces must not be shared between threads), dropped
        # with its caches when the build ends.
        painters = threading.local()

        def render(job: _BatchJob) -> str:
            painter = getattr(painters, "painter", None)
            if painter is None:
                painter = painters.painter = _Painter()
            return _render_batch(job, painter)

        def attach(batch_dir: str) -> None:
            nonlocal pages
            result = ingest_scan_batch(
                db, batch_dir=Path(batch_dir), archive_root=archive_root, clerk_id=archivist
            )
            pages += result.pages
            shutil.rmtree(batch_dir, ignore_errors=True)

        if workers <= 0:
            for job in staged:
                attach(render(job))
            return pages
        # Threads suffice: Pillow releases the GIL while packing and compressing a page, which
        # is most of the rendering time, and intake runs meanwhile in this thread.
        with concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="demo-render"
        ) as pool:
            # A bounded window: rendered batches wait on disk only briefly before intake.
            pending: deque[concurrent.futures.Future[str]] = deque()
            queue = deque(staged)
            try:
                while queue or pending:
                    while queue and len(pending) < workers * 2:
                        pending.append(pool.submit(render, queue.popleft()))
                    attach(pending.popleft().result())
            finally:
                for future in pending:
                    future.cancel()
    return pages


def _bytes_on_disk(db: Database, archive_root: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(archive_root):
        for name in files:
            total += os.path.getsize(os.path.join(folder, name))
    if db.is_sqlite and db.url.database and db.url.database != ":memory:":
        base = Path(db.url.database)
        for suffix in ("", "-wal", "-shm"):
            candidate = base.with_name(base.name + suffix)
            if candidate.exists():
                total += candidate.stat().st_size
    return total


# --------------------------------------------------------------------------------------------
# Rendering (runs in rendering threads; no database access here)


def _render_batch(job: _BatchJob, painter: _Painter) -> str:
    """Render one dossier's scan batch into ``job.batch_dir`` and return that folder.

    Files ``scan-0000.png`` (cover with a Code 128 label of the dossier number), then one file
    per catalogue page in catalogue order; A4 at 150 dpi, mode "1" PNG (DA/T 31-2017 §9.3 二值).
    """
    rng = random.Random(job.seed)
    folder = Path(job.batch_dir)
    folder.mkdir(parents=True, exist_ok=True)
    serial = 0
    painter.save(painter.cover(job, rng), folder / f"scan-{serial:04d}.png")
    for catalogue_number, title, formed_on, page_count, remark in job.materials:
        for page_no in range(1, page_count + 1):
            serial += 1
            page = painter.page(
                rng,
                job,
                catalogue_number,
                title,
                dt.date.fromisoformat(formed_on),
                page_no,
                page_count,
                remark,
            )
            painter.save(page, folder / f"scan-{serial:04d}.png")
    return str(folder)


def render_cover(
    dossier_no: str,
    person_name: str,
    *,
    institution: str = INSTITUTIONS[0][1],
    birth_recorded: str = "",
    seed: int = 0,
) -> Image.Image:
    """A dossier cover page (mode "1", A4 at 150 dpi) with a Code 128 label of ``dossier_no``.

    The label uses 3-pixel modules (0.51 mm) and the 10-module quiet zones Code 128 requires
    (GB/T 18347-2001).
    """
    job = _BatchJob("", dossier_no, person_name, birth_recorded, institution, seed, ())
    painter = _Painter()
    return painter.cover(job, random.Random(seed))


class _Painter:
    """Fonts and pre-rendered text bitmaps, kept for the life of a rendering process."""

    def __init__(self) -> None:
        found = find_cjk_font()
        self.cjk = found is not None
        self._font_path, self._font_index = found if found else ("", 0)
        self._fonts: dict[int, ImageFont.FreeTypeFont | ImageFont.ImageFont] = {}
        self._texts: dict[tuple[str, int], Image.Image] = {}
        self._lines: list[Image.Image] | None = None
        self._form: Image.Image | None = None

    # fonts and text ------------------------------------------------------------------------

    def font(self, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        if size not in self._fonts:
            if self.cjk:
                self._fonts[size] = ImageFont.truetype(
                    self._font_path, size, index=self._font_index
                )
            else:
                self._fonts[size] = ImageFont.load_default(size=size)
        return self._fonts[size]

    def text(self, text: str, size: int) -> Image.Image:
        """``text`` as a black-on-white bitmap, cached (titles and labels repeat a lot)."""
        key = (text, size)
        bitmap = self._texts.get(key)
        if bitmap is None:
            font = self.font(size)
            left, top, right, bottom = font.getbbox(text)
            bitmap = Image.new("1", (max(1, right - left), max(1, bottom - top)), 1)
            ImageDraw.Draw(bitmap).text((-left, -top), text, font=font, fill=0)
            if len(self._texts) > 4000:
                self._texts.clear()
            self._texts[key] = bitmap
        return bitmap

    def put(
        self,
        page: Image.Image,
        text: str,
        size: int,
        xy: tuple[int, int],
        anchor: str = "l",
        fallback: str | None = None,
    ) -> None:
        """Paste ``text`` with its left/centre/right ("l"/"m"/"r") edge at ``xy``."""
        if not self.cjk and not text.isascii():
            if fallback is None:
                return
            text = fallback
        bitmap = self.text(text, size)
        x, y = xy
        if anchor == "m":
            x -= bitmap.width // 2
        elif anchor == "r":
            x -= bitmap.width
        page.paste(bitmap, (x, y))

    def body_lines(self) -> list[Image.Image]:
        if self._lines is None:
            rng = random.Random(7)
            lines = []
            for _n in range(40):
                if self.cjk:
                    words: list[str] = []
                    while len("，".join(words)) < 22:
                        words.append(rng.choice(_PHRASES))
                    if len("，".join(words)) > 33:
                        words.pop()
                    line = "，".join(words) + rng.choice("，，。")
                else:
                    line = " ".join(
                        rng.choice(
                            (
                                "lorem",
                                "ipsum",
                                "dolor",
                                "sit",
                                "amet",
                                "record",
                                "archive",
                                "work",
                                "school",
                                "approved",
                            )
                        )
                        for _w in range(rng.randint(8, 12))
                    )
                lines.append(self.text(line, 26))
            self._lines = lines
        return self._lines

    def form_base(self) -> Image.Image:
        """An empty registration form grid with printed field labels (drawn once, copied)."""
        if self._form is None:
            page = Image.new("1", PAGE_SIZE, 1)
            draw = ImageDraw.Draw(page)
            left, right, top = 150, 1130, 300
            row_heights = (80, 80, 80, 80, 80, 330, 220, 260)
            y = top
            for labels, height in zip(_FORM_LABELS, row_heights, strict=True):
                draw.line((left, y, right, y), fill=0, width=2)
                cell = (right - left) // len(labels)
                for k, label in enumerate(labels):
                    x = left + k * cell
                    draw.line((x, y, x, y + height), fill=0, width=2)
                    draw.line((x + 150, y, x + 150, y + height), fill=0, width=1)
                    self.put(page, label, 22, (x + 10, y + 26), fallback=f"F{k + 1}")
                y += height
            draw.line((left, y, right, y), fill=0, width=2)
            draw.line((right, top, right, y), fill=0, width=2)
            self._form = page
        return self._form

    # pages ---------------------------------------------------------------------------------

    def cover(self, job: _BatchJob, rng: random.Random) -> Image.Image:
        page = Image.new("1", PAGE_SIZE, 1)
        draw = ImageDraw.Draw(page)
        width = PAGE_SIZE[0]
        draw.rectangle((90, 90, width - 90, PAGE_SIZE[1] - 90), outline=0, width=4)
        self.put(page, "人 事 档 案", 110, (width // 2, 260), "m", fallback="PERSONNEL DOSSIER")
        # Code 128 label (GB/T 18347): 3 px modules, quiet zones, human-readable line below.
        modules = barcode.Code128(job.dossier_no).build()[0]
        module = 3
        label_width = (len(modules) + 20) * module
        x0 = (width - label_width) // 2
        draw.rectangle((x0 - 12, 470, x0 + label_width + 12, 700), outline=0, width=2)
        x = x0 + 10 * module
        run_start = None
        for i, bit in enumerate(modules + "0"):
            if bit == "1" and run_start is None:
                run_start = i
            elif bit == "0" and run_start is not None:
                draw.rectangle((x + run_start * module, 500, x + i * module - 1, 620), fill=0)
                run_start = None
        self.put(page, job.dossier_no, 34, (width // 2, 635), "m")
        rows = (
            ("姓　　名", job.person_name, "Name"),
            ("档　　号", job.dossier_no, "Dossier"),
            ("出生日期", job.birth_recorded, "Born"),
            ("存档机构", job.institution, "Holder"),
        )
        draw.rectangle((220, 820, width - 220, 1260), outline=0, width=3)
        for k, (label, value, english) in enumerate(rows):
            y = 860 + k * 100
            self.put(page, f"{label}：", 38, (260, y), fallback=f"{english}:")
            self.put(page, value, 38, (500, y), fallback=value if value.isascii() else "-")
            draw.line((490, y + 56, width - 260, y + 56), fill=0, width=1)
        self.put(page, job.institution, 34, (width // 2, 1520), "m", fallback="Archive")
        self._specks(page, rng)
        return page

    def page(
        self,
        rng: random.Random,
        job: _BatchJob,
        catalogue_number: str,
        title: str,
        formed_on: dt.date,
        page_no: int,
        page_count: int,
        remark: str,
    ) -> Image.Image:
        layout = _layout(title)
        if layout == "form":
            page = self.form_base().copy()
        else:
            page = Image.new("1", PAGE_SIZE, 1)
        draw = ImageDraw.Draw(page)
        width, height = PAGE_SIZE
        fallback_title = f"Material {catalogue_number}"
        self.put(page, catalogue_number, 30, (width - 110, 60), "r")
        self.put(page, str(page_no), 30, (width - 110, height - 100), "r")
        last = page_no == page_count
        date_text = f"{formed_on.year}年{formed_on.month}月{formed_on.day}日"
        if layout == "form":
            self.put(
                page,
                title if page_no == 1 else f"{title}（续）",
                44,
                (width // 2, 170),
                "m",
                fallback_title,
            )
            if page_no == 1:
                self.put(page, job.person_name, 30, (320, 322), fallback="-")
                self.put(page, job.birth_recorded, 22, (962, 328), fallback="-")
            lines = self.body_lines()
            for k in range(rng.randint(2, 6)):
                self.put_line(page, rng.choice(lines), (320, 730 + k * 48), 790)
            if last:
                self.put(
                    page, f"（盖章）  {date_text}", 28, (1100, 1520), "r", fallback=str(formed_on)
                )
                self._seal(draw, 930, 1450)
        elif layout == "certificate":
            draw.rectangle((160, 260, width - 160, 1300), outline=0, width=6)
            draw.rectangle((176, 276, width - 176, 1284), outline=0, width=2)
            self.put(
                page, title.replace("（复印件）", ""), 52, (width // 2, 380), "m", fallback_title
            )
            self.put(
                page,
                f"{job.person_name}，{date_text}",
                32,
                (width // 2, 520),
                "m",
                fallback=str(formed_on),
            )
            lines = [line for line in self.body_lines() if line.width <= 760] or self.body_lines()
            for k in range(rng.randint(3, 6)):
                self.put_line(page, rng.choice(lines), (240, 620 + k * 56), 760)
            self._seal(draw, 860, 1100)
            if remark == "复印件":
                draw.rectangle((200, 1380, 640, 1500), outline=0, width=3)
                self.put(page, "复印件 与原件核对无误", 28, (220, 1420), fallback="COPY")
        else:
            self.put(
                page,
                title if page_no == 1 else f"{title}（续）",
                44,
                (width // 2, 170),
                "m",
                fallback_title,
            )
            lines = self.body_lines()
            y = 300
            for _k in range(rng.randint(14, 24)):
                indent = 52 if rng.random() < 0.15 else 0
                self.put_line(page, rng.choice(lines), (170 + indent, y), 900 - indent)
                y += 48
            if last:
                issued = title.startswith("关于") or title.endswith(
                    ("介绍信", "通知单", "证明书", "材料")
                )
                signed = "（盖章）" if issued else job.person_name
                self.put(
                    page, f"{signed}  {date_text}", 30, (1080, y + 60), "r", fallback=str(formed_on)
                )
                if issued:
                    self._seal(draw, 900, y + 20)
        self._specks(page, rng)
        return page

    def put_line(
        self, page: Image.Image, line: Image.Image, xy: tuple[int, int], width: int
    ) -> None:
        if line.width > width:
            line = line.crop((0, 0, width, line.height))
        page.paste(line, xy)

    def _seal(self, draw: ImageDraw.ImageDraw, cx: int, cy: int) -> None:
        draw.ellipse((cx - 85, cy - 85, cx + 85, cy + 85), outline=0, width=5)
        star = [(cx + 30 * _STAR[k][0], cy + 30 * _STAR[k][1]) for k in range(10)]
        draw.polygon(star, fill=0)

    def _specks(self, page: Image.Image, rng: random.Random) -> None:
        draw = ImageDraw.Draw(page)
        width, height = PAGE_SIZE
        for _k in range(rng.randint(8, 40)):
            x, y, r = rng.randrange(width), rng.randrange(height), rng.randint(0, 2)
            draw.ellipse((x, y, x + r, y + r), fill=0)
        if rng.random() < 0.3:  # holes left by the removed binding (DA/T 31-2017 §7.4)
            for y in (height // 3, 2 * height // 3):
                draw.ellipse((40, y - 14, 68, y + 14), outline=0, width=2)

    def save(self, page: Image.Image, path: Path) -> None:
        # Run-length zlib: as small as the default on bilevel pages and a third faster.
        page.save(path, "PNG", dpi=(PAGE_DPI, PAGE_DPI), compress_type=zlib.Z_RLE)


# A five-pointed star (outer radius 1, inner 0.4), the centre of an official seal.
_STAR = tuple(
    (
        (1.0 if k % 2 == 0 else 0.4) * math.sin(k * math.pi / 5),
        -(1.0 if k % 2 == 0 else 0.4) * math.cos(k * math.pi / 5),
    )
    for k in range(10)
)


def _layout(title: str) -> str:
    if "证书" in title or title.endswith(("报到证", "派遣证")) or "身份证" in title:
        return "certificate"
    if title.endswith(
        (
            "登记表",
            "审批表",
            "鉴定表",
            "评审表",
            "志愿书",
            "检查表",
            "成绩单",
            "备案表",
            "履历表",
            "体检表",
        )
    ):
        return "form"
    return "text"
