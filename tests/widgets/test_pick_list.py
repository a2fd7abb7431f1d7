"""Pick-list lines and catalogue line breaks measured in display cells (CJK counts two)."""

from __future__ import annotations

import uuid

import pytest
from rich.cells import cell_len

from counter_tui.read_models import DossierSummary
from counter_tui.widgets.catalogue_table import break_lines
from counter_tui.widgets.pick_list import aligned_rows, choice_lines


def summary(no: str, name: str, masked: str, born: str) -> DossierSummary:
    return DossierSummary(
        id=uuid.uuid4(),
        dossier_no=no,
        person_name=name,
        id_masked=masked,
        gender="M",
        birth_date_recorded=born,
        holder_name="",
        held_here=True,
        since=None,
    )


def column_starts(line: str, values: list[str]) -> list[int]:
    """The display cell at which each of ``values`` starts in ``line``."""
    starts, index = [], 0
    for value in values:
        index = line.index(value, index)
        starts.append(cell_len(line[:index]))
        index += len(value)
    return starts


def test_choice_lines_align_names_of_any_width() -> None:
    matches = [
        summary("DA00000011", "张三丰", "110105********0017", "1955年3月"),
        summary("DA00000001", "张伟", "110105********002X", "1949年12月"),
        summary("DA00000103", "张欧阳明", "110105*****1001", "1965-01"),
        summary("DA00001104", "Mary 张", "11010519900707002X", ""),
    ]
    lines = [line.plain for line in choice_lines(matches)]
    starts = {
        tuple(column_starts(line, [m.dossier_no, m.person_name, m.id_masked]))
        for line, m in zip(lines, matches, strict=True)
    }
    assert starts == {(0, 12, 22)}  # 张欧阳明 is 8 cells wide, then two cells of gap
    # The birth dates start in one column too; a missing one is a dash.
    assert {column_starts(line, [line.split()[-1]])[0] for line in lines} == {42}
    assert lines[3].endswith("—")
    assert all(line == line.rstrip() for line in lines)


def test_choice_lines_keep_markup_characters_as_text() -> None:
    (line,) = choice_lines([summary("DA1", "[b]张[/b]", "***", "1950")])
    assert "[b]张[/b]" in line.plain


def test_aligned_rows() -> None:
    assert aligned_rows([["张三丰", "1"], ["李娜", "22"]]) == ["张三丰  1", "李娜    22"]
    assert aligned_rows([]) == []


@pytest.mark.parametrize(
    "text,width,lines",
    [
        ("学历学位、专业", 8, ["学历学", "位、专业"]),  # 、 never begins a line
        ("职称）、学术", 6, ["职", "称）、", "学术"]),
        ("四 (1) Education and training", 20, ["四 (1) Education and", "training"]),
        ("Supercalifragilistic", 10, ["Supercalif", "ragilistic"]),
        ("短", 10, ["短"]),
    ],
)
def test_break_lines(text: str, width: int, lines: list[str]) -> None:
    assert break_lines(text, width) == lines


def test_break_lines_keeps_every_character_within_the_width() -> None:
    heading = "四 (1) 学历学位、专业技术职务（职称）、学术评鉴和教育培训类材料"
    for width in range(6, 70):
        lines = break_lines(heading, width)
        assert "".join(lines).replace(" ", "") == heading.replace(" ", "")
        assert all(cell_len(line) <= width for line in lines), width
