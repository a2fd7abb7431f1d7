"""The ten material categories (十大类) of a personnel dossier and catalogue numbering.

Source: 《干部人事档案工作条例》 (2018) category names; sub-categories 4-1…4-4 and 9-1…9-4;
catalogue 序号 written class-item (1-3) or class-subclass-item (4-1-2, 9-2-5); within a category
materials are ordered by 材料形成时间 (组通字〔2012〕28号). See shared/reference/domain.md §1.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from counter_tui.i18n import N_, _, current_language

CHINESE_NUMERALS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十")


@dataclass(frozen=True)
class Category:
    """One of the ten categories: number 1–10, Chinese name, English gloss (a msgid)."""

    number: int
    name_zh: str
    gloss: str

    @property
    def numeral(self) -> str:
        """The Chinese numeral used in the catalogue's 序号 column (一 … 十)."""
        return CHINESE_NUMERALS[self.number - 1]

    def label(self) -> str:
        """Name in the UI language: the Chinese name, or the English gloss with --lang en."""
        return self.name_zh if current_language() == "zh_CN" else _(self.gloss)


@dataclass(frozen=True)
class Subcategory:
    """A sub-category of category 4 or 9: code like "4-1", Chinese name, English gloss."""

    category: int
    number: int
    name_zh: str
    gloss: str

    @property
    def code(self) -> str:
        """The "4-1" style code."""
        return f"{self.category}-{self.number}"

    def label(self) -> str:
        """Name in the UI language."""
        return self.name_zh if current_language() == "zh_CN" else _(self.gloss)


CATEGORIES: tuple[Category, ...] = (
    Category(1, "履历类材料", N_("CV and registration forms")),
    Category(2, "自传和思想类材料", N_("Autobiography and ideological materials")),
    Category(3, "考核鉴定类材料", N_("Appraisal and evaluation materials")),
    Category(
        4,
        "学历学位、专业技术职务（职称）、学术评鉴和教育培训类材料",
        N_("Education, professional titles, academic evaluation and training"),
    ),
    Category(5, "政审、审计和审核类材料", N_("Political review, audit and verification")),
    Category(6, "党、团类材料", N_("Party and Youth League materials")),
    Category(7, "表彰奖励类材料", N_("Commendations and awards")),
    Category(8, "违规违纪违法处理处分类材料", N_("Disciplinary and legal sanctions")),
    Category(
        9,
        "工资、任免、出国和会议代表类材料",
        N_("Wages, appointments, going abroad and congress delegates"),
    ),
    Category(10, "其他可供组织参考的材料", N_("Other reference materials")),
)

SUBCATEGORIES: tuple[Subcategory, ...] = (
    Subcategory(4, 1, "学历学位材料", N_("Education and degrees")),
    Subcategory(
        4,
        2,
        "职业（执业）资格和专业技术职务（职称）材料",
        N_("Professional qualifications and titles"),
    ),
    Subcategory(4, 3, "科研学术（学术评鉴）材料", N_("Research and academic evaluation")),
    Subcategory(4, 4, "培训（教育培训）材料", N_("Training")),
    Subcategory(9, 1, "工资（待遇）材料", N_("Wages and benefits")),
    Subcategory(9, 2, "任免材料", N_("Appointment, hiring and retirement")),
    Subcategory(9, 3, "出国（境）材料", N_("Going abroad")),
    Subcategory(9, 4, "会议代表材料", N_("Congress delegates")),
)

_BY_NUMBER = {c.number: c for c in CATEGORIES}
_SUB_BY_KEY = {(s.category, s.number): s for s in SUBCATEGORIES}
SPLIT_CATEGORIES = frozenset({4, 9})


def category(number: int) -> Category:
    """The category numbered ``number`` (1–10). Raises KeyError otherwise."""
    return _BY_NUMBER[number]


def subcategory(category_number: int, number: int) -> Subcategory:
    """The sub-category ``category_number-number`` (4-1…4-4, 9-1…9-4). Raises KeyError otherwise."""
    return _SUB_BY_KEY[(category_number, number)]


def validate_placement(category_number: int, subcategory_number: int | None) -> None:
    """Check that a material's category and sub-category fit the scheme.

    Categories 4 and 9 need a sub-category 1–4; the others take none. Raises ValueError.
    """
    if category_number not in _BY_NUMBER:
        raise ValueError(f"category must be 1–10, got {category_number}")
    if category_number in SPLIT_CATEGORIES:
        if (category_number, subcategory_number) not in _SUB_BY_KEY:
            raise ValueError(f"category {category_number} needs a sub-category 1–4")
    elif subcategory_number is not None:
        raise ValueError(f"category {category_number} has no sub-categories")


def catalogue_number(category_number: int, subcategory_number: int | None, item_no: int) -> str:
    """The 顺序号 of a material: "1-3" or, for categories 4 and 9, "4-1-2" (class-subclass-item)."""
    if subcategory_number is None:
        return f"{category_number}-{item_no}"
    return f"{category_number}-{subcategory_number}-{item_no}"


class _Placed(Protocol):
    category: int
    subcategory: int | None
    formed_on: dt.date | None


def catalogue_sort_key(material: _Placed) -> tuple[int, int, dt.date]:
    """Sort key giving catalogue order: category, sub-category, then 材料形成时间 (undated last)."""
    return (
        material.category,
        material.subcategory or 0,
        material.formed_on or dt.date.max,
    )


class _Numbered(Protocol):
    category: int
    subcategory: int | None
    item_no: int


def display_key(material: _Numbered) -> tuple[int, int, int]:
    """Sort key of a numbered catalogue as shown and cited: category, sub-category (none
    first), item number (1-1, 1-2, 4-1-1, 4-2-1, …)."""
    return (material.category, material.subcategory or 0, material.item_no)


def number_items(materials: Iterable[_Placed]) -> list[tuple[_Placed, int]]:
    """Pair each material with its item number inside its (sub-)category, in catalogue order."""
    counters: dict[tuple[int, int], int] = {}
    numbered = []
    for m in sorted(materials, key=catalogue_sort_key):
        key = (m.category, m.subcategory or 0)
        counters[key] = counters.get(key, 0) + 1
        numbered.append((m, counters[key]))
    return numbered


def parse_placement(text: str) -> tuple[int, int | None]:
    """Parse a typed category code: "3" → (3, None), "4-1" → (4, 1), also "4.1", "四" or "九-2".

    Does not check the scheme (see :func:`validate_placement`). Raises ValueError if the text
    is not a category number optionally followed by a sub-category number.
    """
    folded = text.strip().replace("．", "-").replace(".", "-").replace("－", "-")
    for n, numeral in enumerate(CHINESE_NUMERALS, start=1):
        if folded.startswith(numeral):
            folded = str(n) + folded[len(numeral) :]
            break
    parts = [p for p in folded.split("-") if p.strip()]
    if not 1 <= len(parts) <= 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(text)
    return int(parts[0]), int(parts[1]) if len(parts) == 2 else None
