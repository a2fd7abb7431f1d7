"""GB 11643-1999 resident ID parsing over valid, upgraded, normalised and invalid inputs."""

from __future__ import annotations

import datetime as dt

import pytest

from counter_tui import i18n
from counter_tui.domain import resident_id

TODAY = dt.date(2026, 11, 29)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Worked examples of GB 11643-1999 (MOD 11-2).
        ("11010519491231002X", "11010519491231002X"),
        ("440524188001010014", "440524188001010014"),
        # Lower-case x, spaces, hyphens, CR/LF from readers, full-width digits and Ｘ.
        ("11010519491231002x", "11010519491231002X"),
        (" 110105 19491231 002X\r\n", "11010519491231002X"),
        ("110105-19491231-002X", "11010519491231002X"),
        ("１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"),
        ("11010519491231002×", "11010519491231002X"),
        # 15-digit legacy numbers are upgraded: "19" inserted, check digit appended.
        ("110105491231002", "11010519491231002X"),
        ("440524800101001", "440524198001010013"),
        # An abolished or unknown area code is accepted (old dossiers carry them).
        ("999999200001010011", "999999200001010011"),
    ],
)
def test_valid(text: str, expected: str) -> None:
    assert resident_id.parse(text, today=TODAY) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("  \r\n", "empty"),
        ("1101051949123100", "length"),  # half-typed
        ("11010519491231002X1", "length"),
        ("11010519491231002A", "characters"),
        ("1101051949X231002X", "characters"),
        ("11010519491231002Y", "characters"),
        ("11010519491231003X", "check_digit"),
        ("110105194912310021", "check_digit"),
        ("110105194902300020", "birth_date"),  # 30 February
        ("11010520300101001X", "birth_date"),  # in the future
        ("110105491331002", "birth_date"),  # legacy with month 13
    ],
)
def test_invalid(text: str, reason: str) -> None:
    with pytest.raises(resident_id.ResidentIdError) as info:
        resident_id.parse(text, today=TODAY)
    assert info.value.reason == reason
    assert info.value.text == text
    assert str(info.value)  # a message for the clerk


def test_messages_follow_the_ui_language() -> None:
    i18n.set_language("zh_CN")
    with pytest.raises(resident_id.ResidentIdError) as zh:
        resident_id.parse("11010519491231003X", today=TODAY)
    i18n.set_language("en")
    with pytest.raises(resident_id.ResidentIdError) as en:
        resident_id.parse("11010519491231003X", today=TODAY)
    assert "校验" in str(zh.value)
    assert "check digit" in str(en.value)
    assert "(the last character should be 8)" in str(en.value)  # names the expected one


def test_check_character_matches_the_standard_weights() -> None:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    first17 = "11010519491231002"
    remainder = sum(int(d) * w for d, w in zip(first17, weights)) % 11
    assert "10X98765432"[remainder] == resident_id.check_character(first17) == "X"


def test_facts_and_mask() -> None:
    facts = resident_id.facts("11010519491231002X")
    assert facts.birth_date == dt.date(1949, 12, 31)
    assert facts.gender == "F"  # sequence 002 is even
    assert facts.address_code == "110105"
    assert resident_id.mask("11010519491231002X") == "110105********002X"
