"""Institutions carry a 统一社会信用代码 and an address for the certificate header (issue 9)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from counter_tui.db import migrate
from counter_tui.db.engine import Database
from counter_tui.db.models import Institution
from counter_tui.domain.identifiers import is_uscc
from counter_tui.services import auth, workplace


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'archive.db'}")
    migrate.upgrade(database)
    return database


def test_an_institution_is_stored_with_its_code_and_address(db: Database) -> None:
    auth.add_institution(
        db,
        code="cy-rc",
        name="北京市朝阳区人才服务中心",
        serial_prefix="CY",
        uscc=" 12110105mb0123456c ",
        address="北京市朝阳区示例路\n1 号",
    )
    with db.read() as s:
        row = s.exec(select(Institution)).one()
    assert (row.code, row.uscc, row.address) == (
        "CY-RC",
        "12110105MB0123456C",
        "北京市朝阳区示例路 1 号",
    )
    ref = workplace.institution_ref(row)
    assert (ref.uscc, ref.address) == (row.uscc, row.address)


@pytest.mark.parametrize("bad", ["12110105MB0123456D", "1211010", "ABCDEFGHIJKLMNOPQR"])
def test_a_wrong_unified_social_credit_code_is_refused(db: Database, bad: str) -> None:
    with pytest.raises(auth.AuthError) as refused:
        auth.add_institution(db, code="X", name="某中心", serial_prefix="X", uscc=bad)
    assert refused.value.reason == "invalid" and bad in str(refused.value)
    with db.read() as s:
        assert s.exec(select(Institution)).all() == []


def test_without_a_code_the_institution_is_still_created(db: Database) -> None:
    auth.add_institution(db, code="X", name="某中心", serial_prefix="X")
    with db.read() as s:
        assert s.exec(select(Institution.uscc)).one() == ""


def test_two_institutions_never_share_a_serial_prefix(db: Database) -> None:
    auth.add_institution(db, code="CY-RC", name="北京市朝阳区人才服务中心", serial_prefix="CY")
    with pytest.raises(auth.AuthError) as refused:
        auth.add_institution(db, code="CY-JW", name="建外街道社保所", serial_prefix="ｃｙ")
    assert refused.value.reason == "exists"
    assert "CY-RC" in str(refused.value) and "CY" in str(refused.value)
    with db.read() as s:
        assert s.exec(select(Institution.code)).all() == ["CY-RC"]


def test_the_demo_institutions_have_distinct_serial_prefixes() -> None:
    from counter_tui.demo.institutions import INSTITUTIONS

    prefixes = [prefix for *_rest, prefix in INSTITUTIONS]
    assert len(set(prefixes)) == len(prefixes)


def test_the_demo_institutions_have_valid_codes() -> None:
    from counter_tui.demo.institutions import INSTITUTION_DETAILS, INSTITUTIONS

    assert {code for code, *_rest in INSTITUTIONS} == set(INSTITUTION_DETAILS)
    assert all(is_uscc(uscc) and address for uscc, address in INSTITUTION_DETAILS.values())


def test_an_institution_records_its_uscc_and_address_for_certificates(tmp_path: Path) -> None:
    from counter_tui import cli
    from counter_tui.services import auth
    from tests.support.factories import tiny_archive

    archive = tiny_archive(tmp_path)
    argv = ["--db", archive.settings.db_url]
    wrong_check = "12110105MB0234567X"
    assert cli.main([*argv, "institution", "set", "CY-JY", "--uscc", wrong_check]) == 1
    assert (
        cli.main(
            [
                *argv,
                "institution",
                "set",
                "cy-jy",
                "--uscc",
                "12110105mb0234567p",
                "--address",
                "北京市朝阳区 示例路  2 号",
            ]
        )
        == 0
    )
    by_code = {i.code: i for i in auth.list_institutions(archive.db)}
    assert (by_code["CY-JY"].uscc, by_code["CY-JY"].address) == (
        "12110105MB0234567P",
        "北京市朝阳区 示例路 2 号",
    )
    assert by_code["CY-RC"].uscc == "12110105MB0123456C"  # the other one untouched
    assert cli.main([*argv, "institution", "set", "NOPE", "--address", "x"]) == 1
