"""The people of the demo archive and the dossiers their lives leave behind (pure planning).

Plausible names, valid resident IDs (GB 11643-1999) with Beijing and other area codes, birth
dates as written in dossiers (sometimes off from the ID, as happens), and for each person a
life story — school, work, League and Party, qualifications, rewards and penalties, leaving an
employer, retirement, annual appraisals — written down as catalogue entries across the ten
categories with dates that fit the life (nothing before age 15, nothing after the archive's
"today"). Dossier numbers, shelf places and custody histories follow the order of receipt.

Everything here is a function of a seeded :class:`random.Random`; no database, no clock.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from counter_tui.demo.institutions import (
    HOLDER_SHARES,
    INSTITUTIONS,
    SERIAL_BASE,
    institution_names,
    serial_prefixes,
    shelf_location,
)
from counter_tui.domain import categories, clock, resident_id

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


@dataclass
class MaterialPlan:
    """One planned catalogue entry: category 1–10, sub-category (4 and 9 only), 材料名称,
    formation date, page count (≥ 1), 备注, whether it is core (kept when a long catalogue is
    trimmed) and the item number inside its (sub-)category (0 until numbered)."""

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
        """The 顺序号, "1-3" or "4-1-2"."""
        return categories.catalogue_number(self.category, self.subcategory, self.item_no)


@dataclass
class CustodyPlan:
    """One planned custody event: ``kind`` (received, shelved, transferred_out), the
    institution code holding the dossier after it (the receiver, for a transfer), the aware UTC
    time, the shelf location (shelved only), a remark and the code of the institution whose
    staff recorded it ("": the holder)."""

    kind: str
    holder: str
    at: dt.datetime
    shelf: str = ""
    remark: str = ""
    recorded_by: str = ""


@dataclass
class DossierPlan:
    """One planned dossier: the person (name, 18-character resident ID, gender "M"/"F", birth
    date from the ID and as the dossier writes it), the institution code that received it first
    and when (aware UTC), its catalogue in display order, custody events in time order, the
    dossier number ("CY00086001"), and whether (with which seed) its pages are scanned."""

    name: str
    id_number: str
    gender: str
    birth: dt.date
    birth_recorded: str
    origin: str
    received: dt.datetime
    materials: list[MaterialPlan]
    custody: list[CustodyPlan] = field(default_factory=list)
    dossier_no: str = ""
    digitised: bool = False
    render_seed: int = 0


# --------------------------------------------------------------------------------------------
# The archive: dossiers, their numbers, shelves and custody


def plan_archive(rng: random.Random, count: int, share: float, as_of: dt.date) -> list[DossierPlan]:
    """``count`` dossier plans drawn from ``rng``, nothing dated after ``as_of``.

    Dossier numbers run per institution in order of receipt (domain.md §5) and shelf places in
    the same order; about 4 % of the dossiers were later transferred to another institution
    (every fourth of those still in transit); ``round(count * share)`` dossiers (``share`` in
    0–1), none in transit, are marked for digitising.
    """
    used_ids: set[str] = set()
    plans = [
        _plan_dossier(random.Random(rng.getrandbits(64)), as_of, used_ids) for _i in range(count)
    ]
    _number_and_shelve(rng, plans, as_of)
    transfers = _plan_transfers(rng, plans, as_of)
    digitised = round(count * share)
    in_transit = {i for i in transfers if plans[i].custody[-1].kind == "transferred_out"}
    eligible = [i for i in range(count) if i not in in_transit]
    for index in rng.sample(eligible, min(digitised, len(eligible))):
        plans[index].digitised = True
        plans[index].render_seed = rng.getrandbits(32)
    return plans


def _number_and_shelve(rng: random.Random, plans: list[DossierPlan], as_of: dt.date) -> None:
    """Sequential dossier numbers per institution in order of receipt (domain.md §5), and shelf
    slots in the same order, so neighbours on the shelf arrived together."""
    prefixes = serial_prefixes()
    by_origin: dict[str, list[DossierPlan]] = {}
    for plan in plans:
        by_origin.setdefault(plan.origin, []).append(plan)
    for code, group in by_origin.items():
        group.sort(key=lambda p: p.received)
        for slot, plan in enumerate(group):
            plan.dossier_no = f"{prefixes[code]}{SERIAL_BASE[code] + slot + 1:08d}"
            shelved_at = plan.received + dt.timedelta(
                days=rng.randint(0, 4), hours=rng.randint(0, 3)
            )
            shelved_at = min(shelved_at, clock.at(as_of, 16))
            plan.custody = [
                CustodyPlan("received", code, plan.received, remark="机要转递"),
                CustodyPlan(
                    "shelved", code, max(shelved_at, plan.received), shelf_location(code, slot)
                ),
            ]


def _plan_transfers(rng: random.Random, plans: list[DossierPlan], as_of: dt.date) -> list[int]:
    """A few dossiers left for another institution later; most arrived and were shelved there,
    the most recent may still be on their way. Returns the indexes drawn for a transfer."""
    count = len(plans)
    transfers = rng.sample(range(count), max(1, round(count * 0.04)))
    incoming: dict[str, int] = {}
    names = institution_names()
    for n, index in enumerate(sorted(transfers)):
        plan = plans[index]
        destination = rng.choice([c for c, *_rest in INSTITUTIONS if c != plan.origin])
        earliest = plan.custody[-1].at + dt.timedelta(days=60)
        latest = clock.at(as_of, 10) - dt.timedelta(days=20)
        if earliest >= latest:
            continue
        left = earliest + (latest - earliest) * rng.random()
        plan.custody.append(
            CustodyPlan(
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
        plan.custody.append(CustodyPlan("received", destination, arrived, remark="机要转递"))
        plan.custody.append(
            CustodyPlan(
                "shelved",
                destination,
                arrived + dt.timedelta(hours=rng.randint(1, 30)),
                shelf_location(destination, slot),
            )
        )
    return transfers


# --------------------------------------------------------------------------------------------
# One person


def _plan_dossier(rng: random.Random, as_of: dt.date, used_ids: set[str]) -> DossierPlan:
    gender = rng.choice("MF")
    birth = _rand_date(rng, dt.date(1950, 1, 1), dt.date(2002, 12, 31))
    name = _name(rng, gender, birth)
    number = _resident_id(rng, gender, birth, used_ids)
    origin = _first_holder(rng)
    life = _Life(rng, birth, gender, name, as_of)
    materials, received = life.build()
    recorded, differs = _recorded_birth(rng, birth)
    if differs and rng.random() < 0.5:
        when = _rand_date(rng, max(received.date(), life.earliest), as_of)
        materials.append(MaterialPlan(5, None, f"关于{name}同志出生日期的认定意见", when, 1))
    for plan, item_no in categories.number_items(materials):
        plan.item_no = item_no
    materials.sort(key=categories.display_key)
    return DossierPlan(
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


def _resident_id(rng: random.Random, gender: str, birth: dt.date, used: set[str]) -> str:
    """A valid 18-character resident ID not in ``used`` (added to it): 60 % Beijing areas, the
    sequence odd for men and even for women, GB 11643 check character."""
    while True:
        area = rng.choice(_BEIJING_AREAS) if rng.random() < 0.6 else rng.choice(_OTHER_AREAS)
        sequence = rng.randrange(0, 499) * 2 + (1 if gender == "M" else 2)
        first17 = f"{area}{birth:%Y%m%d}{sequence:03d}"
        number = first17 + resident_id.check_character(first17)
        if number not in used:
            used.add(number)
            return number


def _first_holder(rng: random.Random) -> str:
    """The code of the institution that received the dossier first (HOLDER_SHARES)."""
    roll = rng.random()
    for code, share in HOLDER_SHARES:
        if roll < share:
            return code
        roll -= share
    return "CY-RC"


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


# --------------------------------------------------------------------------------------------
# A life story, stage by stage


@dataclass(frozen=True)
class _Path:
    """The dates a life is written around (calendar dates)."""

    level: int  # schooling finished: 0 junior, 1 senior, 2 vocational, 3 college … 6 doctor
    senior: dt.date  # senior school graduation
    college_start: dt.date
    graduations: tuple[dt.date, ...]  # college and later degrees, in order
    last: dt.date  # left school
    cadre: bool
    work_start: dt.date  # 参加工作
    retire: dt.date
    career_end: dt.date  # retirement or the archive's "today", whichever comes first

    @property
    def college(self) -> bool:
        return self.level >= 3

    @property
    def working(self) -> bool:
        return self.work_start <= self.career_end


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
        self.items: list[MaterialPlan] = []

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
        self.items.append(MaterialPlan(category, subcategory, title, when, count, remark, core))
        return True

    def between(self, start: dt.date, end: dt.date) -> dt.date | None:
        """A random date in [start, end] cut to [age 15, as_of]; None if nothing is left."""
        start = max(start, self.earliest)
        end = min(end, self.as_of)
        return _rand_date(self.rng, start, end) if start <= end else None

    def build(self) -> tuple[list[MaterialPlan], dt.datetime]:
        """The catalogue (15–60 materials, unnumbered) and when the dossier arrived (aware
        UTC). The stages run in life order and draw from the one seeded generator in turn:
        reordering them, or a draw within one, changes every archive built from a seed."""
        path = self._path()
        self._secondary_school(path)
        if path.college:
            self._college(path)
        self._graduate_school(path)
        self._graduation(path)
        self._league()
        self._party(path)
        received = self._career(path) if path.working else None
        if received is None:
            received = self._sent_on(path)
        self._arrival(received)
        self._retirement(path)
        self._annual_appraisals(path)
        self._fit_length(path)
        return self.items, received

    # the path ------------------------------------------------------------------------------

    def _path(self) -> _Path:
        """Schooling by birth cohort, stopped in time (nobody still at school has a dossier at
        a talent centre), then 参加工作 and retirement (60 for men, 55 for women cadres, else
        50)."""
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
        cadre = level >= 2 or rng.random() < 0.15
        if level <= 1:
            work_start = _add_days(last, rng.randint(60, 900))
        else:
            work_start = dt.date(last.year, rng.choice((8, 9)), rng.randint(1, 28))
        retire = _add_years(self.birth, 60 if self.gender == "M" else (55 if cadre else 50))
        return _Path(
            level=level,
            senior=senior,
            college_start=college_start,
            graduations=tuple(graduations),
            last=last,
            cadre=cadre,
            work_start=work_start,
            retire=retire,
            career_end=min(self.as_of, retire),
        )

    # 4-1 schooling -------------------------------------------------------------------------

    def _secondary_school(self, path: _Path) -> None:
        """Senior school (also before college, half the time) or vocational school."""
        if path.level == 1 or (path.level >= 3 and self.rng.random() < 0.5):
            self.add(4, 1, "高中毕业生登记表", path.senior, (1, 2))
        if path.level == 2:
            self.add(4, 1, "中等专业学校毕业生登记表", path.last, (2, 4))
            if self.rng.random() < 0.7:
                self.add(4, 1, "中专毕业证书（复印件）", path.last, 1, "复印件")

    def _college(self, path: _Path) -> None:
        """College or university up to the first degree: registration, graduation forms and
        copies, yearly appraisals (category 3) and student honours (category 7)."""
        rng = self.rng
        first = path.graduations[0]
        if rng.random() < 0.5:
            self.add(4, 1, "学生学籍登记表", path.college_start, (1, 2))
        self.add(4, 1, "高等学校毕业生登记表", first, (2, 4))
        if rng.random() < 0.7:
            self.add(4, 1, "学习成绩单", _add_days(first, -rng.randint(10, 40)), (1, 2))
        if rng.random() < 0.8:
            self.add(4, 1, "毕业证书（复印件）", first, 1, "复印件")
        if path.level >= 4 and rng.random() < 0.85:
            self.add(4, 1, "学士学位证书（复印件）", first, 1, "复印件")
        if first.year >= 2002 and rng.random() < 0.5:
            registered = self.between(first, _add_years(first, 3))
            self.add(4, 1, "教育部学历证书电子注册备案表", registered, 1)
        for year in range(path.college_start.year, first.year):
            if rng.random() < 0.25:
                appraised = dt.date(year + 1, 6, rng.randint(15, 30))
                self.add(3, None, "学年鉴定表", appraised, 1, core=False)
        if rng.random() < 0.15:
            self.add(7, None, "三好学生登记表", self.between(path.college_start, first), 1)
        if rng.random() < 0.1:
            self.add(7, None, "优秀毕业生登记表", _add_days(first, -rng.randint(20, 40)), 1)

    def _graduate_school(self, path: _Path) -> None:
        """Master's and doctor's degrees."""
        if path.level >= 5:
            self.add(4, 1, "硕士研究生毕业登记表", path.graduations[1], (2, 4))
            self.add(4, 1, "硕士学位证书（复印件）", path.graduations[1], 1, "复印件")
        if path.level == 6:
            self.add(4, 1, "博士研究生毕业登记表", path.graduations[2], (2, 4))
            self.add(4, 1, "博士学位证书（复印件）", path.graduations[2], 1, "复印件")

    def _graduation(self, path: _Path) -> None:
        """Leaving vocational school or college: the graduation appraisal and the 报到证."""
        if path.level < 2:
            return
        rng = self.rng
        if rng.random() < 0.6:
            self.add(3, None, "毕业鉴定表", _add_days(path.last, -rng.randint(10, 30)), 1)
        title = "普通高等学校毕业生就业报到证" if path.last.year >= 1997 else "毕业生派遣报到证"
        if path.level == 2:
            title = "中等专业学校毕业生派遣证"
        self.add(10, None, title, _add_days(path.last, rng.randint(1, 20)), 1)

    # 6 League and Party, 2 autobiography and reports, 5 political review --------------------

    def _league(self) -> None:
        """The Communist Youth League, joined before 18."""
        if self.rng.random() < (0.5 if self.birth.year < 1965 else 0.75):
            joined = self.between(self.earliest, _add_years(self.birth, 18))
            self.add(6, None, "入团志愿书", joined, (2, 4))

    def _party(self, path: _Path) -> None:
        """An application to the Party (more often for cadres); without one, half the people
        wrote an autobiography before leaving school."""
        rng = self.rng
        if rng.random() < (0.42 if path.cadre else 0.2):
            applied = self.between(_add_years(self.birth, 19), _add_years(self.birth, 38))
            if applied:
                self._party_membership(path, applied)
        elif rng.random() < 0.5:
            self.add(2, None, "自传", _add_days(path.last, -rng.randint(30, 120)), (2, 6))

    def _party_membership(self, path: _Path, applied: dt.date) -> None:
        """From the application on ``applied`` to full membership (and Party school)."""
        rng = self.rng
        self.add(6, None, "入党申请书", applied, (1, 2))
        self.add(2, None, "自传", _add_days(applied, rng.randint(20, 90)), (2, 6))
        for k in range(rng.randint(1, 4)):
            reported = _add_days(applied, 90 + 120 * k + rng.randint(0, 60))
            self.add(2, None, "思想汇报", reported, (1, 3), core=False)
        activist = _add_days(applied, rng.randint(180, 360))
        self.add(6, None, "入党积极分子考察登记表", activist, (2, 4))
        reviewed = _add_days(applied, rng.randint(300, 420))
        self.add(5, None, "入党政治审查材料", reviewed, (1, 2))
        joined = _add_days(applied, rng.randint(400, 760))
        if self.add(6, None, "入党志愿书", joined, (4, 6)):
            confirmed = _add_days(joined, rng.randint(360, 380))
            self.add(6, None, "预备党员转正申请书", confirmed, (1, 2))
            if path.cadre and rng.random() < 0.3:
                schooled = self.between(_add_years(joined, 2), path.career_end)
                self.add(4, 4, "党校学习鉴定表", schooled, (1, 2))

    # work: 1 CV forms, 3 appraisals, 4-2…4-4, 7, 8, 9 wages and appointment, 10 other --------

    def _career(self, path: _Path) -> dt.datetime | None:
        """Working life, stage by stage; returns when the dossier reached the archive after
        its holder left an employer (aware UTC), or None when it did not arrive that way."""
        self._hiring(path)
        self._wages(path)
        self._qualifications(path)
        self._rewards_and_penalties(path)
        self._other_records(path)
        return self._leaving_employer(path)

    def _hired(self, path: _Path, low: int, high: int) -> dt.date:
        """A date shortly before starting work, but after leaving school."""
        return max(
            _add_days(path.work_start, -self.rng.randint(low, high)), _add_days(path.last, 1)
        )

    def _hiring(self, path: _Path) -> None:
        """参加工作: a cadre's or a worker's papers, and the medical examination."""
        if path.cadre:
            self._cadre_hiring(path)
        else:
            title = "招工审批表" if path.work_start.year < 1995 else "招工登记表"
            self.add(9, 2, title, self._hired(path, 5, 30), (1, 2))
            registered = self.between(path.work_start, _add_years(path.work_start, 1))
            self.add(1, None, "职工登记表", registered, (2, 4))
        if self.rng.random() < 0.6:
            self.add(10, None, "体检表", self._hired(path, 5, 25), (1, 2))

    def _cadre_hiring(self, path: _Path) -> None:
        """A cadre's CV forms, probation, appointment and (rarely) an inspection."""
        rng, start, end = self.rng, path.work_start, path.career_end
        self.add(1, None, "干部履历表", self.between(start, _add_years(start, 2)), (4, 6))
        if rng.random() < 0.4:
            self.add(1, None, "干部履历表", self.between(_add_years(start, 10), end), (4, 6))
        if rng.random() < 0.7:
            self.add(3, None, "见习期满考核鉴定表", _add_years(start, 1), (1, 2))
            self.add(9, 1, "转正定级审批表", _add_days(_add_years(start, 1), 15), 1)
        if rng.random() < 0.6:
            self.add(9, 2, "录用审批表", self._hired(path, 5, 30), (1, 2))
        if rng.random() < 0.25:
            self.add(9, 2, "干部任免审批表", self.between(_add_years(start, 5), end), (1, 2))
        if rng.random() < 0.12:
            self.add(3, None, "考察材料", self.between(_add_years(start, 8), end), (2, 4))

    def _wages(self, path: _Path) -> None:
        """Wage changes every 2–6 years from 2–5 years after starting work."""
        rng = self.rng
        wage_year = path.work_start.year + rng.randint(2, 5)
        while wage_year < path.career_end.year and rng.random() < 0.85:
            title = "工资调整审批表" if path.cadre else "职工工资变动审批表"
            changed = dt.date(wage_year, rng.randint(1, 12), rng.randint(1, 28))
            self.add(9, 1, title, changed, 1, core=False)
            wage_year += rng.randint(2, 6)

    def _qualifications(self, path: _Path) -> None:
        """4-2 professional titles and qualifications, 4-3 research, 4-4 training."""
        rng, start, end = self.rng, path.work_start, path.career_end
        if rng.random() < 0.25:
            titled = self.between(_add_years(start, 5), end)
            self.add(4, 2, "专业技术职务任职资格评审表", titled, (2, 6))
            certified = self.between(_add_years(start, 5), end)
            self.add(4, 2, "专业技术资格证书（复印件）", certified, 1, "复印件")
        if rng.random() < 0.12:
            self.add(4, 2, "职业资格证书（复印件）", self.between(start, end), 1, "复印件")
        if rng.random() < 0.05:
            self.add(4, 3, "科研成果登记表", self.between(_add_years(start, 3), end), (1, 3))
        if rng.random() < 0.15:
            self.add(4, 4, "培训结业证书（复印件）", self.between(start, end), 1, "复印件")

    def _rewards_and_penalties(self, path: _Path) -> None:
        """7 rewards and 8 penalties (a warning, lifted a year later)."""
        rng, start, end = self.rng, path.work_start, path.career_end
        if rng.random() < 0.15:
            self.add(7, None, "先进工作者审批表", self.between(_add_years(start, 2), end), (1, 2))
        if rng.random() < 0.03:
            punished = self.between(_add_years(start, 1), end)
            if self.add(8, None, f"关于给予{self.name}同志警告处分的决定", punished, (1, 2)):
                lifted = _add_years(punished, 1)
                self.add(8, None, f"关于解除{self.name}同志处分的决定", lifted, 1)

    def _other_records(self, path: _Path) -> None:
        """Travel abroad (9-3), a people's congress (9-4), a transfer letter, and a ruling on
        the date work began (5)."""
        rng, start, end = self.rng, path.work_start, path.career_end
        if rng.random() < 0.06:
            self.add(9, 3, "因私出国（境）人员审批表", self.between(start, end), (1, 2))
        if rng.random() < 0.01:
            elected = self.between(_add_years(start, 10), end)
            self.add(9, 4, "区人民代表大会代表登记表", elected, (1, 2))
        if rng.random() < 0.2:
            self.add(10, None, "工作调动介绍信", self.between(_add_years(start, 1), end), 1)
        if rng.random() < 0.08:
            self.add(5, None, "参加工作时间认定审批表", self.between(start, end), 1)

    def _leaving_employer(self, path: _Path) -> dt.datetime | None:
        """Most dossiers reach the district centre when their holder leaves an employer:
        the release certificate, and the dossier's arrival 10–60 days later (aware UTC)."""
        rng = self.rng
        left_from = max(_add_years(path.work_start, 2), dt.date(1995, 1, 1))
        left_until = min(path.career_end, self.as_of - dt.timedelta(days=40))
        if left_from <= left_until and (path.level < 2 or rng.random() < 0.6):
            left = _rand_date(rng, left_from, left_until)
            self.add(9, 2, "解除劳动合同证明书", left, 1)
            arrived = min(_add_days(left, rng.randint(10, 60)), self.as_of)
            return clock.at(arrived, rng.randint(9, 16), rng.randint(0, 59))
        return None

    # the dossier arrives, the person retires -----------------------------------------------

    def _sent_on(self, path: _Path) -> dt.datetime:
        """A graduate's dossier sent by the school, or a dossier arriving with its holder:
        when it arrived (aware UTC, office hours)."""
        rng = self.rng
        base = max(
            _add_days(path.last, rng.randint(30, 90)),
            dt.date(1995, 1, 1) + dt.timedelta(days=rng.randint(0, 3000)),
        )
        arrived = min(base, self.as_of - dt.timedelta(days=rng.randint(20, 400)))
        return clock.at(arrived, rng.randint(9, 16), rng.randint(0, 59))

    def _arrival(self, received: dt.datetime) -> None:
        """Papers filed when the dossier arrived: the transfer notice, an ID card copy."""
        received_day = received.date()
        if self.rng.random() < 0.8:
            self.add(10, None, "档案转递通知单", max(received_day, self.earliest), 1)
        if self.rng.random() < 0.3:
            copied = max(received_day, self.earliest)
            self.add(10, None, "居民身份证（复印件）", copied, 1, "复印件")

    def _retirement(self, path: _Path) -> None:
        """The retirement approval, 10–40 days before retiring."""
        if path.retire <= self.as_of:
            title = "干部退休审批表" if path.cadre else "职工退休审批表"
            self.add(9, 2, title, _add_days(path.retire, -self.rng.randint(10, 40)), (2, 4))

    # length --------------------------------------------------------------------------------

    def _annual_appraisals(self, path: _Path) -> None:
        """Annual appraisals fill the catalogue up to a plausible length (15–60 rows)."""
        rng = self.rng
        target = round(rng.triangular(15, 60, 30))
        years = list(range(path.work_start.year, path.career_end.year)) if path.working else []
        room = max(0, target - len(self.items))
        for year in sorted(rng.sample(years, min(room, len(years)))):
            appraised = dt.date(year + 1, 1, rng.randint(5, 25))
            self.add(3, None, f"{year}年度考核登记表", appraised, (1, 2), core=False)

    def _fit_length(self, path: _Path) -> None:
        """Pad a short catalogue to 15 rows; trim a long one to 60, optional rows first."""
        while len(self.items) < 15:
            self._pad(path)
        while len(self.items) > 60:
            optional = [i for i, m in enumerate(self.items) if not m.core] or list(
                range(len(self.items))
            )
            del self.items[self.rng.choice(optional)]

    def _pad(self, path: _Path) -> None:
        """One more optional material that fits the life."""
        rng = self.rng
        work_start = path.work_start if path.working else None
        college_start = path.college_start if path.college else None
        choices = ["思想汇报"]
        if work_start:
            choices += ["个人总结", "培训结业证书（复印件）", "工资调整审批表"]
        if college_start:
            choices += ["学年鉴定表", "荣誉证书（复印件）"]
        title = rng.choice(choices)
        if title == "思想汇报":
            reported = self.between(_add_years(self.birth, 18), self.as_of)
            self.add(2, None, title, reported, (1, 3), core=False)
        elif title == "个人总结":
            self.add(2, None, title, self.between(work_start, path.career_end), (1, 2), core=False)
        elif title == "培训结业证书（复印件）":
            trained = self.between(work_start, path.career_end)
            self.add(4, 4, title, trained, 1, "复印件", core=False)
        elif title == "工资调整审批表":
            self.add(9, 1, title, self.between(work_start, path.career_end), 1, core=False)
        elif title == "学年鉴定表":
            self.add(3, None, title, self.between(college_start, path.last), 1, core=False)
        else:
            honoured = self.between(college_start, self.as_of)
            self.add(7, None, title, honoured, 1, "复印件", core=False)


# --------------------------------------------------------------------------------------------
# Dates


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
