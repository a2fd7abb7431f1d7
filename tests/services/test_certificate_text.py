"""The certified text (issue 9): one template per kind, the fact and its sources in Chinese,
the full resident ID by default, an institution's override file winning, and a broken
override refused with its file and line, never a traceback."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from counter_tui import i18n
from counter_tui.domain import certificates
from counter_tui.domain.certificate_facts import SourceMaterial, validate_facts
from counter_tui.services.certificate_text import (
    DEFAULT_TEMPLATES_DIR,
    CertifiedTextContext,
    TemplateError,
    render_certified_text,
    template_path,
)

HIRE = SourceMaterial("9-1", 9, "招工登记表", dt.date(1998, 7, 1))
GRAD = SourceMaterial("4-1-1", 4, "北京大学本科毕业生登记表", dt.date(1998, 6, 30))
CV = SourceMaterial("1-1", 1, "干部履历表", None)
FULL_ID = "11010519491231002X"
MASKED = "110105********002X"

RAW = {
    "custody": {},
    "work_start": {"date": "1998-07", "source": "9-1"},
    "education": {
        "school": "北京大学",
        "major": "物理学",
        "level": "本科",
        "start": "1994-09",
        "end": "1998-06",
    },
    "experience": {
        "period_1": "1998.07 2003.06 北京市第一机床厂 技术员",
        "period_2": "2003.07 至今 北京市朝阳区人才服务中心",
    },
    "kinship": {"relative_name": "张建国", "relation": "父子"},
    "political_review": {"extract": "招工登记表；干部履历表"},
}


def context(kind: str, sources=(HIRE, GRAD, CV), **changes) -> CertifiedTextContext:  # noqa: ANN001, ANN003
    base = CertifiedTextContext(
        person_name="张伟",
        gender="M",
        id_number=FULL_ID,
        id_number_masked=MASKED,
        dossier_no="DA00000001",
        institution_name="北京市朝阳区人才服务中心",
        held_since=dt.date(2020, 5, 6),
        facts=validate_facts(kind, RAW[kind], sources),
        sources=tuple(sources),
        purpose="办理退休",
        applicant="本人",
    )
    return dataclasses.replace(base, **changes)


def test_every_kind_has_a_default_template() -> None:
    for kind in certificates.CERTIFICATE_KINDS:
        assert template_path(kind.code) == DEFAULT_TEMPLATES_DIR / f"{kind.code}.txt.j2"


@pytest.mark.parametrize("kind", [k.code for k in certificates.CERTIFICATE_KINDS])
def test_every_default_states_the_person_with_the_full_id_and_nothing_around(kind: str) -> None:
    text = render_certified_text(kind, context(kind))
    assert text.startswith("兹证明张伟（男，公民身份号码：11010519491231002X）")
    assert MASKED not in text
    assert "DA00000001" in text and "自2020年5月起存放于北京市朝阳区人才服务中心" in text
    # Only the certified text: the PDF prints title, serial, purpose, clerk, date and seal.
    for outside in ("编号", "用途", "办理退休", "经办人", "盖章", "证明\n", "2026"):
        assert outside not in text
    assert text.endswith("\n") and "\n\n" not in text and "{" not in text


def test_custody_states_only_custody() -> None:
    assert render_certified_text("custody", context("custody")) == (
        "兹证明张伟（男，公民身份号码：11010519491231002X）的人事档案（档号：DA00000001）"
        "自2020年5月起存放于北京市朝阳区人才服务中心。\n"
        "特此证明。\n"
    )
    unknown = render_certified_text("custody", context("custody", held_since=None, gender=""))
    assert "起存放" not in unknown and "张伟（公民身份号码：" in unknown


def test_work_start_states_the_date_and_cites_its_source() -> None:
    text = render_certified_text("work_start", context("work_start"))
    lines = text.splitlines()
    assert lines[1] == (
        "经查其人事档案，档案记载其参加工作时间为1998年7月（见档案材料 9-1《招工登记表》，1998年7月1日）。"
    )
    assert lines[-1] == "特此证明。"


def test_education_states_school_major_level_and_dates() -> None:
    text = render_certified_text("education", context("education"))
    assert "于1994年9月至1998年6月在北京大学物理学专业学习，学历为本科" in text
    assert "4-1-1《北京大学本科毕业生登记表》，1998年6月30日" in text
    assert "1-1《干部履历表》）" in text  # an undated material: no date invented


def test_experience_lists_each_period_on_its_own_line() -> None:
    lines = render_certified_text("experience", context("experience")).splitlines()
    assert lines[2] == "1998年7月至2003年6月，在北京市第一机床厂任技术员；"
    assert lines[3] == "2003年7月至今，在北京市朝阳区人才服务中心工作。"
    assert lines[4].startswith("以上经历见档案材料 9-1《招工登记表》，1998年7月1日；")


def test_kinship_and_political_review() -> None:
    kinship = render_certified_text("kinship", context("kinship"))
    assert "档案记载张建国与张伟系父子关系（见档案材料 9-1《招工登记表》，1998年7月1日" in kinship
    review = render_certified_text("political_review", context("political_review"))
    assert "摘录如下：招工登记表；干部履历表（见档案材料" in review


def test_an_institutions_override_wins_and_may_mask_the_id(tmp_path: Path) -> None:
    (tmp_path / "work_start.txt.j2").write_text(
        "{% import '_common.txt.j2' as common with context %}\n"
        "{{ person_name }}（{{ id_number_masked }}）{{ facts.date|zh_date }}参加工作"
        "{{ common.cite_all([facts.source]) }}。\n",
        encoding="utf-8",
    )
    text = render_certified_text("work_start", context("work_start"), templates_dir=tmp_path)
    assert text == (
        "张伟（110105********002X）1998年7月参加工作（见档案材料 9-1《招工登记表》，1998年7月1日）。\n"
    )
    # Other kinds still use the defaults; a missing folder means the defaults.
    assert "特此证明" in render_certified_text(
        "kinship", context("kinship"), templates_dir=tmp_path
    )
    missing = tmp_path / "nope"
    assert render_certified_text("custody", context("custody"), templates_dir=missing).startswith(
        "兹证明"
    )


def test_an_override_of_the_shared_macros_applies_to_the_defaults(tmp_path: Path) -> None:
    shipped = (DEFAULT_TEMPLATES_DIR / "_common.txt.j2").read_text(encoding="utf-8")
    (tmp_path / "_common.txt.j2").write_text(
        shipped.replace("{{ id_number }}", "{{ id_number_masked }}"), encoding="utf-8"
    )
    text = render_certified_text("custody", context("custody"), templates_dir=tmp_path)
    assert MASKED in text and FULL_ID not in text


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("第一行\n{{ facts.date|zh_date }\n", 2, "unexpected '}'"),  # syntax
        ("第一行\n第二行\n{{ no_such_variable }}\n", 3, "no_such_variable"),  # undefined
        ("{{ person_name.__class__.__mro__ }}\n", 1, "unsafe"),  # the sandbox
        ("{{ facts.nope }}\n", 1, "nope"),  # a fact the kind has not
        ("{% include 'missing.txt.j2' %}\n", 1, "missing.txt.j2"),
    ],
)
def test_a_broken_override_is_a_template_error_naming_file_and_line(
    tmp_path: Path, body: str, line: int, words: str
) -> None:
    (tmp_path / "kinship.txt.j2").write_text(body, encoding="utf-8")
    with pytest.raises(TemplateError) as broken:
        render_certified_text("kinship", context("kinship"), templates_dir=tmp_path)
    message = str(broken.value)
    assert message.startswith(f"证明模板 {tmp_path / 'kinship.txt.j2'} 第 {line} 行：")
    assert words in message
    assert broken.value.line == line and broken.value.path.endswith("kinship.txt.j2")
    assert "Traceback" not in message


def test_the_error_is_in_the_users_language(tmp_path: Path) -> None:
    (tmp_path / "kinship.txt.j2").write_text("{{ x }}\n", encoding="utf-8")
    i18n.set_language("en")
    with pytest.raises(TemplateError) as broken:
        render_certified_text("kinship", context("kinship"), templates_dir=tmp_path)
    assert str(broken.value).startswith("Certificate template ")
    assert "kinship.txt.j2, line 1:" in str(broken.value)


def test_an_override_that_is_not_utf8_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "kinship.txt.j2").write_bytes("兹证明{{ person_name }}\n".encode("gb18030"))
    with pytest.raises(TemplateError) as broken:
        render_certified_text("kinship", context("kinship"), templates_dir=tmp_path)
    assert "kinship.txt.j2" in str(broken.value) and "UTF-8" in str(broken.value)


def test_an_unknown_kind_has_no_template() -> None:
    with pytest.raises(TemplateError) as missing:
        render_certified_text("passport", context("custody"))
    assert "passport" in str(missing.value)


def test_the_templates_ship_inside_the_package() -> None:
    import counter_tui

    package = Path(counter_tui.__file__).parent
    assert DEFAULT_TEMPLATES_DIR == package / "certificate_templates"
    shipped = {p.name for p in DEFAULT_TEMPLATES_DIR.glob("*.txt.j2")}
    assert {f"{k.code}.txt.j2" for k in certificates.CERTIFICATE_KINDS} <= shipped
