"""What each certificate kind certifies (issue 9): fact fields, prefill from the catalogue,
validation into a stored structure, refusals that name the field."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from counter_tui import i18n
from counter_tui.domain import certificates
from counter_tui.domain.certificate_facts import (
    FIELDS,
    MAX_PERIODS,
    CertifiedFacts,
    FactDate,
    FactError,
    Period,
    SourceMaterial,
    parse_fact_date,
    prefill,
    validate_facts,
)

HIRE = SourceMaterial("9-1-1", 9, "招工登记表", dt.date(1998, 7, 1))
GRAD = SourceMaterial("4-1-1", 4, "北京大学本科毕业生登记表", dt.date(1998, 6, 30))
CV = SourceMaterial("1-1", 1, "干部履历表", None)
APPRAISAL = SourceMaterial("3-2", 3, "年度考核登记表", dt.date(2003, 12, 20))


def refusal(kind: str, raw: dict[str, str], sources=(HIRE, GRAD, CV)) -> FactError:  # noqa: ANN001
    with pytest.raises(FactError) as refused:
        validate_facts(kind, raw, sources)
    return refused.value


# -- fields ------------------------------------------------------------------------------------


def test_every_kind_has_its_fields_and_custody_none() -> None:
    assert set(FIELDS) == {k.code for k in certificates.CERTIFICATE_KINDS}
    assert FIELDS["custody"] == ()
    assert [f.name for f in FIELDS["work_start"]] == ["date", "source"]
    assert [f.name for f in FIELDS["education"]] == ["school", "major", "level", "start", "end"]
    assert [f.name for f in FIELDS["experience"]] == [f"period_{n}" for n in range(1, 7)]
    assert [f.name for f in FIELDS["kinship"]] == ["relative_name", "relation"]
    assert [f.name for f in FIELDS["political_review"]] == ["extract"]


def test_the_chinese_label_is_the_translation_of_the_label() -> None:
    for fields in FIELDS.values():
        for field in fields:
            assert field.title() == field.label_zh
    i18n.set_language("en")
    assert FIELDS["experience"][1].title() == "Period 2"
    assert FIELDS["work_start"][0].title() == "Start-of-work date"


# -- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2018-03", FactDate(2018, 3)),
        ("2018.03", FactDate(2018, 3)),
        ("2018.3", FactDate(2018, 3)),
        ("2018/3", FactDate(2018, 3)),
        ("2018年3月", FactDate(2018, 3)),
        ("201803", FactDate(2018, 3)),
        ("２０１８年３月", FactDate(2018, 3)),
        ("1998-07-01", FactDate(1998, 7, 1)),
        ("1998.7.1", FactDate(1998, 7, 1)),
        ("1998年7月1日", FactDate(1998, 7, 1)),
        ("19980701", FactDate(1998, 7, 1)),
        (" 1998 - 07 ", FactDate(1998, 7)),
    ],
)
def test_dates_as_clerks_type_them(typed: str, expected: FactDate) -> None:
    assert parse_fact_date(typed) == expected


@pytest.mark.parametrize(
    "typed", ["2018", "2018-13", "1998-02-30", "98-07", "July 1998", "1800-01"]
)
def test_dates_that_are_not(typed: str) -> None:
    with pytest.raises(ValueError):
        parse_fact_date(typed)


def test_fact_dates_print_in_chinese_at_their_precision() -> None:
    assert FactDate(1998, 7).zh() == "1998年7月"
    assert FactDate(1998, 7, 1).zh() == "1998年7月1日"
    assert FactDate(1998, 7).iso() == "1998-07"
    assert FactDate(1998, 7, 1).iso() == "1998-07-01"


# -- prefill -----------------------------------------------------------------------------------


def test_work_start_prefills_the_earliest_dated_cited_material() -> None:
    assert prefill("work_start", [CV, HIRE, APPRAISAL], held_since=None) == {
        "date": "1998-07-01",
        "source": "9-1-1",
    }
    # Nothing cited, or nothing dated: nothing invented.
    assert prefill("work_start", [], held_since=None) == {"date": "", "source": ""}
    assert prefill("work_start", [CV], held_since=None) == {"date": "", "source": "1-1"}


def test_education_prefills_what_the_titles_say_and_nothing_else() -> None:
    assert prefill("education", [HIRE, GRAD], held_since=None) == {
        "school": "北京大学",
        "major": "",
        "level": "本科",
        "start": "",
        "end": "1998-06",
    }
    generic = SourceMaterial("4-1-1", 4, "高等学校毕业生登记表", dt.date(1971, 7, 1))
    assert prefill("education", [generic], held_since=None) == {
        "school": "",  # "高等学校" is not a school's name
        "major": "",
        "level": "",  # the title names no level: not guessed
        "start": "",
        "end": "1971-07",
    }
    masters = SourceMaterial("4-1-2", 4, "硕士学位证书（复印件）", dt.date(2001, 7, 10))
    assert prefill("education", [GRAD, masters], held_since=None)["level"] == "硕士研究生"
    assert prefill("education", [GRAD, masters], held_since=None)["end"] == "2001-07"


def test_experience_prefills_one_period_per_dated_material_oldest_first() -> None:
    out = prefill("experience", [APPRAISAL, CV, HIRE], held_since=None)
    assert out == {
        "period_1": "1998-07",
        "period_2": "2003-12",
        "period_3": "",
        "period_4": "",
        "period_5": "",
        "period_6": "",
    }
    many = [SourceMaterial(f"3-{n}", 3, "考核", dt.date(2000 + n, 1, 1)) for n in range(1, 9)]
    out = prefill("experience", many, held_since=None)
    assert len(out) == MAX_PERIODS and out["period_6"] == "2006-01"


def test_political_review_and_kinship_and_custody_prefill() -> None:
    assert prefill("political_review", [HIRE, CV], held_since=None) == {
        "extract": "招工登记表；干部履历表"
    }
    assert prefill("kinship", [HIRE], held_since=None) == {"relative_name": "", "relation": ""}
    assert prefill("custody", [HIRE], held_since=dt.date(2020, 5, 6)) == {}


# -- validation --------------------------------------------------------------------------------


def test_work_start_validates_to_a_date_and_its_source() -> None:
    facts = validate_facts("work_start", {"date": "2018年3月", "source": "9-1-1"}, [HIRE, GRAD])
    assert facts["date"] == FactDate(2018, 3)
    assert facts["source"] == HIRE
    assert facts.as_dict() == {
        "kind": "work_start",
        "facts": {"date": "2018-03", "source": "9-1-1"},
    }
    # A blank source is the earliest-dated cited material.
    facts = validate_facts("work_start", {"date": "1998-07-01", "source": ""}, [HIRE, GRAD, CV])
    assert facts["source"] == GRAD


def test_refusals_name_the_field_in_the_clerks_language() -> None:
    bad = refusal("work_start", {"date": "1998-7-"})
    assert bad.field == "date"
    assert str(bad) == "参加工作时间：日期格式应为 1998-07 或 1998-07-01"
    assert refusal("work_start", {"date": ""}).field == "date"
    assert str(refusal("work_start", {"date": ""})) == "参加工作时间：请填写"
    other = refusal("work_start", {"date": "1998-07", "source": "9-2-5"})
    assert other.field == "source" and "9-2-5" in str(other) and "9-1-1" in str(other)
    i18n.set_language("en")
    assert str(refusal("work_start", {"date": "July"})) == (
        "Start-of-work date: a date is written 1998-07 or 1998-07-01."
    )


def test_too_long_and_control_characters_are_refused() -> None:
    long = refusal("kinship", {"relative_name": "张" * 31, "relation": "父子"})
    assert long.field == "relative_name" and "30" in str(long)
    hidden = refusal("kinship", {"relative_name": "张\u200b三", "relation": "父子"})
    assert hidden.field == "relative_name" and "控制字符" in str(hidden)
    assert refusal("kinship", {"relative_name": "张三", "relation": "父\x00子"}).field == "relation"
    # Blanks (a pasted tab or line break included) are collapsed, not refused.
    facts = validate_facts("kinship", {"relative_name": " 张\t三 ", "relation": "父子"}, [HIRE])
    assert facts["relative_name"] == "张 三"


def test_education_dates_in_order() -> None:
    facts = validate_facts(
        "education",
        {
            "school": "北京大学",
            "major": "物理学",
            "level": "本科",
            "start": "1994.9",
            "end": "1998.7",
        },
        [GRAD],
    )
    assert facts.as_dict()["facts"] == {
        "school": "北京大学",
        "major": "物理学",
        "level": "本科",
        "start": "1994-09",
        "end": "1998-07",
    }
    backwards = refusal(
        "education", {"school": "北京大学", "level": "本科", "start": "1998.9", "end": "1994.7"}
    )
    assert backwards.field == "end" and "1998-09" in str(backwards)
    assert refusal("education", {"school": "", "level": "本科"}).field == "school"
    assert refusal("education", {"school": "北大", "level": ""}).field == "level"


def test_experience_periods_parse_two_dates_then_unit_then_post() -> None:
    facts = validate_facts(
        "experience",
        {
            "period_1": "1998.07 2003.06 北京市第一机床厂 技术员",
            "period_2": "2003年7月至今 北京（朝阳）人才公司",
            "period_3": "２００１．０１－２００２．１２ 单位 职务",
            "period_4": "",
        },
        [HIRE],
    )
    assert facts.periods == (
        Period(FactDate(1998, 7), FactDate(2003, 6), "北京市第一机床厂", "技术员"),
        Period(FactDate(2003, 7), None, "北京（朝阳）人才公司", ""),  # full-width （） kept
        Period(FactDate(2001, 1), FactDate(2002, 12), "单位", "职务"),
    )
    stored = json.loads(facts.to_json())
    assert stored["facts"]["periods"][0] == {
        "from": "1998-07",
        "to": "2003-06",
        "unit": "北京市第一机床厂",
        "post": "技术员",
    }
    assert stored["facts"]["periods"][1]["to"] is None


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("2003.06 1998.07 北京市第一机床厂 技术员", "晚于"),
        ("1998.07 北京市第一机床厂 技术员", "请依次填写"),
        ("1998.07 2003.06", "单位"),
        ("1998 2003 北京市第一机床厂", "请依次填写"),
    ],
)
def test_bad_periods_are_refused_on_their_line(line: str, words: str) -> None:
    bad = refusal("experience", {"period_1": "1998.07 2003.06 某厂 工人", "period_2": line})
    assert bad.field == "period_2" and words in str(bad) and str(bad).startswith("经历2：")


def test_the_first_period_is_required() -> None:
    assert refusal("experience", {"period_1": ""}).field == "period_1"


def test_unknown_kind_or_field_is_refused() -> None:
    assert refusal("passport", {}).field == ""
    assert refusal("kinship", {"relative_name": "张三", "relation": "父子", "x": "1"}).field == "x"


def test_stored_facts_read_back_equal() -> None:
    sources = [HIRE, GRAD]
    cases = [
        ("work_start", {"date": "1998-07-01", "source": "4-1-1"}),
        ("education", {"school": "北京大学", "level": "本科", "end": "1998-06"}),
        ("experience", {"period_1": "1998.07 至今 北京 市 第一机床厂", "period_2": ""}),
        ("kinship", {"relative_name": "张三", "relation": "父子"}),
        ("political_review", {"extract": "招工登记表"}),
        ("custody", {}),
    ]
    for kind, raw in cases:
        facts = validate_facts(kind, raw, sources)
        again = CertifiedFacts.from_dict(json.loads(facts.to_json()), sources)
        assert again == facts, kind
    assert validate_facts("custody", {}, []).as_dict() == {"kind": "custody", "facts": {}}
