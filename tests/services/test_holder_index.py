"""The city's holder index as an office holds it after a sync: a resident ID whose dossier is
not in this archive is answered from it (offline), by a keyed hash — the ID is never stored —
and the counter's lookup of it is logged."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from sqlmodel import select

from counter_tui import cli
from counter_tui.db.models import AccessEvent, HolderIndex, Institution
from counter_tui.services import holder_index, lookup, whereabouts
from tests.support.factories import TinyArchive, logged_in, tiny_archive

ELSEWHERE_ID = "110101199003077777"  # not a dossier of the tiny archive
SINCE = dt.datetime(2019, 3, 4, 2, 0, tzinfo=dt.UTC)


def valid(number: str) -> str:
    from counter_tui.domain import resident_id

    return number[:17] + resident_id.check_character(number[:17])


@pytest.fixture
def archive(tmp_path: Path) -> TinyArchive:
    archive = tiny_archive(tmp_path)
    with archive.db.write() as s:
        haidian = Institution(
            code="HD-RC",
            name="北京市海淀区人才服务中心",
            kind="district",
            serial_prefix="HD",
            address="北京市海淀区示例路 2 号",
            phone="010-82345678",
        )
        s.add(haidian)
        s.flush()
        s.add(
            HolderIndex(
                id_hash=holder_index.id_hash(valid(ELSEWHERE_ID), holder_index.key(create=True)),
                institution_id=haidian.id,
                since=SINCE,
            )
        )
    return archive


def test_the_hash_is_hmac_sha256_under_the_city_key_and_never_the_id() -> None:
    key = bytes(range(32))
    number = valid(ELSEWHERE_ID)
    expected = hmac.new(key, number.encode(), hashlib.sha256).hexdigest()
    assert holder_index.id_hash(number, key) == (
        f"{hashlib.sha256(key).hexdigest()[:8]}${expected}"
    )
    assert number not in holder_index.id_hash(number, key)


def test_locate_answers_from_the_index_with_address_and_phone(archive: TinyArchive) -> None:
    found = whereabouts.locate(archive.db, valid(ELSEWHERE_ID))
    assert (found.status, found.holder_code) == ("held", "HD-RC")
    assert "北京市海淀区人才服务中心" in found.message and "2019-03-04" in found.message
    assert "010-82345678" in found.message


def test_without_the_key_the_index_cannot_be_read(archive: TinyArchive, use_keyring) -> None:
    from tests.support.keyrings import MemoryKeyring

    use_keyring(MemoryKeyring())
    holder_index._cache.clear()
    assert whereabouts.locate(archive.db, valid(ELSEWHERE_ID)).status == "none"


def test_the_counter_says_where_and_logs_it(archive: TinyArchive) -> None:
    place = logged_in(archive)
    outcome = lookup.find(archive.db, valid(ELSEWHERE_ID), place)
    assert (outcome.status, outcome.reason) == ("held_elsewhere", "holder_index")
    assert "北京市海淀区人才服务中心" in outcome.message and "2019-03-04" in outcome.message
    with archive.db.read() as s:
        last = s.exec(select(AccessEvent).order_by(AccessEvent.seq.desc())).first()
    assert (last.kind, last.reason, last.dossier_id) == ("refused", "lookup: holder_index", None)


def test_the_cli_answers_offline_from_the_index(archive: TinyArchive, capsys) -> None:  # noqa: ANN001
    status = cli.main(
        [
            "--db",
            archive.settings.db_url,
            "--data-dir",
            str(archive.settings.data_dir),
            "locate",
            "--json",
            valid(ELSEWHERE_ID),
        ]
    )
    assert status == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["holder_code"], data["since"]) == ("HD-RC", "2019-03-04")
